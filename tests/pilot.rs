//! Pilot runs and safety stops, as an admin uses them: the real binary against the real simulator
//! on loopback. A pilot changes exactly the accounts it took (whole groups), a plain `apply`
//! afterwards finishes the plan with nothing sent twice, and a run whose every write is refused
//! stops itself after a handful of failures and names their common cause.

mod support;

use mailshift::plan::Plan;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use support::*;

fn setup(shapes: Shapes) -> (tempfile::TempDir, BTreeMap<String, String>, Plan) {
    let dir = tempfile::tempdir().unwrap();
    let (accounts, targets) = generated_org(shapes);
    let plan = read_plan(&plan_in(dir.path(), &accounts, &targets));
    assert_eq!(plan.steps.len(), shapes.steps());
    (dir, emails_in(&accounts), plan)
}

/// Accounts whose address differs between two snapshots.
fn changed(before: &BTreeMap<String, String>, now: &BTreeMap<String, String>) -> BTreeSet<String> {
    now.iter()
        .filter(|(id, email)| before.get(*id) != Some(email))
        .map(|(id, _)| id.clone())
        .collect()
}

/// Every write the simulator saw went out once: no (account, address) pair twice.
fn assert_nothing_sent_twice(sim: &Sim) {
    let log = sim.server.write_log();
    let distinct: BTreeSet<(String, String)> = log
        .iter()
        .map(|w| (w.account_id.clone(), w.email.clone()))
        .collect();
    assert_eq!(distinct.len(), log.len(), "a write was sent twice: {log:?}");
}

