//! The answers Atlassian documents, and the ones it does not, as the simulator can give them:
//! a 403 about one account refuses that account only; the key is blamed only when the API says
//! so (or refuses every first read alike); "taken" under a key nobody documented is still waited
//! out when this run vacated the address.

mod support;

use mailshift::sim::faults::FaultConfig;
use std::collections::BTreeSet;
use support::*;

/// `acc-r0`, `acc-r50`, …: 20 of the 1,000 renames whose email is unverified.
fn unverified() -> BTreeSet<String> {
    (0..20).map(|i| format!("acc-r{}", i * 50)).collect()
}

fn refusing(faults: FaultConfig) -> SimSetup {
    SimSetup {
        faults: FaultConfig {
            latency: std::time::Duration::from_millis(1),
            ..faults
        },
        ..both_verified()
    }
}

/// Writes a generated org's files into `dir`; returns the accounts CSV.
fn org_in(dir: &std::path::Path, shapes: Shapes) -> String {
    let (accounts, targets) = generated_org(shapes);
    std::fs::write(dir.join("accounts.csv"), &accounts).unwrap();
    std::fs::write(dir.join("targets.csv"), &targets).unwrap();
    accounts
}

/// `plan --org-id` of the files `org_in` wrote, against the simulator at `url`.
fn live_plan(dir: &std::path::Path, url: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "plan",
        "--api-url",
        url,
        "--org-id",
        "org-1",
        "--rate",
        "2000",
        "--accounts",
        "accounts.csv",
        "--targets",
        "targets.csv",
    ];
    args.extend_from_slice(extra);
    mailshift(dir, &args)
}

