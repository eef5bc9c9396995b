//! `mailshift rehearse`: the whole migration against the simulator, seeded with the export. It
//! plans against the simulated org (pre-flight included), applies through the real executor
//! while the simulator limits and spoils requests, verifies, and says what the real run will
//! take. The simulator runs on its own runtime, so `plan`, `apply` and `verify` run unchanged.

mod stop;

use super::{apply, plan, simulate, verify};
use crate::cli::{Cli, Command};
use crate::config::{ApplyConfig, ConfigError, PlanConfig, RehearseConfig, Sources, VerifyConfig};
use crate::error::{Error, Outcome};
use crate::journal;
use crate::review;
use crate::review::outcome::Counts;
use crate::sim::server::{self, Counters, Server};
use crate::terminal::{self, say};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use stop::Phase;

/// The files a rehearsal leaves in its directory; an earlier rehearsal's are removed first, so
/// that its journal is not taken for this one's.
const PLAN: &str = "plan.json";
const REPORT: &str = "report.csv";
const CHECKLIST: &str = "idp-checklist.csv";
const AFTER: &str = "accounts-after.csv";

pub fn run(config: &RehearseConfig) -> Result<Outcome, Error> {
    let paths = Paths::prepare(&config.dir)?;
    let (world, sim) = simulate::seeded_world(&config.accounts, &config.sim)?;
    let sim = &sim;
    let sim_config = simulate::server_config(
        world,
        sim,
        (std::net::Ipv4Addr::LOCALHOST, 0).into(),
        None,
        "sim-org".into(),
    );
    let (seed, key) = (sim_config.seed, sim_config.api_key.clone());
    let accounts = sim_config.world.accounts().len();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    let server = runtime
        .block_on(server::start(sim_config))
        .map_err(Error::Simulator)?;
    let phases = stop::watch(&runtime, config.dir.clone());
    terminal::line(&introduction(config, seed))?;
    terminal::line(&expected_duration(
        accounts,
        config.apply_rate,
        config.sim.rate.map(|(rate, _)| rate),
    ))?;
    // The simulator's address, key and org are the whole environment the rehearsal's commands
    // see: the admin's own ATLASSIAN_* and MAILSHIFT_* settings play no part.
    let (url, org) = (server.url(), server.org_id.clone());
    let var = move |name: &str| match name {
        "MAILSHIFT_API_URL" => Some(url.clone()),
        "ATLASSIAN_API_KEY" => Some(key.clone()),
        "ATLASSIAN_ORG_ID" => Some(org.clone()),
        _ => None,
    };
    let sources = Sources {
        var: &var,
        ..Sources::process()
    };
    let started = Instant::now();
    let rehearsal = rehearse(config, sources, &paths, &server, &phases);
    let took = started.elapsed();
    let counters = server.counters();
    let world = runtime.block_on(server.stop()).map_err(Error::Simulator)?;
    simulate::dump(&paths.after, &world).map_err(|source| Error::Dump {
        path: paths.after.clone(),
        source,
    })?;
    let done = rehearsal?;
    if done.applied == Outcome::Interrupted {
        say!(
            "mailshift: rehearsal stopped at Ctrl-C while applying: nothing outside this machine was touched; {} shows how far it got.",
            paths.report.display()
        );
        return Ok(Outcome::Interrupted);
    }
    terminal::line(&format!(
        "\n{}",
        conclusion(config, &paths, &done, &counters, took)
    ))?;
    Ok(done.outcome())
}

/// Where the rehearsal's files go.
struct Paths {
    dir: PathBuf,
    plan: PathBuf,
    report: PathBuf,
    checklist: PathBuf,
    after: PathBuf,
}

impl Paths {
    fn prepare(dir: &Path) -> Result<Paths, Error> {
        let failed = |source| Error::RehearsalDir {
            dir: dir.to_owned(),
            source,
        };
        crate::private_file::create_dir(dir).map_err(failed)?;
        let paths = Paths {
            dir: dir.to_owned(),
            plan: dir.join(PLAN),
            report: dir.join(REPORT),
            checklist: dir.join(CHECKLIST),
            after: dir.join(AFTER),
        };
        let journal = journal::default_path(&paths.plan);
        let plan_copy = journal::plan_copy_path(&journal);
        for old in [
            &paths.plan,
            &journal,
            &plan_copy,
            &paths.report,
            &paths.checklist,
            &paths.after,
        ] {
            match std::fs::remove_file(old) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(failed(e)),
                _ => {}
            }
        }
        Ok(paths)
    }
}