fn status(dir: &Path) -> String {
    let out = mailshift(dir, &["status", "plan.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// The number on a `status` count line such as `  failed      6`.
fn count_in(status: &str, label: &str) -> usize {
    status
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .and_then(|l| l.split_whitespace().last()?.parse().ok())
        .unwrap_or(0)
}

#[test]
fn limit_one_changes_exactly_the_first_group_and_a_plain_apply_does_the_rest() {
    // The plan starts with a free and the rename that takes the freed address: one group.
    let shapes = Shapes {
        renames: 0,
        frees: 3,
        chains: 2,
        swaps: 2,
        cycles: 2,
    };
    let (dir, before, plan) = setup(shapes);
    let first_group: Vec<_> = plan
        .steps
        .iter()
        .filter(|s| s.group == plan.steps[0].group)
        .collect();
    assert_eq!(first_group.len(), 2, "a free and its rename");
    let sim = serve(dir.path(), SimSetup::default());
    let url = sim.url();

    let out = mailshift(dir.path(), &fast(&url, &["--limit", "1"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let expected: BTreeSet<String> = first_group
        .iter()
        .map(|s| s.account_id.to_string())
        .collect();
    assert_eq!(changed(&before, &sim.emails()), expected);
    assert_eq!(sim.server.write_log().len(), 2);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("Pilot (--limit 1): this run takes 2 steps in 1 group")
            && stderr.contains("taken whole"),
        "{stderr}"
    );
    let left = plan.steps.len() - 2;
    let said = status(dir.path());
    assert!(said.contains("--limit 1"), "{said}");
    assert!(
        said.contains(&format!("Left: {left} steps in")),
        "status shows what remains: {said}"
    );

    // The people list for the help desk says who changed, and when.
    let out = mailshift(
        dir.path(),
        &["status", "plan.json", "--people", "people.csv"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let people = std::fs::read_to_string(dir.path().join("people.csv")).unwrap();
    let rows: Vec<Vec<&str>> = people
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(
        rows.len(),
        plan.steps
            .iter()
            .map(|s| &s.account_id)
            .collect::<BTreeSet<_>>()
            .len()
    );
    let dated: BTreeSet<String> = rows
        .iter()
        .filter(|r| r[6].starts_with("20"))
        .map(|r| r[1].to_owned())
        .collect();
    assert_eq!(dated, expected, "{people}");
    assert!(
        people.contains("gives up this address to another account"),
        "{people}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("people.csv"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // verify checks what the pilot did, and says what it left out; --all checks the rest too.
    let moved: BTreeSet<&str> = plan.steps.iter().map(|s| &*s.account_id).collect();
    let (code, said) = verify(dir.path(), &url, &[]);
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains(&format!(
            "2 accounts checked with 1 read (1 for the listing); 2 at their planned address, 0 not.\n  {} accounts the plan moves have no step started by any apply (a pilot leaves them); not checked, --all checks them too.",
            moved.len() - 2
        )),
        "{said}"
    );
    let (code, said) = verify(dir.path(), &url, &["--all", "--rechecks", "0"]);
    assert_eq!(code, Some(3), "{said}");
    assert!(
        said.contains(&format!(
            "{} accounts checked with 1 read (1 for the listing); 2 at their planned address, {} not.",
            moved.len(),
            moved.len() - 2
        )),
        "{said}"
    );

    let out = mailshift(dir.path(), &fast(&url, &[]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(sim.emails(), planned(&plan, &before));
    assert_eq!(sim.server.write_log().len(), plan.steps.len());
    assert_nothing_sent_twice(&sim);
    let said = status(dir.path());
    assert!(!said.contains("Left:"), "{said}");
    assert!(said.contains("whole plan"), "{said}");
    let (code, said) = verify(dir.path(), &url, &[]);
    assert_eq!(code, Some(0), "{said}");
    assert!(!said.contains("not checked"), "{said}");
}

fn verify(dir: &Path, url: &str, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["verify", "plan.json", "--api-url", url, "--org-id", "org-1"];
    args.extend_from_slice(extra);
    let out = mailshift(dir, &args);
    (out.status.code(), text(&out.stdout) + &text(&out.stderr))
}

#[test]
fn a_pilot_from_a_list_then_the_rest_ends_exactly_as_planned() {
    let shapes = Shapes {
        renames: 30,
        frees: 4,
        chains: 3,
        swaps: 3,
        cycles: 3,
    };
    let (dir, before, plan) = setup(shapes);
    // By ID and by address, in any case: a rename, a free's new owner (its holder goes too),
    // one side of a swap and a ring member (their whole groups go too).
    std::fs::write(
        dir.path().join("pilot.txt"),
        "# pilot group\nacc-r3\nF1@OLD.example\n\nacc-s0b\nc2y@new.example\n",
    )
    .unwrap();
    let pilot_accounts: BTreeSet<String> = [
        "acc-r3", "acc-f1", "acc-h1", "acc-s0a", "acc-s0b", "acc-c2x", "acc-c2y", "acc-c2z",
    ]
    .map(str::to_owned)
    .into();
    let pilot_steps = 1 + 2 + 3 + 4;
    let sim = serve(dir.path(), SimSetup::default());
    let url = sim.url();

    let out = mailshift(
        dir.path(),
        &fast(&url, &["--only", "pilot.txt", "--report", "pilot.csv"]),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(changed(&before, &sim.emails()), pilot_accounts);
    assert_eq!(sim.server.write_log().len(), pilot_steps);
    let report = std::fs::read_to_string(dir.path().join("pilot.csv")).unwrap();
    let done_in_run_1 = report
        .lines()
        .filter(|l| l.contains(",done,") && l.ends_with(",1"))
        .count();
    assert_eq!(done_in_run_1, pilot_steps, "{report}");
    // A pilot's report is its own steps, not the plan's thousands not started.
    assert_eq!(report.lines().count(), 1 + pilot_steps, "{report}");
    assert!(
        text(&out.stdout).contains(&format!(
            "Report: pilot.csv (the steps runs have started; the {} steps not started are left out)",
            plan.steps.len() - pilot_steps
        )),
        "{}",
        text(&out.stdout)
    );
    let said = status(dir.path());
    assert!(
        said.lines()
            .any(|l| l.contains("--only pilot.txt") && l.contains(&format!("{pilot_steps} done"))),
        "{said}"
    );

    let out = mailshift(dir.path(), &fast(&url, &[]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(sim.emails(), planned(&plan, &before));
    assert_eq!(sim.server.write_log().len(), plan.steps.len());
    assert_nothing_sent_twice(&sim);
    assert_eq!(sim.server.snapshot().counters.concurrent_writes, 0);
}

#[test]
fn a_list_line_that_names_nobody_is_refused_before_anything_is_written() {
    let (dir, before, _) = setup(Shapes {
        renames: 5,
        frees: 1,
        chains: 0,
        swaps: 0,
        cycles: 0,
    });
    std::fs::write(dir.path().join("skip.txt"), "acc-r1\nacc-nobody\n").unwrap();
    let sim = serve(dir.path(), SimSetup::default());
    let url = sim.url();
    let out = mailshift(dir.path(), &fast(&url, &["--exclude", "skip.txt"]));
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("skip.txt:2: \"acc-nobody\" is not an account ID or address"),
        "{stderr}"
    );
    assert!(!dir.path().join("plan.json.journal").exists());
    assert_eq!(sim.emails(), before);

    // Fixed, the excluded account's group is left alone and everything else is done.
    std::fs::write(dir.path().join("skip.txt"), "acc-f0\n").unwrap();
    let out = mailshift(dir.path(), &fast(&url, &["--exclude", "skip.txt"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let now = sim.emails();
    assert_eq!(now["acc-f0"], before["acc-f0"]);
    assert_eq!(
        now["acc-h0"], before["acc-h0"],
        "the free went with its rename"
    );
    assert_eq!(changed(&before, &now).len(), 5);
}

/// Renames of accounts whose emails the IdP owns (SCIM): every write is refused. Apply's
/// permission check would refuse the run before any write, so these runs skip it.
fn refused_by_the_idp() -> (tempfile::TempDir, BTreeMap<String, String>, Sim) {
    let (dir, before, _) = setup(Shapes {
        renames: 300,
        frees: 0,
        chains: 0,
        swaps: 0,
        cycles: 0,
    });
    let sim = serve(
        dir.path(),
        SimSetup {
            scim: before.keys().cloned().collect(),
            verified: vec!["old.example".into(), "new.example".into()],
            ..SimSetup::default()
        },
    );
    (dir, before, sim)
}

#[test]
fn a_run_whose_writes_are_all_refused_stops_itself_and_names_the_cause() {
    let (dir, before, sim) = refused_by_the_idp();
    let url = sim.url();
    let out = mailshift(dir.path(), &fast(&url, &["--no-permission-check"]));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("Safety stop: 6 of the last 6 finished steps failed, more than 10% of 50"),
        "{stdout}"
    );
    assert!(
        stdout.contains("all ")
            && stdout.contains("got the same answer: HTTP 403 externalDirectory.scim")
            && stdout.contains("were moving to an address on new.example")
            && stdout.contains("owned by the identity provider"),
        "{stdout}"
    );
    assert!(stdout.contains("--retry-failed"), "{stdout}");
    // The stop came after six failures; only the requests already under way (at most the
    // concurrency, 8) were let finish. Nothing else was sent.
    let sent = sim.server.write_log().len();
    assert!((6..=6 + 8).contains(&sent), "{sent} writes");
    assert_eq!(sim.emails(), before);
    assert!(
        stdout.contains(&format!("this run sent {sent} writes")),
        "the summary counts what went out, not what the stop held back: {stdout}"
    );
    let said = status(dir.path());
    assert_eq!(
        count_in(&said, "failed"),
        sent,
        "each write sent was refused: {said}"
    );
    assert!(said.contains("Left: "), "the rest is still to do: {said}");

    // A count limit stops sooner.
    let out = mailshift(
        dir.path(),
        &fast(
            &url,
            &[
                "--retry-failed",
                "--max-failures",
                "2",
                "--no-permission-check",
            ],
        ),
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stdout).contains("Safety stop: 2 steps failed (--max-failures 2)"),
        "{}",
        text(&out.stdout)
    );
    assert!(sim.server.write_log().len() <= sent + 2 + 8);
}

#[test]
fn the_rate_limit_can_be_turned_off_to_try_every_step() {
    let (dir, _, sim) = refused_by_the_idp();
    let url = sim.url();
    let out = mailshift(
        dir.path(),
        &fast(
            &url,
            &["--max-failure-rate", "100%", "--no-permission-check"],
        ),
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(!text(&out.stdout).contains("Safety stop"));
    assert_eq!(sim.server.write_log().len(), 300);
}

/// A 9-line pilot list with four bad lines is refused once, naming all four, each with what the
/// plan says of it: the operator's own account, a blocked row, an account already at its
/// target, and a typo.
#[test]
fn every_bad_line_of_a_pilot_list_is_named_at_once_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("accounts.csv"),
        "User id,User name,email,User status\n\
         acc-me,Me,me@old.example,Active\n\
         acc-a,A,a@old.example,Active\n\
         acc-b,B,b@old.example,Active\n\
         acc-c,C,c@old.example,Active\n\
         acc-done,Done,done@new.example,Active\n\
         acc-x,X,x@old.example,Active\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("targets.csv"),
        "account_id,target_email\n\
         acc-me,me@new.example\n\
         acc-a,a@new.example\n\
         acc-b,b@new.example\n\
         acc-c,c@new.example\n\
         acc-done,done@new.example\n\
         acc-x,x@elsewhere.example\n",
    )
    .unwrap();
    let out = mailshift(
        dir.path(),
        &[
            &PLAN[..],
            &["--operator", "me@old.example", "--out", "plan.json"],
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    std::fs::write(
        dir.path().join("pilot.txt"),
        "# pilot\nacc-a\nme@old.example\nb@old.example\nacc-x\n\nacc-done\nacc-cc\nc@new.example\n",
    )
    .unwrap();
    let sim = serve(dir.path(), both_verified());
    let out = mailshift(dir.path(), &fast(&sim.url(), &["--only", "pilot.txt"]));
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("pilot.txt: 4 lines name no account"),
        "{said}"
    );
    for line in [
        "pilot.txt:3: \"me@old.example\" is blocked in the plan, so no step moves it: this is your own account (--operator)",
        "pilot.txt:5: \"acc-x\" is blocked in the plan, so no step moves it: elsewhere.example is not a verified domain",
        "pilot.txt:7: \"acc-done\" is already at its target done@new.example: nothing to do",
        "pilot.txt:8: \"acc-cc\" is not an account ID or address of any step in the plan (a typo?)",
    ] {
        assert!(said.contains(line), "{line}\n{said}");
    }
    assert!(sim.server.write_log().is_empty());
}

/// A 5-account pilot of a 1,200-account plan reads those 5, not the org: its drift check and
/// pre-flight search them by address, and `verify` after it checks them with the cheapest
/// reads: one search by address where the org's API has the v2 search, 5 profile reads where
/// it has not; never the 12-page listing.
#[test]
fn a_small_pilot_and_its_verify_read_the_pilot_not_the_org() {
    let (dir, _, _) = setup(Shapes::renames(1200));
    for refuse_v2 in [false, true] {
        let sim = serve(
            dir.path(),
            SimSetup {
                faults: mailshift::sim::faults::FaultConfig {
                    refuse_v2,
                    ..Default::default()
                },
                ..both_verified()
            },
        );
        let url = sim.url();
        let _ = std::fs::remove_file(dir.path().join("plan.json.journal"));
        let out = mailshift(dir.path(), &fast(&url, &["--limit", "5"]));
        let said = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{said}");
        // The pilot's own checks are sized to it too: its 5 accounts searched by address (v2),
        // or the 12-page listing where the org has none; the domains; one permission read.
        let c = sim.server.counters();
        let reads = c.requests - c.write_requests;
        if refuse_v2 {
            assert!(reads > 12, "{reads}: {said}");
        } else {
            assert!(
                said.contains("Checked the org against the plan with 1 read:"),
                "{said}"
            );
            assert_eq!(reads, 3, "{said}");
        }
        let before = sim.server.counters().requests;
        let (code, said) = verify(dir.path(), &url, &[]);
        assert_eq!(code, Some(0), "{said}");
        let sent = sim.server.counters().requests - before;
        assert!(sent <= 10, "{sent} requests: {said}");
        let how = if refuse_v2 {
            "The v2 directory search answered 404 Not Found: reading the accounts' profiles instead.\n"
        } else {
            "5 accounts checked with 1 read (1 search by address with the v2 search"
        };
        assert!(said.contains(how), "{said}");
        if refuse_v2 {
            let profiles =
                "5 accounts checked with 6 reads (reading profiles, fewer than the listing)";
            assert!(said.contains(profiles), "{said}");
        }
    }
}

/// Applies the plan of `renames` renames with `extra` against a simulator whose answers take
/// 250 ms, longer than the pace's start (10 a second) spaces requests: requests sent in turn
/// overlap, requests sent one after another's answer cannot. Returns what the run said and the
/// most reads the simulator had under way at once, once it has checked that the drift check
/// made `looks` reads and the run ended 0.
fn reads_at_once(renames: usize, extra: &[&str], looks: u64) -> (String, u64) {
    let (dir, _, _) = setup(Shapes::renames(renames));
    let sim = serve(
        dir.path(),
        SimSetup {
            faults: mailshift::sim::faults::FaultConfig {
                latency: std::time::Duration::from_millis(250),
                ..Default::default()
            },
            ..both_verified()
        },
    );
    let out = mailshift(dir.path(), &fast(&sim.url(), extra));
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{said}");
    let checked = format!("Checked the org against the plan with {looks} reads:");
    assert!(said.contains(&checked), "{said}");
    (said, sim.server.counters().reads_at_once)
}

/// A pilot's searches by address stand alone (no cursor links them, unlike the listing's
/// pages): after the first, they go at once, in the run's pace, not one latency after another.
#[test]
fn a_pilots_searches_by_address_go_at_once() {
    // 300 accounts: 3 searches of 100 addresses, against 12 pages of the listing; before the
    // first write, only the searches and one permission read are sent.
    let (said, at_once) = reads_at_once(1200, &["--limit", "300", "--concurrency", "32"], 3);
    assert!(
        at_once >= 2,
        "{at_once} reads at most under way at once: {said}"
    );
}

/// A plan that moves the whole org is checked by searching its accounts by address, as many
/// requests as the listing's pages, but at once where each page waits for the one before.
#[test]
fn a_run_of_the_whole_org_searches_its_accounts_at_once_not_page_by_page() {
    // No permission reads: nothing else is read beside the look.
    let (said, at_once) = reads_at_once(300, &["--concurrency", "32", "--no-permission-check"], 3);
    assert!(
        at_once >= 2,
        "{at_once} reads at most under way at once: {said}"
    );
}
