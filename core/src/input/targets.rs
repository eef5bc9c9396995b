//! The target list from the identity provider: which account gets which address.
//! Rows are kept as written; whether a row can be planned is the planner's judgement, so a bad
//! row becomes a blocked item with a reason rather than stopping the run.

use super::InputError;
use super::csvfile::CsvTable;
use crate::model::{AddressProblem, Email};
use std::path::Path;

/// Header aliases per role in a list made for mailshift, compared after folding case and space
/// (docs/inputs.md lists them).
pub(super) const ID_ALIASES: &[&str] = &["account_id", "account id", "user id", "atlassian id"];
pub(super) const CURRENT_ALIASES: &[&str] = &[
    "current_email",
    "email",
    "old_email",
    "userprincipalname",
    "login",
];
pub(super) const TARGET_ALIASES: &[&str] = &["target_email", "new_email", "mail"];

/// Names only a list made for mailshift uses: with one of them, the file is read by the aliases
/// above even if it also has an identity provider's columns.
const OWN_NAMES: &[&str] = &[
    "account_id",
    "current_email",
    "old_email",
    "target_email",
    "new_email",
];

/// Which kind of target list a file is, recognised by its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetLayout {
    /// A list made for mailshift (or by hand): columns by the aliases above.
    Own,
    /// Okta, Directory → People → More actions → Export users: `id`, `status`, `login`,
    /// `email`, `firstName`, ... The Okta username (`login`) keeps the address people sign in
    /// with; `email` is the primary email, the new address once changed.
    Okta,
    /// Microsoft Entra ID, Users → Download users: `userPrincipalName`, `displayName`, `mail`,
    /// `objectId`, ... The UPN is the sign-in name; `mail` the primary SMTP address.
    Entra,
    /// Google Workspace, Directory → Users → Bulk update users → Download users: `Email Address
    /// [Required]` and the column an admin fills for a rename, `New Primary Email [UPLOAD ONLY]`.
    Google,
    /// JumpCloud and OneLogin user exports: `Username`, `Email`, first and last name.
    UsernameEmail,
}

impl TargetLayout {
    pub fn title(self) -> &'static str {
        match self {
            TargetLayout::Own => "a target list",
            TargetLayout::Okta => "an Okta people export",
            TargetLayout::Entra => "a Microsoft Entra ID \"Download users\" export",
            TargetLayout::Google => "a Google Workspace \"Download users\" file",
            TargetLayout::UsernameEmail => "a JumpCloud or OneLogin user export",
        }
    }

    /// The headers that give each role in this layout: (account ID, current address, target).
    fn roles(
        self,
    ) -> (
        &'static [&'static str],
        &'static [&'static str],
        &'static [&'static str],
    ) {
        match self {
            TargetLayout::Own => (ID_ALIASES, CURRENT_ALIASES, TARGET_ALIASES),
            TargetLayout::Okta => (&[], &["login"], &["email"]),
            TargetLayout::Entra => (&[], &["userprincipalname"], &["mail"]),
            TargetLayout::Google => (
                &[],
                &["email address [required]"],
                &["new primary email [upload only]"],
            ),
            TargetLayout::UsernameEmail => (&[], &["username"], &["email"]),
        }
    }

    /// Recognises the layout from the folded header names.
    pub fn recognise(headers: &[String]) -> TargetLayout {
        let has = |name: &str| headers.iter().any(|h| h == name);
        let any = |names: &[&str]| names.iter().any(|n| has(n));
        if any(OWN_NAMES) {
            TargetLayout::Own
        } else if has("email address [required]") {
            TargetLayout::Google
        } else if has("userprincipalname")
            && any(&[
                "objectid",
                "id",
                "usertype",
                "displayname",
                "accountenabled",
            ])
        {
            TargetLayout::Entra
        } else if has("login") && has("email") && any(&["id", "status", "firstname", "lastname"]) {
            TargetLayout::Okta
        } else if has("username")
            && has("email")
            && any(&["firstname", "lastname", "first name", "last name"])
        {
            TargetLayout::UsernameEmail
        } else {
            TargetLayout::Own
        }
    }

    /// Identity provider exports list everyone, also people whose address is not changing yet:
    /// a row without a new address is left out rather than blocked.
    fn skips_empty_targets(self) -> bool {
        self != TargetLayout::Own
    }
}

