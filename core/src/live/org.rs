//! The org as the listing shows it, as the planner's `Org`: pure, so that `plan
//! --accounts-from-api` and `rollback` plan against the live org exactly as against an export,
//! and so that an export is checked against the live org before a plan is made from it.

use super::page::LiveAccount;
use crate::hash::sha256_hex;
use crate::model::{Account, Email, Status, email_key};
use crate::org::Org;
use hashbrown::HashMap;
use std::sync::Arc;

/// How an export compares with the live listing it was planned against.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Listed accounts whose email neither the listing nor a profile read could show.
    pub hidden: usize,
    /// Export rows no listed account matches (by ID, or by address for an export without IDs):
    /// `(line, address)`. They are not planned for.
    pub not_listed: Vec<(u64, String)>,
    /// Accounts whose address changed since the export: `(id, in the export, live)`.
    pub changed: Vec<(String, String, String)>,
    /// Listed accounts the export does not have.
    pub new: usize,
}

/// The org to plan against when the live org can be read: the listing is the truth (an export is
/// a snapshot); an export, when given, lends its product-access flags and names its rows.
pub fn org_with_export(
    listed: &[LiveAccount],
    export: Option<&Org>,
) -> Result<(Org, Reconciled), String> {
    let mut found = Reconciled::default();
    let mut matched = vec![false; export.map_or(0, Org::len)];
    let mut rows = Vec::with_capacity(listed.len());
    for (i, a) in listed.iter().enumerate() {
        let Some(email) = &a.email else {
            found.hidden += 1;
            continue;
        };
        let row = export.and_then(|org| {
            let by_id = org.by_id(&a.account_id);
            by_id
                .or_else(|| org.holder(email).filter(|&r| org.account(r).id.is_none()))
                .map(|r| (r, org.account(r)))
        });
        let mut product_access = false;
        match row {
            Some((r, old)) => {
                matched[r as usize] = true;
                product_access = old.product_access;
                if old.email.key() != email_key(email) {
                    found.changed.push((
                        a.account_id.clone(),
                        old.email.text().to_owned(),
                        email.clone(),
                    ));
                }
            }
            None if export.is_some() => found.new += 1,
            None => {}
        }
        rows.push(Account {
            id: Some(Arc::from(a.account_id.as_str())),
            name: Arc::from(a.name.as_str()),
            email: Email::lenient(email),
            status: Status::from_cell(&a.status),
            product_access,
            // The position in the listing stands in for a line number.
            line: i as u64 + 1,
        });
    }
    if let Some(org) = export {
        for (r, a) in org.accounts().iter().enumerate() {
            if !matched[r] {
                found.not_listed.push((a.line, a.email.text().to_owned()));
            }
        }
    }
    let org = Org::from_rows(rows).map_err(|e| format!("the listing does not add up: {e}"))?;
    Ok((org, found))
}

/// A hash of what the listing showed, so that two plans from one snapshot can be told apart
/// from plans of different snapshots.
pub fn listing_hash(listed: &[LiveAccount]) -> String {
    let mut text = String::with_capacity(listed.len() * 64);
    for a in listed {
        text.push_str(&a.account_id);
        text.push('\t');
        text.push_str(a.email.as_deref().unwrap_or(""));
        text.push('\t');
        text.push_str(&a.status);
        text.push('\n');
    }
    sha256_hex(text.as_bytes())
}

/// Every account's email by ID; `None` where the listing hides it.
pub fn emails_by_id(listed: Vec<LiveAccount>) -> HashMap<String, Option<String>> {
    listed
        .into_iter()
        .map(|a| (a.account_id, a.email))
        .collect()
}

/// The org, and how many accounts were left out because the listing hides their email (they
/// cannot be planned for, and their addresses cannot be seen to conflict).
pub fn org_from_listing(accounts: &[LiveAccount]) -> Result<(Org, usize), String> {
    let mut hidden = 0;
    let mut rows = Vec::with_capacity(accounts.len());
    for (i, a) in accounts.iter().enumerate() {
        let Some(email) = &a.email else {
            hidden += 1;
            continue;
        };
        rows.push(Account {
            id: Some(Arc::from(a.account_id.as_str())),
            name: Arc::from(a.name.as_str()),
            email: Email::lenient(email),
            status: Status::from_cell(&a.status),
            product_access: false,
            // The position in the listing stands in for a line number.
            line: i as u64 + 1,
        });
    }
    let org = Org::from_rows(rows).map_err(|e| format!("the listing does not add up: {e}"))?;
    Ok((org, hidden))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(id: &str, email: Option<&str>, status: &str) -> LiveAccount {
        LiveAccount {
            account_id: id.into(),
            name: format!("User {id}"),
            email: email.map(str::to_owned),
            status: status.into(),
            directory: None,
        }
    }

    #[test]
    fn the_listing_becomes_an_org_without_the_hidden_emails() {
        let listed = [
            live("a", Some("a@x.example"), "active"),
            live("b", None, "active"),
            live("c", Some("c@x.example"), "inactive"),
        ];
        let (org, hidden) = org_from_listing(&listed).unwrap();
        assert_eq!((org.len(), hidden), (2, 1));
        let two_holders = [
            live("a", Some("a@x.example"), "active"),
            live("b", Some("A@x.example"), "active"),
        ];
        assert!(org_from_listing(&two_holders).is_err());
    }

    fn export(rows: &[(Option<&str>, &str)]) -> Org {
        let accounts = rows
            .iter()
            .enumerate()
            .map(|(i, (id, email))| Account {
                id: id.map(Arc::from),
                name: "".into(),
                email: Email::lenient(email),
                status: Status::Active,
                product_access: true,
                line: i as u64 + 2,
            })
            .collect();
        Org::new(accounts).unwrap()
    }

    #[test]
    fn an_export_without_ids_is_resolved_through_the_listing() {
        let listed = [
            live("id-a", Some("a@x.example"), "active"),
            live("id-b", Some("B@x.example"), "active"),
            live("id-new", Some("new@x.example"), "active"),
        ];
        let managed = export(&[
            (None, "a@x.example"),
            (None, "b@x.example"),
            (None, "gone@x.example"),
        ]);
        let (org, found) = org_with_export(&listed, Some(&managed)).unwrap();
        assert_eq!(org.len(), 3);
        let a = org.account(org.holder("a@x.example").unwrap());
        assert_eq!((a.id.as_deref(), a.product_access), (Some("id-a"), true));
        assert!(
            !org.account(org.holder("new@x.example").unwrap())
                .product_access
        );
        assert_eq!(found.not_listed, [(4, "gone@x.example".to_owned())]);
        assert_eq!((found.new, found.hidden), (1, 0));
    }

    #[test]
    fn an_export_with_ids_shows_what_changed_since() {
        let listed = [
            live("a", Some("a2@x.example"), "active"),
            live("b", None, "active"),
        ];
        let users = export(&[(Some("a"), "a@x.example"), (Some("b"), "b@x.example")]);
        let (org, found) = org_with_export(&listed, Some(&users)).unwrap();
        assert_eq!(org.len(), 1);
        assert_eq!(
            found.changed,
            [(
                "a".to_owned(),
                "a@x.example".to_owned(),
                "a2@x.example".to_owned()
            )]
        );
        assert_eq!(found.hidden, 1);
        assert_eq!(found.not_listed, [(3, "b@x.example".to_owned())]);
    }
}
