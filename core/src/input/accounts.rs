//! The accounts exports of admin.atlassian.com, recognised by their headers (see docs/inputs.md).

use super::InputError;
use super::csvfile::CsvTable;
use crate::model::{Account, Email, Status, is_account_id};
use crate::org::{Org, OrgError};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Which export a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// Directory → Users → Export users: `User id`, `User name`, `email`, `User status`, ...
    ExportUsers,
    /// Directory → Domains → Export accounts: `Name`, `Email`, `Atlassian ID`, `Status`, ...
    DomainAccounts,
    /// Directory → Managed accounts → Export: `Name`, `Email`, `Status`, `Last active date [UTC]`;
    /// no account IDs.
    ManagedAccounts,
}

impl Layout {
    pub fn title(self) -> &'static str {
        match self {
            Layout::ExportUsers => "Export users",
            Layout::DomainAccounts => "Export accounts (domains)",
            Layout::ManagedAccounts => "Export managed accounts",
        }
    }
}

const EXPECTED: &str = "the \"Export users\" header (User id, email, ...), the domains \"Export accounts\" header (Atlassian ID, Email, ...) or the \"Export managed accounts\" header (Name, Email, Status, ...)";

/// Product columns of the domain and managed-accounts exports; each holds the sites the account
/// uses. The "Export users" layout names its product columns `<App> - <site>` instead.
const PRODUCTS: &[&str] = &[
    "atlas",
    "bitbucket",
    "compass",
    "confluence",
    "confluence guest",
    "feedback",
    "goals",
    "jira",
    "jira product discovery",
    "jira service management",
    "jira software",
    "jira work management",
    "loom",
    "opsgenie",
    "projects",
    "statuspage",
    "trello",
];

/// An accounts export, read and indexed.
pub struct AccountsFile {
    pub layout: Layout,
    pub org: Org,
    /// Accounts the export says this org has not claimed (`Claimed` no): the API changes none.
    pub unclaimed: Vec<String>,
    /// Accounts whose email the export says is unverified (`Verified email` no): the API
    /// refuses to change them (403 `forbidden.targetUnverified`) until it is verified.
    pub unverified: Vec<String>,
}

/// A yes/no cell; `None` when blank.
fn flag(cell: &str) -> Result<Option<bool>, ()> {
    let is = |words: &[&str]| words.iter().any(|w| cell.trim().eq_ignore_ascii_case(w));
    if cell.trim().is_empty() {
        Ok(None)
    } else if is(&["yes", "true", "y", "1", "claimed", "verified"]) {
        Ok(Some(true))
    } else if is(&["no", "false", "n", "0", "unclaimed", "unverified"]) {
        Ok(Some(false))
    } else {
        Err(())
    }
}

