//! Counts in words: "1 step", "2 steps". Every message that counts something says it through
//! here, so that no admin reads "1 steps".

/// `n` and the noun in the number that fits it.
///
/// ```
/// use mailshift::words::counted;
///
/// assert_eq!(counted(1, "step", "steps"), "1 step");
/// assert_eq!(counted(0, "account", "accounts"), "0 accounts");
/// ```
pub fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
