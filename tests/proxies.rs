//! Proxy variables never carry the key off the machine: with HTTP_PROXY, HTTPS_PROXY and
//! ALL_PROXY all naming a listener on loopback that records every connection, `rehearse` and
//! `apply` to a loopback simulator reach the simulator directly, and the listener hears nothing.

mod support;

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use support::*;

/// A listener that counts the connections it is offered, for as long as the test runs.
struct Recorder {
    url: String,
    heard: Arc<AtomicUsize>,
}

fn recorder() -> Recorder {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let heard = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&heard);
    // Bounded in time: the tests here end well within it.
    std::thread::spawn(move || {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(120) {
            if let Ok((stream, _)) = listener.accept() {
                counter.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    });
    Recorder { url, heard }
}

fn with_proxies(mut command: std::process::Command, proxy: &str) -> std::process::Command {
    for name in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        command.env(name, proxy);
    }
    command.env_remove("NO_PROXY").env_remove("no_proxy");
    command
}

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

#[test]
fn rehearse_and_apply_to_loopback_never_go_through_a_proxy() {
    let proxy = recorder();
    let dir = tempfile::tempdir().unwrap();

    let rehearsal = command(
        dir.path(),
        &[
            "rehearse",
            "--accounts",
            fixture("accounts.csv").to_str().unwrap(),
            "--targets",
            fixture("targets.csv").to_str().unwrap(),
            "--verified-domains",
            "companya.example,companyb.example",
            "--rate",
            "200",
            "--apply-rate",
            "200",
            "--latency-ms",
            "0",
            "--jitter-ms",
            "0",
        ],
    );
    let out = with_proxies(rehearsal, &proxy.url).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("every planned change landed"));

    let (accounts, targets) = generated_org(Shapes::renames(20));
    plan_in(dir.path(), &accounts, &targets);
    let sim = serve(dir.path(), both_verified());
    let url = sim.url();
    let apply = command(dir.path(), &fast(&url, &[]));
    let out = with_proxies(apply, &proxy.url).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(sim.server.write_log().len(), 20);

    assert_eq!(
        proxy.heard.load(Ordering::SeqCst),
        0,
        "a request went to the proxy"
    );
}
