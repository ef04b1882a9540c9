//! `pattern` regular expressions with Go's (RE2) meaning on top of the
//! `regex` crate: the Perl classes `\d \w \s \b` are ASCII-only as in Go,
//! escaped punctuation is always a literal (`\<` is `<`, not a word
//! boundary), `{` that does not start a repetition is a literal, `\Q…\E`
//! quotes, octal escapes are understood, and parse errors read like Go's
//! `error parsing regexp: CODE: ``EXPR```.

use std::collections::HashMap;

use regex::Regex;

use super::model::{Additional, Node};

/// The compiled `pattern`s of a schema tree, compiled once per schema.
#[derive(Debug, Clone, Default)]
pub(crate) struct Patterns {
    compiled: HashMap<String, Result<Regex, String>>,
}

impl Patterns {
    /// Compiles every pattern of the tree (value validations included).
    pub(crate) fn collect(root: &Node) -> Patterns {
        let mut patterns = Patterns::default();
        patterns.visit(root);
        patterns
    }

    fn visit(&mut self, node: &Node) {
        if !node.pattern.is_empty() && !self.compiled.contains_key(&node.pattern) {
            self.compiled
                .insert(node.pattern.clone(), compile(&node.pattern));
        }
        let children = node
            .items
            .iter()
            .map(Box::as_ref)
            .chain(node.items_array.iter().flatten())
            .chain(node.properties.values())
            .chain(node.all_of.iter())
            .chain(node.any_of.iter())
            .chain(node.one_of.iter())
            .chain(node.not.iter().map(Box::as_ref))
            .chain(node.pattern_properties.values())
            .chain(node.definitions.values())
            .chain(
                node.dependencies
                    .iter()
                    .flat_map(|deps| deps.values().filter_map(|d| d.schema.as_ref())),
            );
        let children: Vec<&Node> = children.collect();
        for child in children {
            self.visit(child);
        }
        for additional in [&node.additional_properties, &node.additional_items]
            .into_iter()
            .flatten()
        {
            if let Additional::Schema(child) = additional {
                self.visit(child);
            }
        }
    }

    /// Whether `text` matches `pattern` (unanchored, as Go's
    /// `MatchString`); the error is Go's compile error.
    pub(crate) fn is_match(&self, pattern: &str, text: &str) -> Result<bool, String> {
        match self.compiled.get(pattern) {
            Some(Ok(re)) => Ok(re.is_match(text)),
            Some(Err(err)) => Err(err.clone()),
            None => compile(pattern).map(|re| re.is_match(text)),
        }
    }

    /// The compile error of `pattern`, if it does not compile.
    pub(crate) fn error(&self, pattern: &str) -> Option<String> {
        match self.compiled.get(pattern) {
            Some(result) => result.as_ref().err().cloned(),
            None => compile(pattern).err(),
        }
    }
}

/// Compiles a Go regular expression; the error reads as Go's.
pub(crate) fn compile(pattern: &str) -> Result<Regex, String> {
    let translated = translate(pattern)?;
    Regex::new(&translated).map_err(|err| go_error(pattern, &err))
}

fn go_message(code: &str, expr: &str) -> String {
    format!("error parsing regexp: {code}: `{expr}`")
}

