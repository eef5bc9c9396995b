//! The plan against the live org, as an admin meets it: the real binary against the real
//! simulator on loopback. `apply` refuses a plan whose world changed (or, with `--skip-drifted`,
//! leaves those accounts out), `verify` copes with an API that shows changes late and reads the
//! listing page by page, and `rollback` → `apply` brings the org back where it started.

mod support;

use mailshift::sim::faults::FaultConfig;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use support::*;

const MIXED: Shapes = Shapes {
    renames: 300,
    frees: 10,
    chains: 5,
    swaps: 5,
    cycles: 5,
};

fn setup(shapes: Shapes) -> (tempfile::TempDir, BTreeMap<String, String>) {
    let dir = tempfile::tempdir().unwrap();
    let (accounts, targets) = generated_org(shapes);
    let plan = read_plan(&plan_in(dir.path(), &accounts, &targets));
    assert_eq!(plan.steps.len(), shapes.steps());
    (dir, emails_in(&accounts))
}

fn verify(dir: &Path, url: &str, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["verify", "plan.json", "--api-url", url, "--org-id", "org-1"];
    args.extend_from_slice(extra);
    let out = mailshift(dir, &args);
    (out.status.code(), text(&out.stdout) + &text(&out.stderr))
}

#[test]
fn verify_reads_the_listing_by_pages_and_names_every_account_not_yet_moved() {
    let (dir, before) = setup(MIXED);
    let sim = serve(dir.path(), SimSetup::default());
    let url = sim.url();
    let accounts = before.len();
    let pages = accounts.div_ceil(100);
    assert!(pages >= 4, "hundreds of accounts, several pages");
    // Nothing applied yet: every account the plan moves is reported, and nothing is re-read
    // more than the rechecks allow.
    let (code, said) = verify(dir.path(), &url, &["--rechecks", "0"]);
    assert_eq!(code, Some(3), "{said}");
    let plan = read_plan(&dir.path().join("plan.json"));
    let moved: std::collections::BTreeSet<_> = plan
        .steps
        .iter()
        .map(|s| s.account_id.to_string())
        .collect();
    assert!(
        said.contains(&format!(
            "{} accounts checked with {pages} reads ({pages} for the listing); 0 at their planned address, {} not.",
            moved.len(),
            moved.len()
        )),
        "{said}"
    );
    assert!(
        said.contains("acc-r7 (User r7)  expected r7@new.example, found r7@old.example"),
        "{said}"
    );

    let out = mailshift(dir.path(), &fast(&url, &[]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (code, said) = verify(dir.path(), &url, &[]);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains(&format!("with {pages} reads")), "{said}");
}

/// `verify` of a plan nothing has applied, on an org larger than the plan: the search by planned
/// addresses (cheaper than the listing) finds none of them, and a profile read for each would
/// cost a request per account; past the listing's pages it reads the listing instead.
#[test]
fn verify_reads_the_listing_when_the_search_finds_too_few_to_read_the_rest_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let (mut accounts, targets) = generated_org(Shapes::renames(1000));
    for i in 0..150 {
        accounts.push_str(&format!("acc-b{i},User b{i},b{i}@old.example,Active\n"));
    }
    plan_in(dir.path(), &accounts, &targets);
    let sim = serve(dir.path(), SimSetup::default());
    let (code, said) = verify(dir.path(), &sim.url(), &["--rechecks", "0"]);
    assert_eq!(code, Some(3), "{said}");
    // 1,000 planned addresses: 10 searches; the org's 1,150 accounts: 12 pages.
    let reads = sim.server.counters().requests;
    assert!(reads <= 10 + 12 + 1, "{reads} reads: {said}");
    assert!(
        said.contains(
            "1000 accounts checked with 22 reads (10 searches by address with the v2 search, then 12 for the listing: most were not at their planned address)"
        ),
        "{said}"
    );
}

