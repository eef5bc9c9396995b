//! Plain values the whole tool shares: accounts as the exports describe them, and the rules for
//! comparing and validating email addresses. No I/O here.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// An email address as a file spelled it, with the key it is compared by.
///
/// Atlassian treats addresses case-insensitively, so two spellings with one key are one address;
/// the original spelling is kept because it is what gets written.
///
/// ```
/// use mailshift_core::model::Email;
///
/// let held = Email::lenient(" Ann.Lee@CompanyB.example ");
/// let wanted = Email::strict("ann.lee@companyb.example").unwrap();
/// assert_eq!(held.key(), wanted.key()); // one address
/// assert_eq!(held.text(), "Ann.Lee@CompanyB.example"); // kept as spelled, trimmed
/// assert!(Email::strict("ann.lee@companyb").is_err()); // not an address the API takes
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// Shared, so that plan steps name the address without copying it.
    text: Arc<str>,
    /// `None` when the text is its own key (already lower case), which is most addresses: a
    /// million-account export then holds one string per address, not two.
    key: Option<Box<str>>,
}

impl Email {
    /// Takes an address as found in an export, without judging its syntax: an account holds the
    /// address it holds, however odd. Whitespace around it is dropped.
    pub fn lenient(text: &str) -> Email {
        let text = text.trim();
        let key = if text.is_ascii() {
            let upper = text.bytes().any(|b| b.is_ascii_uppercase());
            upper.then(|| text.to_ascii_lowercase())
        } else {
            Some(email_key(text)).filter(|k| k != text)
        };
        Email {
            key: key.map(String::into_boxed_str),
            text: text.into(),
        }
    }

    /// Takes an address that mailshift will write, which must be one the API accepts.
    pub fn strict(text: &str) -> Result<Email, AddressProblem> {
        let text = text.trim();
        check_address(text)?;
        Ok(Email::lenient(text))
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The spelling, shared rather than copied.
    pub fn shared(&self) -> Arc<str> {
        Arc::clone(&self.text)
    }

    /// The comparison key: the whole address in lower case.
    pub fn key(&self) -> &str {
        self.key.as_deref().unwrap_or(&self.text)
    }

    /// The part before the last `@`, as spelled.
    pub fn local(&self) -> &str {
        split_address(&self.text).0
    }

    /// The part after the last `@`, as spelled.
    pub fn domain(&self) -> &str {
        split_address(&self.text).1
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The key two addresses are compared by: lower case, except that a letter outside ASCII is
/// never keyed onto an ASCII one. Unicode lowers the KELVIN SIGN to `k`: keyed so, a target
/// `\u{212A}im@` would free the holder of `kim@`, a different mailbox as far as anyone knows.
/// Whether the API holds such a pair as one address is undocumented; kept apart, the worst
/// case is a write refused as taken, not a person freed.
pub fn email_key(text: &str) -> String {
    let text = text.trim();
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    let mut key = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            key.push(c.to_ascii_lowercase());
        } else if c.to_lowercase().any(|l| l.is_ascii()) {
            key.push(c);
        } else {
            key.extend(c.to_lowercase());
        }
    }
    key
}

/// The key two domains are compared by: its IDNA (punycode) form, so that `bücher.example` and
/// `xn--bcher-kva.example` are one domain; as typed, in lower case, if it has none.
pub fn domain_key(text: &str) -> String {
    let text = text.trim().trim_start_matches('@');
    idna::domain_to_ascii(text).unwrap_or_else(|_| email_key(text))
}

fn split_address(text: &str) -> (&str, &str) {
    match text.rfind('@') {
        Some(at) => (&text[..at], &text[at + 1..]),
        None => (text, ""),
    }
}

/// Why an address cannot be written through the API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressProblem {
    /// The cell was empty.
    #[error("the address is empty")]
    Empty,
    /// No `@` at all.
    #[error("the address has no @")]
    NoAt,
    /// More than one `@` (quoted local parts are not accepted by the admin API's validation).
    #[error("the address has more than one @")]
    SeveralAt,
    /// Nothing before the `@`.
    #[error("nothing before the @")]
    EmptyLocal,
    /// The API limits the user part to 255 characters.
    #[error("the part before the @ is longer than 255 characters")]
    LocalTooLong,
    /// Whitespace, control characters or characters that need quoting.
    #[error("the address contains {0:?}, which an address cannot hold unquoted")]
    BadCharacter(char),
    /// The domain is not dot-separated labels of letters, digits and hyphens.
    #[error("the domain {0:?} is not a valid domain name")]
    BadDomain(String),
}

