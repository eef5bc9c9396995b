//! `cargo bench --bench plan`: times `mailshift plan` end to end (read, plan, write the plan file,
//! print the table review to /dev/null) on a generated org, and reports its peak memory.
//!
//! The org (default 1,000,000 accounts and 1,000,000 target rows) is a rebrand old.example →
//! new.example in which 5% of the rows conflict: 1% need a holder freed, 3% form chains of three,
//! 1% form swaps and 3-cycles; 1% of the rows name accounts the export lacks (listed as having no account).
//! Beside each median it prints the floor (see `floor_once`) and plan ÷ floor, and the same of
//! the fastest runs with the kernel's time in each, for 20,000, 100,000 and 1,000,000 accounts.
//! With MAILSHIFT_BENCH_ORG=mixed, the org has every hard case mixed in instead (`generate_mixed`:
//! frees of active holders, chains, swaps, 3-cycles, blocked rows of every reason the files can
//! give, mixed case, rows by ID and by address), in `target/bench-plan-mixed-N`.
//! Environment: MAILSHIFT_BENCH_ACCOUNTS (sizes, comma-separated; default 20000,100000,1000000),
//! MAILSHIFT_BENCH_RUNS (default 5), MAILSHIFT_BENCH_BASELINE (another build's `mailshift`, say
//! an earlier revision's: each run then plans with it too, in turn with this build and the
//! floor, so that "before" and "after" meet the same noise; its figures are printed beside),
//! MAILSHIFT_BENCH_SCRIPT=1 (also plan with `benches/plan_dict.py`, a plain dict-based planner
//! in Python, the yardstick of a tuned admin's script, MAILSHIFT_BENCH_SCRIPT_RUNS times,
//! default 1; its counts are printed beside ours, so that it is seen doing the same work).

#[path = "common/measure.rs"]
mod measure;

use measure::{Measured, measured};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn account_id(i: usize) -> String {
    format!(
        "712020:{:08x}-4c20-4165-80ed-{:012x}",
        i * 2_654_435_761 % (1 << 32),
        i
    )
}

/// Writes `n` accounts as admin.atlassian.com exports them into `dir`: account `i` has the
/// address `email(i)` and `jira(i)` in its Jira column; every fiftieth is inactive.
fn write_accounts(
    dir: &Path,
    n: usize,
    email: impl Fn(usize) -> String,
    jira: impl Fn(usize) -> &'static str,
) -> std::io::Result<()> {
    let mut acc = BufWriter::with_capacity(1 << 20, File::create(dir.join("accounts.csv"))?);
    writeln!(
        acc,
        "User id,User name,email,User status,Added to org,Jira - acme,Last seen in Jira - acme"
    )?;
    for i in 0..n {
        let status = if i % 50 == 0 { "Inactive" } else { "Active" };
        writeln!(
            acc,
            "{},User {i},{},{status},12 Mar 2021,{},Never accessed",
            account_id(i),
            email(i),
            jira(i)
        )?;
    }
    acc.flush()
}

