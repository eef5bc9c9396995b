//! `plan` against the live org, and `apply`'s checks before its first write, as an admin meets
//! them: the real binary against the real simulator on loopback. The listing stands in for (or
//! corrects) the export; SCIM-linked holders are unlinked only with the flag; accounts the IdP
//! owns go to the IdP checklist with their addresses freed. (An address held outside the org,
//! found when its write is refused, is tested in `apply.rs`.)

mod support;

use mailshift::sim::faults::FaultConfig;
use std::path::Path;
use support::*;

/// `plan` with the simulator as the live org; the key comes from the environment.
fn live_plan(dir: &Path, url: &str, extra: &[&str]) -> (Option<i32>, String, String) {
    let mut args = vec![
        "plan",
        "--api-url",
        url,
        "--org-id",
        "org-1",
        "--rate",
        "2000",
        "--out",
        "plan.json",
    ];
    args.extend_from_slice(extra);
    let out = mailshift(dir, &args);
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// The requests `plan` said it made searching wanted addresses no listed account holds.
fn searches_by_address(said: &str) -> usize {
    said.split("searched by address (")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn write(dir: &Path, name: &str, body: &str) {
    std::fs::write(dir.join(name), body).unwrap();
}

#[test]
fn a_plan_from_the_api_reads_every_page_and_equals_the_plan_from_the_export() {
    let dir = tempfile::tempdir().unwrap();
    let shapes = Shapes {
        renames: 300,
        frees: 10,
        chains: 5,
        swaps: 5,
        cycles: 5,
    };
    let (accounts, targets) = generated_org(shapes);
    let from_file = read_plan(&plan_in(dir.path(), &accounts, &targets));
    let accounts_in_org = accounts.lines().count() - 1;
    assert!(accounts_in_org > 300, "several pages of 100");
    let pages = accounts_in_org.div_ceil(100);
    let mut planned = Vec::new();
    // The v2 directory search, then an org whose API has none (404): the v1 listing instead.
    for refuse_v2 in [false, true] {
        let sim = serve(
            dir.path(),
            SimSetup {
                faults: FaultConfig {
                    refuse_v2,
                    ..FaultConfig::default()
                },
                ..SimSetup::default()
            },
        );
        let url = sim.url();
        let (code, _, said) = live_plan(
            dir.path(),
            &url,
            &["--accounts-from-api", "--targets", "targets.csv"],
        );
        assert_eq!(code, Some(0), "{said}");
        assert!(
            said.contains(&format!("read {accounts_in_org} accounts of org org-1")),
            "{said}"
        );
        let from_api = read_plan(&dir.path().join("plan.json"));
        assert_eq!(from_api.steps, from_file.steps);
        assert!(
            from_api
                .inputs
                .accounts
                .path
                .ends_with("/admin/v1/orgs/org-1/users")
        );
        let written: std::collections::BTreeSet<_> = from_api
            .steps
            .iter()
            .map(|s| s.account_id.clone())
            .collect();
        // v2: the search's pages, the wanted addresses no listed account holds searched by
        // address (100 a request), the domains, and one permission read that checks the key;
        // the listing settles every account. v1: the refused search, the listing's pages, the
        // domains, and one permission read per written account, with the fallback said once.
        let reads = if refuse_v2 {
            1 + pages + 1 + written.len()
        } else {
            let searches = searches_by_address(&said);
            assert!(searches >= 3, "{said}");
            pages + searches + 1 + 1
        };
        assert!(
            said.contains(&format!("Pre-flight: {reads} requests to the API in all.")),
            "{said}"
        );
        assert_eq!(
            said.matches("read through the v1 listing: the v2 directory search answered 404")
                .count(),
            usize::from(refuse_v2),
            "{said}"
        );
        let (code, _, said) = live_plan(
            dir.path(),
            &url,
            &["--accounts", "accounts.csv", "--targets", "targets.csv"],
        );
        assert_eq!(code, Some(0), "{said}");
        planned.push(std::fs::read(dir.path().join("plan.json")).unwrap());
    }
    // The export's plan checked against either listing: the same bytes, the same hash.
    assert!(planned[0] == planned[1], "v2 and v1 plans differ");
}

/// Accounts the listing cannot settle as writable are read one by one, so that the plan holds
/// the API's own answer whichever listing the org's API serves: an IdP-owned mover, a
/// SCIM-linked holder, an unverified and an unmanaged account give the same plan, byte for
/// byte, from the v2 search as from the v1 listing, for a fraction of the reads.
#[test]
fn the_v2_search_and_the_v1_listing_give_the_same_plan_for_fewer_reads() {
    let dir = tempfile::tempdir().unwrap();
    let (accounts, targets) = generated_org(Shapes {
        renames: 250,
        frees: 5,
        chains: 0,
        swaps: 2,
        cycles: 0,
    });
    plan_in(dir.path(), &accounts, &targets);
    let mut planned = Vec::new();
    let mut requests = Vec::new();
    let mut searches = Vec::new();
    for refuse_v2 in [false, true] {
        let sim = serve(
            dir.path(),
            SimSetup {
                scim: vec!["acc-r3".into(), "acc-r7".into(), "acc-h1".into()],
                faults: FaultConfig {
                    refuse_v2,
                    unverified: ["acc-r5".to_owned()].into(),
                    unmanaged: ["acc-r9".to_owned()].into(),
                    ..FaultConfig::default()
                },
                ..SimSetup::default()
            },
        );
        let url = sim.url();
        let (code, _, said) = live_plan(
            dir.path(),
            &url,
            &["--accounts", "accounts.csv", "--targets", "targets.csv"],
        );
        assert_eq!(code, Some(2), "{said}");
        let plan = read_plan(&dir.path().join("plan.json"));
        let idp: Vec<&str> = plan.idp.iter().map(|m| m.account_id.as_str()).collect();
        assert_eq!(idp, ["acc-r3", "acc-r7"], "{said}");
        let refused: Vec<&str> = plan
            .blocked
            .iter()
            .filter(|b| b.reason.code() == "not_permitted")
            .filter_map(|b| b.account_id.as_deref())
            .collect();
        assert_eq!(refused, ["acc-r5", "acc-r9"], "{said}");
        planned.push(std::fs::read(dir.path().join("plan.json")).unwrap());
        requests.push(sim.server.counters().requests);
        searches.push(searches_by_address(&said));
    }
    assert!(planned[0] == planned[1], "v2 and v1 plans differ");
    // v2: 3 pages, the unheld wanted addresses searched (100 a request), the domains, the 5
    // accounts it cannot settle (2 IdP-owned movers, the SCIM-linked holder, the unverified
    // and the unmanaged account), and the 409 pre-check of the 2 IdP changes; v1: the refused
    // search, 3 pages, the domains, every written account and the 2 pre-checks.
    assert_eq!(searches[1], 0, "no v2 search, no search by address");
    assert_eq!(
        requests[0],
        3 + searches[0] as u64 + 1 + 5 + 2,
        "{requests:?}"
    );
    assert!(requests[1] > 250, "{requests:?}");
}

#[test]
fn an_export_without_ids_is_resolved_through_the_listing_and_stale_rows_are_named() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "accounts.csv",
        "User id,User name,email,User status\n\
         acc-ann,Ann,ann@old.example,Active\n\
         acc-bob,Bob,bob@old.example,Active\n\
         acc-new,New Hire,ann@new.example,Active\n",
    );
    // The managed-accounts export is older: it has no new hire, and a leaver the org no longer has.
    write(
        dir.path(),
        "managed.csv",
        "Name,Email,Status,Last active date [UTC]\n\
         Ann,ann@old.example,Active,2026-11-01\n\
         Bob,BOB@old.example,Active,2026-11-01\n\
         Leaver,gone@old.example,Active,2026-01-01\n",
    );
    write(
        dir.path(),
        "targets.csv",
        "current_email,target_email\nann@old.example,ann@new.example\nbob@old.example,bob@new.example\n",
    );
    let sim = serve(dir.path(), SimSetup::default());
    let url = sim.url();
    // Without the org, the file is refused and the way out is named.
    let out = mailshift(
        dir.path(),
        &[
            "plan",
            "--accounts",
            "managed.csv",
            "--targets",
            "targets.csv",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("give --org-id"),
        "{}",
        text(&out.stderr)
    );

    let (code, _, said) = live_plan(
        dir.path(),
        &url,
        &["--accounts", "managed.csv", "--targets", "targets.csv"],
    );
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("managed.csv:4: gone@old.example"), "{said}");
    assert!(said.contains("1 accounts the export does not"), "{said}");
    let plan = read_plan(&dir.path().join("plan.json"));
    let steps: Vec<_> = plan
        .steps
        .iter()
        .map(|s| (s.kind, s.account_id.to_string(), s.to.to_string()))
        .collect();
    // The new hire, whom the export does not show, holds Ann's target: discovered live, freed.
    use mailshift::plan::StepKind::*;
    assert_eq!(
        steps,
        [
            (Free, "acc-new".into(), "ann_FREE@new.example".into()),
            (Rename, "acc-ann".into(), "ann@new.example".into()),
            (Rename, "acc-bob".into(), "bob@new.example".into()),
        ]
    );
}

