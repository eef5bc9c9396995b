//! The simulator over real HTTP on loopback, with reqwest as the client: every behaviour
//! docs/simulator.md promises.

use mailshift::input::parse_accounts;
use mailshift::sim::faults::FaultConfig;
use mailshift::sim::server::{self, Server, SimConfig, Snapshot};
use mailshift::sim::world::World;
use proptest::prelude::*;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

const KEY: &str = "test-key";
const ORG: &str = "org-1";
const ANN: &str = "712020:5b10a284-4c20-4165-80ed-e21a00000001";
const BOB: &str = "712020:5b10a284-4c20-4165-80ed-e21a00000002";
const BOB_TEST: &str = "712020:5b10a284-4c20-4165-80ed-e21a00000003";

struct Setup {
    verified: &'static [&'static str],
    scim: &'static [&'static str],
    external: &'static [&'static str],
    taken_status: u16,
    rate: Option<(f64, u32)>,
    faults: FaultConfig,
    page_size: usize,
    seed: u64,
    read_delay: Duration,
    key_lifetime: Option<Duration>,
}

impl Default for Setup {
    fn default() -> Setup {
        Setup {
            verified: &[],
            scim: &[],
            external: &[],
            taken_status: 400,
            rate: None,
            faults: FaultConfig::default(),
            page_size: 5,
            seed: 1,
            read_delay: Duration::ZERO,
            key_lifetime: None,
        }
    }
}

/// The bundled fixture org, served on an ephemeral loopback port.
async fn serve(setup: Setup) -> Server {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/accounts.csv");
    let bytes = std::fs::read(&path).unwrap();
    let org = parse_accounts(&path, &bytes).unwrap().org;
    let set = |items: &[&str]| {
        items
            .iter()
            .map(std::string::ToString::to_string)
            .collect::<BTreeSet<_>>()
    };
    let external: Vec<String> = setup
        .external
        .iter()
        .map(std::string::ToString::to_string)
        .collect();
    let world = World::from_org(&org, &set(setup.verified), &set(setup.scim), &external);
    server::start(SimConfig {
        world,
        bind: "127.0.0.1:0".parse().unwrap(),
        api_key: KEY.into(),
        org_id: ORG.into(),
        taken_status: setup.taken_status,
        rate: setup.rate,
        faults: setup.faults,
        seed: setup.seed,
        page_size: setup.page_size,
        read_delay: setup.read_delay,
        key_lifetime: setup.key_lifetime,
        log_writes: false,
    })
    .await
    .unwrap()
}