/// Checks the syntax the admin API accepts (see docs/inputs.md for the rules and their source).
pub fn check_address(text: &str) -> Result<(), AddressProblem> {
    if text.is_empty() {
        return Err(AddressProblem::Empty);
    }
    let mut parts = text.split('@');
    let local = parts.next().unwrap_or_default();
    let domain = match (parts.next(), parts.next()) {
        (None, _) => return Err(AddressProblem::NoAt),
        (Some(_), Some(_)) => return Err(AddressProblem::SeveralAt),
        (Some(domain), None) => domain,
    };
    if local.is_empty() {
        return Err(AddressProblem::EmptyLocal);
    }
    // A character is at least one byte, so only a long one needs counting.
    if local.len() > 255 && local.chars().count() > 255 {
        return Err(AddressProblem::LocalTooLong);
    }
    if let Some(c) = local.chars().find(|c| !is_local_char(*c)) {
        return Err(AddressProblem::BadCharacter(c));
    }
    if is_domain(domain) {
        Ok(())
    } else {
        Err(AddressProblem::BadDomain(domain.to_owned()))
    }
}

fn is_local_char(c: char) -> bool {
    !(c.is_whitespace()
        || c.is_control()
        || matches!(
            c,
            '"' | '(' | ')' | ',' | ':' | ';' | '<' | '>' | '[' | ']' | '\\'
        ))
}

/// A domain is two or more labels of letters, digits and inner hyphens, each at most 63 long.
pub fn is_domain(domain: &str) -> bool {
    let label_ok = |l: &str| {
        !l.is_empty()
            && (l.len() <= 63 || l.chars().count() <= 63)
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    domain.contains('.') && domain.split('.').all(label_ok)
}

/// The API's pattern for an account ID: `[a-zA-Z0-9_|:-]{1,128}`.
pub fn is_account_id(text: &str) -> bool {
    (1..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'|' | b':' | b'-'))
}

/// An account's status in the export. Deactivated and suspended accounts still hold their address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Active,
    Deactivated,
    Suspended,
    /// Closed (deleted) by its owner or an admin, as the API's `account_status` says: nobody
    /// signs in to it.
    Closed,
    /// Blank or a value this version does not know; treated like an active account.
    Unknown,
}

impl Status {
    /// Reads the status cell of any export (`Active`, `Inactive`, `Deactivated`, `Suspended`, ...).
    pub fn from_cell(cell: &str) -> Status {
        let is = |word: &str| cell.trim().eq_ignore_ascii_case(word);
        if is("active") || is("enabled") {
            Status::Active
        } else if is("inactive") || is("deactivated") || is("disabled") {
            Status::Deactivated
        } else if is("suspended") {
            Status::Suspended
        } else if is("closed") {
            Status::Closed
        } else {
            Status::Unknown
        }
    }

    /// Whether the user can be signed in, and so loses sessions when the address changes.
    pub fn may_have_sessions(self) -> bool {
        !matches!(self, Status::Deactivated | Status::Closed)
    }
}

impl Status {
    /// The status a name of [`Status::name`] gives, in any letter case.
    pub fn from_name(name: &str) -> Option<Status> {
        [
            Status::Active,
            Status::Deactivated,
            Status::Suspended,
            Status::Closed,
            Status::Unknown,
        ]
        .into_iter()
        .find(|s| s.name().eq_ignore_ascii_case(name))
    }

    /// The status as the plan file and the reviews name it.
    pub fn name(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Deactivated => "deactivated",
            Status::Suspended => "suspended",
            Status::Closed => "closed",
            Status::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One account of the org as an export lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Missing only in the "Export managed accounts" layout.
    pub id: Option<Arc<str>>,
    pub name: Arc<str>,
    pub email: Email,
    pub status: Status,
    /// Some product column of the export is filled for this account.
    pub product_access: bool,
    /// The line of the export the account starts on.
    pub line: u64,
}

/// A step's id: 1, 2, 3, ... in plan order, as the plan file, `after`, the IdP checklist and the
/// journal name it. The one conversion between an id and its place in the plan's steps (and in
/// every table kept per step: the journal's states, a pilot's choice) is `index`/`of_index`.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct StepId(pub u32);

impl StepId {
    /// The step's place in `Plan::steps`. Decoding a plan refuses id 0, so no id maps outside;
    /// a made-up one gives an index past any table, which `get` answers with `None`.
    pub fn index(self) -> usize {
        (self.0 as usize).wrapping_sub(1)
    }