/// Ann wants the address a SCIM-linked bystander (a duplicate account) holds: use case B.
fn scim_holder_org(dir: &Path) {
    write(
        dir,
        "accounts.csv",
        "User id,User name,email,User status\n\
         acc-ann,Ann,ann@old.example,Active\n\
         acc-dup,Ann (duplicate),ann@new.example,Active\n",
    );
    write(
        dir,
        "targets.csv",
        "account_id,target_email\nacc-ann,ann@new.example\n",
    );
}

/// The simulator serving `scim_holder_org`, with the duplicate linked by SCIM.
fn scim_holder_sim(dir: &Path) -> Sim {
    scim_holder_org(dir);
    serve(
        dir,
        SimSetup {
            scim: vec!["acc-dup".into()],
            ..SimSetup::default()
        },
    )
}

#[test]
fn a_scim_linked_holder_is_blocked_without_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let sim = scim_holder_sim(dir.path());
    let url = sim.url();
    let (code, review, said) = live_plan(
        dir.path(),
        &url,
        &["--accounts", "accounts.csv", "--targets", "targets.csv"],
    );
    assert_eq!(code, Some(2), "{said}");
    assert!(
        review.contains("linked to the identity provider by SCIM"),
        "{review}"
    );
    assert!(review.contains("--allow-scim-unlink"), "{review}");
    assert!(read_plan(&dir.path().join("plan.json")).steps.is_empty());
    assert_eq!(sim.scim_linked(), ["acc-dup"]);
}