/// Writes the accounts export and the targets list into `dir`.
fn generate(dir: &Path, n: usize) -> std::io::Result<()> {
    let movers = n - n / 100; // the last 1% stay put and hold stale addresses
    let frees = n / 100;
    let chain_rows = n * 3 / 100 / 3 * 3;
    let cycle_rows = n / 100 / 5 * 5; // groups of five: one swap and one 3-cycle

    write_accounts(
        dir,
        n,
        |i| {
            if i < movers {
                format!("user{i}@old.example")
            } else {
                // A stale account holding the address mover (i - movers) wants.
                format!("user{}@new.example", i - movers)
            }
        },
        |i| if i % 3 == 0 { "User" } else { "" },
    )?;

    let mut tgt = BufWriter::with_capacity(1 << 20, File::create(dir.join("targets.csv"))?);
    writeln!(tgt, "account_id,target_email")?;
    let mut i = 0;
    // Frees: the first `frees` movers want an address a stale account holds.
    while i < frees {
        writeln!(tgt, "{},user{i}@new.example", account_id(i))?;
        i += 1;
    }
    // Chains of three: a takes b's address, b takes c's, c goes to new.example.
    let chain_end = i + chain_rows;
    while i < chain_end {
        writeln!(tgt, "{},user{}@old.example", account_id(i), i + 1)?;
        writeln!(tgt, "{},user{}@old.example", account_id(i + 1), i + 2)?;
        writeln!(tgt, "{},user{}@new.example", account_id(i + 2), i + 2)?;
        i += 3;
    }
    // A swap and a 3-cycle per five rows.
    let cycle_end = i + cycle_rows;
    while i < cycle_end {
        writeln!(tgt, "{},user{}@old.example", account_id(i), i + 1)?;
        writeln!(tgt, "{},user{}@old.example", account_id(i + 1), i)?;
        writeln!(tgt, "{},user{}@old.example", account_id(i + 2), i + 3)?;
        writeln!(tgt, "{},user{}@old.example", account_id(i + 3), i + 4)?;
        writeln!(tgt, "{},user{}@old.example", account_id(i + 4), i + 2)?;
        i += 5;
    }
    // Everyone else: a plain rebrand.
    while i < movers {
        writeln!(tgt, "{},user{i}@new.example", account_id(i))?;
        i += 1;
    }
    // Rows for people the export lacks.
    for k in 0..(n - movers) {
        writeln!(tgt, "{},ghost{k}@new.example", account_id(n + k))?;
    }
    tgt.flush()
}

/// Writes an org with every hard case mixed in, as a real rebrand has them: frees of active
/// holders (accounts the target list does not move), chains of three, swaps and 3-cycles,
/// blocked rows of every reason the files alone can give (no account, no account named, an ID
/// and an address naming two accounts, two rows for one account, an address the API refuses,
/// an unverified domain, a user part outside ASCII, two accounts wanting one address, a holder
/// that stays), addresses in mixed case, and rows by account ID and by current address.
fn generate_mixed(dir: &Path, n: usize) -> std::io::Result<()> {
    let holders = n / 50; // 2% hold an address a mover wants and are not in the target list
    let movers = n - holders;
    // Every seventh address in mixed case, as exports have them.
    let old = |i: usize| {
        if i % 7 == 3 {
            format!("User{i}@Old.Example")
        } else {
            format!("user{i}@old.example")
        }
    };
    write_accounts(
        dir,
        n,
        |i| {
            if i < movers {
                old(i)
            } else {
                format!("taken{}@new.example", i - movers)
            }
        },
        |_| "User",
    )?;
    let mut tgt = BufWriter::with_capacity(1 << 20, File::create(dir.join("targets.csv"))?);
    writeln!(tgt, "account_id,current_email,target_email")?;
    // Every fourth row names its account by its current address, the rest by ID.
    let row = |tgt: &mut BufWriter<File>, i: usize, target: &str| {
        if i % 4 == 1 {
            writeln!(tgt, ",{},{target}", old(i))
        } else {
            writeln!(tgt, "{},,{target}", account_id(i))
        }
    };
    let mut i = 0;
    // Frees: movers wanting what an active holder has.
    while i < holders {
        row(&mut tgt, i, &format!("taken{i}@new.example"))?;
        i += 1;
    }
    // Chains of three, 3% of the rows.
    let end = i + n * 3 / 100 / 3 * 3;
    while i < end {
        row(&mut tgt, i, &old(i + 1))?;
        row(&mut tgt, i + 1, &old(i + 2))?;
        row(&mut tgt, i + 2, &format!("user{}@new.example", i + 2))?;
        i += 3;
    }
    // A swap and a 3-cycle per five rows, 1%.
    let end = i + n / 100 / 5 * 5;
    while i < end {
        row(&mut tgt, i, &old(i + 1))?;
        row(&mut tgt, i + 1, &old(i))?;
        row(&mut tgt, i + 2, &old(i + 3))?;
        row(&mut tgt, i + 3, &old(i + 4))?;
        row(&mut tgt, i + 4, &old(i + 2))?;
        i += 5;
    }
    // Blocked rows: one of each reason per 1,000 accounts.
    for _ in 0..(n / 1000).max(1) {
        if i + 12 >= movers {
            break;
        }
        writeln!(tgt, ",,nobody{i}@new.example")?; // no account named
        writeln!(tgt, "{},{},user{i}@new.example", account_id(i), old(i + 1))?; // two accounts
        row(&mut tgt, i + 2, &format!("user{}@new.example", i + 2))?; // two rows, one account
        row(&mut tgt, i + 2, &format!("other{}@new.example", i + 2))?;
        row(&mut tgt, i + 3, "not an address")?;
        row(
            &mut tgt,
            i + 4,
            &format!("user{}@unverified.example", i + 4),
        )?;
        row(&mut tgt, i + 5, &format!("us\u{e9}r{}@new.example", i + 5))?;
        row(&mut tgt, i + 6, &format!("shared{i}@new.example"))?; // one address, two accounts
        row(&mut tgt, i + 7, &format!("shared{i}@new.example"))?;
        row(&mut tgt, i + 8, &old(i + 8))?; // stays where it is...
        row(&mut tgt, i + 9, &old(i + 8))?; // ... so this one cannot have its address
        writeln!(tgt, "{},,ghost{i}@new.example", account_id(n + i))?; // no such account
        i += 10;
    }
    // Everyone else: a plain rebrand, every fifth target in mixed case.
    while i < movers {
        if i % 5 == 2 {
            row(&mut tgt, i, &format!("User{i}@New.Example"))?;
        } else {
            row(&mut tgt, i, &format!("user{i}@new.example"))?;
        }
        i += 1;
    }
    tgt.flush()
}