/// `--columns current=login,target=email`: which header gives which role, for a file whose
/// header mailshift reads otherwise (or cannot read).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnMap {
    pub id: Option<String>,
    pub current: Option<String>,
    pub target: Option<String>,
}

impl ColumnMap {
    /// Parses `ROLE=HEADER,...` with roles `id`, `current` and `target`.
    pub fn parse(text: &str) -> Result<ColumnMap, String> {
        let mut map = ColumnMap::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((role, header)) = part.split_once('=') else {
                return Err(format!(
                    "{part:?} is not ROLE=HEADER (for example current=login,target=email)"
                ));
            };
            let header = header.trim();
            if header.is_empty() {
                return Err(format!("{part:?} names no header"));
            }
            let slot = match role.trim().to_lowercase().as_str() {
                "id" | "account_id" => &mut map.id,
                "current" | "current_email" => &mut map.current,
                "target" | "target_email" => &mut map.target,
                other => {
                    return Err(format!(
                        "{other:?} is not a role; the roles are id, current and target"
                    ));
                }
            };
            if slot.is_some() {
                return Err(format!("the role in {part:?} is given twice"));
            }
            *slot = Some(header.to_owned());
        }
        if map == ColumnMap::default() {
            return Err("expected ROLE=HEADER, for example current=login,target=email".into());
        }
        Ok(map)
    }
}

/// A target list, read: its rows and how the file was read, for the line that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetsFile {
    pub layout: TargetLayout,
    pub delimiter: u8,
    pub id_column: Option<String>,
    pub current_column: Option<String>,
    pub target_column: String,
    pub rows: Vec<TargetRow>,
    /// Lines of an IdP export whose new-address cell is empty.
    pub skipped: Vec<u64>,
}

impl TargetsFile {
    /// `--login-domain`: the current column holds logins (JumpCloud's `username`, say), and the
    /// account's address is `LOGIN@domain`. Cells that are addresses already stay as they are.
    /// Returns how many cells became addresses.
    pub fn with_login_domain(&mut self, domain: &str) -> usize {
        let mut made = 0;
        for row in &mut self.rows {
            if let Some(login) = &mut row.current_email
                && !login.is_empty()
                && !login.contains('@')
            {
                *login = format!("{login}@{domain}");
                made += 1;
            }
        }
        made
    }

    /// How the file was read, in one line: which layout, which separator, which column for what.
    pub fn describe(&self) -> String {
        let mut roles = Vec::new();
        if let Some(c) = &self.id_column {
            roles.push(format!("account ID from {c:?}"));
        }
        if let Some(c) = &self.current_column {
            roles.push(format!("current address from {c:?}"));
        }
        roles.push(format!("new address from {:?}", self.target_column));
        let mut text = format!(
            "read as {} ({}): {}",
            self.layout.title(),
            super::csvfile::delimiter_name(self.delimiter),
            roles.join(", ")
        );
        if let Some(first) = self.skipped.first() {
            let n = self.skipped.len();
            text.push_str(&format!(
                "; {n} row{} with no new address left out (first: line {first})",
                if n == 1 { "" } else { "s" }
            ));
        }
        text
    }
}

/// One row of the target list, trimmed; empty cells are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRow {
    /// Which `--targets` file the row is from, counted from 0 (`Origin::Line`'s `file`).
    pub file: u32,
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