#[test]
fn with_the_flag_a_scim_linked_holder_is_unlinked_freed_and_its_follow_up_listed() {
    let dir = tempfile::tempdir().unwrap();
    let sim = scim_holder_sim(dir.path());
    let url = sim.url();
    let (code, review, said) = live_plan(
        dir.path(),
        &url,
        &[
            "--accounts",
            "accounts.csv",
            "--targets",
            "targets.csv",
            "--allow-scim-unlink",
        ],
    );
    assert_eq!(code, Some(0), "{said}");
    assert!(
        review.contains("acc-dup (ann@new.example) is unlinked from SCIM by step 1: once the plan is applied, unassign and reassign the user"),
        "{review}"
    );
    use mailshift::plan::StepKind::*;
    let plan = read_plan(&dir.path().join("plan.json"));
    let kinds: Vec<_> = plan
        .steps
        .iter()
        .map(|s| (s.kind, s.account_id.to_string()))
        .collect();
    assert_eq!(
        kinds,
        [
            (Unlink, "acc-dup".into()),
            (Free, "acc-dup".into()),
            (Rename, "acc-ann".into())
        ]
    );
    let out = mailshift(dir.path(), &fast(&url, &[]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(sim.scim_linked().is_empty());
    let emails = sim.emails();
    assert_eq!(emails["acc-ann"], "ann@new.example");
    assert_eq!(emails["acc-dup"], "ann_FREE@new.example");
}

/// The SCIM unlink loses the account's groups until the IdP provisions it again: the groups
/// the v2 listing shows go into the plan, the IdP checklist and the people list; with only the
/// v1 listing, they say the groups are not known.
#[test]
fn the_groups_of_an_unlinked_account_are_in_the_checklist_and_the_people_list() {
    let dir = tempfile::tempdir().unwrap();
    scim_holder_org(dir.path());
    for refuse_v2 in [false, true] {
        let sim = serve(
            dir.path(),
            SimSetup {
                scim: vec!["acc-dup".into()],
                faults: FaultConfig {
                    refuse_v2,
                    groups: [(
                        "acc-dup".to_owned(),
                        vec!["jira-users".to_owned(), "confluence-admins".to_owned()],
                    )]
                    .into(),
                    ..FaultConfig::default()
                },
                ..SimSetup::default()
            },
        );
        let (code, review, said) = live_plan(
            dir.path(),
            &sim.url(),
            &[
                "--accounts",
                "accounts.csv",
                "--targets",
                "targets.csv",
                "--allow-scim-unlink",
                "--idp-checklist",
                "idp.csv",
                "--people",
                "people.csv",
            ],
        );
        assert_eq!(code, Some(0), "{said}");
        let checklist = std::fs::read_to_string(dir.path().join("idp.csv")).unwrap();
        let people = std::fs::read_to_string(dir.path().join("people.csv")).unwrap();
        let groups = if refuse_v2 {
            "its groups are not known (the org's API gave no v2 listing)"
        } else {
            "its groups when the plan was made, to check it gets back: jira-users, confluence-admins"
        };
        let row = checklist
            .lines()
            .find(|l| l.starts_with(",acc-dup,"))
            .unwrap_or("");
        assert!(
            row.starts_with(",acc-dup,Ann (duplicate),ann@new.example,,after plan step 1 (the unlink) and the steps after it are applied,\"unassign and reassign the user to the Atlassian app, so that it is provisioned again\",")
                && row.contains(groups),
            "{checklist}"
        );
        let dup = people.lines().find(|l| l.contains("acc-dup")).unwrap_or("");
        assert!(dup.contains(groups), "{people}");
        assert!(review.contains(groups), "{review}");
        let plan = read_plan(&dir.path().join("plan.json"));
        assert_eq!(plan.groups_before_unlink.len(), usize::from(!refuse_v2));
    }
}

#[test]
fn an_account_the_idp_owns_gets_its_address_freed_and_goes_on_the_checklist() {
    let dir = tempfile::tempdir().unwrap();
    // Pat's email is owned by the IdP (scenario 3); a bystander holds Pat's new address, and
    // Ann wants Pat's old one, which frees only once the IdP has moved Pat.
    write(
        dir.path(),
        "accounts.csv",
        "User id,User name,email,User status\n\
         acc-pat,Pat,pat@old.example,Active\n\
         acc-old,Pat (old account),pat@new.example,Inactive\n\
         acc-ann,Ann,ann@old.example,Active\n",
    );
    write(
        dir.path(),
        "targets.csv",
        "account_id,target_email\nacc-pat,pat@new.example\nacc-ann,pat@old.example\n",
    );
    let sim = serve(
        dir.path(),
        SimSetup {
            scim: vec!["acc-pat".into()],
            ..SimSetup::default()
        },
    );
    let url = sim.url();
    // A plan made without the org writes Pat; apply's pre-flight refuses it before any write.
    let out = mailshift(
        dir.path(),
        &[
            "plan",
            "--accounts",
            "accounts.csv",
            "--targets",
            "targets.csv",
            "--out",
            "plan.json",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let out = mailshift(dir.path(), &fast(&url, &[]));
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("acc-pat  the identity provider owns its email"),
        "{said}"
    );
    assert!(!dir.path().join("plan.json.journal").exists());
    assert!(sim.server.write_log().is_empty());

    let (code, review, said) = live_plan(
        dir.path(),
        &url,
        &[
            "--accounts",
            "accounts.csv",
            "--targets",
            "targets.csv",
            "--idp-checklist",
            "idp.csv",
        ],
    );
    assert_eq!(code, Some(2), "{said}");
    assert!(review.contains("IdP change 1: acc-pat"), "{review}");
    let checklist = std::fs::read_to_string(dir.path().join("idp.csv")).unwrap();
    let rows: Vec<&str> = checklist.lines().collect();
    assert_eq!(rows.len(), 2, "{checklist}");
    assert!(
        rows[1].starts_with(
            "1,acc-pat,Pat,pat@old.example,pat@new.example,after plan step 1 is applied,"
        ),
        "{checklist}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("idp.csv"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let plan = read_plan(&dir.path().join("plan.json"));
    assert_eq!(plan.blocked.len(), 1);
    assert_eq!(plan.blocked[0].account_id.as_deref(), Some("acc-ann"));
    let out = mailshift(dir.path(), &fast(&url, &[]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // The address the IdP will push is free: the push cannot meet 409 uniqueness.
    let emails = sim.emails();
    assert!(
        !emails.values().any(|e| e == "pat@new.example"),
        "{emails:?}"
    );
    assert_eq!(emails["acc-pat"], "pat@old.example");
}

#[test]
fn the_operators_own_account_is_not_planned_nor_applied_without_allow_self() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "accounts.csv",
        "User id,User name,email,User status\nacc-me,Me,me@old.example,Active\nacc-ann,Ann,ann@old.example,Active\n",
    );
    write(
        dir.path(),
        "targets.csv",
        "account_id,target_email\nacc-me,me@new.example\nacc-ann,ann@new.example\n",
    );
    let sim = serve(
        dir.path(),
        SimSetup {
            verified: vec!["old.example".into(), "new.example".into()],
            ..SimSetup::default()
        },
    );
    let url = sim.url();
    let (code, review, _) = live_plan(
        dir.path(),
        &url,
        &[
            "--accounts",
            "accounts.csv",
            "--targets",
            "targets.csv",
            "--operator",
            "ME@old.example",
        ],
    );
    assert_eq!(code, Some(2));
    assert!(review.contains("this is your own account"), "{review}");
    assert_eq!(read_plan(&dir.path().join("plan.json")).steps.len(), 1);

    // A plan made without --operator writes it; apply with --operator refuses before writing.
    let out = mailshift(
        dir.path(),
        &[
            "plan",
            "--accounts",
            "accounts.csv",
            "--targets",
            "targets.csv",
            "--out",
            "plan.json",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let out = mailshift(dir.path(), &fast(&url, &["--operator", "acc-me"]));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("your own account"),
        "{}",
        text(&out.stderr)
    );
    assert!(sim.server.write_log().is_empty());
    let out = mailshift(
        dir.path(),
        &fast(&url, &["--operator", "acc-me", "--allow-self"]),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn apply_refuses_targets_on_a_domain_the_org_has_not_verified() {
    let dir = tempfile::tempdir().unwrap();
    let (accounts, targets) = generated_org(Shapes::renames(20));
    plan_in(dir.path(), &accounts, &targets);
    let sim = serve(
        dir.path(),
        SimSetup {
            verified: vec!["old.example".into()],
            ..SimSetup::default()
        },
    );
    let out = mailshift(dir.path(), &fast(&sim.url(), &[]));
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("20 steps move accounts to a domain the org has not verified (new.example)"),
        "{said}"
    );
    assert!(sim.server.write_log().is_empty());
    assert!(!dir.path().join("plan.json.journal").exists());
}

#[test]
fn permission_reads_share_the_servers_budget_instead_of_spending_it() {
    let dir = tempfile::tempdir().unwrap();
    let (accounts, targets) = generated_org(Shapes::renames(60));
    plan_in(dir.path(), &accounts, &targets);
    // A server that allows 40 requests a second, against 8 reads at once and a ceiling of 200:
    // reads that each waited only for themselves would keep its budget spent for good.
    let sim = serve(
        dir.path(),
        SimSetup {
            verified: vec!["old.example".into(), "new.example".into()],
            rate: Some((40.0, 4)),
            ..SimSetup::default()
        },
    );
    let out = mailshift(
        dir.path(),
        &apply_args(&sim.url(), &["--rate", "200", "--concurrency", "8"]),
    );
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains("Checked who may be written: 60 accounts with"),
        "{said}"
    );
    assert_eq!(sim.server.write_log().len(), 60);
}

#[test]
fn a_refused_key_stops_plan_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    scim_holder_org(dir.path());
    let sim = serve(dir.path(), SimSetup::default());
    let out = command(
        dir.path(),
        &[
            "plan",
            "--api-url",
            &sim.url(),
            "--org-id",
            "org-1",
            "--accounts-from-api",
            "--targets",
            "targets.csv",
            "--out",
            "plan.json",
        ],
    )
    .env("ATLASSIAN_API_KEY", "not-the-key")
    .output()
    .unwrap();
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("the API key was refused (401)"), "{said}");
    assert!(!said.contains("not-the-key"), "{said}");
    assert!(!dir.path().join("plan.json").exists());
}

#[test]
fn a_key_created_with_scopes_is_named_by_plan_and_by_apply_before_any_write() {
    let dir = tempfile::tempdir().unwrap();
    scim_holder_org(dir.path());
    let scoped = SimSetup {
        faults: FaultConfig {
            scoped_key: true,
            ..FaultConfig::default()
        },
        ..SimSetup::default()
    };
    let sim = serve(dir.path(), scoped);
    let hint = "the user management API refuses this API key. It refuses an org API key created with scopes on every call: create the API key without scopes (admin.atlassian.com > Settings > API keys > Create API key)";
    // plan --org-id reads permissions while planning.
    let (code, _, said) = live_plan(
        dir.path(),
        &sim.url(),
        &["--accounts-from-api", "--targets", "targets.csv"],
    );
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains(hint), "{said}");
    assert!(
        said.contains(
            "HTTP 403 forbidden.insufficientScope: Insufficient scope for this action (the key was created with scopes)"
        ),
        "{said}"
    );
    assert!(!dir.path().join("plan.json").exists());

    // apply of a plan made from files reads them before its first write.
    let plan = plan_in(
        dir.path(),
        &std::fs::read_to_string(dir.path().join("accounts.csv")).unwrap(),
        &std::fs::read_to_string(dir.path().join("targets.csv")).unwrap(),
    );
    assert!(plan.exists());
    let out = mailshift(dir.path(), &fast(&sim.url(), &[]));
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains(hint), "{said}");
    assert!(sim.server.write_log().is_empty());
}

/// On an org without the v2 search, a plan made from files reads every account's permission
/// before its first write. Ctrl-C there says what was done and changes nothing, and the next
/// try reads only the rest.
#[test]
fn ctrl_c_during_the_permission_reads_keeps_them_and_the_next_try_reads_only_the_rest() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let (accounts, targets) = generated_org(Shapes::renames(40));
    plan_in(dir.path(), &accounts, &targets);
    // An org whose API has no v2 search: its listing settles nothing, so every account is read.
    let sim = serve(
        dir.path(),
        SimSetup {
            faults: FaultConfig {
                latency: std::time::Duration::from_millis(150),
                refuse_v2: true,
                ..FaultConfig::default()
            },
            ..both_verified()
        },
    );
    let url = sim.url();
    let mut child = command(dir.path(), &fast(&url, &["--concurrency", "1"]))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut said = String::new();
    for line in lines.by_ref().map_while(Result::ok) {
        said.push_str(&line);
        said.push('\n');
        if line.starts_with("Checking who may be written") {
            break;
        }
    }
    assert!(
        said.contains("Checking who may be written before the first change: 40 accounts to read, at most 2000/s"),
        "{said}"
    );
    std::thread::sleep(std::time::Duration::from_millis(1200));
    // SAFETY: sends SIGINT to our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    for line in lines.map_while(Result::ok) {
        said.push_str(&line);
        said.push('\n');
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{said}");
    assert!(sim.server.write_log().is_empty(), "nothing was written");
    assert!(!dir.path().join("plan.json.journal").exists());
    let kept = std::fs::read_to_string(dir.path().join("plan.json.permissions")).unwrap();
    let read = kept.lines().count() - 1;
    assert!((1..40).contains(&read), "{kept}");
    assert!(
        said.contains(&format!(
            "stopped at Ctrl-C while checking who may be written: {read} of 40 accounts read, kept for the next try (which reads only the rest); nothing was changed"
        )),
        "{said}"
    );

    let out = mailshift(dir.path(), &fast(&url, &[]));
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains(&format!(
            "{} accounts to read ({read} more remembered from an earlier try)",
            40 - read
        )),
        "{said}"
    );
    assert!(
        said.contains(&format!(
            "Checked who may be written: 40 accounts with {} reads.",
            40 - read
        )),
        "{said}"
    );
    assert_eq!(sim.server.write_log().len(), 40);
}