/// A GET with the right key, answered.
async fn get(url: &str) -> reqwest::Response {
    client().get(url).bearer_auth(KEY).send().await.unwrap()
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

async fn set_email(sim: &Server, account: &str, email: &str) -> (StatusCode, Value) {
    let r = client()
        .put(format!("{}/users/{account}/manage/email", sim.url()))
        .bearer_auth(KEY)
        .json(&json!({ "email": email }))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body = r.bytes().await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

async fn get_json(sim: &Server, path: &str) -> (StatusCode, Value) {
    let url = if path.starts_with("http") {
        path.to_owned()
    } else {
        format!("{}{path}", sim.url())
    };
    let r = client().get(url).bearer_auth(KEY).send().await.unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

async fn state(sim: &Server) -> Snapshot {
    client()
        .get(format!("{}/__state", sim.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn email_of(s: &Snapshot, account: &str) -> String {
    s.accounts
        .iter()
        .find(|a| a.account_id == account)
        .unwrap()
        .email
        .clone()
}

#[tokio::test]
async fn set_email_changes_the_account_and_keeps_one_address_per_account() {
    let sim = serve(Setup::default()).await;
    let (status, _) = set_email(&sim, ANN, "Ann.Lee@companyb.example").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        email_of(&state(&sim).await, ANN),
        "Ann.Lee@companyb.example"
    );
    // Taken, whatever the case: 400 by default, with a body that names the conflict.
    let (status, body) = set_email(&sim, BOB, "ANN.LEE@COMPANYB.EXAMPLE").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["context"]["fieldViolations"][0]["violations"][0]["key"],
        "email.taken"
    );
    assert_eq!(
        email_of(&state(&sim).await, BOB),
        "bob.stone@companya.example"
    );
    let (status, _) = set_email(&sim, BOB, "bob.stone@companyb.example").await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "held by the test account until it is freed"
    );
    assert_eq!(
        set_email(&sim, BOB_TEST, "bob.stone_FREE@companyb.example")
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        set_email(&sim, BOB, "bob.stone@companyb.example").await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(state(&sim).await.counters.writes, 3);
    sim.stop().await.unwrap();
}

#[tokio::test]
async fn taken_status_can_be_409() {
    let sim = serve(Setup {
        taken_status: 409,
        ..Setup::default()
    })
    .await;
    let (status, body) = set_email(&sim, BOB, "ann.lee@companya.example").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["key"], "fieldConstraintsViolated");
}

#[tokio::test]
async fn refusals_carry_atlassians_keys() {
    let sim = serve(Setup {
        verified: &["companya.example", "companyb.example"],
        scim: &["sam.green@companyb.example"],
        external: &["held@companyb.example"],
        ..Setup::default()
    })
    .await;
    let (status, body) = set_email(&sim, ANN, "ann@companyc.example").await;
    assert_eq!(
        (status, body["key"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden.unclaimedDomain"))
    );
    assert_eq!(body["context"]["domain"], "companyc.example");
    let sam = "712020:5b10a284-4c20-4165-80ed-e21a00000009";
    let (status, body) = set_email(&sim, sam, "sam@companyb.example").await;
    assert_eq!(
        (status, body["key"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden.action"))
    );
    assert_eq!(body["context"]["reason"]["key"], "externalDirectory.scim");
    let (status, body) = set_email(&sim, "nobody", "x@companyb.example").await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({"key": "accountNotFound"}))
    );
    let (status, body) = set_email(&sim, ANN, "held@companyb.example").await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "an external holder cannot be seen or freed: {body}"
    );
    let (status, body) = set_email(&sim, ANN, "not an address").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["key"], "fieldConstraintsViolated");
    let r = client()
        .put(format!("{}/users/{ANN}/manage/email", sim.url()))
        .bearer_auth(KEY)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"key": "bodyParseFailure"})
    );
    for key in [None, Some("wrong")] {
        let mut put = client()
            .put(format!("{}/users/{ANN}/manage/email", sim.url()))
            .json(&json!({"email": "a@companyb.example"}));
        let mut list = client().get(format!("{}/admin/v1/orgs/{ORG}/users", sim.url()));
        if let Some(k) = key {
            put = put.bearer_auth(k);
            list = list.bearer_auth(k);
        }
        let r = put.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!({"key": "unauthorized"})
        );
        let r = list.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            r.json::<Value>().await.unwrap()["errors"][0]["status"],
            "401"
        );
    }
    assert_eq!(
        state(&sim).await.counters.writes,
        0,
        "no refusal changed anything"
    );
}

