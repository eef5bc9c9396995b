//! `mailshift plan` as an admin runs it: the built binary on the bundled fixtures and on broken
//! inputs. Every failure must name the file and line, exit 1, and leave no plan file behind.

use mailshift::ledger::Ledger;
use mailshift::org::Org;
use mailshift::plan::{StepKind, file};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Runs mailshift in `dir`, so relative paths in messages are as an admin would see them.
/// `command` is split on spaces, like a command line without quoting.
fn mailshift(dir: &Path, command: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mailshift"))
        .current_dir(dir)
        .args(command.split_whitespace())
        .output()
        .expect("the binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A scratch folder holding copies of the fixtures.
fn scratch() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "accounts.csv",
        "targets.csv",
        "accounts-domains.csv",
        "managed-accounts.csv",
    ] {
        std::fs::copy(fixture(name), dir.path().join(name)).unwrap();
    }
    dir
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

const FIXTURE_PLAN: &str = "plan --accounts accounts.csv --targets targets.csv \
    --verified-domains companya.example,companyb.example";
const FIXTURE_ARGS: &str = "plan --accounts accounts.csv --targets targets.csv \
    --verified-domains companya.example,companyb.example --out plan.json";

#[test]
fn fixture_plan_is_written_private_and_reaches_every_target() {
    let dir = scratch();
    let out = mailshift(dir.path(), FIXTURE_ARGS);
    assert_eq!(
        out.status.code(),
        Some(2),
        "blocked rows give exit 2: {}",
        stderr(&out)
    );
    let path = dir.path().join("plan.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the plan holds personal data");
    }
    let plan = file::read(&path).unwrap();
    let s = &plan.summary;
    assert_eq!(
        (
            s.renames,
            s.frees,
            s.temporaries,
            s.chains,
            s.cycles,
            s.writes
        ),
        (12, 2, 2, 1, 2, 16)
    );
    assert_eq!(
        (s.blocked, s.unchanged, s.flagged_holders, s.signed_out),
        (5, 1, 1, 13)
    );
    // The row for a new hire with no Atlassian account is listed, not blocked.
    assert_eq!(
        (s.no_account, plan.no_account[0].origin.clone()),
        (1, mailshift::plan::Origin::line(15))
    );
    let reasons: Vec<&str> = plan.blocked.iter().map(|b| b.reason.code()).collect();
    assert_eq!(
        reasons,
        [
            "duplicate_target",
            "duplicate_target",
            "invalid_address",
            "unverified_domain",
            "ambiguous_account"
        ]
    );

    // Replaying the plan on the export's world ends with every renamed account at its target.
    let bytes = std::fs::read(dir.path().join("accounts.csv")).unwrap();
    let org: Org = mailshift::input::parse_accounts(Path::new("accounts.csv"), &bytes)
        .unwrap()
        .org;
    let mut world = Ledger::from_org(&org);
    for step in &plan.steps {
        world.apply(&step.account_id, &step.from, &step.to).unwrap();
    }
    for step in plan.steps.iter().filter(|s| s.kind == StepKind::Rename) {
        assert_eq!(world.email_of(&step.account_id), Some(&*step.to));
    }

    let review = stdout(&out);
    assert!(review.starts_with("mailshift plan from accounts.csv, targets.csv\n"));
    assert!(review.contains("\n  temporary addresses  2 (one per cycle; cycles 2, chains 1)\n"));
    assert!(
        review.contains("\n  users signed out     13 (every write ends the account's sessions)\n")
    );
    assert!(review.contains("WARNING active user, has product access loses this address"));
    assert!(review.contains(
        "targets.csv:16  712020:5b10a284-4c20-4165-80ed-e21a00000016  tbaker@companya.example   tom.baker@companyb          invalid target: the domain \"companyb\" is not a valid domain name"
    ));
    let stderr = stderr(&out);
    assert!(stderr.starts_with(
        "mailshift: targets.csv: read as a target list (comma-separated): account ID from \"account_id\", current address from \"current_email\", new address from \"target_email\"\nmailshift: plan written to plan.json (16 writes, 5 blocked; content sha256 "
    ), "{stderr}");
    assert!(stderr.ends_with(
        "\nmailshift: 1 row with no Atlassian account: listed in the review, not blocked (--strict counts them in the exit code)\n"
    ), "{stderr}");
}