/// The 409 pre-check: a user of a second IdP directory holds the address the IdP checklist will
/// push to an IdP-owned account. `plan --org-id` finds its SCIM record and names it in the
/// review with what to do, before anyone pushes and meets "Resource [USER] with email ...
/// already exists".
#[test]
fn a_scim_record_in_the_way_of_an_idp_push_is_named_at_plan_time() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "accounts.csv",
        "User id,User name,email,User status\n\
         acc-pat,Pat,pat@old.example,Active\n\
         acc-ann,Ann,ann@old.example,Active\n",
    );
    write(
        dir.path(),
        "targets.csv",
        "account_id,target_email\nacc-pat,pat@new.example\nacc-ann,ann@new.example\n",
    );
    let sim = serve(
        dir.path(),
        SimSetup {
            scim: vec!["acc-pat".into(), "acc-ann".into()],
            faults: FaultConfig {
                scim_records: vec!["Pat@New.example".into()],
                ..FaultConfig::default()
            },
            verified: vec!["old.example".into(), "new.example".into()],
            ..SimSetup::default()
        },
    );
    let (code, review, said) = live_plan(
        dir.path(),
        &sim.url(),
        &["--accounts", "accounts.csv", "--targets", "targets.csv"],
    );
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains(
            "the 2 IdP changes' addresses looked up among the SCIM records: 1 in the way of a push"
        ),
        "{said}"
    );
    let plan = read_plan(&dir.path().join("plan.json"));
    assert_eq!(plan.idp.len(), 2);
    assert_eq!(plan.scim_in_the_way.len(), 1, "{:?}", plan.scim_in_the_way);
    let found = &plan.scim_in_the_way[0];
    assert_eq!(found.email, "pat@new.example");
    assert_eq!(found.account_id, None);
    assert!(
        review.contains("SCIM records in the way of an IdP push"),
        "{review}"
    );
    assert!(
        review.contains("holds pat@new.example with no Atlassian account, so the IdP's push would be refused 409"),
        "{review}"
    );
}