#[tokio::test]
async fn profile_manage_and_scim_unlinking_agree() {
    let sim = serve(Setup {
        scim: &["sam.green@companyb.example"],
        ..Setup::default()
    })
    .await;
    let sam = "712020:5b10a284-4c20-4165-80ed-e21a00000009";
    let (status, body) = get_json(&sim, &format!("/users/{sam}/manage/profile")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["account"]["email"], "sam.green@companyb.example");
    let (_, body) = get_json(&sim, &format!("/users/{sam}/manage")).await;
    assert_eq!(
        body["email.set"],
        json!({"allowed": false, "reason": {"key": "externalDirectory.scim"}})
    );
    let links = format!("/admin/user-provisioning/v1/org/{ORG}/user/{sam}/get-scim-links");
    let (_, body) = get_json(&sim, &links).await;
    assert_eq!(body["scimLinks"][0]["atlassianAccountId"], sam);
    let r = client()
        .delete(format!(
            "{}/admin/user-provisioning/v1/org/{ORG}/user/{sam}/onlyDeleteUserInDB",
            sim.url()
        ))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(get_json(&sim, &links).await.1, json!({"scimLinks": []}));
    assert_eq!(
        get_json(&sim, &format!("/users/{sam}/manage")).await.1["email.set"],
        json!({"allowed": true})
    );
    assert_eq!(
        set_email(&sim, sam, "sam@companyb.example").await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        get_json(&sim, &format!("/users/{sam}/manage/profile"))
            .await
            .1["account"]["email"],
        "sam@companyb.example"
    );
    assert_eq!(
        get_json(&sim, "/users/nobody/manage/profile").await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_org_listing_pages_with_full_urls_and_refuses_tampered_cursors() {
    let sim = serve(Setup {
        page_size: 4,
        verified: &["companyb.example"],
        ..Setup::default()
    })
    .await;
    let mut url = format!("/admin/v1/orgs/{ORG}/users");
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let (status, body) = get_json(&sim, &url).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["meta"]["total"], 21);
        pages += 1;
        for a in body["data"].as_array().unwrap() {
            seen.push(a["account_id"].as_str().unwrap().to_owned());
        }
        match body["links"]["next"].as_str() {
            Some(next) => {
                assert!(
                    next.starts_with(&format!("{}/admin/v1/orgs/{ORG}/users?cursor=", sim.url())),
                    "{next}"
                );
                url = next.to_owned();
            }
            None => break,
        }
    }
    assert_eq!(pages, 6);
    let unique: BTreeSet<_> = seen.iter().collect();
    assert_eq!((seen.len(), unique.len()), (21, 21));
    let (status, body) = get_json(
        &sim,
        &format!("/admin/v1/orgs/{ORG}/users?cursor=4.000000000000"),
    )
    .await;
    assert_eq!(
        (status, body["errors"][0]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("ADMIN-400-1"))
    );
    let (status, body) = get_json(&sim, "/admin/v1/orgs/other-org/users").await;
    assert_eq!(
        (status, body["errors"][0]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("ADMIN-404-2"))
    );
    let (_, body) = get_json(&sim, &format!("/admin/v1/orgs/{ORG}/domains")).await;
    let claims: Vec<(String, String)> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["attributes"]["name"].as_str().unwrap().into(),
                d["attributes"]["claim"]["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        claims,
        [
            ("companyb.example".into(), "verified".into()),
            ("companya.example".into(), "unverified".into())
        ]
    );
}

#[tokio::test]
async fn rate_headers_can_come_on_429s_alone() {
    let sim = serve(Setup {
        rate: Some((1.0, 2)),
        faults: FaultConfig {
            rate_headers_on_429_only: true,
            ..FaultConfig::default()
        },
        ..Setup::default()
    })
    .await;
    let profile = format!("{}/users/{ANN}/manage/profile", sim.url());
    let ok = get(&profile).await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(ok.headers().get("x-ratelimit-limit").is_none());
    assert!(ok.headers().get("x-ratelimit-remaining").is_none());
    get(&profile).await;
    let limited = get(&profile).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.headers()["x-ratelimit-limit"], "2");
    assert_eq!(limited.headers()["x-ratelimit-remaining"], "0");
}

#[tokio::test]
async fn rate_limit_answers_429_with_the_headers_and_punishes_early_retries() {
    let faults = FaultConfig {
        retry_after_share: 1.0,
        ..FaultConfig::default()
    };
    let sim = serve(Setup {
        rate: Some((1.0, 2)),
        faults,
        ..Setup::default()
    })
    .await;
    let profile = format!("{}/users/{ANN}/manage/profile", sim.url());
    let ok = get(&profile).await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()["x-ratelimit-limit"], "2");
    assert_eq!(ok.headers()["x-ratelimit-remaining"], "1");
    get(&profile).await;
    let limited = get(&profile).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let h = limited.headers().clone();
    assert_eq!(h["x-ratelimit-remaining"], "0");
    let reset = h["x-ratelimit-reset"].to_str().unwrap();
    assert!(humantime::parse_rfc3339(reset).is_ok(), "ISO 8601: {reset}");
    let first: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert_eq!(
        limited.json::<Value>().await.unwrap()["errors"][0]["code"],
        "ADMIN-429-1"
    );
    let again = get(&profile).await;
    let second: u64 = again.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        second >= first,
        "retrying early earns the same or a longer wait: {first} then {second}"
    );
    tokio::time::sleep(Duration::from_secs(second)).await;
    assert_eq!(get(&profile).await.status(), StatusCode::OK);
    assert_eq!(state(&sim).await.counters.rate_limited, 2);

    let quiet = serve(Setup {
        rate: Some((1.0, 1)),
        ..Setup::default()
    })
    .await;
    let profile = format!("{}/users/{ANN}/manage/profile", quiet.url());
    get(&profile).await;
    let limited = get(&profile).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        limited.headers().get("retry-after").is_none(),
        "Retry-After is not promised"
    );
    assert!(limited.headers().get("x-ratelimit-reset").is_some());
}