#[test]
fn same_inputs_give_the_same_plan_bytes() {
    let dir = scratch();
    mailshift(dir.path(), FIXTURE_ARGS);
    let first = std::fs::read(dir.path().join("plan.json")).unwrap();
    mailshift(dir.path(), FIXTURE_ARGS);
    assert_eq!(first, std::fs::read(dir.path().join("plan.json")).unwrap());
}

#[test]
fn domains_export_layout_plans_the_same_steps() {
    let dir = scratch();
    let args = FIXTURE_ARGS
        .replace("accounts.csv", "accounts-domains.csv")
        .replace("plan.json", "plan-domains.json");
    assert_eq!(mailshift(dir.path(), &args).status.code(), Some(2));
    mailshift(dir.path(), FIXTURE_ARGS);
    let a = file::read(&dir.path().join("plan.json")).unwrap();
    let b = file::read(&dir.path().join("plan-domains.json")).unwrap();
    assert_eq!(a.steps, b.steps);
    assert_ne!(a.inputs.accounts.sha256, b.inputs.accounts.sha256);
}

#[test]
fn managed_accounts_export_explains_how_to_get_ids() {
    let dir = scratch();
    let out = mailshift(
        dir.path(),
        "plan --accounts managed-accounts.csv --targets targets.csv --out plan.json",
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with("mailshift: error: managed-accounts.csv: this is an \"Export managed accounts\" file, which has no account IDs"), "{err}");
    assert!(err.contains("Directory → Domains → ⋯ → Export accounts"));
    assert!(!dir.path().join("plan.json").exists());
}

#[test]
fn rewrite_rule_alone_plans_the_rebrand() {
    let dir = scratch();
    let out = mailshift(
        dir.path(),
        "plan --accounts accounts.csv --rewrite-domain companya.example=companyb.example --out plan.json --format json",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let plan = file::read(&dir.path().join("plan.json")).unwrap();
    // Ten accounts live on companya.example; bob.stone@companyb.example is held, so it is freed.
    assert_eq!(plan.summary.renames, 10);
    let bob = plan
        .steps
        .iter()
        .find(|s| &*s.from == "bob.stone@companyb.example")
        .unwrap();
    assert_eq!(
        (bob.kind, &*bob.to),
        (StepKind::Free, "bob.stone_FREE@companyb.example")
    );
    // The JSON review is the plan itself.
    let printed: mailshift::plan::Plan = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(printed, plan);
}

#[test]
fn markdown_and_csv_reviews() {
    let dir = scratch();
    let md = stdout(&mailshift(
        dir.path(),
        &format!("{FIXTURE_PLAN} --format markdown"),
    ));
    assert!(md.starts_with("## mailshift plan\n"));
    assert!(md.contains("| step | group | kind | account | name | from | to | after | note |"));
    assert!(md.contains("| 9 | 5 | temporary | 712020:5b10a284-4c20-4165-80ed-e21a00000009 | Sam Green | sam.green@companyb.example | sam.green_MOVING@companyb.example | - | temporary address that breaks a cycle |"));

    // A name that a spreadsheet would run as a formula is neutralised.
    std::fs::write(
        dir.path().join("evil.csv"),
        "User id,User name,email\nid-1,=HYPERLINK(\"http://x\"),a@old.example\n",
    )
    .unwrap();
    let out = mailshift(
        dir.path(),
        "plan --accounts evil.csv --rewrite-domain old.example=new.example --format csv",
    );
    assert_eq!(out.status.code(), Some(0));
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let mut records = reader.records();
    // The first row names the plan's content hash.
    let plan_row = records.next().unwrap().unwrap();
    assert_eq!(&plan_row[0], "plan");
    assert!(plan_row[11].starts_with("content sha256 "), "{plan_row:?}");
    let row = records.next().unwrap().unwrap();
    assert_eq!(&row[0], "step");
    assert_eq!(&row[5], "'=HYPERLINK(\"http://x\")");
    assert_eq!(&row[10], "'--rewrite-domain old.example=new.example");
}

/// Runs `plan` on an accounts file with the given bytes and returns (exit code, stderr, files left).
fn plan_with_accounts(bytes: &[u8]) -> (Option<i32>, String, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("accounts.csv"), bytes).unwrap();
    std::fs::copy(fixture("targets.csv"), dir.path().join("targets.csv")).unwrap();
    let out = mailshift(
        dir.path(),
        "plan --accounts accounts.csv --targets targets.csv --out plan.json",
    );
    (out.status.code(), stderr(&out), files_in(dir.path()))
}

