//! Counts and waits in words: "1 step", "2 steps", "1m 30s". Every message that counts
//! something says it through here, so that no admin reads "1 steps".

/// `n` and the noun in the number that fits it.
///
/// ```
/// use mailshift_core::words::counted;
///
/// assert_eq!(counted(1, "step", "steps"), "1 step");
/// assert_eq!(counted(0, "account", "accounts"), "0 accounts");
/// ```
pub fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `n` as an ordinal: "1st", "2nd", "3rd", "4th", "11th", "22nd".
///
/// ```
/// use mailshift_core::words::ordinal;
///
/// assert_eq!(ordinal(2), "2nd");
/// assert_eq!(ordinal(12), "12th");
/// assert_eq!(ordinal(23), "23rd");
/// ```
pub fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// A wait as people read it: `45.0s`, `1m 30s`, `1h 0m`, or "more than a year".
///
/// ```
/// use mailshift_core::words::span;
/// use std::time::Duration;
///
/// assert_eq!(span(Duration::from_millis(1500)), "1.5s");
/// assert_eq!(span(Duration::from_secs(900)), "15m 0s");
/// assert_eq!(span(Duration::from_secs(3600)), "1h 0m");
/// assert_eq!(span(Duration::from_secs(u64::MAX)), "more than a year");
/// ```
pub fn span(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    if secs >= 366 * 24 * 3600 {
        "more than a year".into()
    } else if secs >= 3600 {
        format!("{}h {}m", secs / 3600, secs % 3600 / 60)
    } else if secs >= 60 {
        format!("{}m {}s", secs / 60, secs % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}