/// What each phase ended with.
struct Phases {
    blocked: usize,
    idp_changes: usize,
    signed_out: u64,
    steps: usize,
    applied: Outcome,
    apply_time: Duration,
    counts: Counts,
    verified: Outcome,
    /// Requests the simulator answered while `apply` ran.
    apply_requests: u64,
}

impl Phases {
    fn outcome(&self) -> Outcome {
        if self.applied != Outcome::Clean || self.verified != Outcome::Clean {
            Outcome::Incomplete
        } else if self.blocked > 0 {
            Outcome::Blocked
        } else {
            Outcome::Clean
        }
    }
}

fn rehearse(
    config: &RehearseConfig,
    sources: Sources,
    paths: &Paths,
    server: &Server,
    phase: &stop::Phases,
) -> Result<Phases, Error> {
    let rate = config.apply_rate.to_string();
    let concurrency = config.concurrency.to_string();
    terminal::line("\n== plan (against the simulated org, pre-flight included)")?;
    let mut line = args_of(&["plan", "--accounts"]);
    line.push(config.accounts.clone().into());
    for targets in &config.targets {
        line.extend([OsString::from("--targets"), targets.clone().into()]);
    }
    for rule in &config.rules {
        line.extend([OsString::from("--rewrite-domain"), rule.label().into()]);
    }
    line.extend([OsString::from("--out"), paths.plan.clone().into()]);
    line.extend(args_of(&["--rate", &rate, "--concurrency", &concurrency]));
    if config.allow_scim_unlink {
        line.push("--allow-scim-unlink".into());
    }
    if config.allow_non_ascii_local_part {
        line.push("--allow-non-ascii-local-part".into());
    }
    let Command::Plan(args) = command(line)? else {
        return Err(not_its_own("plan"));
    };
    let plan_config = PlanConfig::from_arguments(args, sources)?;
    let made = plan::make(&plan_config)?;
    crate::plan::file::write(&paths.plan, &made)?;
    if !made.idp.is_empty() {
        review::write_checklist(&paths.checklist, &made)?;
    }
    print_brief(&made)?;
    let before_apply = server.counters().requests;

    // From here a Ctrl-C is `apply`'s, handed on to it however early (`stop`), counted from
    // before the heading, which is what a person (or a test) presses Ctrl-C after.
    let presses = phase.presses();
    phase.set(Phase::Applying);
    terminal::line(
        "\n== apply (the real executor; the simulator limits the rate and spoils requests)",
    )?;
    let backoff = config.backoff.as_millis().to_string();
    let mut line = args_of(&["apply"]);
    line.push(paths.plan.clone().into());
    line.extend([OsString::from("--report"), paths.report.clone().into()]);
    line.extend(args_of(&[
        "--yes",
        "--rate",
        &rate,
        "--concurrency",
        &concurrency,
        "--backoff-ms",
        &backoff,
        "--settle",
        "1",
    ]));
    let Command::Apply(args) = command(line)? else {
        return Err(not_its_own("apply"));
    };
    // The simulator says how long its writes can be under way; a second more settles.
    let apply_config = ApplyConfig::from_arguments(args, sources)?.in_rehearsal(
        config.sim.longest_under_way() + Duration::from_secs(1),
        config.sim.read_delay,
        presses,
    );
    let started = Instant::now();
    let applied = apply::run(&apply_config)?;
    phase.set(Phase::Verifying);
    let apply_time = started.elapsed();
    let apply_requests = server.counters().requests.saturating_sub(before_apply);
    let counts = journal::read(&apply_config.journal)
        .and_then(|p| {
            journal::replay(
                &apply_config.journal,
                made.steps.len() as u32,
                &p.records,
                false,
            )
        })
        .map(|states| Counts::of(&states))
        .unwrap_or_default();

    // Stopped at Ctrl-C: the admin asked the rehearsal to end, not to be judged half-run.
    let verified = if applied == Outcome::Interrupted {
        Outcome::Interrupted
    } else {
        verify(config, sources, paths, &apply_config.journal, &rate)?
    };
    Ok(Phases {
        blocked: made.blocked.len(),
        idp_changes: made.idp.len(),
        signed_out: made.summary.signed_out,
        steps: made.steps.len(),
        applied,
        apply_time,
        counts,
        verified,
        apply_requests,
    })
}