#[track_caller]
fn assert_refused(bytes: &[u8], message: &str) {
    let (code, err, files) = plan_with_accounts(bytes);
    assert_eq!(code, Some(1));
    assert_eq!(err, format!("mailshift: error: {message}\n"));
    assert_eq!(
        files,
        ["accounts.csv", "targets.csv"],
        "no plan and no temporary file left"
    );
}

#[test]
fn malformed_accounts_files_are_refused_by_file_and_line() {
    assert_refused(
        b"",
        "accounts.csv: the file is empty; expected a CSV header line",
    );
    assert_refused(
        b"User id,User name,User status\nid-1,Ann,Active\n",
        "accounts.csv: no email column in the header (accepted: \"email\"; found columns: \"User id\", \"User name\", \"User status\")",
    );
    assert_refused(
        b"email\nann@old.example\n",
        "accounts.csv: the header is not one mailshift knows (found columns: \"email\"); expected the \"Export users\" header (User id, email, ...), the domains \"Export accounts\" header (Atlassian ID, Email, ...) or the \"Export managed accounts\" header (Name, Email, Status, ...)",
    );
    assert_refused(
        b"User id,User name,email\nid-1,Ren\xe9e,renee@old.example\n",
        "accounts.csv:2: column \"User name\" is not valid UTF-8; save the file as \"CSV UTF-8\" and try again",
    );
    assert_refused(
        b"User id,email\nid-1,ann@old.example\nid-2,bob@old.example\nid-1,ann.lee@old.example\n",
        "accounts.csv:4: account id-1 appears again with ann.lee@old.example, but line 2 gives it ann@old.example",
    );
    assert_refused(
        b"User id,email\nid-1,ann@old.example\nid-2,ANN@old.example\n",
        "accounts.csv:3: ANN@old.example is held by id-2 here and by id-1 on line 2; one address belongs to one account, so this export cannot be right",
    );
    assert_refused(
        b"User id,email\nid-1,ann@old.example,Active\n",
        "accounts.csv:2: this row has 3 cells but the header has 2",
    );
}

#[test]
fn a_50_megabyte_line_is_refused_without_reading_it_as_data() {
    let mut bytes = b"User id,email\nid-1,".to_vec();
    bytes.resize(bytes.len() + 50 * 1024 * 1024, b'a');
    bytes.extend_from_slice(b"@old.example\n");
    assert_refused(
        &bytes,
        &format!(
            "accounts.csv:2: a record of {} bytes is larger than the 1048576 bytes mailshift accepts; is this the right file?",
            4 + 50 * 1024 * 1024 + 12
        ),
    );
}

