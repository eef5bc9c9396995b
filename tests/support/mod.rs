//! Shared by the apply tests: a generated org with every kind of step, the simulator in this
//! process on loopback, and the real binary as an admin runs it.
#![allow(dead_code)]

use mailshift::input::parse_accounts;
use mailshift::journal::{self, Record, StepState};
use mailshift::plan::{Plan, file};
use mailshift::sim::faults::FaultConfig;
use mailshift::sim::server::WriteSeen;
use mailshift::sim::server::{self, Server, SimConfig};
use mailshift::sim::world::World;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

pub(crate) const KEY: &str = "test-key-5f1d7c";

/// How many of each shape the generated org holds.
#[derive(Clone, Copy)]
pub(crate) struct Shapes {
    /// Plain renames: one step each.
    pub renames: usize,
    /// A holder that is not moving and an account that wants its address: a free and a rename.
    pub frees: usize,
    /// Three accounts each taking the next one's address, the last a new one: three steps.
    pub chains: usize,
    /// Two accounts trading addresses: three steps (one through a temporary address).
    pub swaps: usize,
    /// Three accounts in a ring: four steps.
    pub cycles: usize,
}

impl Shapes {
    /// `n` plain renames and nothing else.
    pub(crate) fn renames(n: usize) -> Shapes {
        Shapes {
            renames: n,
            frees: 0,
            chains: 0,
            swaps: 0,
            cycles: 0,
        }
    }

    pub(crate) fn steps(&self) -> usize {
        self.renames + 2 * self.frees + 3 * self.chains + 3 * self.swaps + 4 * self.cycles
    }
}

/// An "Export users" CSV and a targets CSV with the given shapes, on old.example/new.example.
pub(crate) fn generated_org(shapes: Shapes) -> (String, String) {
    let mut accounts = String::from("User id,User name,email,User status\n");
    let mut targets = String::from("account_id,target_email\n");
    let mut account = |id: &str, email: &str, target: Option<&str>| {
        accounts.push_str(&format!("acc-{id},User {id},{email},Active\n"));
        if let Some(t) = target {
            targets.push_str(&format!("acc-{id},{t}\n"));
        }
    };
    for i in 0..shapes.renames {
        account(
            &format!("r{i}"),
            &format!("r{i}@old.example"),
            Some(&format!("r{i}@new.example")),
        );
    }
    for i in 0..shapes.frees {
        account(&format!("h{i}"), &format!("f{i}@new.example"), None);
        account(
            &format!("f{i}"),
            &format!("f{i}@old.example"),
            Some(&format!("f{i}@new.example")),
        );
    }
    for i in 0..shapes.chains {
        account(
            &format!("k{i}a"),
            &format!("k{i}a@new.example"),
            Some(&format!("k{i}b@new.example")),
        );
        account(
            &format!("k{i}b"),
            &format!("k{i}b@new.example"),
            Some(&format!("k{i}c@new.example")),
        );
        account(
            &format!("k{i}c"),
            &format!("k{i}c@new.example"),
            Some(&format!("k{i}d@new.example")),
        );
    }
    for i in 0..shapes.swaps {
        account(
            &format!("s{i}a"),
            &format!("s{i}a@new.example"),
            Some(&format!("s{i}b@new.example")),
        );
        account(
            &format!("s{i}b"),
            &format!("s{i}b@new.example"),
            Some(&format!("s{i}a@new.example")),
        );
    }
    for i in 0..shapes.cycles {
        account(
            &format!("c{i}x"),
            &format!("c{i}x@new.example"),
            Some(&format!("c{i}y@new.example")),
        );
        account(
            &format!("c{i}y"),
            &format!("c{i}y@new.example"),
            Some(&format!("c{i}z@new.example")),
        );
        account(
            &format!("c{i}z"),
            &format!("c{i}z@new.example"),
            Some(&format!("c{i}x@new.example")),
        );
    }
    (accounts, targets)
}

/// Each account's address in an accounts CSV that `generated_org` wrote, by account ID.
pub(crate) fn emails_in(accounts: &str) -> BTreeMap<String, String> {
    accounts
        .lines()
        .skip(1)
        .filter_map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            Some((cells.first()?.to_string(), cells.get(2)?.to_string()))
        })
        .collect()
}

/// Runs the binary in `dir` with the test key in the environment (never on the command line).
pub(crate) fn mailshift(dir: &Path, args: &[&str]) -> Output {
    command(dir, args).output().expect("the binary runs")
}