/// The verify phase: the whole plan checked, against the journal, with rechecks for reads
/// that lag by the simulator's `--read-delay-ms`.
fn verify(
    config: &RehearseConfig,
    sources: Sources,
    paths: &Paths,
    journal: &Path,
    rate: &str,
) -> Result<Outcome, Error> {
    terminal::line("\n== verify")?;
    // The simulator shows a change late by exactly --read-delay-ms.
    let delay = config.sim.read_delay.max(Duration::from_millis(200));
    let mut line = args_of(&["verify"]);
    line.push(paths.plan.clone().into());
    line.extend([OsString::from("--journal"), journal.to_owned().into()]);
    // A rehearsal applies the whole plan, so the whole plan is checked.
    line.extend(args_of(&[
        "--all",
        "--rate",
        rate,
        "--rechecks",
        "3",
        "--recheck-delay",
        &delay.as_secs_f64().to_string(),
    ]));
    let Command::Verify(args) = command(line)? else {
        return Err(not_its_own("verify"));
    };
    verify::run(&VerifyConfig::from_arguments(args, sources)?)
}

/// The plan's summary, what is blocked and what the IdP must do.
fn print_brief(plan: &crate::plan::Plan) -> Result<(), Error> {
    Ok(terminal::print(|out| {
        review::table::render_brief(plan, out)
    })?)
}

fn introduction(config: &RehearseConfig, seed: u64) -> String {
    let sim = &config.sim;
    let limit = match sim.rate {
        Some((rate, burst)) => format!("{rate} requests/s (burst {burst})"),
        None => "no rate limit".into(),
    };
    let f = &sim.faults;
    format!(
        "Rehearsal of {} against the built-in simulator (nothing leaves this machine)\n  \
         simulated API: {limit}; {}% answered 5xx, {}% dropped, {}% of writes land but answer 5xx; \
         {} ms latency (+ up to {} ms)\n  \
         seed {seed} (--seed {seed} repeats this rehearsal's faults)",
        config.accounts.display(),
        percent(f.error_share),
        percent(f.drop_share),
        percent(f.ambiguous_share),
        f.latency.as_millis(),
        f.jitter.as_millis(),
    )
}

/// The rehearsal's length, said before it starts: at most two requests per account (a
/// permission read while planning, a write while applying), at the lower of `--apply-rate` and
/// the simulated limit. A rebrand moves every account, so this is what a 5,000-account export
/// takes at the default 10 a second: about 17 minutes.
fn expected_duration(accounts: usize, apply_rate: f64, sim_rate: Option<f64>) -> String {
    let rate = apply_rate.min(sim_rate.unwrap_or(f64::INFINITY));
    let secs = (2 * accounts) as f64 / rate;
    let about = Duration::try_from_secs_f64(secs).map_or_else(|_| "a long time".into(), span);
    let mut text = format!(
        "  expected: up to about {about} ({accounts} accounts: a permission read and a write for each account the plan moves, at {rate} requests/s)"
    );
    if secs > 120.0 {
        text.push_str(
            "\n  faster: raise the simulated limit and apply's with it (say --rate 200 --burst 200 --apply-rate 200), or rehearse a sample of the export",
        );
    }
    text
}

fn percent(share: f64) -> String {
    format!("{}", (share * 1000.0).round() / 10.0)
}