#[test]
fn broken_targets_and_arguments_are_refused() {
    let dir = scratch();
    std::fs::write(
        dir.path().join("t.csv"),
        "account_id,new_mail\nid-1,x@y.example\n",
    )
    .unwrap();
    let out = mailshift(
        dir.path(),
        "plan --accounts accounts.csv --targets t.csv --out plan.json",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "mailshift: error: t.csv: no new address (target_email) column in the header (accepted: \"target_email\", \"new_email\" or \"mail\"; found columns: \"account_id\", \"new_mail\")\n"
    );
    let out = mailshift(
        dir.path(),
        "plan --accounts accounts.csv --targets missing.csv",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("mailshift: error: missing.csv: cannot read the file: "));
    let out = mailshift(dir.path(), "plan --accounts accounts.csv");
    assert_eq!(
        stderr(&out),
        "mailshift: error: nothing to plan: give --targets FILE, --rewrite-domain OLD=NEW, or both\n"
    );
    let out = mailshift(
        dir.path(),
        "plan --accounts accounts.csv --targets targets.csv --out targets.csv",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("that is one of the input files"));
    let out = mailshift(
        dir.path(),
        "plan --accounts accounts.csv --rewrite-domain companya.example",
    );
    assert_eq!(
        stderr(&out),
        "mailshift: error: --rewrite-domain \"companya.example\": expected OLD=NEW, for example old.example=new.example\n"
    );
    let out = mailshift(dir.path(), "plan --bogus");
    assert_eq!(
        out.status.code(),
        Some(1),
        "usage errors are errors, not 'blocked'"
    );
    assert_eq!(
        files_in(dir.path()),
        [
            "accounts-domains.csv",
            "accounts.csv",
            "managed-accounts.csv",
            "t.csv",
            "targets.csv"
        ]
    );
}

#[test]
fn dry_run_without_out_writes_nothing() {
    let dir = scratch();
    let out = mailshift(dir.path(), FIXTURE_PLAN);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("dry run only"));
    assert!(!dir.path().join("plan.json").exists());
}

#[test]
fn the_markdown_review_draws_why_a_cycle_needs_a_temporary_address() {
    let dir = scratch();
    let out = mailshift(
        dir.path(),
        "plan --accounts accounts.csv --targets targets.csv --verified-domains companya.example,companyb.example --format markdown",
    );
    let md = stdout(&out);
    let start = md
        .find("```mermaid\nflowchart LR")
        .expect("a mermaid block");
    let block = &md[start..start + md[start..].find("\n```\n").unwrap()];
    // The three-way cycle: Help Desk A is parked, B and C move round, A lands last.
    let cycle = block
        .split("  subgraph ")
        .find(|g| g.contains("helpdesk1_MOVING"))
        .unwrap();
    assert!(
        cycle.starts_with("g6 [\"group 6: a swap or cycle"),
        "{cycle}"
    );
    let id = |address: &str| {
        let line = cycle
            .lines()
            .find(|l| l.ends_with(&format!("[\"{address}\"]")))
            .unwrap_or_else(|| panic!("no box for {address}"));
        line.trim().split('[').next().unwrap().to_owned()
    };
    let (one, two, three, parked) = (
        id("helpdesk1@companyb.example"),
        id("helpdesk2@companyb.example"),
        id("helpdesk3@companyb.example"),
        id("helpdesk1_MOVING@companyb.example"),
    );
    for arrow in [
        format!("{one} -.->|\"12. Help Desk A (temporary)\"| {parked}"),
        format!("{three} -->|\"13. Help Desk C\"| {one}"),
        format!("{two} -->|\"14. Help Desk B\"| {three}"),
        format!("{parked} -->|\"15. Help Desk A\"| {two}"),
    ] {
        assert!(cycle.contains(&arrow), "missing {arrow} in {cycle}");
    }
    // One box per address whatever its letter case (Bob.Stone@ is bob.stone@).
    let bob = block
        .split("  subgraph ")
        .find(|g| g.starts_with("g2 "))
        .unwrap();
    let boxes = bob
        .lines()
        .filter(|l| l.starts_with("    a") && l.ends_with("\"]"))
        .count();
    assert_eq!(boxes, 3, "{bob}");
}

#[test]
fn a_target_that_differs_only_in_letter_case_is_said_not_silently_dropped() {
    let dir = scratch();
    std::fs::write(
        dir.path().join("case.csv"),
        "current_email,target_email\nLena.Wolf@companyb.example,lena.wolf@companyb.example\n",
    )
    .unwrap();
    let out = mailshift(
        dir.path(),
        "plan --accounts accounts.csv --targets case.csv --out plan.json",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "mailshift: 1 target differs from its account's address only in letter case (for example Lena.Wolf@companyb.example -> lena.wolf@companyb.example): Atlassian takes both spellings as one address, so nothing is written for it. To change the spelling, edit the address in admin.atlassian.com"
        ),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("differs in letter case only"));
}