/// Which org the bench plans: `rebrand` (the default) or `mixed` (MAILSHIFT_BENCH_ORG).
fn mixed() -> bool {
    std::env::var("MAILSHIFT_BENCH_ORG").is_ok_and(|v| v == "mixed")
}

/// What `plan` exits with on the org: 2 where rows are blocked.
fn expected_code() -> i32 {
    if mixed() { 2 } else { 0 }
}

/// Plans the org in `dir` once.
fn run_once(bin: &str, dir: &Path) -> Measured {
    let mut args = vec![
        "plan",
        "--accounts",
        "accounts.csv",
        "--targets",
        "targets.csv",
        "--out",
        "plan.json",
    ];
    if mixed() {
        args.extend(["--verified-domains", "old.example,new.example"]);
    }
    measured(
        Command::new(bin)
            .current_dir(dir)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
}

/// Plans the org in `dir` once with the dict-based script; its wall time and peak memory, and
/// the counts it prints.
fn script_once(dir: &Path) -> (Measured, Vec<u8>) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/plan_dict.py");
    let counts = dir.join("script-counts.json");
    let mut args: Vec<std::ffi::OsString> = vec![
        script.into(),
        "accounts.csv".into(),
        "targets.csv".into(),
        "script-plan.json".into(),
    ];
    if mixed() {
        args.extend([
            "--verified-domains".into(),
            "old.example,new.example".into(),
        ]);
    }
    let run = measured(
        Command::new("python3")
            .current_dir(dir)
            .args(args)
            .stdout(File::create(&counts).expect("create the script's counts"))
            .stderr(Stdio::inherit()),
    );
    assert_eq!(run.code, Some(expected_code()), "the script's exit code");
    let _ = std::fs::remove_file(dir.join("script-plan.json"));
    (run, std::fs::read(counts).unwrap_or_default())
}

/// The floor: what any planner of these files must at least do, on the same machine in the same
/// run: read both CSV files with the `csv` crate into byte records, one file per core (as `plan`
/// parses them side by side), then write a file of the plan's size over the last one and sync it
/// (as `plan` writes its plan over the last). Run as a process of its own (`floor_in_child`) and
/// timed from outside it, as `plan` is.
fn floor_once(dir: &Path, plan_size: u64) {
    let read = |name: &str| {
        let bytes = std::fs::read(dir.join(name)).expect("read the CSV");
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(bytes.as_slice());
        let mut records = Vec::new();
        let mut record = csv::ByteRecord::new();
        while reader.read_byte_record(&mut record).expect("CSV") {
            records.push(record.clone());
        }
        records.len()
    };
    let rows = std::thread::scope(|s| {
        let targets = s.spawn(|| read("targets.csv"));
        let accounts = read("accounts.csv");
        accounts + targets.join().expect("reader thread")
    });
    assert!(rows > 0);
    // Written as `plan` writes: to a new file renamed over the last, in chunks (the content
    // does not matter to the write; a plan-sized buffer would be memory `plan` never holds).
    let out = dir.join("floor.out");
    let new = dir.join("floor.out.new");
    {
        let mut file = File::create(&new).expect("create");
        let chunk = vec![b' '; 1 << 20];
        let mut left = plan_size;
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            file.write_all(&chunk[..n]).expect("write");
            left -= n as u64;
        }
        file.sync_all().expect("sync");
    }
    std::fs::rename(&new, &out).expect("rename over the last");
}

