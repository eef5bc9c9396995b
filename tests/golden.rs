//! The plan's bytes are a promise: the approver signs their hash, and `apply --expect-sha256`
//! runs exactly them. These golden files hold the plan file and its Markdown and CSV reviews,
//! byte for byte, for the bundled fixtures and for a small generated org with every hard case
//! mixed in (frees, chains, swaps, cycles, blocked rows of several reasons, mixed case, rows by
//! ID and by address, a row with no account), so that a change to them is a decision made in
//! the diff, not an accident. `SNAPSHOTS=overwrite cargo test --test golden` rewrites them.

mod support;

use std::path::Path;
use support::*;

/// `plan --out plan.json --format markdown` in `dir` (its files named as there, so the paths
/// in the plan are the same on every machine), then the CSV review of the written plan.
fn planned(dir: &Path, extra: &[&str]) -> (Vec<u8>, String, String) {
    let mut args = vec![
        "plan",
        "--accounts",
        "accounts.csv",
        "--targets",
        "targets.csv",
        "--out",
        "plan.json",
        "--format",
        "markdown",
    ];
    args.extend_from_slice(extra);
    let out = mailshift(dir, &args);
    assert!(
        matches!(out.status.code(), Some(0 | 2)),
        "{}",
        text(&out.stderr)
    );
    let csv = mailshift(dir, &["review", "plan.json", "--format", "csv"]);
    assert_eq!(csv.status.code(), Some(0), "{}", text(&csv.stderr));
    (
        std::fs::read(dir.join("plan.json")).unwrap(),
        text(&out.stdout),
        text(&csv.stdout),
    )
}

/// Writes a generated org (old.example to new.example) into `dir` and plans it as `planned`.
fn planned_org(dir: &Path, accounts: &str, targets: &str) -> (Vec<u8>, String, String) {
    std::fs::write(dir.join("accounts.csv"), accounts).unwrap();
    std::fs::write(dir.join("targets.csv"), targets).unwrap();
    planned(dir, &["--verified-domains", "old.example,new.example"])
}

#[test]
fn the_fixtures_plan_and_reviews_are_held_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    for name in ["accounts.csv", "targets.csv"] {
        std::fs::copy(fixtures.join(name), dir.path().join(name)).unwrap();
    }
    let (plan, markdown, csv) = planned(
        dir.path(),
        &["--verified-domains", "companya.example,companyb.example"],
    );
    snapbox::assert_data_eq!(
        String::from_utf8(plan).unwrap(),
        snapbox::file!["snapshots/golden/fixtures.plan.json"].raw()
    );
    snapbox::assert_data_eq!(
        markdown,
        snapbox::file!["snapshots/golden/fixtures.review.md"].raw()
    );
    snapbox::assert_data_eq!(
        csv,
        snapbox::file!["snapshots/golden/fixtures.review.csv"].raw()
    );
}

#[test]
fn a_mixed_org_plan_and_reviews_are_held_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (accounts, mut targets) = generated_org(Shapes {
        renames: 12,
        frees: 3,
        chains: 2,
        swaps: 2,
        cycles: 2,
    });
    // Blocked rows of several reasons: an invalid target, a target another row wants in other
    // letter case (both blocked), a second row that disagrees with an account's first, two
    // accounts wanting one address; a row with no account; a target already met in other
    // letter case.
    let mut accounts = accounts;
    for id in ["x1", "x2", "x3", "x4"] {
        accounts.push_str(&format!("acc-{id},User {id},{id}@old.example,Active\n"));
    }
    accounts.push_str("acc-met,Met,met@new.example,Active\n");
    targets.push_str(
        "acc-x1,not-an-address\n\
         acc-x2,R0@NEW.example\n\
         acc-r2,r2.again@new.example\n\
         acc-x3,shared@new.example\n\
         acc-x4,shared@new.example\n\
         acc-nobody,nobody@new.example\n\
         acc-met,MET@new.example\n",
    );
    let (plan, markdown, csv) = planned_org(dir.path(), &accounts, &targets);
    snapbox::assert_data_eq!(
        String::from_utf8(plan).unwrap(),
        snapbox::file!["snapshots/golden/mixed.plan.json"].raw()
    );
    snapbox::assert_data_eq!(
        markdown,
        snapbox::file!["snapshots/golden/mixed.review.md"].raw()
    );
    snapbox::assert_data_eq!(
        csv,
        snapbox::file!["snapshots/golden/mixed.review.csv"].raw()
    );
}

/// The table review, which pads every cell to its column: names outside ASCII (whose width is
/// not their length in bytes; a CJK name takes two columns a character, as a terminal shows
/// it), a name with a character that acts on a terminal (shown escaped,
/// and padded as shown), a long name that widens its column, and steps of every kind with their
/// notes (a free, a swap's temporary address, a chain).
#[test]
fn the_table_review_is_held_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (mut accounts, mut targets) = generated_org(Shapes {
        renames: 2,
        frees: 1,
        chains: 1,
        swaps: 1,
        cycles: 0,
    });
    accounts.push_str(
        "acc-zoe,Zoë Lee,zoe@old.example,Active\n\
         acc-li,李小龍,li@old.example,Active\n\
         acc-esc,\"Evil\u{1b}[2J\tname\",esc@old.example,Active\n\
         acc-long,A Name Much Longer Than Any Other In This Org,long@old.example,Inactive\n",
    );
    targets.push_str(
        "acc-zoe,zoe@new.example\n\
         acc-li,li@new.example\n\
         acc-esc,esc@new.example\n\
         acc-long,long@new.example\n",
    );
    planned_org(dir.path(), &accounts, &targets);
    let table = mailshift(dir.path(), &["review", "plan.json", "--format", "table"]);
    assert_eq!(table.status.code(), Some(0), "{}", text(&table.stderr));
    snapbox::assert_data_eq!(
        text(&table.stdout),
        snapbox::file!["snapshots/golden/names.review.txt"].raw()
    );
}
