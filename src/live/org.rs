//! The org as the listing shows it, as the planner's `Org`: pure, so that `plan
//! --accounts-from-api` and `rollback` plan against the live org exactly as against an export.

use super::page::LiveAccount;
use crate::model::{Account, Email, Status};
use crate::org::Org;
use std::sync::Arc;

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
}
