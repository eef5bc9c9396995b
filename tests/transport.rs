//! The client's transport as the server sees it: it names itself, it reuses its connections
//! instead of opening one per request, and it gives up on an answer after `--timeout`.

mod support;

use mailshift::sim::faults::FaultConfig;
use std::time::{Duration, Instant};
use support::*;

#[test]
fn requests_name_mailshift_and_its_version_and_reuse_a_few_connections() {
    let dir = tempfile::tempdir().unwrap();
    let (accounts, targets) = generated_org(Shapes::renames(400));
    plan_in(dir.path(), &accounts, &targets);
    let sim = serve(dir.path(), both_verified());
    let url = sim.url();
    let out = mailshift(
        dir.path(),
        &fast(&url, &["--concurrency", "4", "--no-permission-check"]),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let requests = sim.server.counters().requests;
    let clients = sim.server.clients();
    assert_eq!(
        clients.user_agents.into_iter().collect::<Vec<_>>(),
        [format!("mailshift/{}", env!("CARGO_PKG_VERSION"))]
    );
    assert!(requests > 400, "{requests} requests");
    // Four at a time, plus the start-up reads' session: never a connection per request.
    assert!(
        clients.connections <= 10,
        "{} connections for {requests} requests",
        clients.connections
    );
}

#[test]
fn an_answer_slower_than_the_timeout_is_given_up_on_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (accounts, targets) = generated_org(Shapes::renames(1));
    plan_in(dir.path(), &accounts, &targets);
    let sim = serve(
        dir.path(),
        SimSetup {
            faults: FaultConfig {
                slow_share: 1.0,
                slow: Duration::from_secs(30),
                ..FaultConfig::default()
            },
            ..both_verified()
        },
    );
    let url = sim.url();
    let started = Instant::now();
    let out = mailshift(
        dir.path(),
        &fast(
            &url,
            &[
                "--timeout",
                "1",
                "--max-attempts",
                "2",
                "--no-permission-check",
            ],
        ),
    );
    let took = started.elapsed();
    let stderr = text(&out.stderr);
    // The first request is apply's read of the org's domains; 30 s would pass unanswered.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no answer after 2 attempts: no answer before the timeout"),
        "{stderr}"
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(sim.server.write_log().is_empty());
}

#[test]
fn a_wrong_port_is_said_at_the_first_request_not_after_a_minute_of_retries() {
    let dir = tempfile::tempdir().unwrap();
    let (accounts, targets) = generated_org(Shapes::renames(3));
    plan_in(dir.path(), &accounts, &targets);
    // A port nothing listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let out = mailshift(dir.path(), &fast(&url, &[]));
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!(
            "nothing answers at {url}; check --api-url (or MAILSHIFT_API_URL) and the network; nothing was changed"
        )),
        "{said}"
    );
    assert!(
        !said.contains("attempts"),
        "given up at once, not retried: {said}"
    );
}
