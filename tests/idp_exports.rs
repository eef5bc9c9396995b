//! `plan` on the user exports identity providers write, as an admin downloads them: the layout is
//! recognised from the header (whatever the separator), said on standard error, and planned with
//! no hand edit; people with no Atlassian account are listed, not blocked; a list that matches
//! nobody, or a rewrite rule that matches nobody, is refused with the likely cause.

mod support;

use mailshift::plan::{Plan, StepKind};
use std::path::Path;
use support::{mailshift, read_plan, text};

const ACCOUNTS: &str = "accounts.csv";

fn dir_with(name: &str, body: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/accounts.csv");
    std::fs::copy(fixture, dir.path().join(ACCOUNTS)).unwrap();
    std::fs::write(dir.path().join(name), body).unwrap();
    dir
}

fn plan(dir: &Path, targets: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "plan",
        "--accounts",
        ACCOUNTS,
        "--targets",
        targets,
        "--out",
        "plan.json",
    ];
    args.extend_from_slice(extra);
    mailshift(dir, &args)
}

/// The renames a plan makes, as (from, to); frees of holders aside.
fn renames(plan: &Plan) -> Vec<(String, String)> {
    plan.steps
        .iter()
        .filter(|s| s.kind == StepKind::Rename)
        .map(|s| (s.from.to_string(), s.to.to_string()))
        .collect()
}

fn ann_and_carla() -> Vec<(String, String)> {
    vec![
        (
            "ann.lee@companya.example".into(),
            "ann.lee@companyb.example".into(),
        ),
        (
            "cdiaz@companya.example".into(),
            "carla.diaz@companyb.example".into(),
        ),
    ]
}