/// Runs the floor in a child process (this bench again, told so by the environment) and times
/// it from outside, as `plan` is timed: its start, its exit (freeing what it read) and the file
/// it replaces count, as they do for `plan`. Done here, its records would also grow this
/// process, and a child forked from a large process reports that size as its own peak memory.
fn floor_in_child(dir: &Path) -> Measured {
    let exe = std::env::current_exe().expect("the bench's own path");
    let plan_size = std::fs::metadata(dir.join("plan.json"))
        .expect("plan written")
        .len();
    let run = measured(
        Command::new(exe)
            .env(FLOOR_DIR, dir)
            .env(FLOOR_SIZE, plan_size.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit()),
    );
    assert_eq!(run.code, Some(0), "the floor failed");
    run
}

/// The plan file's summary, read as the file streams by: the rest is skipped, not kept. A
/// child's peak memory counts this process's own peak up to the child's start (its exec
/// replaces a copy of this process), so a parsed 1M plan (2 GB) held here once made every
/// later child, a 300k plan among them, report 2,021 MiB.
fn summary_of(path: &Path) -> serde_json::Value {
    #[derive(serde::Deserialize)]
    struct PlanFile {
        plan: Head,
    }
    #[derive(serde::Deserialize)]
    struct Head {
        summary: serde_json::Value,
    }
    let file = std::io::BufReader::new(File::open(path).expect("plan written"));
    let read: PlanFile = serde_json::from_reader(file).expect("plan is JSON");
    read.plan.summary
}

/// Set in the child that is the floor: the directory of the org.
const FLOOR_DIR: &str = "MAILSHIFT_BENCH_FLOOR_DIR";
/// Set in the child that is the floor: the size of the plan file, in bytes.
const FLOOR_SIZE: &str = "MAILSHIFT_BENCH_FLOOR_SIZE";