#[test]
fn the_people_list_names_everyone_whose_address_changes() {
    let dir = scratch();
    let out = mailshift(dir.path(), &format!("{FIXTURE_ARGS} --people people.csv"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("mailshift: 14 people whose address changes written to people.csv"),
        "{}",
        stderr(&out)
    );
    let people = std::fs::read_to_string(dir.path().join("people.csv")).unwrap();
    let mut lines = people.lines();
    assert_eq!(
        lines.next(),
        Some("name,account_id,current_email,new_email,signed_out,what_changes,changed_at,groups")
    );
    assert!(people.contains(
        "Ann Lee,712020:5b10a284-4c20-4165-80ed-e21a00000001,ann.lee@companya.example,ann.lee@companyb.example,yes: every session ends at the change,moves to the new address,,\n"
    ), "{people}");
    // The cycle's member parked on a temporary address ends at its target, not the temporary.
    assert!(!people.contains("_MOVING@"), "{people}");
    assert_eq!(lines.count(), 14);
}

/// A copy-paste slip in a generated 5,000-account export gives account A the address meant for
/// person B, who has no Atlassian account yet: nothing is planned to that address, and the
/// review names both lines (exit 2).
#[test]
fn an_address_meant_for_a_person_with_no_account_yet_is_given_to_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let mut accounts = String::from("User id,User name,email,User status\n");
    let mut targets = String::from("account_id,current_email,target_email\n");
    for i in 0..5000 {
        accounts.push_str(&format!("acc-{i},User {i},u{i}@old.example,Active\n"));
        let target = if i == 17 {
            "newhire@new.example".to_owned() // the slip: u17's row has B's new address
        } else {
            format!("u{i}@new.example")
        };
        targets.push_str(&format!("acc-{i},,{target}\n"));
    }
    // B's own row: no account matches, its new address is the one u17 was given.
    targets.push_str(",newhire@old.example,newhire@new.example\n");
    std::fs::write(dir.path().join("accounts.csv"), accounts).unwrap();
    std::fs::write(dir.path().join("targets.csv"), targets).unwrap();
    let out = mailshift(
        dir.path(),
        "plan --accounts accounts.csv --targets targets.csv --verified-domains old.example,new.example --out plan.json --format csv",
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let plan = file::read(&dir.path().join("plan.json")).unwrap();
    assert!(
        !plan
            .steps
            .iter()
            .any(|s| s.to.eq_ignore_ascii_case("newhire@new.example")),
        "the address was planned"
    );
    assert_eq!(plan.steps.len(), 4999);
    let review = stdout(&out);
    // u17's row (line 19) is blocked naming B's row (line 5002).
    let line = review
        .lines()
        .find(|l| l.contains("acc-17") && l.contains("duplicate_target"))
        .unwrap_or_else(|| panic!("no duplicate_target row for acc-17:\n{review}"));
    assert!(line.contains("line 5002"), "{line}");
    assert!(line.contains("19"), "{line}");
}

/// Allowed non-ASCII targets that read as other addresses: the KELVIN SIGN's `Kim` frees
/// nobody (kim@'s holder is another mailbox as far as anyone knows), and the review names it,
/// the full-width and the decomposed target as look-alikes for a person to check.
#[test]
fn look_alike_targets_free_nobody_and_are_named_in_the_review() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("accounts.csv"),
        "User id,User name,email\n\
         acc-k,Kay,kay@old.example\n\
         acc-kim,Kim,kim@new.example\n\
         acc-w,Wen,wen@old.example\n\
         acc-z,Zoe,zoe@old.example\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("targets.csv"),
        "account_id,target_email\n\
         acc-k,\u{212a}im@new.example\n\
         acc-w,\u{ff57}en@new.example\n\
         acc-z,zoe\u{308}@new.example\n",
    )
    .unwrap();
    let out = mailshift(
        dir.path(),
        "plan --accounts accounts.csv --targets targets.csv --verified-domains old.example,new.example --allow-non-ascii-local-part --out plan.json",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let review = stdout(&out);
    let plan = file::read(&dir.path().join("plan.json")).unwrap();
    let moved: Vec<&str> = plan.steps.iter().map(|s| &*s.account_id).collect();
    assert_eq!(moved, ["acc-k", "acc-w", "acc-z"], "{review}");
    assert!(review.contains("Look-alike addresses (3)"), "{review}");
    for line in [
        "step 1: Kay [acc-k] -> \u{212a}im@new.example: is composed another way than typed (NFC form Kim@new.example)",
        "step 2: Wen [acc-w] -> \u{ff57}en@new.example: holds compatibility letters",
        "step 3: Zoe [acc-z] -> zoe\u{308}@new.example: is composed another way than typed (NFC form zoë@new.example)",
    ] {
        assert!(review.contains(line), "{line}\n{review}");
    }
}