/// Rewrites Go syntax into the `regex` crate's, or fails with Go's error
/// for what Go rejects and `regex` would accept.
fn translate(pattern: &str) -> Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    // Inside a character class: the index of its first member (where `]`
    // is still a literal).
    let mut class_start: Option<usize> = None;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                let Some(&next) = chars.get(i + 1) else {
                    return Err(go_message("trailing backslash at end of expression", ""));
                };
                let in_class = class_start.is_some();
                match next {
                    'd' | 'w' | 's' if in_class => out.push_str(perl_members(next)),
                    'd' | 'w' | 's' => {
                        out.push('[');
                        out.push_str(perl_members(next));
                        out.push(']');
                    }
                    'D' | 'W' | 'S' if !in_class => {
                        out.push_str("[^");
                        out.push_str(perl_members(next.to_ascii_lowercase()));
                        out.push(']');
                    }
                    'b' | 'B' if !in_class => {
                        out.push_str("(?-u:\\");
                        out.push(next);
                        out.push(')');
                    }
                    'Q' => {
                        let rest: String = chars[i + 2..].iter().collect();
                        let (literal, consumed) = match rest.find("\\E") {
                            Some(end) => (rest[..end].to_owned(), end + 2),
                            None => (rest.clone(), rest.len()),
                        };
                        for lc in literal.chars() {
                            push_literal(&mut out, lc, in_class);
                        }
                        i += 2 + rest[..consumed].chars().count();
                        continue;
                    }
                    '0'..='7' => {
                        // Go: `\0` and `\1`-`\7` followed by an octal
                        // digit are octal escapes; a lone `\1` would be a
                        // backreference.
                        let mut j = i + 1;
                        let mut digits = String::new();
                        while j < chars.len() && digits.len() < 3 && ('0'..='7').contains(&chars[j])
                        {
                            digits.push(chars[j]);
                            j += 1;
                        }
                        if next != '0' && digits.len() < 2 {
                            let expr: String = chars[i..i + 2].iter().collect();
                            return Err(go_message("invalid escape sequence", &expr));
                        }
                        let code = u32::from_str_radix(&digits, 8).unwrap_or(0);
                        out.push_str(&format!("\\x{{{code:X}}}"));
                        i = j;
                        continue;
                    }
                    c if c.is_ascii() && !c.is_ascii_alphanumeric() => {
                        push_literal(&mut out, c, in_class);
                    }
                    _ => {
                        out.push('\\');
                        out.push(next);
                    }
                }
                i += 2;
                continue;
            }
            '[' if class_start.is_none() => {
                out.push('[');
                i += 1;
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                class_start = Some(i);
                continue;
            }
            '[' => {
                // A POSIX class `[:alpha:]` keeps its meaning; any other `[`
                // is a literal in Go but would open a nested class here.
                if chars.get(i + 1) == Some(&':') {
                    let rest: String = chars[i..].iter().collect();
                    if let Some(end) = rest.find(":]") {
                        out.push_str(&rest[..end + 2]);
                        i += rest[..end + 2].chars().count();
                        continue;
                    }
                }
                out.push_str("\\[");
            }
            ']' if class_start == Some(i) => out.push_str("\\]"),
            ']' if class_start.is_some() => {
                out.push(']');
                class_start = None;
            }
            '&' | '~' if class_start.is_some() => {
                out.push('\\');
                out.push(c);
            }
            '{' if class_start.is_none() => match repeat_len(&chars[i..]) {
                Some((len, min, max)) => {
                    if min > 1000 || max.is_some_and(|m| m > 1000 || m < min) {
                        let expr: String = chars[i..i + len].iter().collect();
                        return Err(go_message("invalid repeat count", &expr));
                    }
                    out.extend(&chars[i..i + len]);
                    i += len;
                    continue;
                }
                None => out.push_str("\\{"),
            },
            '}' if class_start.is_none() => out.push_str("\\}"),
            c => out.push(c),
        }
        i += 1;
    }
    Ok(out)
}

/// The ASCII members of Go's Perl classes.
fn perl_members(class: char) -> &'static str {
    match class {
        'd' => "0-9",
        'w' => "0-9A-Za-z_",
        _ => "\\t\\n\\x0C\\r ",
    }
}

fn push_literal(out: &mut String, c: char, in_class: bool) {
    if in_class && matches!(c, '&' | '~' | '-' | '[' | ']' | '^' | '\\') {
        out.push('\\');
        out.push(c);
    } else {
        out.push_str(&regex::escape(&c.to_string()));
    }
}

