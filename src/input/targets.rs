//! The target list from the identity provider: which account gets which address.
//! Rows are kept as written; whether a row can be planned is the planner's judgement, so a bad
//! row becomes a blocked item with a reason rather than stopping the run.

use super::InputError;
use super::csvfile::CsvTable;
use crate::model::{AddressProblem, Email};
use std::path::Path;

/// Header aliases per role, compared after folding case and space (docs/inputs.md lists them).
pub const ID_ALIASES: &[&str] = &["account_id", "account id", "user id", "atlassian id"];
pub const CURRENT_ALIASES: &[&str] = &[
    "current_email",
    "email",
    "old_email",
    "userprincipalname",
    "login",
];
pub const TARGET_ALIASES: &[&str] = &["target_email", "new_email", "mail"];

/// One row of the target list, trimmed; empty cells are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRow {
    pub line: u64,
    pub account_id: Option<String>,
    pub current_email: Option<String>,
    pub target: Target,
}

/// The target cell, checked once where it is read (the reader runs beside the accounts reader).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Valid(Email),
    Invalid {
        text: String,
        problem: AddressProblem,
    },
}

impl Target {
    pub fn parse(text: &str) -> Target {
        match Email::strict(text) {
            Ok(email) => Target::Valid(email),
            Err(problem) => Target::Invalid {
                text: text.trim().to_owned(),
                problem,
            },
        }
    }

    /// As the file spelled it.
    pub fn text(&self) -> &str {
        match self {
            Target::Valid(email) => email.text(),
            Target::Invalid { text, .. } => text,
        }
    }
}

pub fn parse_targets(path: &Path, bytes: &[u8]) -> Result<Vec<TargetRow>, InputError> {
    let table = CsvTable::open(path, bytes)?;
    let id_col = table.column("account ID", ID_ALIASES)?;
    let current_col = table.column("current address", CURRENT_ALIASES)?;
    let target_col = table.require("target_email", TARGET_ALIASES)?;
    if id_col.is_none() && current_col.is_none() {
        return Err(InputError::MissingColumn {
            path: path.to_owned(),
            column: "account_id or current_email",
            found: table.found(),
        });
    }
    let optional = |text: &str| (!text.is_empty()).then(|| text.to_owned());
    let rows = table.rows(|row| {
        let account_id = match id_col {
            Some(col) => optional(row.cell(col)?),
            None => None,
        };
        let current_email = match current_col {
            Some(col) => optional(row.cell(col)?),
            None => None,
        };
        let target = row.cell(target_col)?;
        if account_id.is_none() && current_email.is_none() && target.is_empty() {
            return Ok(None); // a row of empty cells, as spreadsheets leave at the end
        }
        Ok(Some(TargetRow {
            line: row.line,
            account_id,
            current_email,
            target: Target::parse(target),
        }))
    })?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<TargetRow>, InputError> {
        parse_targets(Path::new("targets.csv"), text.as_bytes())
    }

    #[test]
    fn aliases_and_trimming() {
        let rows = parse("userPrincipalName , Mail\n ann@old.example , Ann.Lee@New.example \n,\n")
            .unwrap();
        assert_eq!(
            rows,
            vec![TargetRow {
                line: 2,
                account_id: None,
                current_email: Some("ann@old.example".into()),
                target: Target::parse("Ann.Lee@New.example"),
            }]
        );
        let rows = parse("Atlassian ID,new_email\nid-1,a@new.example\n").unwrap();
        assert_eq!(rows[0].account_id.as_deref(), Some("id-1"));
    }

    #[test]
    fn header_problems_are_named() {
        let msg = |t: &str| parse(t).err().unwrap().to_string();
        assert_eq!(
            msg("account_id,current_email\nid-1,a@x.example\n"),
            "targets.csv: no target_email column in the header (found columns: \"account_id\", \"current_email\")"
        );
        assert_eq!(
            msg("target_email\na@x.example\n"),
            "targets.csv: no account_id or current_email column in the header (found columns: \"target_email\")"
        );
        assert_eq!(
            msg("email,current_email,target_email\n"),
            "targets.csv: both \"email\" and \"current_email\" columns are present and both would give the current address; keep one"
        );
    }
}