/// The domains' "Export accounts" file says which accounts this org has claimed and whose email
/// is verified: an unclaimed account is blocked `not_claimed`, an unverified one is named for a
/// decision, and a closed holder is freed without a warning (nobody signs in to it).
#[test]
fn claimed_verified_and_closed_in_the_domains_export_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let header = "Name,Email,Atlassian ID,Status,Last active date [UTC],Claimed,Verified email";
    std::fs::write(
        dir.path().join("accounts.csv"),
        format!(
            "{header}\n\
             Ann,ann@old.example,id-ann,Active,2026-11-04,Yes,Yes\n\
             Bob,bob@old.example,id-bob,Active,2026-11-04,No,Yes\n\
             Cy,cy@old.example,id-cy,Active,2026-11-04,Yes,No\n\
             Dee,ann@new.example,id-dee,Closed,2024-01-02,Yes,Yes\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("targets.csv"),
        "account_id,target_email\nid-ann,ann@new.example\nid-bob,bob@new.example\nid-cy,cy@new.example\n",
    )
    .unwrap();
    let out = mailshift(
        dir.path(),
        "plan --accounts accounts.csv --targets targets.csv --verified-domains old.example,new.example --out plan.json",
    );
    let review = stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{}{review}", stderr(&out));
    let plan = file::read(&dir.path().join("plan.json")).unwrap();
    let codes: Vec<(Option<&str>, &str)> = plan
        .blocked
        .iter()
        .map(|b| (b.account_id.as_deref(), b.reason.code()))
        .collect();
    assert_eq!(codes, [(Some("id-bob"), "not_claimed")]);
    assert_eq!(plan.unverified, ["id-cy"]);
    assert!(review.contains("Unverified emails (1)"), "{review}");
    assert!(review.contains("step "), "{review}");
    let dee = plan
        .steps
        .iter()
        .find(|s| &*s.account_id == "id-dee")
        .unwrap();
    assert_eq!((dee.kind, dee.flagged()), (StepKind::Free, false));
    assert!(!review.contains("Flagged frees"), "{review}");

    // A yes/no column holding anything else is refused, naming file, line and account.
    std::fs::write(
        dir.path().join("odd.csv"),
        format!("{header}\nAnn,ann@old.example,id-ann,Active,2026-11-04,Maybe,Yes\n"),
    )
    .unwrap();
    let out = mailshift(
        dir.path(),
        "plan --accounts odd.csv --rewrite-domain old.example=new.example",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(
            "odd.csv:2: column \"Claimed\" of account id-ann holds \"Maybe\", not yes or no"
        ),
        "{}",
        stderr(&out)
    );
}