/// A holder the export does not show, and the org's listing leaves out too (a member of
/// another directory), is found at plan time by searching the wanted addresses no listed
/// account holds: the wish for its address is blocked with the API's reason for the holder,
/// not discovered by a failed write.
#[test]
fn a_holder_outside_the_export_is_found_at_plan_time() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "accounts.csv",
        "User id,User name,email,User status
         acc-ann,Ann,ann@old.example,Active
         acc-kim,Kim (other directory),ann@new.example,Active
",
    );
    write(
        dir.path(),
        "export.csv",
        "User id,User name,email,User status
acc-ann,Ann,ann@old.example,Active
",
    );
    write(
        dir.path(),
        "targets.csv",
        "account_id,target_email
acc-ann,ann@new.example
",
    );
    let sim = serve(
        dir.path(),
        SimSetup {
            faults: FaultConfig {
                unmanaged: ["acc-kim".to_owned()].into(),
                unlisted: ["acc-kim".to_owned()].into(),
                ..FaultConfig::default()
            },
            verified: vec!["old.example".into(), "new.example".into()],
            ..SimSetup::default()
        },
    );
    let (code, review, said) = live_plan(
        dir.path(),
        &sim.url(),
        &["--accounts", "export.csv", "--targets", "targets.csv"],
    );
    assert_eq!(code, Some(2), "{said}");
    assert!(
        said.contains("1 wanted addresses no listed account holds, searched by address (1 request): 1 held by accounts the listing does not show"),
        "{said}"
    );
    let plan = read_plan(&dir.path().join("plan.json"));
    assert!(plan.steps.is_empty(), "{:?}", plan.steps);
    assert_eq!(plan.blocked.len(), 1);
    assert_eq!(plan.blocked[0].reason.code(), "holder_stays");
    assert!(
        review.contains("ann@new.example is held by acc-kim"),
        "{review}"
    );
    assert!(sim.server.write_log().is_empty());
}