#[tokio::test]
async fn server_errors_change_nothing_but_ambiguous_writes_are_applied() {
    let errors = serve(Setup {
        faults: FaultConfig {
            error_share: 1.0,
            ..FaultConfig::default()
        },
        ..Setup::default()
    })
    .await;
    let (status, body) = set_email(&errors, ANN, "ann.lee@companyb.example").await;
    assert!(status.is_server_error(), "{status}");
    assert_eq!(body["errors"][0]["code"], "ADMIN-500-1");
    assert_eq!(
        email_of(&state(&errors).await, ANN),
        "ann.lee@companya.example"
    );

    let ambiguous = serve(Setup {
        faults: FaultConfig {
            ambiguous_share: 1.0,
            ..FaultConfig::default()
        },
        ..Setup::default()
    })
    .await;
    let (status, _) = set_email(&ambiguous, ANN, "ann.lee@companyb.example").await;
    assert!(status.is_server_error(), "{status}");
    let s = state(&ambiguous).await;
    assert_eq!(
        email_of(&s, ANN),
        "ann.lee@companyb.example",
        "applied although the answer was an error"
    );
    assert_eq!((s.counters.ambiguous, s.counters.writes), (1, 1));
    let (status, body) = get_json(&ambiguous, &format!("/users/{ANN}/manage/profile")).await;
    assert_eq!(
        (status, body["account"]["email"].as_str()),
        (StatusCode::OK, Some("ann.lee@companyb.example")),
        "reads are never ambiguous"
    );
}

#[tokio::test]
async fn dropped_connections_and_slow_answers() {
    let drops = serve(Setup {
        faults: FaultConfig {
            drop_share: 1.0,
            ..FaultConfig::default()
        },
        ..Setup::default()
    })
    .await;
    let sent = client()
        .put(format!("{}/users/{ANN}/manage/email", drops.url()))
        .bearer_auth(KEY)
        .json(&json!({"email": "ann.lee@companyb.example"}))
        .send()
        .await;
    let failed = match sent {
        Err(_) => true,
        Ok(r) => r.bytes().await.is_err(),
    };
    assert!(failed, "the client sees a broken connection, not an answer");
    assert_eq!(
        email_of(&state(&drops).await, ANN),
        "ann.lee@companya.example"
    );

    let faults = FaultConfig {
        slow_share: 1.0,
        slow: Duration::from_millis(800),
        ..FaultConfig::default()
    };
    let slow = serve(Setup {
        faults,
        ..Setup::default()
    })
    .await;
    let impatient = Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let r = impatient
        .put(format!("{}/users/{ANN}/manage/email", slow.url()))
        .bearer_auth(KEY)
        .json(&json!({"email": "ann.lee@companyb.example"}))
        .send()
        .await;
    assert!(r.is_err_and(|e| e.is_timeout()));
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(
        email_of(&state(&slow).await, ANN),
        "ann.lee@companyb.example",
        "carried out after the client gave up"
    );
}