fn conclusion(
    config: &RehearseConfig,
    paths: &Paths,
    phases: &Phases,
    total: &Counters,
    took: Duration,
) -> String {
    // Every answered request but the 429s counts against the real rate; the 429s are what
    // the simulated limit cost and the real one may cost more or less.
    let needed = total.requests.saturating_sub(total.rate_limited);
    // Backoff after 5xx and lost connections takes as long for real as here.
    let estimate = Duration::from_secs_f64(needed as f64 / config.real_rate).max(took);
    let c = &phases.counts;
    let mut lines = vec![
        "== what the real run will take".to_string(),
        format!(
            "  requests     {needed} answered ({} writes carried out) and {} more answered 429; apply sent {} of them in {}",
            total.writes,
            total.rate_limited,
            phases.apply_requests,
            span(phases.apply_time),
        ),
        format!(
            "  real run     about {} at {} requests/s (plan's pre-flight, apply and verify; this rehearsal took {}), plus waits after 429s",
            span(estimate),
            config.real_rate,
            span(took)
        ),
        format!(
            "  signed out   {} users (every email change ends the account's sessions)",
            phases.signed_out
        ),
        format!(
            "  faults met   {} answered 5xx, {} dropped, {} writes landed but answered 5xx",
            total.errors, total.drops, total.ambiguous
        ),
        format!(
            "  steps        {} of {} done, {} failed, {} skipped, {} unresolved",
            c.done,
            phases.steps,
            c.failed,
            c.skipped,
            c.in_flight + c.not_started
        ),
    ];
    if phases.blocked > 0 {
        lines.push(format!(
            "  blocked      {} wishes the plan cannot carry out (listed above, with the reasons)",
            phases.blocked
        ));
    }
    if phases.idp_changes > 0 {
        lines.push(format!(
            "  IdP changes  {} for the identity provider, in order: {}",
            phases.idp_changes,
            paths.checklist.display()
        ));
    }
    lines.push(format!(
        "  verdict      {}",
        match phases.outcome() {
            Outcome::Clean => "ready: every planned change landed and verified".to_string(),
            Outcome::Blocked =>
                "every planned change landed and verified; fix or accept the blocked wishes first"
                    .to_string(),
            _ => format!(
                "not ready: see the failures above and {}",
                paths.report.display()
            ),
        }
    ));
    lines.push(format!(
        "Files in {}: {PLAN} (the plan), {PLAN}.journal (and its copy of the plan, {PLAN}.journal.plan), {REPORT} (one row per step), {AFTER} (the simulated org afterwards)",
        paths.dir.display()
    ));
    lines.join("\n")
}

/// "3.5 s", "42 s", "12 min 5 s", "2 h 13 min": an estimate is not more precise than that.
fn span(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 10.0 {
        format!("{secs:.1} s")
    } else if secs < 60.0 {
        format!("{secs:.0} s")
    } else if secs < 3600.0 {
        format!("{} min {} s", (secs / 60.0) as u64, (secs % 60.0) as u64)
    } else {
        format!(
            "{} h {} min",
            (secs / 3600.0) as u64,
            ((secs % 3600.0) / 60.0) as u64
        )
    }
}

fn args_of(words: &[&str]) -> Vec<OsString> {
    words.iter().map(OsString::from).collect()
}

/// The rehearsal's own command line for one of its phases, parsed as the admin's would be, so
/// that its config is made and checked by the same constructor.
fn command(words: Vec<OsString>) -> Result<Command, Error> {
    let argv = std::iter::once(OsString::from("mailshift")).chain(words);
    let cli =
        <Cli as clap::Parser>::try_parse_from(argv).map_err(|e| ConfigError::RehearsalCommand {
            detail: e.to_string(),
        })?;
    Ok(cli.command)
}

fn not_its_own(phase: &str) -> Error {
    ConfigError::RehearsalCommand {
        detail: format!("the {phase} phase parsed as another command"),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_rehearsal_is_announced_with_how_to_shorten_it() {
        let long = expected_duration(5000, 10.0, Some(10.0));
        assert!(
            long.starts_with("  expected: up to about 16 min 40 s (5000 accounts"),
            "{long}"
        );
        assert!(long.contains("faster: raise the simulated limit"), "{long}");
        let short = expected_duration(21, 10.0, Some(10.0));
        assert!(short.contains("about 4.2 s"), "{short}");
        assert!(!short.contains("faster"), "{short}");
        // The lower of the two rates decides.
        assert!(expected_duration(100, 1000.0, Some(20.0)).contains("at 20 requests/s"));
    }

    #[test]
    fn estimates_are_as_precise_as_they_can_be() {
        assert_eq!(span(Duration::from_millis(3_450)), "3.5 s");
        assert_eq!(span(Duration::from_secs(42)), "42 s");
        assert_eq!(span(Duration::from_secs(725)), "12 min 5 s");
        assert_eq!(
            span(Duration::from_secs(2 * 3600 + 13 * 60 + 59)),
            "2 h 13 min"
        );
    }
}
