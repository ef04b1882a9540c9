//! Names for `metadata.generateName` (Go: `pkg/storage/names`,
//! `SimpleNameGenerator`).

/// The characters of the random suffix (Go: `utilrand.String`'s alphabet,
/// without vowels and easily confused characters).
const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
/// Go's `maxNameLength - randomLength`.
pub(crate) const MAX_GENERATED_NAME_LENGTH: usize = 63 - RANDOM_LENGTH;
const RANDOM_LENGTH: usize = 5;

/// `base` truncated to 58 bytes plus 5 random characters from
/// `bcdfghjklmnpqrstvwxz2456789` (Go: `SimpleNameGenerator.GenerateName`).
pub fn generate_name(base: &str) -> String {
    let mut cut = base.len().min(MAX_GENERATED_NAME_LENGTH);
    while !base.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut name = base[..cut].to_owned();
    let mut produced = 0;
    while produced < RANDOM_LENGTH {
        // A v4 UUID is 122 random bits from the OS generator; bytes 6 and 8
        // carry its version and variant bits and are skipped.
        let bytes = *uuid::Uuid::new_v4().as_bytes();
        for (i, byte) in bytes.iter().enumerate() {
            if i == 6 || i == 8 || produced == RANDOM_LENGTH {
                continue;
            }
            // Five bits, rejecting values past the alphabet: no bias.
            let index = usize::from(byte & 0x1f);
            if let Some(&c) = ALPHANUMS.get(index) {
                name.push(char::from(c));
                produced += 1;
            }
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_base_plus_five_safe_characters() {
        let name = generate_name("web-");
        assert_eq!(name.len(), 9);
        assert!(name.starts_with("web-"));
        assert!(name[4..].bytes().all(|b| ALPHANUMS.contains(&b)), "{name}");
        assert_ne!(generate_name("x-"), generate_name("x-"));
        let long = "a".repeat(100);
        assert_eq!(generate_name(&long).len(), 63);
        // Truncation never splits a character.
        let wide = "é".repeat(40);
        assert!(generate_name(&wide).len() <= 63);
    }
}