#[test]
fn verify_after_ambiguous_writes_waits_out_an_api_that_shows_changes_late() {
    let (dir, before) = setup(Shapes {
        renames: 40,
        frees: 2,
        chains: 1,
        swaps: 1,
        cycles: 1,
    });
    let sim = serve(
        dir.path(),
        SimSetup {
            faults: FaultConfig {
                ambiguous_share: 0.2,
                ..FaultConfig::default()
            },
            read_delay: Duration::from_millis(1500),
            ..SimSetup::default()
        },
    );
    let url = sim.url();
    // apply reads back the groups that had an uncertain write until the lag has passed, so
    // the last few plain renames go in a second run of their own, with nothing uncertain in
    // it: that run ends right after its last write, while reads still lag.
    std::fs::write(
        dir.path().join("last.txt"),
        "acc-r36\nacc-r37\nacc-r38\nacc-r39\n",
    )
    .unwrap();
    let out = mailshift(
        dir.path(),
        &fast(
            &url,
            &[
                "--max-attempts",
                "20",
                "--timeout",
                "2",
                "--exclude",
                "last.txt",
            ],
        ),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let sim = sim.restart(SimSetup {
        read_delay: Duration::from_millis(1500),
        ..SimSetup::default()
    });
    let url = sim.url();
    let out = mailshift(dir.path(), &fast(&url, &[]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan = read_plan(&dir.path().join("plan.json"));
    assert_eq!(sim.emails(), planned(&plan, &before));
    // Right after the run the API still shows old addresses: without re-checks, verify says so.
    let (code, said) = verify(dir.path(), &url, &["--rechecks", "0"]);
    assert_eq!(code, Some(3), "{said}");
    assert!(
        said.contains("[journal: step"),
        "the journal explains: {said}"
    );
    // With bounded re-checks it reads the late ones again until they show.
    let (code, said) = verify(
        dir.path(),
        &url,
        &["--rechecks", "4", "--recheck-delay", "1"],
    );
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("reading them again"), "{said}");
}

#[test]
fn a_drifted_account_refuses_the_run_or_is_left_out_with_skip_drifted() {
    let (dir, before) = setup(Shapes {
        renames: 20,
        frees: 2,
        chains: 1,
        swaps: 1,
        cycles: 1,
    });
    let sim = serve(dir.path(), SimSetup::default());
    let url = sim.url();
    // After the plan was made, someone changes two accounts in the admin UI: a plain rename,
    // and one side of the swap.
    sim.set_email("acc-r4", "r4.renamed@old.example");
    sim.set_email("acc-s0a", "s0a.elsewhere@new.example");
    let writes_before = sim.server.write_log().len();

    let out = mailshift(dir.path(), &fast(&url, &[]));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("acc-r4  expected r4@old.example, found r4.renamed@old.example")
            && stderr.contains("expected s0a@new.example, found s0a.elsewhere@new.example")
            && stderr.contains("2 accounts no longer have the address the plan expects")
            && stderr.contains("--skip-drifted"),
        "{stderr}"
    );
    assert_eq!(
        sim.server.write_log().len(),
        writes_before,
        "nothing was sent"
    );

    let out = mailshift(dir.path(), &fast(&url, &["--skip-drifted"]));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let plan = read_plan(&dir.path().join("plan.json"));
    let mut expected = planned(&plan, &before);
    // The drifted accounts keep what they were given; the swap's other side stays too.
    expected.insert("acc-r4".into(), "r4.renamed@old.example".into());
    expected.insert("acc-s0a".into(), "s0a.elsewhere@new.example".into());
    expected.insert("acc-s0b".into(), before["acc-s0b"].clone());
    assert_eq!(sim.emails(), expected);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Left: 4 steps in 2 groups"), "{stdout}");
}

#[test]
fn apply_then_rollback_then_apply_ends_where_it_started() {
    let (dir, before) = setup(MIXED);
    let sim = serve(dir.path(), SimSetup::default());
    let url = sim.url();
    let out = mailshift(dir.path(), &fast(&url, &[]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_ne!(sim.emails(), before);

    let out = mailshift(
        dir.path(),
        &[
            "rollback",
            "plan.json",
            "--out",
            "rollback.json",
            "--api-url",
            &url,
            "--org-id",
            "org-1",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The review says what it is of.
    assert!(
        text(&out.stdout).starts_with("mailshift rollback plan from "),
        "{}",
        text(&out.stdout)
    );
    let md = mailshift(
        dir.path(),
        &["review", "rollback.json", "--format", "markdown"],
    );
    assert!(
        text(&md.stdout).starts_with("## mailshift rollback plan\n"),
        "{}",
        text(&md.stdout)
    );
    let rollback = read_plan(&dir.path().join("rollback.json"));
    // The same conflict handling: swaps and cycles go back through temporary addresses, and
    // the freed holders take their old addresses back after their new owners leave them.
    assert!(rollback.summary.temporaries >= (MIXED.swaps + MIXED.cycles) as u64);
    let mut args = fast(&url, &[]);
    args[1] = "rollback.json";
    let out = mailshift(dir.path(), &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let back = sim.emails();
    let wrong: Vec<_> = before
        .iter()
        .filter(|(id, email)| back.get(*id).map(|e| e.to_lowercase()) != Some(email.to_lowercase()))
        .collect();
    assert!(wrong.is_empty(), "not back: {wrong:?}");
    assert_eq!(sim.server.snapshot().counters.concurrent_writes, 0);
}