pub(crate) fn command(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mailshift"));
    c.current_dir(dir)
        .args(args)
        .env("ATLASSIAN_API_KEY", KEY)
        .env_remove("MAILSHIFT_API_URL")
        // Tests plan identical orgs side by side: each keeps its plan locks to itself.
        .env("MAILSHIFT_LOCK_DIR", dir.join(".plan-locks"))
        .stdin(std::process::Stdio::null());
    c
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `plan` of the files `plan_in` writes (offline, both domains verified), without `--out`.
pub(crate) const PLAN: [&str; 7] = [
    "plan",
    "--accounts",
    "accounts.csv",
    "--targets",
    "targets.csv",
    "--verified-domains",
    "old.example,new.example",
];

/// Writes the org's files into `dir` and plans them with the binary; returns the plan's path.
pub(crate) fn plan_in(dir: &Path, accounts: &str, targets: &str) -> PathBuf {
    std::fs::write(dir.join("accounts.csv"), accounts).unwrap();
    std::fs::write(dir.join("targets.csv"), targets).unwrap();
    let out = mailshift(dir, &[&PLAN[..], &["--out", "plan.json"]].concat());
    assert!(
        matches!(out.status.code(), Some(0 | 2)),
        "{}",
        text(&out.stderr)
    );
    dir.join("plan.json")
}

/// Simulator settings a test changes.
pub(crate) struct SimSetup {
    pub external: Vec<String>,
    /// Accounts (IDs or addresses) linked to the IdP by SCIM.
    pub scim: Vec<String>,
    /// The org's verified domains; empty for every domain of the export.
    pub verified: Vec<String>,
    /// Reads show a change this late.
    pub read_delay: Duration,
    pub rate: Option<(f64, u32)>,
    pub faults: FaultConfig,
    pub seed: u64,
    /// The status of a "taken" answer: 400 as the simulator's default, or 409 as SCIM's.
    pub taken_status: u16,
    /// Accounts per page of the users listing.
    pub page_size: usize,
}

impl Default for SimSetup {
    fn default() -> SimSetup {
        SimSetup {
            external: Vec::new(),
            scim: Vec::new(),
            verified: Vec::new(),
            read_delay: Duration::ZERO,
            rate: None,
            // A few milliseconds per request, so that two writes on one account could overlap
            // at all if a run sent them.
            faults: FaultConfig {
                latency: Duration::from_millis(3),
                ..FaultConfig::default()
            },
            seed: 7,
            taken_status: 400,
            page_size: 100,
        }
    }
}

/// The simulator with both of the generated org's domains verified (an empty list verifies only
/// the domains the export's addresses use).
pub(crate) fn both_verified() -> SimSetup {
    SimSetup {
        verified: vec!["old.example".into(), "new.example".into()],
        ..SimSetup::default()
    }
}

/// The simulator and the runtime that serves it (dropped together).
pub(crate) struct Sim {
    pub server: Server,
    pub runtime: tokio::runtime::Runtime,
}

impl Sim {
    pub(crate) fn url(&self) -> String {
        self.server.url()
    }

    /// Every account's email now, by account ID.
    /// Sets an account's email behind the plan's back, as an admin in the UI would.
    pub(crate) fn set_email(&self, account_id: &str, email: &str) {
        let url = format!("{}/users/{account_id}/manage/email", self.url());
        let status = self.runtime.block_on(async {
            reqwest::Client::new()
                .put(url)
                .bearer_auth(KEY)
                .json(&serde_json::json!({ "email": email }))
                .send()
                .await
                .unwrap()
                .status()
        });
        assert_eq!(status.as_u16(), 204);
    }

    /// The accounts still linked to the IdP by SCIM.
    pub(crate) fn scim_linked(&self) -> Vec<String> {
        self.server
            .snapshot()
            .accounts
            .into_iter()
            .filter(|a| a.scim_linked)
            .map(|a| a.account_id)
            .collect()
    }

    /// The same org, as it is now, served again at the same address (the same API, as a
    /// journal records it) with `setup`'s rate, faults, seed and read delay; its accounts,
    /// verified domains, SCIM links and outside holders carry over, so those fields of `setup`
    /// are not used.
    pub(crate) fn restart(self, setup: SimSetup) -> Sim {
        let Sim { server, runtime } = self;
        let bind: std::net::SocketAddr = server.url()["http://".len()..].parse().unwrap();
        let world = runtime.block_on(server.stop()).unwrap();
        let config = SimConfig {
            bind,
            ..sim_config(world, &setup)
        };
        // The old listener's port may take a moment to be free again.
        let mut tries = 0;
        let server = loop {
            match runtime.block_on(server::start(config.clone())) {
                Ok(server) => break server,
                Err(e) if tries < 100 => {
                    tries += 1;
                    eprintln!("restart at {bind}: {e}; again");
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("cannot serve again at {bind}: {e}"),
            }
        };
        Sim { server, runtime }
    }

    pub(crate) fn emails(&self) -> BTreeMap<String, String> {
        self.server
            .snapshot()
            .accounts
            .into_iter()
            .map(|a| (a.account_id, a.email))
            .collect()
    }
}

/// Serves the accounts file of `dir` on an ephemeral loopback port, logging every write.
pub(crate) fn serve(dir: &Path, setup: SimSetup) -> Sim {
    let path = dir.join("accounts.csv");
    let bytes = std::fs::read(&path).unwrap();
    let org = parse_accounts(&path, &bytes).unwrap().org;
    let verified: BTreeSet<String> = setup.verified.iter().cloned().collect();
    let scim: BTreeSet<String> = setup.scim.iter().cloned().collect();
    let world = World::from_org(&org, &verified, &scim, &setup.external);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime
        .block_on(server::start(sim_config(world, &setup)))
        .unwrap();
    Sim { server, runtime }
}

fn sim_config(world: World, setup: &SimSetup) -> SimConfig {
    SimConfig {
        world,
        bind: "127.0.0.1:0".parse().unwrap(),
        api_key: KEY.into(),
        org_id: "org-1".into(),
        taken_status: setup.taken_status,
        rate: setup.rate,
        faults: setup.faults.clone(),
        seed: setup.seed,
        page_size: setup.page_size,
        read_delay: setup.read_delay,
        key_lifetime: None,
        log_writes: true,
    }
}

/// Where the plan says every account must end: the last step's target for accounts it moves,
/// the current address for the rest.
pub(crate) fn planned(plan: &Plan, before: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut end = before.clone();
    for s in &plan.steps {
        end.insert(s.account_id.to_string(), s.to.to_string());
    }
    end
}

pub(crate) fn read_plan(path: &Path) -> Plan {
    file::read(path).unwrap()
}

/// `apply` against the simulator, confirming with --yes, with short backoffs, no settle
/// margin beyond the request timeout (the simulator's own faults say how late a write lands),
/// and no read lag (the simulator's reads lag only when a test says so, and then so must its
/// `--read-lag`).
pub(crate) fn apply_args<'a>(url: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "apply",
        "plan.json",
        "--api-url",
        url,
        "--org-id",
        "org-1",
        "--yes",
        "--backoff-ms",
        "20",
        "--settle",
        "0",
        "--read-lag",
        "0s",
    ];
    args.extend_from_slice(extra);
    args
}