/// Each export moves Ann and Carla, and lists a person with no Atlassian account.
#[test]
fn okta_entra_and_google_exports_plan_without_a_hand_edit() {
    let cases = [
        (
            "okta.csv",
            "id,status,created,activated,statusChanged,lastLogin,lastUpdated,passwordChanged,type,login,firstName,lastName,email,secondEmail,mobilePhone\n\
             00u1,ACTIVE,2021-03-12,2021-03-12,,,,,,ann.lee@companya.example,Ann,Lee,ann.lee@companyb.example,,\n\
             00u2,ACTIVE,2021-03-12,2021-03-12,,,,,,cdiaz@companya.example,Carla,Diaz,carla.diaz@companyb.example,,\n\
             00u3,ACTIVE,2026-11-30,,,,,,,new.person@companya.example,New,Person,new.person@companyb.example,,\n",
            "read as an Okta people export (comma-separated): current address from \"login\", new address from \"email\"",
        ),
        (
            "entra.csv",
            // Excel in a European locale: semicolons. The guest has no mail and is left out.
            "userPrincipalName;displayName;surname;mail;givenName;objectId;userType;jobTitle;department;accountEnabled;usageLocation\r\n\
             ann.lee@companya.example;Ann Lee;Lee;ann.lee@companyb.example;Ann;1f0c;Member;;Sales;True;DE\r\n\
             cdiaz@companya.example;Carla Diaz;Diaz;carla.diaz@companyb.example;Carla;2a9e;Member;;Sales;True;DE\r\n\
             guest_mail.example#EXT#@companyb.onmicrosoft.com;A Guest;;;;3b7d;Guest;;;True;\r\n\
             new.person@companya.example;New Person;Person;new.person@companyb.example;New;4c1a;Member;;;True;DE\r\n",
            "read as a Microsoft Entra ID \"Download users\" export (semicolon-separated): current address from \"userPrincipalName\", new address from \"mail\"; 1 row with no new address left out (first: line 4)",
        ),
        (
            "google.tsv",
            "First Name [Required]\tLast Name [Required]\tEmail Address [Required]\tPassword [Required]\tPassword Hash Function [UPLOAD ONLY]\tOrg Unit Path [Required]\tNew Primary Email [UPLOAD ONLY]\tRecovery Email\tEmployee ID\n\
             Ann\tLee\tann.lee@companya.example\t****\t\t/\tann.lee@companyb.example\t\t\n\
             Carla\tDiaz\tcdiaz@companya.example\t****\t\t/\tcarla.diaz@companyb.example\t\t\n\
             Kim\tLee\tkim.lee@companyb.example\t****\t\t/\t\t\t\n\
             New\tPerson\tnew.person@companya.example\t****\t\t/\tnew.person@companyb.example\t\t\n",
            "read as a Google Workspace \"Download users\" file (tab-separated): current address from \"Email Address [Required]\", new address from \"New Primary Email [UPLOAD ONLY]\"; 1 row with no new address left out (first: line 4)",
        ),
    ];
    for (name, body, said) in cases {
        let dir = dir_with(name, body);
        let out = plan(dir.path(), name, &[]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{name}: {stderr}");
        assert!(
            stderr.contains(&format!("mailshift: {name}: {said}\n")),
            "{name}: {stderr}"
        );
        assert!(
            stderr.contains("1 row with no Atlassian account: listed in the review, not blocked"),
            "{name}: {stderr}"
        );
        let made = read_plan(&dir.path().join("plan.json"));
        assert_eq!(renames(&made), ann_and_carla(), "{name}");
        assert!(made.blocked.is_empty(), "{name}");
        assert_eq!(made.no_account.len(), 1, "{name}");
        assert_eq!(made.no_account[0].target, "new.person@companyb.example");
        // Asked to, the people without an account count in the exit code.
        let strict = plan(dir.path(), name, &["--strict"]);
        assert_eq!(strict.status.code(), Some(2), "{name}");
    }
}

#[test]
fn an_ambiguous_header_is_read_as_columns_says() {
    // An Entra export downloaded after the UPNs were changed: the old address is only in a
    // column the admin added.
    let body = "userPrincipalName,displayName,mail,objectId,oldMail\n\
                ann.lee@companyb.example,Ann Lee,ann.lee@companyb.example,1f0c,ann.lee@companya.example\n\
                tom.baker@companyb.example,Tom Baker,tom.baker@companyb.example,2a9e,tbaker@companya.example\n";
    let dir = dir_with("entra.csv", body);
    let out = plan(dir.path(), "entra.csv", &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr,
        "mailshift: entra.csv: read as a Microsoft Entra ID \"Download users\" export (comma-separated): current address from \"userPrincipalName\", new address from \"mail\"\n\
         mailshift: error: entra.csv: none of its 2 rows matches an account, so it plans nothing. On 2 of them the current-address column \"userPrincipalName\" already holds the new address: the identity provider has changed it, so it cannot find the accounts. Give the column that still holds the addresses the Atlassian accounts have with --columns current=COLUMN (or an account-ID column with --columns id=COLUMN), or plan a domain move with --rewrite-domain OLD=NEW.\n"
    );
    assert!(!dir.path().join("plan.json").exists());

    let out = plan(dir.path(), "entra.csv", &["--columns", "current=oldMail"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let made = read_plan(&dir.path().join("plan.json"));
    assert_eq!(
        renames(&made),
        [
            (
                "ann.lee@companya.example".to_owned(),
                "ann.lee@companyb.example".to_owned()
            ),
            (
                "tbaker@companya.example".to_owned(),
                "tom.baker@companyb.example".to_owned()
            ),
        ]
    );
}

#[test]
fn a_rewrite_rule_that_matches_no_account_is_refused() {
    let dir = dir_with("unused.csv", "");
    let out = mailshift(
        dir.path(),
        &[
            "plan",
            "--accounts",
            ACCOUNTS,
            "--rewrite-domain",
            "companya.example=companyb.example",
            "--rewrite-domain",
            "compnya.example=companyb.example",
            "--out",
            "plan.json",
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr,
        "mailshift: error: --rewrite-domain compnya.example=companyb.example: no account in accounts.csv is on compnya.example; the accounts are on companyb.example, companya.example. Check the spelling\n"
    );
    assert!(!dir.path().join("plan.json").exists());
}

/// The IdP's list and a hand-made list of fixes, planned together: each file is read with its
/// own layout, each row keeps its file and line, and rows of the two that disagree are caught
/// as within one file.
#[test]
fn several_target_lists_plan_as_one_and_keep_their_lines() {
    let dir = dir_with(
        "google.tsv",
        "First Name [Required]\tLast Name [Required]\tEmail Address [Required]\tPassword [Required]\tPassword Hash Function [UPLOAD ONLY]\tOrg Unit Path [Required]\tNew Primary Email [UPLOAD ONLY]\tRecovery Email\tEmployee ID\n\
         Ann\tLee\tann.lee@companya.example\t****\t\t/\tann.lee@companyb.example\t\t\n\
         Carla\tDiaz\tcdiaz@companya.example\t****\t\t/\tcarla.diaz@companyb.example\t\t\n\
         Tom\tBaker\ttbaker@companya.example\t****\t\t/\ttom.baker@companyb.example\t\t\n",
    );
    std::fs::write(
        dir.path().join("fixes.csv"),
        "current_email,target_email\n\
         mgarcia@companya.example,maria.garcia@companyb.example\n\
         tbaker@companya.example,t.baker@companyb.example\n",
    )
    .unwrap();
    let out = plan(dir.path(), "google.tsv", &["--targets", "fixes.csv"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("mailshift: google.tsv: read as a Google Workspace"),
        "{stderr}"
    );
    assert!(
        stderr.contains("mailshift: fixes.csv: read as a target list (comma-separated)"),
        "{stderr}"
    );
    let made = read_plan(&dir.path().join("plan.json"));
    let mut moved = renames(&made);
    moved.sort();
    assert_eq!(
        moved,
        [
            ("ann.lee@companya.example", "ann.lee@companyb.example"),
            ("cdiaz@companya.example", "carla.diaz@companyb.example"),
            ("mgarcia@companya.example", "maria.garcia@companyb.example"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    let maria = made
        .steps
        .iter()
        .find(|s| &*s.to == "maria.garcia@companyb.example")
        .unwrap();
    assert_eq!(
        maria.origin,
        Some(mailshift::plan::Origin::Line { file: 1, line: 2 })
    );
    let paths: Vec<&str> = made.inputs.all_targets().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["google.tsv", "fixes.csv"]);
    // Tom's two rows, one in each file, want different addresses: both are blocked.
    assert_eq!(made.blocked.len(), 2, "{:?}", made.blocked);
    assert_eq!(
        made.blocked[0].reason,
        mailshift::plan::BlockReason::ConflictingRows {
            lines: vec![4, 3],
            files: vec![0, 1]
        }
    );
    let review = text(&out.stdout);
    assert!(review.contains("fixes.csv:2"), "{review}");
    assert!(
        review.contains("line 4, line 3 of the 2nd --targets give this account different targets"),
        "{review}"
    );
    let file = std::fs::read_to_string(dir.path().join("plan.json")).unwrap();
    assert!(file.starts_with("{\"format\":\"mailshift-plan\",\"format_version\":6,"));

    // The same file twice would read its rows twice.
    let twice = plan(dir.path(), "fixes.csv", &["--targets", "./fixes.csv"]);
    assert_eq!(twice.status.code(), Some(1));
    assert!(
        text(&twice.stderr).contains("--targets ./fixes.csv: given twice"),
        "{}",
        text(&twice.stderr)
    );
}