/// A valid repetition `{n}`, `{n,}` or `{n,m}` at the start of `chars`:
/// its length in chars, `n` and `m`.
fn repeat_len(chars: &[char]) -> Option<(usize, u64, Option<u64>)> {
    let end = chars.iter().position(|&c| c == '}')?;
    let inner: String = chars[1..end].iter().collect();
    let (min, max) = match inner.split_once(',') {
        Some((min, "")) => (min, None),
        Some((min, max)) => (min, Some(max)),
        None => (inner.as_str(), Some(inner.as_str())),
    };
    let number = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(s.parse().unwrap_or(u64::MAX))
    };
    let min = number(min)?;
    let max = match max {
        Some(max) => Some(number(max)?),
        None => None,
    };
    Some((end + 1, min, max))
}

/// Go's message for a pattern the `regex` crate rejected; the codes are
/// Go's `regexp/syntax` error codes, the expression the part Go would
/// quote (the whole pattern where it is not known).
fn go_error(pattern: &str, err: &regex::Error) -> String {
    let text = err.to_string();
    let detail = text
        .lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix("error: "))
        .unwrap_or(text.as_str())
        .to_owned();
    let code = if detail.contains("unclosed group") {
        "missing closing )"
    } else if detail.contains("unopened group") {
        "unexpected )"
    } else if detail.contains("unclosed character class") {
        "missing closing ]"
    } else if detail.contains("repetition operator missing expression") {
        "missing argument to repetition operator"
    } else if detail.contains("invalid character class range") {
        "invalid character class range"
    } else if detail.contains("escape") || detail.contains("backreference") {
        "invalid escape sequence"
    } else if detail.contains("flag")
        || detail.contains("look-around")
        || detail.contains("capture group name")
    {
        "invalid or unsupported Perl syntax"
    } else if detail.contains("nest") {
        "expression nests too deeply"
    } else if detail.contains("size limit") || detail.contains("too big") {
        "expression too large"
    } else if detail.contains("Unicode") || detail.contains("class") {
        "invalid character class"
    } else if detail.contains("repetition") {
        "invalid nested repetition operator"
    } else {
        return format!("error parsing regexp: {detail}: `{pattern}`");
    };
    go_message(code, pattern)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pattern: &str, matching: &[&str], not_matching: &[&str]) {
        let re = compile(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
        for text in matching {
            assert!(re.is_match(text), "{pattern} should match {text:?}");
        }
        for text in not_matching {
            assert!(!re.is_match(text), "{pattern} should not match {text:?}");
        }
    }

    #[test]
    fn go_semantics() {
        check(r"^\d+$", &["123"], &["١٢٣", "12a"]);
        check(r"^\w+$", &["a_1"], &["é"]);
        check(r"^\D$", &["é", "a"], &["1"]);
        check(r"^[\d-]+$", &["1-2"], &["a"]);
        check(r"^a\<b$", &["a<b"], &["ab"]);
        check(r"^x{$", &["x{"], &["x"]);
        check(r"^a{2}$", &["aa"], &["a"]);
        check(r"^\Q.*\E$", &[".*"], &["ab"]);
        check(r"^[[]$", &["["], &["]"]);
        check(r"^[a&&b]$", &["&", "a"], &["c"]);
        check(r"^\101$", &["A"], &["B"]);
        check(r"^[[:alpha:]]+$", &["abc"], &["1"]);
        check(r"\bfoo\b", &["a foo b"], &["afoob"]);
        check(r"^[]a]$", &["]", "a"], &["b"]);
    }

    #[test]
    fn errors_read_as_go() {
        assert_eq!(
            compile("(abc").err().as_deref(),
            Some("error parsing regexp: missing closing ): `(abc`")
        );
        assert_eq!(
            compile("abc\\").err().as_deref(),
            Some("error parsing regexp: trailing backslash at end of expression: ``")
        );
        assert_eq!(
            compile("a{1001}").err().as_deref(),
            Some("error parsing regexp: invalid repeat count: `{1001}`")
        );
        assert!(compile("[z-a]").is_err());
        assert!(compile("*a").is_err());
    }
}
