//! `cargo bench --bench simulator`: requests per second the simulator sustains with no rate limit,
//! no faults and no latency, driven by an in-process reqwest client over loopback (the client
//! shares the machine's two cores, so the figure is a floor). The executor's benchmarks need it
//! well above their 100 req/s server limit; the target is 5,000 req/s.
//! Environment: MAILSHIFT_BENCH_REQUESTS (default 40000), MAILSHIFT_BENCH_RUNS (default 3).

use mailshift::model::{Account, Email, Status};
use mailshift::org::Org;
use mailshift::sim::faults::FaultConfig;
use mailshift::sim::server::{self, SimConfig};
use mailshift::sim::world::World;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

const ACCOUNTS: usize = 10_000;
const CLIENTS: usize = 64;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn world() -> World {
    let accounts = (0..ACCOUNTS)
        .map(|i| Account {
            id: Some(format!("acct-{i}").into()),
            name: format!("User {i}").into(),
            email: Email::lenient(&format!("user{i}@old.example")),
            status: Status::Active,
            product_access: false,
            line: i as u64 + 2,
        })
        .collect();
    let org = Org::new(accounts).expect("distinct addresses");
    World::from_org(&org, &BTreeSet::new(), &BTreeSet::new(), &[])
}

/// Sends `total` requests from `CLIENTS` concurrent clients; each client writes only its own
/// accounts, as a correct executor would. Returns requests per second.
async fn run(url: &str, key: &str, total: usize, write: bool) -> f64 {
    let client = reqwest::Client::new();
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (client, next, url, key) = (
            client.clone(),
            Arc::clone(&next),
            url.to_owned(),
            key.to_owned(),
        );
        tasks.push(tokio::spawn(async move {
            let mut n = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let account = (n * CLIENTS + c) % ACCOUNTS;
                let request = if write {
                    client
                        .put(format!("{url}/users/acct-{account}/manage/email"))
                        .json(&serde_json::json!({"email": format!("u{i}@old.example")}))
                } else {
                    client.get(format!("{url}/users/acct-{account}/manage/profile"))
                };
                let response = request.bearer_auth(&key).send().await.expect("an answer");
                assert!(response.status().is_success(), "{}", response.status());
                response.bytes().await.expect("a body");
                n += 1;
            }
        }));
    }
    for t in tasks {
        t.await.expect("client task");
    }
    total as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let total = env_usize("MAILSHIFT_BENCH_REQUESTS", 40_000);
    let runs = env_usize("MAILSHIFT_BENCH_RUNS", 3).max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let sim = server::start(SimConfig {
            world: world(),
            bind: "127.0.0.1:0".parse().expect("address"),
            api_key: "bench".into(),
            org_id: "bench-org".into(),
            taken_status: 400,
            rate: None,
            faults: FaultConfig::default(),
            seed: 1,
            page_size: 100,
            read_delay: std::time::Duration::ZERO,
            key_lifetime: None,
            log_writes: false,
        })
        .await
        .expect("simulator starts");
        for (label, write) in [("PUT manage/email", true), ("GET manage/profile", false)] {
            let mut rates = Vec::new();
            for _ in 0..runs {
                rates.push(run(&sim.url(), &sim.api_key, total, write).await);
            }
            rates.sort_by(f64::total_cmp);
            println!(
                "simulator, {label}: {total} requests x {runs} runs, {CLIENTS} clients: median {:.0} req/s (min {:.0}, max {:.0}; target >= 5000)",
                rates[rates.len() / 2],
                rates[0],
                rates[rates.len() - 1]
            );
        }
        let counters = sim.snapshot().counters;
        assert_eq!(counters.concurrent_writes, 0);
        sim.stop().await.expect("stops");
    });
}