/// A Google-list rebrand of 5,010 accounts: 4,000 active people with rows, 1,000 deactivated
/// leavers and 10 service accounts without. Every review says who stays on the old domain; a
/// rule added to catch them never blocks a row (100 leavers' names went to others), only its own
/// wish, naming the row; and `--rule-status active` leaves the leavers alone.
#[test]
fn who_is_left_behind_is_said_and_a_rule_never_blocks_a_row() {
    let dir = tempfile::tempdir().unwrap();
    let mut accounts = String::from("User id,User name,email,User status\n");
    let mut targets = String::from("account_id,target_email\n");
    for i in 0..4000 {
        accounts.push_str(&format!("acc-a{i},A {i},a{i}@old.example,Active\n"));
        // The first 100 get a leaver's old name on the new domain.
        let target = if i < 100 {
            format!("l{i}@new.example")
        } else {
            format!("first.last{i}@new.example")
        };
        targets.push_str(&format!("acc-a{i},{target}\n"));
    }
    for i in 0..1000 {
        accounts.push_str(&format!("acc-l{i},L {i},l{i}@old.example,Inactive\n"));
    }
    for i in 0..10 {
        accounts.push_str(&format!("acc-s{i},Service {i},svc{i}@old.example,Active\n"));
    }
    std::fs::write(dir.path().join("accounts.csv"), accounts).unwrap();
    std::fs::write(dir.path().join("targets.csv"), targets).unwrap();
    let plan = |extra: &str| {
        let out = mailshift(
            dir.path(),
            &format!(
                "plan --accounts accounts.csv --targets targets.csv --verified-domains old.example,new.example --out plan.json {extra}"
            ),
        );
        let code = out.status.code();
        (
            code,
            stdout(&out),
            file::read(&dir.path().join("plan.json")).unwrap(),
        )
    };

    let (code, review, p) = plan("");
    assert_eq!(code, Some(0), "{review}");
    assert_eq!(p.left_behind.len(), 1010);
    assert!(
        review.contains("left behind          old.example 1010 (10 active, 1000 deactivated)"),
        "{review}"
    );

    let (code, review, p) = plan("--rewrite-domain old.example=new.example");
    assert_eq!(code, Some(2), "{review}");
    assert_eq!(p.blocked.len(), 100, "only the rule's wishes are blocked");
    assert!(
        p.blocked
            .iter()
            .all(|b| matches!(b.origin, mailshift::plan::Origin::Rule(_)))
    );
    assert_eq!(
        p.blocked[0].reason.describe(),
        "also the target of acc-a0 (line 2: a row wins over a rule)"
    );
    let rows_planned = p
        .steps
        .iter()
        .filter(|s| s.account_id.starts_with("acc-a"))
        .count();
    assert_eq!(rows_planned, 4000);
    assert_eq!(
        p.left_behind.len(),
        100,
        "the 100 leavers whose names went to others"
    );

    let (code, review, p) = plan("--rewrite-domain old.example=new.example --rule-status active");
    assert_eq!(code, Some(0), "{review}");
    assert!(p.blocked.is_empty());
    assert_eq!(p.steps.len(), 4010);
    assert!(
        review.contains("left behind          old.example 1000 (1000 deactivated)"),
        "{review}"
    );
}

/// JumpCloud's export gives logins, not addresses: the refusal says `--login-domain`, and with
/// it the logins are the accounts' addresses on that domain.
#[test]
fn logins_become_addresses_with_login_domain_as_the_refusal_suggests() {
    let dir = tempfile::tempdir().unwrap();
    let mut accounts = String::from("User id,User name,email,User status\n");
    let mut targets = String::from("username,email,firstname,lastname\n");
    for i in 0..5000 {
        accounts.push_str(&format!("acc-{i},U {i},jdoe{i}@old.example,Active\n"));
        targets.push_str(&format!("jdoe{i},john.doe{i}@new.example,John,Doe\n"));
    }
    std::fs::write(dir.path().join("accounts.csv"), accounts).unwrap();
    std::fs::write(dir.path().join("targets.csv"), targets).unwrap();
    let base = "plan --accounts accounts.csv --targets targets.csv --verified-domains old.example,new.example --out plan.json";
    let out = mailshift(dir.path(), base);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("holds no addresses (for example \"jdoe0\"). If it holds logins whose address is LOGIN@DOMAIN (JumpCloud's username, say), give --login-domain DOMAIN"),
        "{}",
        stderr(&out)
    );
    let out = mailshift(dir.path(), &format!("{base} --login-domain old.example"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("5000 logins read as LOGIN@old.example"),
        "{}",
        stderr(&out)
    );
    let plan = file::read(&dir.path().join("plan.json")).unwrap();
    assert_eq!(plan.steps.len(), 5000);
    assert_eq!(&*plan.steps[0].from, "jdoe0@old.example");
    assert_eq!(&*plan.steps[0].to, "john.doe0@new.example");
}
