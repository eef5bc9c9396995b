//! `cargo bench --bench scale`: a whole migration of a generated 100,000-account org, end to end
//! through the release binary, each step its own process measured with wait4:
//!
//! 1. `plan` from the export and the target list (offline): wall time and peak RSS;
//! 2. `apply` against the simulator on loopback with a high server limit: throughput, peak RSS;
//! 3. `verify` of the result: wall time and peak RSS;
//! 4. the journal: bytes, and bytes per step.
//!
//! Every round starts from the same files and a fresh simulator; the medians are printed with
//! the targets (plan ≤ 0.5 s, apply ≤ 200 MiB, journal ≤ 300 bytes per step).
//! Environment: MAILSHIFT_SCALE_ACCOUNTS (default 100000), MAILSHIFT_BENCH_RUNS (default 3).

#[path = "common/measure.rs"]
mod measure;
#[path = "../tests/support/mod.rs"]
mod support;

use measure::{Measured, measured, median};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use support::*;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
        .max(1)
}

/// An org of about `accounts` accounts: one in a hundred a freed holder and its mover, one in a
/// hundred a swap, one in two hundred a chain and a cycle, the rest plain renames.
fn org(accounts: usize) -> (PathBuf, Shapes) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(format!("bench-scale-{accounts}"));
    std::fs::create_dir_all(&dir).expect("bench dir");
    let h = accounts / 100;
    let shapes = Shapes {
        renames: accounts - 2 * h - 2 * h - 3 * (h / 2) - 3 * (h / 2),
        frees: h,
        chains: h / 2,
        swaps: h,
        cycles: h / 2,
    };
    let (csv, targets) = generated_org(shapes);
    std::fs::write(dir.join("accounts.csv"), csv).expect("accounts.csv");
    std::fs::write(dir.join("targets.csv"), targets).expect("targets.csv");
    (dir, shapes)
}

/// Runs one step with its standard error in `stderr`, for a look when it fails.
fn step(mut command: Command, stderr: &Path) -> Measured {
    let log = std::fs::File::create(stderr).expect("stderr file");
    let m = measured(command.stdout(Stdio::null()).stderr(log));
    assert!(
        matches!(m.code, Some(0 | 2)),
        "{command:?} failed ({:?}); see {}",
        m.code,
        stderr.display()
    );
    m
}

struct Round {
    plan: Measured,
    apply: Measured,
    verify: Measured,
    journal_bytes: u64,
}

fn round(dir: &Path) -> Round {
    for file in ["plan.json", "plan.json.journal"] {
        let _ = std::fs::remove_file(dir.join(file));
    }
    let plan = step(
        command(dir, &[&PLAN[..], &["--out", "plan.json"]].concat()),
        &dir.join("plan.stderr"),
    );
    let sim = serve(
        dir,
        SimSetup {
            rate: Some((100_000.0, 10_000)),
            ..both_verified()
        },
    );
    let url = sim.url();
    // A plan made offline reads each account's permissions on its first apply; an admin with
    // this many accounts plans live instead (`--org-id`), which checks them once, in `plan`.
    let apply = step(
        command(
            dir,
            &apply_args(
                &url,
                &[
                    "--rate",
                    "100000",
                    "--concurrency",
                    "32",
                    "--no-permission-check",
                ],
            ),
        ),
        &dir.join("apply.stderr"),
    );
    let verify = step(
        command(
            dir,
            &[
                "verify",
                "plan.json",
                "--api-url",
                &url,
                "--org-id",
                "org-1",
                "--rate",
                "100000",
            ],
        ),
        &dir.join("verify.stderr"),
    );
    Round {
        plan,
        apply,
        verify,
        journal_bytes: std::fs::metadata(dir.join("plan.json.journal")).map_or(0, |m| m.len()),
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "meets" } else { "MISSES" }
}

fn main() {
    let accounts = env_usize("MAILSHIFT_SCALE_ACCOUNTS", 100_000);
    let runs = env_usize("MAILSHIFT_BENCH_RUNS", 3);
    let (dir, shapes) = org(accounts);
    let steps = shapes.steps();
    println!(
        "scale: {accounts} accounts, {steps} steps ({} renames, {} freed holders, {} chains, {} swaps, {} cycles), {runs} rounds",
        shapes.renames, shapes.frees, shapes.chains, shapes.swaps, shapes.cycles
    );
    let mut rounds = Vec::new();
    for i in 0..runs {
        let r = round(&dir);
        println!(
            "round {i}: plan {:.3} s, {:.1} MiB | apply {:.2} s = {:.0} steps/s, {:.1} MiB | verify {:.2} s, {:.1} MiB | journal {} bytes = {:.0} bytes/step",
            r.plan.wall,
            r.plan.peak_mib,
            r.apply.wall,
            steps as f64 / r.apply.wall,
            r.apply.peak_mib,
            r.verify.wall,
            r.verify.peak_mib,
            r.journal_bytes,
            r.journal_bytes as f64 / steps as f64
        );
        rounds.push(r);
    }
    let m = |f: fn(&Round) -> f64| median(rounds.iter().map(f).collect());
    let plan_s = m(|r| r.plan.wall);
    let apply_mib = m(|r| r.apply.peak_mib);
    let per_step = m(|r| r.journal_bytes as f64) / steps as f64;
    println!("medians of {runs}:");
    println!(
        "  plan     {plan_s:.3} s, peak {:.1} MiB   (target ≤ 0.5 s: {})",
        m(|r| r.plan.peak_mib),
        verdict(plan_s <= 0.5)
    );
    println!(
        "  apply    {:.2} s = {:.0} steps/s, peak {apply_mib:.1} MiB   (target ≤ 200 MiB: {})",
        m(|r| r.apply.wall),
        steps as f64 / m(|r| r.apply.wall),
        verdict(apply_mib <= 200.0)
    );
    println!(
        "  verify   {:.2} s, peak {:.1} MiB",
        m(|r| r.verify.wall),
        m(|r| r.verify.peak_mib)
    );
    println!(
        "  journal  {per_step:.0} bytes per step   (target ≤ 300: {})",
        verdict(per_step <= 300.0)
    );
}