pub fn parse_accounts(path: &Path, bytes: &[u8]) -> Result<AccountsFile, InputError> {
    let table = CsvTable::open(path, bytes)?;
    let has = |name: &str| table.headers().iter().any(|h| h == name);
    let (layout, id_col) = if has("user id") {
        (
            Layout::ExportUsers,
            Some(table.require("account ID", &["user id"])?),
        )
    } else if has("atlassian id") {
        (
            Layout::DomainAccounts,
            Some(table.require("account ID", &["atlassian id"])?),
        )
    } else if has("email")
        && ["status", "name", "last active date [utc]", "last active"]
            .iter()
            .any(|h| has(h))
    {
        (Layout::ManagedAccounts, None)
    } else {
        return Err(InputError::UnrecognisedHeader {
            path: path.to_owned(),
            found: table.found(),
            expected: EXPECTED,
        });
    };
    let email_col = table.require("email", &["email"])?;
    let (name_aliases, status_aliases): (&[&str], &[&str]) = match layout {
        Layout::ExportUsers => (&["user name"], &["user status"]),
        _ => (&["name"], &["status"]),
    };
    let name_col = table.column("name", name_aliases)?;
    let status_col = table.column("status", status_aliases)?;
    let claimed_col = table.column("claimed", &["claimed"])?;
    let verified_col = table.column("verified email", &["verified email", "email verified"])?;
    let mut unclaimed = Vec::new();
    let mut unverified = Vec::new();
    let product_cols: Vec<usize> = table
        .headers()
        .iter()
        .enumerate()
        .filter(|(_, h)| is_product_column(layout, h))
        .map(|(i, _)| i)
        .collect();

    let accounts = table.rows(|row| {
        let line = row.line;
        let id = match id_col {
            Some(col) => {
                let id = row.cell(col)?;
                if !is_account_id(id) {
                    return Err(InputError::BadAccountId {
                        path: path.to_owned(),
                        line,
                        value: id.to_owned(),
                    });
                }
                Some(id.into())
            }
            None => None,
        };
        let email = row.cell(email_col)?;
        if email.is_empty() {
            return Err(InputError::MissingEmail {
                path: path.to_owned(),
                line,
                account: id.map_or_else(
                    || format!("on line {line}"),
                    |id: std::sync::Arc<str>| id.to_string(),
                ),
            });
        }
        let name = match name_col {
            Some(col) => row.cell(col)?.into(),
            None => "".into(),
        };
        let status = match status_col {
            Some(col) => Status::from_cell(row.cell(col)?),
            None => Status::Unknown,
        };
        if let Some(id) = &id {
            for (col, column, list) in [
                (claimed_col, "Claimed", &mut unclaimed),
                (verified_col, "Verified email", &mut unverified),
            ] {
                let Some(col) = col else { continue };
                let cell = row.cell(col)?;
                match flag(cell) {
                    Ok(Some(false)) => list.push(id.to_string()),
                    Ok(_) => {}
                    Err(()) => {
                        return Err(InputError::BadFlag {
                            path: path.to_owned(),
                            line,
                            column,
                            account: id.to_string(),
                            value: cell.to_owned(),
                        });
                    }
                }
            }
        }
        let mut product_access = false;
        for &col in &product_cols {
            if has_access(row.cell(col)?) {
                product_access = true;
                break;
            }
        }
        Ok(Some(Account {
            id,
            name,
            email: Email::lenient(email),
            status,
            product_access,
            line,
        }))
    })?;
    if accounts.is_empty() {
        return Err(InputError::NoAccounts {
            path: path.to_owned(),
        });
    }
    let org = Org::from_rows(accounts).map_err(|e| org_error(path, e))?;
    Ok(AccountsFile {
        layout,
        org,
        unclaimed,
        unverified,
    })
}

fn is_product_column(layout: Layout, header: &str) -> bool {
    match layout {
        Layout::ExportUsers => header.contains(" - ") && !header.starts_with("last seen in"),
        _ => PRODUCTS.contains(&header),
    }
}

fn has_access(cell: &str) -> bool {
    let none = ["", "-", "no", "none", "false", "never accessed"];
    !none.iter().any(|n| cell.eq_ignore_ascii_case(n))
}