/// One size: `runs` plans and `runs` floors, taken in turn so that both meet the same noise.
fn bench(n: usize, runs: usize) {
    let dir: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(if mixed() {
            format!("bench-plan-mixed-{n}")
        } else {
            format!("bench-plan-{n}")
        });
    std::fs::create_dir_all(&dir).expect("create bench dir");
    if !dir.join("targets.csv").exists() {
        let t = Instant::now();
        if mixed() {
            generate_mixed(&dir, n).expect("generate the org");
        } else {
            generate(&dir, n).expect("generate the org");
        }
        eprintln!(
            "generated {n} accounts in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    let size = |name: &str| std::fs::metadata(dir.join(name)).map_or(0, |m| m.len());
    let bin = env!("CARGO_BIN_EXE_mailshift");
    let baseline = std::env::var("MAILSHIFT_BENCH_BASELINE").ok();

    let script = std::env::var("MAILSHIFT_BENCH_SCRIPT").is_ok_and(|v| v == "1");
    let script_runs = if script {
        env_usize("MAILSHIFT_BENCH_SCRIPT_RUNS", 1).max(1)
    } else {
        0
    };
    let (mut script_walls, mut script_peak, mut script_counts) = (Vec::new(), 0.0f64, Vec::new());
    let mut walls = Vec::new();
    let mut floors = Vec::new();
    // Each run's kernel seconds, plan and floor.
    let (mut plan_sys, mut floor_sys) = (Vec::new(), Vec::new());
    let mut peak: f64 = 0.0;
    let (mut base_walls, mut base_peak) = (Vec::new(), 0.0f64);
    for _ in 0..runs {
        if let Some(base) = &baseline {
            let run = run_once(base, &dir);
            assert_eq!(run.code, Some(expected_code()), "the baseline's plan");
            base_walls.push(run.wall);
            base_peak = base_peak.max(run.peak_mib);
        }
        let run = run_once(bin, &dir);
        // The 1% of rows naming accounts the export lacks are listed as having no account,
        // not blocked; nothing else in the rebrand org is blocked. The mixed org blocks rows
        // on purpose: exit 2.
        assert_eq!(run.code, Some(expected_code()), "plan's exit code");
        walls.push(run.wall);
        plan_sys.push(run.sys);
        peak = peak.max(run.peak_mib);
        let floor = floor_in_child(&dir);
        floors.push(floor.wall);
        floor_sys.push(floor.sys);
        if script_walls.len() < script_runs {
            let (run, counts) = script_once(&dir);
            script_walls.push(run.wall);
            script_peak = script_peak.max(run.peak_mib);
            script_counts = counts;
        }
    }
    let _ = std::fs::remove_file(dir.join("floor.out"));
    walls.sort_by(f64::total_cmp);
    let fastest_floor = floors.iter().copied().fold(f64::INFINITY, f64::min);
    let floor = measure::median(floors);
    let summary = summary_of(&dir.join("plan.json"));
    println!(
        "mailshift plan, {n} accounts ({} MB) + {n} target rows ({} MB)",
        size("accounts.csv") / 1_000_000,
        size("targets.csv") / 1_000_000
    );
    println!(
        "  plan: {} writes ({} renames, {} frees, {} temporaries, {} chains, {} cycles), {} blocked, {} with no account; plan file {} MB",
        summary["writes"],
        summary["renames"],
        summary["frees"],
        summary["temporaries"],
        summary["chains"],
        summary["cycles"],
        summary["blocked"],
        summary["no_account"],
        size("plan.json") / 1_000_000
    );
    let median = walls[walls.len() / 2];
    println!(
        "  wall over {runs} runs: median {median:.3} s, min {:.3} s, max {:.3} s (target <= 3 s at 1M)",
        walls[0],
        walls[walls.len() - 1]
    );
    println!(
        "  floor (a process that reads both CSVs into byte records on two cores, then writes and syncs a file of the plan's size over the last): median {floor:.3} s; plan / floor = {:.2} (target <= 2.0 at 1M)",
        median / floor
    );
    // The medians swing with the kernel's time (`sys`), spent on memory touched for the first
    // time: the fastest runs of each say what the work itself costs.
    println!(
        "  fastest run: plan {:.3} s, floor {fastest_floor:.3} s; plan / floor = {:.2}; kernel time, median: plan {:.3} s, floor {:.3} s",
        walls[0],
        walls[0] / fastest_floor,
        measure::median(plan_sys),
        measure::median(floor_sys)
    );
    println!("  peak RSS: {peak:.0} MiB (target <= 1024 MiB)");
    if !script_walls.is_empty() {
        let script_median = measure::median(script_walls);
        println!(
            "  dict-based script (benches/plan_dict.py, {} run(s)): median {script_median:.3} s, peak RSS {script_peak:.0} MiB; script / plan = {:.1}; script / floor = {:.1}; its counts: {}",
            script_runs,
            script_median / median,
            script_median / floor,
            String::from_utf8_lossy(&script_counts).trim()
        );
    }
    if let Some(base) = &baseline {
        let base_median = measure::median(base_walls);
        println!(
            "  baseline {base}: median {base_median:.3} s; baseline / floor = {:.2}; this build / baseline = {:.2}; peak RSS {base_peak:.0} MiB",
            base_median / floor,
            median / base_median
        );
    }
}

fn main() {
    if let Some(dir) = std::env::var_os(FLOOR_DIR) {
        let size = std::env::var(FLOOR_SIZE)
            .ok()
            .and_then(|v| v.parse().ok())
            .expect("the plan's size");
        floor_once(&PathBuf::from(dir), size);
        return;
    }
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing useful. Either way, run.
    let sizes: Vec<usize> = match std::env::var("MAILSHIFT_BENCH_ACCOUNTS") {
        Ok(v) => v.split(',').filter_map(|n| n.trim().parse().ok()).collect(),
        Err(_) => vec![20_000, 100_000, 1_000_000],
    };
    let runs = env_usize("MAILSHIFT_BENCH_RUNS", 5).max(1);
    for n in sizes {
        bench(n, runs);
    }
}
