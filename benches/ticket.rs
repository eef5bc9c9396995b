//! `cargo bench --bench ticket`: the ticket an approver signs, at the size of the issue that
//! asked for it: 50,000 renames, 2,400 of them IdP-owned (the simulator reports them
//! SCIM-linked, so `plan --org-id` puts them on the IdP list), through the release binary on
//! loopback. For each review format, `plan` prints it once; the bench prints its size, whether
//! the plan's content sha256 is in its first lines, and whether `mailshift review plan.json`
//! renders the same bytes from the file alone. Asserts only that each command succeeds.
//!
//! Environment: MAILSHIFT_TICKET_ACCOUNTS (default 50000), MAILSHIFT_TICKET_IDP (default 2400),
//! MAILSHIFT_TICKET_FORMATS (default "markdown,table,csv,json"). What `plan` printed is kept in
//! `target/bench-ticket-N/printed.FORMAT`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::time::Instant;
use support::*;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
        .max(1)
}

fn main() {
    let accounts = env_usize("MAILSHIFT_TICKET_ACCOUNTS", 50_000);
    let idp = env_usize("MAILSHIFT_TICKET_IDP", 2_400).min(accounts);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(format!("bench-ticket-{accounts}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("bench dir");
    let (export, targets) = generated_org(Shapes::renames(accounts));
    std::fs::write(dir.join("accounts.csv"), &export).expect("accounts");
    std::fs::write(dir.join("targets.csv"), &targets).expect("targets");
    // Spread the IdP-owned accounts through the org, as a real directory would.
    let step = accounts / idp;
    let sim = serve(
        &dir,
        SimSetup {
            scim: (0..idp).map(|i| format!("acc-r{}", i * step)).collect(),
            ..both_verified()
        },
    );
    let url = sim.url();
    println!("ticket: {accounts} renames, {idp} IdP-owned, plan --org-id against the simulator");
    println!(
        "{:<9} {:>11} {:>9} {:>12} {:>18}",
        "format", "bytes", "plan s", "sha256 first", "review identical"
    );
    let formats = std::env::var("MAILSHIFT_TICKET_FORMATS")
        .unwrap_or_else(|_| "markdown,table,csv,json".into());
    for format in formats.split(',') {
        let out_file = format!("plan-{format}.json");
        let started = Instant::now();
        let planned = mailshift(
            &dir,
            &[
                "plan",
                "--api-url",
                &url,
                "--org-id",
                "org-1",
                "--rate",
                "20000",
                "--accounts",
                "accounts.csv",
                "--targets",
                "targets.csv",
                "--out",
                &out_file,
                "--format",
                format,
            ],
        );
        let took = started.elapsed().as_secs_f64();
        let said = text(&planned.stderr);
        assert_eq!(planned.status.code(), Some(0), "{format}: {said}");
        let sha = said
            .split("content sha256 ")
            .nth(1)
            .and_then(|rest| rest.get(..64))
            .unwrap_or_else(|| panic!("{format}: no content sha256 in {said}"));
        let head: String = text(&planned.stdout)
            .lines()
            .take(3)
            .collect::<Vec<_>>()
            .join("\n");
        // Kept beside the plan, for a look at what an approver would get.
        std::fs::write(dir.join(format!("printed.{format}")), &planned.stdout).expect("keep");
        let again = mailshift(&dir, &["review", &out_file, "--format", format]);
        assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
        let plan = read_plan(&dir.join(&out_file));
        assert_eq!(plan.idp.len(), idp, "{format}: IdP changes");
        println!(
            "{format:<9} {:>11} {took:>9.2} {:>12} {:>18}",
            planned.stdout.len(),
            if head.contains(sha) { "yes" } else { "NO" },
            if again.stdout == planned.stdout {
                "yes"
            } else {
                "NO"
            },
        );
    }
    println!("bar: markdown <= 20,000 bytes; sha256 first and review identical in every format");
}
