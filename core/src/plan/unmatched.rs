//! Why most rows of a target list match no account, when they do: the usual causes have a
//! usual shape (the "current" column already holds the new addresses, holds user names, or
//! is on domains the org does not have), and naming the shape saves the admin a long search.

use super::Blocked;
use crate::input::TargetsFile;
use crate::model::domain_key;
use std::collections::BTreeMap;

/// A sentence on why the rows in `no_account` match nothing, when they are most of the list
/// and their shape says why; `org_domains` are the domain keys of the org's accounts.
pub fn why_unmatched(
    file: &TargetsFile,
    no_account: &[Blocked],
    org_domains: &[String],
) -> Option<String> {
    let total = file.rows.len();
    if no_account.is_empty() || no_account.len() * 2 <= total {
        return None;
    }
    let column = file.current_column.as_deref()?;
    let currents: Vec<&str> = no_account
        .iter()
        .filter_map(|b| b.current.as_deref())
        .collect();
    if currents.is_empty() {
        return None;
    }
    let fix = "Give the column that still holds the addresses the Atlassian accounts have with --columns current=COLUMN (or an account-ID column with --columns id=COLUMN), or plan a domain move with --rewrite-domain OLD=NEW";
    let same = no_account
        .iter()
        .filter(|b| {
            b.current
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(&b.target))
        })
        .count();
    if same * 2 > no_account.len() {
        return Some(format!(
            "On {same} of them the current-address column {column:?} already holds the new address: the identity provider has changed it, so it cannot find the accounts. {fix}."
        ));
    }
    let no_at = currents.iter().filter(|c| !c.contains('@')).count();
    if no_at * 2 > currents.len() {
        let example = currents
            .iter()
            .find(|c| !c.contains('@'))
            .copied()
            .unwrap_or("");
        return Some(format!(
            "The current-address column {column:?} holds no addresses (for example {example:?}). If it holds logins whose address is LOGIN@DOMAIN (JumpCloud's username, say), give --login-domain DOMAIN. Otherwise: {fix}."
        ));
    }
    let mut domains: BTreeMap<String, usize> = BTreeMap::new();
    for c in &currents {
        if let Some((_, d)) = c.rsplit_once('@') {
            *domains.entry(domain_key(d)).or_default() += 1;
        }
    }
    if !domains.is_empty() && domains.keys().all(|d| !org_domains.contains(d)) {
        let mut top: Vec<(&String, &usize)> = domains.iter().collect();
        top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let rows: Vec<String> = top.iter().take(3).map(|(d, _)| (*d).clone()).collect();
        let org: Vec<String> = org_domains.iter().take(3).cloned().collect();
        return Some(format!(
            "Their current addresses are on {}, and the accounts are on {}. Is the accounts export from the same org? Otherwise: {fix}.",
            rows.join(", "),
            if org.is_empty() {
                "no domain".to_owned()
            } else {
                org.join(", ")
            }
        ));
    }
    Some(format!(
        "If the identity provider lists people who have no Atlassian account, that is expected (they are listed, not blocked); otherwise: {fix}."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{ColumnMap, parse_targets};
    use crate::plan::{BlockReason, Origin};
    use std::path::Path;

    fn file(text: &str) -> TargetsFile {
        parse_targets(Path::new("t.csv"), text.as_bytes(), &ColumnMap::default()).unwrap()
    }

    fn unmatched(file: &TargetsFile) -> Vec<Blocked> {
        file.rows
            .iter()
            .map(|r| Blocked {
                origin: Origin::line(r.line),
                account_id: None,
                name: String::new(),
                current: r.current_email.clone(),
                target: r.target.text().to_owned(),
                reason: BlockReason::UnknownAccount {},
            })
            .collect()
    }

    fn org() -> Vec<String> {
        vec!["old.example".to_owned()]
    }

    #[test]
    fn a_current_column_that_holds_the_new_addresses_is_named() {
        let f = file(
            "userPrincipalName,displayName,mail\nann@new.example,Ann,ann@new.example\nbo@new.example,Bo,bo@new.example\n",
        );
        let why = why_unmatched(&f, &unmatched(&f), &org()).unwrap();
        assert!(
            why.starts_with("On 2 of them the current-address column \"userPrincipalName\" already holds the new address"),
            "{why}"
        );
        assert!(why.contains("--columns current=COLUMN"), "{why}");
    }

    #[test]
    fn user_names_and_foreign_domains_are_named() {
        let f = file("Username,Email,FirstName\njdoe,jd@new.example,J\nann,ann@new.example,A\n");
        let why = why_unmatched(&f, &unmatched(&f), &org()).unwrap();
        assert!(
            why.contains("holds no addresses (for example \"jdoe\")"),
            "{why}"
        );
        let f = file("current_email,target_email\na@other.example,a@new.example\n");
        let why = why_unmatched(&f, &unmatched(&f), &org()).unwrap();
        assert!(
            why.contains("on other.example, and the accounts are on old.example"),
            "{why}"
        );
    }

    #[test]
    fn a_few_people_without_accounts_need_no_explaining() {
        let f = file(
            "current_email,target_email\na@old.example,a@new.example\nb@old.example,b@new.example\nc@old.example,c@new.example\n",
        );
        let some = &unmatched(&f)[..1];
        assert_eq!(why_unmatched(&f, some, &org()), None);
        assert_eq!(why_unmatched(&f, &[], &org()), None);
    }
}