/// `apply_args` with a ceiling the simulator does not limit, for tests about what is sent, not
/// how fast.
pub(crate) fn fast<'a>(url: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = apply_args(url, &["--rate", "2000"]);
    args.extend_from_slice(extra);
    args
}

/// Each write of the plan, by account and lower-cased target, to its step id.
pub(crate) fn steps_by_write(plan: &Plan) -> HashMap<(String, String), u32> {
    plan.steps
        .iter()
        .map(|s| ((s.account_id.to_string(), s.to.to_lowercase()), s.id.0))
        .collect()
}

/// The step a write the server saw belongs to, if it is one of the plan's.
pub(crate) fn step_of(by_write: &HashMap<(String, String), u32>, w: &WriteSeen) -> Option<u32> {
    by_write
        .get(&(w.account_id.clone(), w.email.to_lowercase()))
        .copied()
}

/// Steps the journal at `path` records as done (none if it cannot be read yet).
pub(crate) fn confirmed_steps(path: &Path, steps: u32) -> HashSet<u32> {
    let Ok(parsed) = journal::read(path) else {
        return HashSet::new();
    };
    journal::replay(path, steps, &parsed.records, false)
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s, StepState::Done { .. }))
        .map(|(i, _)| i as u32 + 1)
        .collect()
}

/// Every write the server saw had its intent in the journal: no step was sent more often than
/// the journal says it was about to be.
pub(crate) fn assert_every_write_journaled(plan: &Plan, log: &[WriteSeen], journal_path: &Path) {
    let by_write = steps_by_write(plan);
    let parsed = journal::read(journal_path).unwrap();
    let mut intents: HashMap<u32, usize> = HashMap::new();
    for r in &parsed.records {
        if let Record::Intent { step, .. } = r {
            *intents.entry(step.0).or_default() += 1;
        }
    }
    let mut sent: HashMap<u32, usize> = HashMap::new();
    for w in log {
        if let Some(step) = step_of(&by_write, w) {
            *sent.entry(step).or_default() += 1;
        }
    }
    for (step, n) in &sent {
        let recorded = intents.get(step).copied().unwrap_or(0);
        assert!(
            *n <= recorded,
            "step {step} was sent {n} times with {recorded} intents in the journal"
        );
    }
}

/// Exit 0 only with every account where the plan puts it; otherwise every account elsewhere is
/// named in what the run printed.
pub(crate) fn assert_truthful(
    code: Option<i32>,
    said: &str,
    sim: &Sim,
    dir: &Path,
    before: &BTreeMap<String, String>,
) -> usize {
    let plan = read_plan(&dir.join("plan.json"));
    let planned = planned(&plan, before);
    let now = sim.emails();
    let off: Vec<&String> = planned
        .iter()
        .filter(|(id, to)| now.get(*id) != Some(to))
        .map(|(id, _)| id)
        .collect();
    if code == Some(0) {
        assert!(off.is_empty(), "exit 0 with {off:?} off plan: {said}");
    } else {
        for id in &off {
            assert!(
                said.contains(id.as_str()),
                "{id} is off plan and not named: {said}"
            );
        }
    }
    off.len()
}
