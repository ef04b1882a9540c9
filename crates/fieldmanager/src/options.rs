//! The `fieldManager` request option: its validation and the name a write
//! without one is recorded under.
//!
//! Mirrors `ValidateFieldManager` and the apply rule of
//! `ValidatePatchOptions` in `k8s.io/apimachinery/pkg/apis/meta/v1/validation`
//! and `managerOrUserAgent` / `prefixFromUserAgent` in
//! `k8s.io/apiserver/pkg/endpoints/handlers`.

use kapi_core::field::{Error as FieldError, ErrorList, Path};

/// The longest accepted `fieldManager`, in bytes (Go:
/// `FieldManagerMaxLength`).
pub const FIELD_MANAGER_MAX_LENGTH: usize = 128;

/// Checks a `fieldManager` query parameter: required for apply
/// (`fieldManager: Required value: is required for apply patch`), at most
/// 128 bytes, printable characters only. The caller folds the errors into
/// its options' 422 (Go: `NewInvalid` of `PatchOptions.meta.k8s.io`,
/// `CreateOptions…` or `UpdateOptions…` with an empty name).
///
/// ```
/// use kapi_fieldmanager::validate_manager_name;
///
/// let errs = validate_manager_name("", true);
/// assert_eq!(errs[0].to_string(), "fieldManager: Required value: is required for apply patch");
/// assert!(validate_manager_name("kubectl", true).is_empty());
/// ```
pub fn validate_manager_name(name: &str, is_apply: bool) -> ErrorList {
    let path = Path::new("fieldManager");
    let mut errs = ErrorList::new();
    if is_apply && name.is_empty() {
        errs.push(FieldError::required(&path, "is required for apply patch"));
    }
    if name.len() > FIELD_MANAGER_MAX_LENGTH {
        errs.push(FieldError::too_long(&path, FIELD_MANAGER_MAX_LENGTH as i64));
    }
    for (i, c) in name.char_indices() {
        if !is_print(c) {
            errs.push(FieldError::invalid(
                &path,
                name,
                format!("invalid character U+{:04X} (at position {i})", c as u32),
            ));
        }
    }
    errs
}

/// The manager of a write that names none: the User-Agent up to its first
/// `/`, without unprintable characters, cut to 128 bytes (Go:
/// `prefixFromUserAgent`).
///
/// ```
/// use kapi_fieldmanager::default_manager_from_user_agent;
///
/// assert_eq!(
///     default_manager_from_user_agent("kubectl/v1.33.0 (linux/amd64) kubernetes/abc"),
///     "kubectl"
/// );
/// ```
pub fn default_manager_from_user_agent(user_agent: &str) -> String {
    let prefix = user_agent.split('/').next().unwrap_or("");
    let mut out = String::new();
    for c in prefix.chars().filter(|c| is_print(*c)) {
        if out.len() + c.len_utf8() > FIELD_MANAGER_MAX_LENGTH {
            break;
        }
        out.push(c);
    }
    out
}

/// The manager a write is recorded under: the `fieldManager` option, else
/// the User-Agent's prefix (Go: `managerOrUserAgent`).
pub fn manager_or_user_agent(field_manager: &str, user_agent: &str) -> String {
    if field_manager.is_empty() {
        default_manager_from_user_agent(user_agent)
    } else {
        field_manager.to_owned()
    }
}

/// Go's `unicode.IsPrint`: graphic characters and the ASCII space; other
/// spaces, controls and invisible formatting characters are not printable.
fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    let invisible_format = matches!(
        c,
        '\u{ad}' | '\u{600}'..='\u{605}' | '\u{61c}' | '\u{6dd}' | '\u{70f}' | '\u{180e}'
            | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}'
            | '\u{e0000}'..='\u{e007f}'
    );
    let private_use = matches!(c, '\u{e000}'..='\u{f8ff}' | '\u{f0000}'..='\u{10ffff}');
    !c.is_control() && !c.is_whitespace() && !invisible_format && !private_use
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manager_names() {
        let check = |name: &str, apply: bool, expected: &[&str]| {
            let got: Vec<String> = validate_manager_name(name, apply)
                .iter()
                .map(ToString::to_string)
                .collect();
            assert_eq!(got, expected, "{name:?}");
        };
        check("", false, &[]);
        check(
            "",
            true,
            &["fieldManager: Required value: is required for apply patch"],
        );
        check(&"x".repeat(128), true, &[]);
        check(
            &"x".repeat(129),
            false,
            &["fieldManager: Too long: may not be more than 128 bytes"],
        );
        check(
            "a\u{7}b",
            false,
            &["fieldManager: Invalid value: \"a\\ab\": invalid character U+0007 (at position 1)"],
        );
    }

    #[test]
    fn user_agents() {
        let check =
            |ua: &str, expected: &str| assert_eq!(default_manager_from_user_agent(ua), expected);
        check("kubectl/v1.33.0 (linux/amd64) kubernetes/abc", "kubectl");
        check("Go-http-client/2.0", "Go-http-client");
        check("", "");
        check("a\tb/c", "ab");
        check(&"é".repeat(100), &"é".repeat(64));
        assert_eq!(manager_or_user_agent("m", "kubectl/1"), "m");
        assert_eq!(manager_or_user_agent("", "kubectl/1"), "kubectl");
    }
}
