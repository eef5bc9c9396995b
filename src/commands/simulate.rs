//! `mailshift simulate`: serve the simulator on loopback until Ctrl-C.

use crate::config::{SimBehaviour, SimulateConfig};
use crate::error::{Error, Outcome};
use crate::input::parse_accounts;
use crate::sim::server::{self, SimConfig};
use crate::sim::world::World;
use crate::terminal::note;
use rand::Rng;
use std::net::SocketAddr;
use std::path::Path;

pub fn run(config: &SimulateConfig) -> Result<Outcome, Error> {
    let (world, behaviour) = seeded_world(&config.accounts, &config.behaviour)?;
    let behaviour = &behaviour;
    let accounts = world.accounts().len();
    let sim_config = server_config(
        world,
        behaviour,
        config.bind,
        config.api_key.clone(),
        config.org_id.clone(),
    );
    let seed = sim_config.seed;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Simulator)?;
    let world = runtime.block_on(async {
        let sim = server::start(sim_config)
            .await
            .map_err(Error::Simulator)?;
        crate::terminal::print(|out| {
            writeln!(
                out,
                "mailshift simulator: {accounts} accounts from {} at {}",
                config.accounts.display(),
                sim.url()
            )?;
            writeln!(
                out,
                "  API key: {}   (export ATLASSIAN_API_KEY=... to use it)",
                sim.api_key
            )?;
            writeln!(out, "  org ID:  {}", sim.org_id)?;
            writeln!(
                out,
                "  seed:    {seed}   (--seed {seed} repeats this run's faults)"
            )?;
            writeln!(out, "  state:   {}/__state", sim.url())?;
            writeln!(out, "Press Ctrl-C to stop.")
        })?;
        tokio::signal::ctrl_c().await.map_err(Error::Simulator)?;
        let counters = sim.snapshot().counters;
        let world = sim.stop().await.map_err(Error::Simulator)?;
        note!(
            "mailshift simulator: stopped after {} requests ({} writes, {} answered 429, {} concurrent writes on one account)",
            counters.requests, counters.writes, counters.rate_limited, counters.concurrent_writes
        );
        Ok::<World, Error>(world)
    })?;
    if let Some(path) = &config.dump_on_exit {
        dump(path, &world).map_err(|source| Error::Dump {
            path: path.clone(),
            source,
        })?;
        note!(
            "mailshift simulator: accounts written to {}",
            path.display()
        );
    }
    Ok(Outcome::Clean)
}

/// How the server is started: the behaviour, with a seed and an API key made up when not given.
pub(super) fn server_config(
    world: World,
    behaviour: &SimBehaviour,
    bind: SocketAddr,
    api_key: Option<String>,
    org_id: String,
) -> SimConfig {
    let mut rng = rand::rng();
    SimConfig {
        world,
        bind,
        api_key: api_key.unwrap_or_else(|| format!("sim-{:032x}", rng.random::<u128>())),
        org_id,
        taken_status: behaviour.taken_status,
        rate: behaviour.rate,
        faults: behaviour.faults.clone(),
        seed: behaviour
            .seed
            .unwrap_or_else(|| rng.random_range(0..1_000_000)),
        page_size: behaviour.page_size,
        read_delay: behaviour.read_delay,
        key_lifetime: behaviour.key_lifetime,
        log_writes: false,
    }
}

/// The simulated org: the export's accounts, with the behaviour's domains, links and holders;
/// and the behaviour, with the accounts the export calls unverified or unclaimed refused as the
/// API refuses them (403 `forbidden.targetUnverified`, 403 `forbidden`).
pub(super) fn seeded_world(
    accounts: &Path,
    behaviour: &SimBehaviour,
) -> Result<(World, SimBehaviour), Error> {
    let source = crate::input::read(accounts)?;
    let parsed = parse_accounts(&source.path, &source.bytes)?;
    let org = &parsed.org;
    // As a seed file's lines are: a value that names no account would seed nothing, unsaid.
    let named = (behaviour.scim_linked.iter().map(|v| ("--scim-linked", v))).chain(
        behaviour
            .google_synced
            .iter()
            .map(|v| ("--google-synced", v)),
    );
    for (flag, value) in named {
        if org.by_id(value).or_else(|| org.holder(value)).is_none() {
            return Err(Error::SeedAccount {
                flag,
                value: mailshift_core::inert::terminal(value).into_owned(),
                accounts: accounts.to_owned(),
            });
        }
    }
    let mut scim = behaviour.scim_linked.clone();
    for path in &behaviour.scim_linked_files {
        scim.extend(seed_file(path, org)?);
    }
    let mut google: Vec<String> = behaviour.google_synced.clone();
    for path in &behaviour.google_synced_files {
        google.extend(seed_file(path, org)?);
    }
    let world = World::from_org(
        org,
        &behaviour.verified_domains,
        &scim,
        &behaviour.external_holders,
    );
    let mut behaviour = behaviour.clone();
    // Google-synced accounts by ID, whichever way they were named.
    for named in &google {
        let found = org.by_id(named).or_else(|| org.holder(named));
        if let Some(id) = found.and_then(|i| org.account(i).id.as_deref()) {
            behaviour.faults.google_synced.insert(id.to_owned());
        }
    }
    behaviour.faults.unverified.extend(parsed.unverified);
    behaviour.faults.unmanaged.extend(parsed.unclaimed);
    Ok((world, behaviour))
}

/// A seed file's accounts (one ID or address a line; blank lines and `#` comments skipped), each
/// checked to name an account of the export, as IDs and address keys.
fn seed_file(path: &Path, org: &crate::org::Org) -> Result<Vec<String>, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::SeedFile {
        path: path.to_owned(),
        line: 0,
        detail: source.to_string(),
    })?;
    let mut named = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let value = line.trim();
        if value.is_empty() || value.starts_with('#') {
            continue;
        }
        let found = org.by_id(value).or_else(|| org.holder(value));
        let Some(account) = found.map(|i| org.account(i)) else {
            return Err(Error::SeedFile {
                path: path.to_owned(),
                line: n + 1,
                detail: format!(
                    "{} is no account ID or address of the accounts export",
                    mailshift_core::inert::terminal(value)
                ),
            });
        };
        named.push(account.email.key().to_owned());
        if let Some(id) = &account.id {
            named.push(id.to_string());
        }
    }
    Ok(named)
}

/// The final accounts in the "Export users" layout, so that a rehearsal's result can be fed back
/// to `plan` or compared with the plan. Written whole or not at all, mode 0600.
pub(super) fn dump(path: &Path, world: &World) -> std::io::Result<()> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(["User id", "User name", "email", "User status"])?;
    for a in world.accounts() {
        let status = match a.status {
            crate::model::Status::Deactivated => "Inactive",
            crate::model::Status::Suspended => "Suspended",
            _ => "Active",
        };
        // The name is the one cell a spreadsheet could run; the address stays as held, so that
        // the dump reads back as the export it is.
        let name = mailshift_core::inert::spreadsheet(&a.name);
        out.write_record([a.account_id.as_str(), &name, &a.email, status])?;
    }
    let bytes = out.into_inner().map_err(csv::IntoInnerError::into_error)?;
    crate::private_file::write(path, |out| out.write_all(&bytes))
}