#[test]
fn twenty_unverified_accounts_of_a_thousand_are_theirs_alone_to_fail() {
    let dir = tempfile::tempdir().unwrap();
    let accounts = org_in(dir.path(), Shapes::renames(1000));
    let sim = serve(
        dir.path(),
        refusing(FaultConfig {
            unverified: unverified(),
            ..FaultConfig::default()
        }),
    );
    let url = sim.url();

    // Planned live: the 20 are blocked, each saying why, and the rest is planned.
    let out = live_plan(
        dir.path(),
        &url,
        &["--out", "live.json", "--format", "json"],
    );
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    let plan: mailshift::plan::Plan = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan.steps.len(), 980);
    let blocked: BTreeSet<String> = plan
        .blocked
        .iter()
        .filter(|b| b.reason.describe().contains("unverified"))
        .filter_map(|b| b.account_id.clone())
        .collect();
    assert_eq!(blocked, unverified(), "{:?}", plan.blocked);
    assert!(!said.contains("scope"), "{said}");

    // Planned from the files and applied: the other 980 land, the 20 fail by name.
    let before = emails_in(&accounts);
    let out = mailshift(dir.path(), &[&PLAN[..], &["--out", "plan.json"]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = mailshift(dir.path(), &fast(&url, &["--report", "report.csv"]));
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(!said.contains("scope"), "{said}");
    let files = read_plan(&dir.path().join("plan.json"));
    let mut expected = planned(&files, &before);
    for id in unverified() {
        expected.insert(id.clone(), before[&id].clone());
    }
    assert_eq!(sim.emails(), expected);
    let report = std::fs::read_to_string(dir.path().join("report.csv")).unwrap();
    let failed: BTreeSet<String> = report
        .lines()
        .filter(|l| l.contains(",failed,403,") && l.contains("unverified"))
        .filter_map(|l| l.split(',').nth(2).map(str::to_owned))
        .collect();
    assert_eq!(failed, unverified(), "{report}");
}

#[test]
fn the_key_is_blamed_for_a_scope_refusal_or_when_every_first_read_is_refused_alike() {
    let dir = tempfile::tempdir().unwrap();
    org_in(dir.path(), Shapes::renames(30));
    let every: BTreeSet<String> = (0..30).map(|i| format!("acc-r{i}")).collect();
    for (faults, says) in [
        (
            FaultConfig {
                scoped_key: true,
                ..FaultConfig::default()
            },
            "forbidden.insufficientScope",
        ),
        (
            FaultConfig {
                unmanaged: every.clone(),
                spring_403: true,
                ..FaultConfig::default()
            },
            "every one was refused alike",
        ),
    ] {
        let sim = serve(dir.path(), refusing(faults));
        let url = sim.url();
        let out = live_plan(dir.path(), &url, &[]);
        let said = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{said}");
        assert!(said.contains(says), "{said}");
        assert!(said.contains("create the API key without scopes"), "{said}");
        // The first reads decided: the rest were not made.
        let reads = sim.server.snapshot().counters.requests;
        assert!(reads < 20, "{reads} requests");
    }
}

#[test]
fn unmanaged_accounts_answered_spring_style_are_blocked_with_the_raw_answer() {
    let dir = tempfile::tempdir().unwrap();
    org_in(dir.path(), Shapes::renames(40));
    let sim = serve(
        dir.path(),
        refusing(FaultConfig {
            unmanaged: ["acc-r7".to_owned()].into(),
            unverified: ["acc-r9".to_owned()].into(),
            spring_403: true,
            ..FaultConfig::default()
        }),
    );
    let url = sim.url();
    let out = live_plan(dir.path(), &url, &["--format", "json"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let plan: mailshift::plan::Plan = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan.steps.len(), 38);
    let reasons: Vec<(String, String)> = plan
        .blocked
        .iter()
        .map(|b| {
            (
                b.account_id.clone().unwrap_or_default(),
                b.reason.describe(),
            )
        })
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    for (_, why) in &reasons {
        assert!(why.contains(r#""error":"Forbidden""#), "{why}");
    }
}

#[test]
fn swaps_and_chains_end_as_planned_when_lagging_uniqueness_answers_an_unknown_key() {
    let shapes = Shapes {
        renames: 5,
        frees: 5,
        chains: 4,
        swaps: 4,
        cycles: 3,
    };
    let dir = tempfile::tempdir().unwrap();
    let (accounts, targets) = generated_org(shapes);
    let plan = read_plan(&plan_in(dir.path(), &accounts, &targets));
    let before = emails_in(&accounts);
    let sim = serve(
        dir.path(),
        SimSetup {
            faults: FaultConfig {
                taken_lag: std::time::Duration::from_millis(1500),
                taken_unknown_key: true,
                latency: std::time::Duration::from_millis(3),
                ..FaultConfig::default()
            },
            ..both_verified()
        },
    );
    let url = sim.url();
    let out = mailshift(dir.path(), &fast(&url, &[]));
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert_eq!(sim.emails(), planned(&plan, &before));
}

/// Ann wants the address of a SCIM-linked duplicate, which the plan unlinks and frees first.
fn scim_holder(dir: &std::path::Path, faults: FaultConfig) -> Sim {
    std::fs::write(
        dir.join("accounts.csv"),
        "User id,User name,email,User status\n\
         acc-ann,Ann,ann@old.example,Active\n\
         acc-dup,Ann (duplicate),ann@new.example,Active\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("targets.csv"),
        "account_id,target_email\nacc-ann,ann@new.example\n",
    )
    .unwrap();
    let sim = serve(
        dir,
        SimSetup {
            scim: vec!["acc-dup".into()],
            faults: FaultConfig {
                latency: std::time::Duration::from_millis(1),
                ..faults
            },
            ..SimSetup::default()
        },
    );
    let url = sim.url();
    let out = live_plan(dir, &url, &["--allow-scim-unlink", "--out", "plan.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    sim
}

fn ends_as_planned(dir: &std::path::Path, sim: &Sim) {
    let out = mailshift(dir, &fast(&sim.url(), &[]));
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{said}");
    let emails = sim.emails();
    assert_eq!(emails["acc-ann"], "ann@new.example", "{said}");
    assert_eq!(emails["acc-dup"], "ann_FREE@new.example", "{said}");
    assert!(sim.scim_linked().is_empty());
}

#[test]
fn an_unlink_answered_404_because_the_record_is_gone_is_done_not_failed() {
    let dir = tempfile::tempdir().unwrap();
    let sim = scim_holder(
        dir.path(),
        FaultConfig {
            unlink_404_when_none: true,
            links_404_when_none: true,
            ..FaultConfig::default()
        },
    );
    // The IdP unassigned the duplicate between the plan and the apply: its record is gone.
    let url = format!(
        "{}/admin/user-provisioning/v1/org/org-1/user/acc-dup/onlyDeleteUserInDB",
        sim.url()
    );
    let status = sim.runtime.block_on(async {
        reqwest::Client::new()
            .delete(url)
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status.as_u16(), 204);
    ends_as_planned(dir.path(), &sim);
}

#[test]
fn the_free_after_an_unlink_waits_out_a_lingering_scim_lock() {
    let dir = tempfile::tempdir().unwrap();
    let sim = scim_holder(
        dir.path(),
        FaultConfig {
            scim_lock: std::time::Duration::from_millis(1500),
            ..FaultConfig::default()
        },
    );
    ends_as_planned(dir.path(), &sim);
}
