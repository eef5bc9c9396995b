//! Addresses a person may read as another one. With `--allow-non-ascii-local-part`, a target
//! can hold letters that look like others (the KELVIN SIGN `K`, full-width `ａ`, a Cyrillic
//! `а` among Latin letters) or be composed another way than it is typed (NFD `e` + `◌̈` for `ë`):
//! the mailbox, the IdP and the person may each see a different address. The review names each
//! such target so that a person checks it before the plan is applied.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::is_nfc;
use unicode_security::MixedScript;

/// Why an address may be read as another, in words; `None` for an ASCII address or one that
/// is plainly itself.
///
/// ```
/// use mailshift_core::review::lookalike::concern;
///
/// assert_eq!(concern("kim@new.example"), None);
/// assert_eq!(concern("zoë@new.example"), None);
/// // The KELVIN SIGN is, composed, the letter K.
/// assert!(concern("\u{212a}im@new.example").unwrap().contains("NFC form Kim@new.example"));
/// ```
pub fn concern(address: &str) -> Option<String> {
    if address.is_ascii() {
        return None;
    }
    let mut why = Vec::new();
    let composed: String = address.nfc().collect();
    if !is_nfc(address) {
        why.push(format!(
            "is composed another way than typed (NFC form {composed})"
        ));
    }
    let compatible: String = address.nfkc().collect();
    if compatible != composed {
        why.push(format!(
            "holds compatibility letters (full-width, the KELVIN SIGN, ligatures): it reads as {compatible}"
        ));
    }
    let local = address.rsplit_once('@').map_or(address, |(local, _)| local);
    if !local.is_single_script() {
        why.push(format!(
            "mixes scripts in its user part ({})",
            local.resolve_script_set()
        ));
    }
    // The confusables' skeleton (UTS #39) of a user part all of whose letters look like ASCII
    // ones is ASCII: `аре` (Cyrillic) reads as `ape`.
    if why.is_empty()
        && !local.is_ascii()
        && unicode_security::skeleton(local).all(|c| c.is_ascii())
    {
        why.push(
            "looks like an ASCII address: every letter of its user part looks like an ASCII one"
                .to_owned(),
        );
    }
    (!why.is_empty()).then(|| why.join("; "))
}

#[cfg(test)]
mod tests {
    use super::concern;

    #[test]
    fn each_kind_of_look_alike_is_named() {
        let full_width = concern("ｋｉｍ@new.example").unwrap();
        assert!(
            full_width.contains("reads as kim@new.example"),
            "{full_width}"
        );
        let decomposed = concern("zoe\u{308}@new.example").unwrap();
        assert!(
            decomposed.contains("NFC form zoë@new.example"),
            "{decomposed}"
        );
        let mixed = concern("p\u{430}ul@new.example").unwrap();
        assert!(mixed.contains("mixes scripts"), "{mixed}");
        let cyrillic = concern("\u{440}\u{430}\u{443}l@new.example");
        assert!(cyrillic.is_some(), "Cyrillic р, а, у among Latin l");
        let all_cyrillic = concern("\u{430}\u{440}\u{435}@new.example").unwrap();
        assert!(
            all_cyrillic.contains("looks like an ASCII address"),
            "{all_cyrillic}"
        );
    }

    #[test]
    fn plain_non_ascii_addresses_are_not_flagged() {
        for plain in [
            "zoë@new.example",
            "jürgen@new.example",
            "андрей@new.example",
            "李@new.example",
        ] {
            assert_eq!(concern(plain), None, "{plain}");
        }
    }
}