fn org_error(path: &Path, e: OrgError) -> InputError {
    match e {
        OrgError::DuplicateId {
            account,
            line,
            email,
            first_line,
            first_email,
        } => InputError::DuplicateAccount {
            path: path.to_owned(),
            line,
            account,
            email,
            first_line,
            first_email,
        },
        OrgError::SharedAddress {
            email,
            account,
            line,
            other,
            other_line,
        } => InputError::SharedAddress {
            path: path.to_owned(),
            line,
            email,
            account,
            other,
            other_line,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<AccountsFile, InputError> {
        parse_accounts(Path::new("accounts.csv"), text.as_bytes())
    }

    #[test]
    fn export_users_layout_with_bom_reordered_and_product_columns() {
        let text = "\u{feff}Group name,EMAIL,User Id,User name,User status,Jira - acme,Last seen in Jira - acme\n\
                    \"a, b\",Ann@Old.example,id-1,\"Lee, Ann\",Active,User,12 Jan 2026\n\
                    x,bob@old.example,id-2,Bob,Inactive,,Never accessed\n";
        let file = parse(text).unwrap();
        assert_eq!(file.layout, Layout::ExportUsers);
        let a = file.org.account(0);
        assert_eq!(a.id.as_deref(), Some("id-1"));
        assert_eq!(&*a.name, "Lee, Ann");
        assert_eq!(a.email.key(), "ann@old.example");
        assert_eq!(
            (a.status, a.product_access, a.line),
            (Status::Active, true, 2)
        );
        let b = file.org.account(1);
        assert_eq!((b.status, b.product_access), (Status::Deactivated, false));
    }

    #[test]
    fn domain_export_layout_reads_atlassian_id_and_product_sites() {
        let text = "Name,Email,Atlassian ID,Status,Last active date [UTC],Confluence\n\
                    Ann,ann@old.example,id-1,Suspended,2026-01-02,\"acme.atlassian.net, beta.atlassian.net\"\n";
        let file = parse(text).unwrap();
        assert_eq!(file.layout, Layout::DomainAccounts);
        let a = file.org.account(0);
        assert_eq!((a.status, a.product_access), (Status::Suspended, true));
    }

    #[test]
    fn managed_accounts_layout_is_kept_without_ids() {
        let text = "Name,Email,Status,Last active date [UTC]\nAnn,ann@old.example,Active,\n";
        let file = parse(text).unwrap();
        assert_eq!(file.layout, Layout::ManagedAccounts);
        assert_eq!(file.org.account(0).id, None);
    }

    #[test]
    fn an_export_resaved_with_semicolons_or_tabs_reads_the_same() {
        let comma =
            "User id,User name,email,User status\nid-1,\"Lee; Ann\",ann@old.example,Active\n";
        let want = parse(comma).unwrap();
        for sep in [";", "\t"] {
            let text = format!(
                "User id{sep}User name{sep}email{sep}User status\nid-1{sep}\"Lee; Ann\"{sep}ann@old.example{sep}Active\n"
            );
            let got = parse(&text).unwrap();
            assert_eq!(got.layout, want.layout, "{sep:?}");
            assert_eq!(got.org.accounts(), want.org.accounts(), "{sep:?}");
        }
    }

    #[test]
    fn quoted_newlines_keep_line_numbers_right() {
        let text = "User id,email,User name\nid-1,a@x.example,\"two\nlines\"\nid-2,b@x.example,\"\"\n,c@x.example,C\n";
        let err = parse(text).err().unwrap().to_string();
        assert_eq!(err, "accounts.csv:5: \"\" is not an Atlassian account ID");
    }

    #[test]
    fn windows_and_old_mac_line_endings_give_the_lines_an_editor_shows() {
        for ending in ["\r\n", "\r"] {
            let text = [
                "User id,email",
                "",
                "id-1,a@x.example",
                "id-1,b@x.example",
                "",
            ]
            .join(ending);
            assert_eq!(
                parse(&text).err().unwrap().to_string(),
                "accounts.csv:4: account id-1 appears again with b@x.example, but line 3 gives it a@x.example",
                "{ending:?}"
            );
        }
    }

    #[test]
    fn identical_duplicate_rows_merge_but_contradicting_ones_fail() {
        let same = "User id,email,Group name\nid-1,a@x.example,g1\nid-1,A@x.example,g2\n";
        assert_eq!(parse(same).unwrap().org.len(), 1);
        let differ = "User id,email\nid-1,a@x.example\nid-1,b@x.example\n";
        assert_eq!(
            parse(differ).err().unwrap().to_string(),
            "accounts.csv:3: account id-1 appears again with b@x.example, but line 2 gives it a@x.example"
        );
        let shared = "User id,email\nid-1,a@x.example\nid-2,A@X.example\n";
        assert_eq!(
            parse(shared).err().unwrap().to_string(),
            "accounts.csv:3: A@X.example is held by id-2 here and by id-1 on line 2; one address belongs to one account, so this export cannot be right"
        );
    }

    #[test]
    fn structural_problems_are_named() {
        let msg = |t: &str| parse(t).err().unwrap().to_string();
        assert_eq!(
            msg(""),
            "accounts.csv: the file is empty; expected a CSV header line"
        );
        assert_eq!(
            msg("\u{feff}\n"),
            "accounts.csv: the file is empty; expected a CSV header line"
        );
        assert!(msg("email\na@x.example\n").starts_with(
            "accounts.csv: the header is not one mailshift knows (found columns: \"email\")"
        ));
        assert_eq!(
            msg("User id,User name\nid-1,Ann\n"),
            "accounts.csv: no email column in the header (accepted: \"email\"; found columns: \"User id\", \"User name\")"
        );
        assert_eq!(
            msg("User id,email\n"),
            "accounts.csv: the file has a header but no accounts"
        );
        assert_eq!(
            msg("User id,email\nid-1,a@x.example,extra\n"),
            "accounts.csv:2: this row has 3 cells but the header has 2"
        );
        assert_eq!(
            msg("User id,email\nid-1,\n"),
            "accounts.csv:2: account id-1 has no email address"
        );
    }

    #[test]
    fn latin1_and_utf16_files_are_refused_with_the_fix() {
        let latin1 = b"User id,email,User name\nid-1,a@x.example,Ren\xe9\n";
        assert_eq!(
            parse_accounts(Path::new("a.csv"), latin1)
                .err()
                .unwrap()
                .to_string(),
            "a.csv:2: column \"User name\" is not valid UTF-8; save the file as \"CSV UTF-8\" and try again"
        );
        let utf16 = b"\xff\xfeU\0s\0";
        assert!(matches!(
            parse_accounts(Path::new("a.csv"), utf16),
            Err(InputError::Utf16 { .. })
        ));
    }
}