pub fn parse_targets(
    path: &Path,
    bytes: &[u8],
    columns: &ColumnMap,
) -> Result<TargetsFile, InputError> {
    let table = CsvTable::open(path, bytes)?;
    let layout = TargetLayout::recognise(table.headers());
    let (id_aliases, current_aliases, target_aliases) = layout.roles();
    let named = |role: &'static str, header: &Option<String>, aliases: &'static [&'static str]| {
        match header {
            Some(h) => {
                let wanted = super::csvfile::normalise_header(h);
                table
                    .headers()
                    .iter()
                    .position(|x| *x == wanted)
                    .map(Some)
                    .ok_or_else(|| InputError::NoSuchColumn {
                        path: path.to_owned(),
                        role,
                        header: h.clone(),
                        found: table.found(),
                    })
            }
            None => table.column(role, aliases).map_err(|e| match e {
                InputError::AmbiguousColumns {
                    path,
                    role,
                    first,
                    second,
                } => InputError::AmbiguousTargetColumns {
                    path,
                    role,
                    first,
                    second,
                },
                other => other,
            }),
        }
    };
    let id_col = named("account ID", &columns.id, id_aliases)?;
    let current_col = named("current address", &columns.current, current_aliases)?;
    let target_col = named("new address", &columns.target, target_aliases)?.ok_or_else(|| {
        InputError::MissingColumn {
            path: path.to_owned(),
            column: "new address (target_email)",
            accepted: super::csvfile::accepted(target_aliases),
            found: table.found(),
        }
    })?;
    if id_col.is_none() && current_col.is_none() {
        let mut accepted = id_aliases.to_vec();
        accepted.extend_from_slice(current_aliases);
        return Err(InputError::MissingColumn {
            path: path.to_owned(),
            column: "account ID or current address (account_id or current_email)",
            accepted: super::csvfile::accepted(&accepted),
            found: table.found(),
        });
    }
    let header = |col: Option<usize>| col.map(|c| table.raw_headers()[c].clone());
    let (id_column, current_column) = (header(id_col), header(current_col));
    let target_column = table.raw_headers()[target_col].clone();
    let delimiter = table.delimiter();
    let skips = layout.skips_empty_targets();
    let mut skipped = Vec::new();
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
        if target.is_empty() && skips {
            skipped.push(row.line);
            return Ok(None);
        }
        Ok(Some(TargetRow {
            file: 0,
            line: row.line,
            account_id,
            current_email,
            target: Target::parse(target),
        }))
    })?;
    if rows.is_empty() && !skipped.is_empty() {
        return Err(InputError::EmptyTargetColumn {
            path: path.to_owned(),
            column: target_column,
            rows: skipped.len(),
        });
    }
    Ok(TargetsFile {
        layout,
        delimiter,
        id_column,
        current_column,
        target_column,
        rows,
        skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, columns: &str) -> Result<TargetsFile, InputError> {
        let map = if columns.is_empty() {
            ColumnMap::default()
        } else {
            ColumnMap::parse(columns).unwrap()
        };
        parse_targets(Path::new("targets.csv"), text.as_bytes(), &map)
    }

    fn parse(text: &str) -> Result<Vec<TargetRow>, InputError> {
        read(text, "").map(|f| f.rows)
    }

    fn pairs(file: &TargetsFile) -> Vec<(Option<&str>, &str)> {
        file.rows
            .iter()
            .map(|r| (r.current_email.as_deref(), r.target.text()))
            .collect()
    }

    #[test]
    fn aliases_and_trimming() {
        let rows = parse("userPrincipalName , Mail\n ann@old.example , Ann.Lee@New.example \n,\n")
            .unwrap();
        assert_eq!(
            rows,
            vec![TargetRow {
                file: 0,
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
    fn header_problems_are_named_with_the_names_accepted() {
        let msg = |t: &str| parse(t).err().unwrap().to_string();
        assert_eq!(
            msg("account_id,current_email\nid-1,a@x.example\n"),
            "targets.csv: no new address (target_email) column in the header (accepted: \"target_email\", \"new_email\" or \"mail\"; found columns: \"account_id\", \"current_email\")"
        );
        assert_eq!(
            msg("target_email\na@x.example\n"),
            "targets.csv: no account ID or current address (account_id or current_email) column in the header (accepted: \"account_id\", \"account id\", \"user id\", \"atlassian id\", \"current_email\", \"email\", \"old_email\", \"userprincipalname\" or \"login\"; found columns: \"target_email\")"
        );
        assert_eq!(
            msg("email,current_email,target_email\n"),
            "targets.csv: both \"email\" and \"current_email\" columns could give the current address; say which with --columns (for example --columns current=\"email\",target=...), or keep one"
        );
    }

    /// Headers as each identity provider's user export writes them (docs/inputs.md names the
    /// export and where the columns were looked up), planned without a hand edit.
    #[test]
    fn identity_provider_exports_are_recognised() {
        let okta = read(
            "id,status,created,login,email,firstName,lastName,secondEmail\n00u1,ACTIVE,2024-01-02,ann@old.example,ann.lee@new.example,Ann,Lee,\n00u2,ACTIVE,2024-01-02,bo@old.example,,Bo,Ng,\n",
            "",
        )
        .unwrap();
        assert_eq!(okta.layout, TargetLayout::Okta);
        assert_eq!(
            pairs(&okta),
            [(Some("ann@old.example"), "ann.lee@new.example")]
        );
        assert_eq!(
            okta.describe(),
            "read as an Okta people export (comma-separated): current address from \"login\", new address from \"email\"; 1 row with no new address left out (first: line 3)"
        );

        let entra = read(
            "userPrincipalName;displayName;surname;mail;givenName;objectId;userType;jobTitle;department;accountEnabled\nann@old.example;Ann Lee;Lee;ann.lee@new.example;Ann;8f1e;Member;;;True\n",
            "",
        )
        .unwrap();
        assert_eq!(entra.layout, TargetLayout::Entra);
        assert_eq!(entra.delimiter, b';');
        assert_eq!(
            pairs(&entra),
            [(Some("ann@old.example"), "ann.lee@new.example")]
        );

        let google = read(
            "First Name [Required]\tLast Name [Required]\tEmail Address [Required]\tPassword [Required]\tOrg Unit Path [Required]\tNew Primary Email [UPLOAD ONLY]\nAnn\tLee\tann@old.example\t****\t/\tann.lee@new.example\n",
            "",
        )
        .unwrap();
        assert_eq!(google.layout, TargetLayout::Google);
        assert_eq!(google.delimiter, b'\t');
        assert_eq!(
            pairs(&google),
            [(Some("ann@old.example"), "ann.lee@new.example")]
        );

        let jumpcloud = read(
            "FirstName,LastName,Username,Email\nAnn,Lee,ann@old.example,ann.lee@new.example\n",
            "",
        )
        .unwrap();
        assert_eq!(jumpcloud.layout, TargetLayout::UsernameEmail);
        assert_eq!(
            pairs(&jumpcloud),
            [(Some("ann@old.example"), "ann.lee@new.example")]
        );
    }

    #[test]
    fn a_list_made_for_mailshift_keeps_its_aliases_beside_idp_columns() {
        let own = read(
            "login,email,firstName,target_email\nann@old.example,ann@old.example,Ann,ann@new.example\n",
            "current=login",
        )
        .unwrap();
        assert_eq!(own.layout, TargetLayout::Own);
        assert_eq!(pairs(&own), [(Some("ann@old.example"), "ann@new.example")]);
        // Without --columns the two current-address aliases are ambiguous, as before.
        assert!(matches!(
            read("login,email,firstName,target_email\n", ""),
            Err(InputError::AmbiguousTargetColumns { .. })
        ));
    }

    #[test]
    fn columns_name_the_roles() {
        // An Entra export after the UPN was changed: the old address is in another column.
        let text = "userPrincipalName,displayName,mail,objectId,otherMails\nann.lee@new.example,Ann,ann.lee@new.example,8f1e,ann@old.example\n";
        let file = read(text, "current=otherMails").unwrap();
        assert_eq!(
            pairs(&file),
            [(Some("ann@old.example"), "ann.lee@new.example")]
        );
        assert!(
            file.describe()
                .contains("current address from \"otherMails\"")
        );
        let err = read(text, "current=oldMail").err().unwrap().to_string();
        assert!(
            err.starts_with("targets.csv: --columns gives the current address as \"oldMail\", but the header has no such column"),
            "{err}"
        );
        assert_eq!(
            ColumnMap::parse("current=login, target=email").unwrap(),
            ColumnMap {
                id: None,
                current: Some("login".into()),
                target: Some("email".into())
            }
        );
        for bad in ["login", "current=", "who=login", "current=a,current=b", ""] {
            assert!(ColumnMap::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_google_download_whose_new_address_column_is_empty_everywhere_is_refused_saying_why() {
        let download = "First Name [Required]\tLast Name [Required]\tEmail Address [Required]\tPassword [Required]\tOrg Unit Path [Required]\tNew Primary Email [UPLOAD ONLY]\nAnn\tLee\tann@old.example\t****\t/\t\nBob\tStone\tbob@old.example\t****\t/\t\n";
        let err = read(download, "").unwrap_err().to_string();
        assert!(
            err.contains("\"New Primary Email [UPLOAD ONLY]\" is empty in all 2 rows")
                && err.contains("--rewrite-domain")
                && err.contains("--columns"),
            "{err}"
        );
    }
}