    /// The id of the step at `index` in `Plan::steps`.
    pub fn of_index(index: usize) -> StepId {
        StepId(u32::try_from(index).map_or(u32::MAX, |i| i.saturating_add(1)))
    }
}

/// An id compares with the number it is, so that `step.id == 1` and `after == [1, 2]` read as the
/// plan file does.
impl PartialEq<u32> for StepId {
    fn eq(&self, other: &u32) -> bool {
        self.0 == *other
    }
}

/// Shown as the number it is, as the plan file and the messages show it.
impl std::fmt::Debug for StepId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Display for StepId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_and_its_punycode_are_one_domain() {
        assert_eq!(
            domain_key("bücher.example"),
            domain_key("xn--bcher-kva.example")
        );
        assert_eq!(domain_key("@Bücher.Example"), "xn--bcher-kva.example");
        assert_eq!(domain_key("NEW.example"), "new.example");
        assert_ne!(domain_key("bucher.example"), domain_key("bücher.example"));
    }

    #[test]
    fn a_closed_account_is_a_status_of_its_own_that_nobody_signs_in_to() {
        assert_eq!(Status::from_cell("Closed"), Status::Closed);
        assert!(!Status::Closed.may_have_sessions());
        assert_eq!(Status::Closed.name(), "closed");
        assert_eq!(Status::from_cell("gone"), Status::Unknown);
    }

    #[test]
    fn keys_ignore_case_and_surrounding_space() {
        assert_eq!(
            Email::lenient(" John.Doe@Example.COM ").key(),
            "john.doe@example.com"
        );
        assert_eq!(Email::lenient("ÉMILE@Exemple.fr").key(), "émile@exemple.fr");
        // KELVIN SIGN and the dotted capital I lower to ASCII letters: kept as they are.
        assert_eq!(
            Email::lenient("\u{212a}im@X.example").key(),
            "\u{212a}im@x.example"
        );
        assert_ne!(
            Email::lenient("\u{212a}im@x.example").key(),
            Email::lenient("kim@x.example").key()
        );
        assert_eq!(
            Email::lenient("\u{130}RIS@x.example").key(),
            "\u{130}ris@x.example"
        );
        assert_eq!(
            Email::lenient(" John.Doe@Example.COM ").text(),
            "John.Doe@Example.COM"
        );
    }

    #[test]
    fn local_and_domain_split_at_the_at() {
        let e = Email::strict("Ann.Lee@New.example").unwrap();
        assert_eq!((e.local(), e.domain()), ("Ann.Lee", "New.example"));
    }

    #[test]
    fn strict_rejects_what_the_api_would() {
        use AddressProblem::*;
        assert_eq!(Email::strict("   "), Err(Empty));
        assert_eq!(Email::strict("ann.example.com"), Err(NoAt));
        assert_eq!(Email::strict("a@b@example.com"), Err(SeveralAt));
        assert_eq!(Email::strict("@example.com"), Err(EmptyLocal));
        assert_eq!(Email::strict("ann lee@example.com"), Err(BadCharacter(' ')));
        assert_eq!(
            Email::strict("ann\u{0}@example.com"),
            Err(BadCharacter('\0'))
        );
        assert_eq!(
            Email::strict("ann@localhost"),
            Err(BadDomain("localhost".into()))
        );
        assert_eq!(
            Email::strict("ann@-x.example"),
            Err(BadDomain("-x.example".into()))
        );
        assert_eq!(
            Email::strict(&format!("{}@example.com", "a".repeat(256))),
            Err(LocalTooLong)
        );
        assert!(Email::strict(&format!("{}@example.com", "a".repeat(255))).is_ok());
        assert!(Email::strict("first.last+tag@sub.example.co.uk").is_ok());
    }

    #[test]
    fn account_ids_follow_the_api_pattern() {
        assert!(is_account_id("557057:4f9acfd2-6155-419b-8de5-5b5cf27a59a0"));
        assert!(is_account_id("qm:a|b_c"));
        assert!(!is_account_id(""));
        assert!(!is_account_id("has space"));
        assert!(!is_account_id(&"a".repeat(129)));
    }

    #[test]
    fn status_cells_of_every_export_are_understood() {
        assert_eq!(Status::from_cell("Active"), Status::Active);
        assert_eq!(Status::from_cell("Inactive"), Status::Deactivated);
        assert_eq!(Status::from_cell(" deactivated "), Status::Deactivated);
        assert_eq!(Status::from_cell("Suspended"), Status::Suspended);
        assert_eq!(Status::from_cell(""), Status::Unknown);
        assert!(!Status::Deactivated.may_have_sessions());
        assert!(Status::Suspended.may_have_sessions());
    }
}