#[tokio::test]
async fn the_same_seed_spoils_the_same_requests() {
    let faults = FaultConfig {
        error_share: 0.3,
        ambiguous_share: 0.2,
        ..FaultConfig::default()
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        let sim = serve(Setup {
            faults: faults.clone(),
            seed: 42,
            ..Setup::default()
        })
        .await;
        let mut statuses = Vec::new();
        for i in 0..30 {
            statuses.push(
                set_email(&sim, ANN, &format!("ann{i}@companyb.example"))
                    .await
                    .0
                    .as_u16(),
            );
        }
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(runs[0].iter().any(|s| *s >= 500) && runs[0].contains(&204));
}

#[tokio::test]
async fn two_writes_at_once_on_one_account_are_counted() {
    let faults = FaultConfig {
        latency: Duration::from_millis(150),
        ..FaultConfig::default()
    };
    let sim = serve(Setup {
        faults,
        ..Setup::default()
    })
    .await;
    let (a, b) = tokio::join!(
        set_email(&sim, ANN, "a1@companyb.example"),
        set_email(&sim, BOB, "b1@companyb.example")
    );
    assert_eq!((a.0, b.0), (StatusCode::NO_CONTENT, StatusCode::NO_CONTENT));
    assert_eq!(
        state(&sim).await.counters.concurrent_writes,
        0,
        "different accounts may be written at once"
    );
    let (a, b) = tokio::join!(
        set_email(&sim, ANN, "a2@companyb.example"),
        set_email(&sim, ANN, "a3@companyb.example")
    );
    assert_eq!((a.0, b.0), (StatusCode::NO_CONTENT, StatusCode::NO_CONTENT));
    assert_eq!(state(&sim).await.counters.concurrent_writes, 1);
}

#[tokio::test]
async fn reads_show_a_change_late_when_asked_to() {
    let sim = serve(Setup {
        read_delay: Duration::from_millis(400),
        ..Setup::default()
    })
    .await;
    assert_eq!(
        set_email(&sim, ANN, "ann.lee@companyb.example").await.0,
        StatusCode::NO_CONTENT
    );
    let profile = format!("/users/{ANN}/manage/profile");
    assert_eq!(
        get_json(&sim, &profile).await.1["account"]["email"],
        "ann.lee@companya.example"
    );
    let (_, page) = get_json(&sim, &format!("/admin/v1/orgs/{ORG}/users")).await;
    assert_eq!(
        page["data"][0]["email"], "ann.lee@companya.example",
        "the listing lags too"
    );
    assert_eq!(
        email_of(&state(&sim).await, ANN),
        "ann.lee@companyb.example",
        "the truth has changed"
    );
    let (status, _) = set_email(&sim, BOB, "ann.lee@companya.example").await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "uniqueness follows the truth, not the lagging view"
    );
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(
        get_json(&sim, &profile).await.1["account"]["email"],
        "ann.lee@companyb.example"
    );
}

#[tokio::test]
async fn an_expired_key_gets_401_mid_run() {
    let sim = serve(Setup {
        key_lifetime: Some(Duration::from_millis(300)),
        ..Setup::default()
    })
    .await;
    assert_eq!(
        set_email(&sim, ANN, "ann1@companyb.example").await.0,
        StatusCode::NO_CONTENT
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    let (status, body) = set_email(&sim, ANN, "ann2@companyb.example").await;
    assert_eq!(
        (status, body),
        (StatusCode::UNAUTHORIZED, json!({"key": "unauthorized"}))
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever the path and body, the server answers (it never panics or drops the connection
    /// when no fault asks it to) and stays consistent.
    #[test]
    fn any_request_gets_an_answer(
        segments in prop::collection::vec("[a-zA-Z0-9_.:|%-]{0,12}", 0..6),
        body in prop::collection::vec(any::<u8>(), 0..200),
        json_email in prop::option::of(".{0,40}"),
        method in 0..3usize,
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let sim = serve(Setup::default()).await;
            let mut path = format!("/users/{}", segments.join("/"));
            if method == 2 { path = format!("/users/{ANN}/manage/email"); }
            let url = format!("{}{path}", sim.url());
            let request = match method {
                0 => client().get(&url),
                1 => client().put(&url).body(body.clone()),
                _ => client().put(&url).json(&json!({"email": json_email})),
            };
            let r = request.bearer_auth(KEY).send().await.expect("an answer");
            assert!(r.status().as_u16() < 500, "{path}: {}", r.status());
            r.bytes().await.expect("a whole answer");
            let s = state(&sim).await;
            let addresses: BTreeSet<String> = s.accounts.iter().map(|a| a.email.to_lowercase()).collect();
            assert_eq!(addresses.len(), s.accounts.len(), "one address, one account");
            sim.stop().await.unwrap();
        });
    }
}
