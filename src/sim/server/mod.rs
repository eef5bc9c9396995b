//! The simulator's HTTP face: Atlassian's paths and response shapes over the core's `sim::state`,
//! which decides who is let in, what the dice give a request and what reads show, with `now`
//! passed in. One file per API family (`users`, `orgs`, `scim`); here the server, the one lock,
//! and what every endpoint shares: admission, delays and faults. Also serves `GET /__state` for
//! tests and rehearsals.

// Handlers return a finished `Response` as their early exit, axum's usual shape; its size does
// not matter at a simulator's request rates.
#![allow(clippy::result_large_err)]

mod directory;
mod orgs;
mod scim;
mod users;

use super::faults::{AccountRefusal, Fault, FaultConfig};
use super::state::{Admission, Rules, SimState};
use super::world::{ScimError, SetEmailError, SimAccount, World};
use crate::api::path_segment;
use crate::model::{AddressProblem, Status};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashSet};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Everything the simulator is started with.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub world: World,
    pub bind: SocketAddr,
    pub api_key: String,
    pub org_id: String,
    /// Status of a set-email call whose address is taken: 400 (default) or 409.
    pub taken_status: u16,
    /// Requests per second and burst; `None` for no limit.
    pub rate: Option<(f64, u32)>,
    pub faults: FaultConfig,
    pub seed: u64,
    /// Accounts per page of `GET /admin/v1/orgs/{org}/users`.
    pub page_size: usize,
    /// For this long after a change, reads still show the old address (eventual consistency).
    pub read_delay: Duration,
    /// The API key stops working this long after the start (keys expire; `None`: never).
    pub key_lifetime: Option<Duration>,
    /// Keep every set-email request received, for tests that prove nothing is sent twice.
    pub log_writes: bool,
}

/// A set-email request as the simulator received it (applied or not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteSeen {
    pub account_id: String,
    pub email: String,
}

/// Who talked to the simulator: how many TCP connections (a client that reuses its connections
/// opens few) and the `User-Agent`s it named.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ClientsSeen {
    pub connections: usize,
    pub user_agents: BTreeSet<String>,
}

#[derive(Default)]
struct Clients {
    peers: HashSet<SocketAddr>,
    user_agents: BTreeSet<String>,
}

/// What the simulator counted; `concurrent_writes` must stay 0 for a correct client.
#[derive(Debug, Default, Serialize, Deserialize, Clone, PartialEq, Eq)]
pub struct Counters {
    pub requests: u64,
    pub writes: u64,
    pub rate_limited: u64,
    pub errors: u64,
    pub drops: u64,
    pub slow: u64,
    pub ambiguous: u64,
    pub concurrent_writes: u64,
    /// Writes answered 5xx at once and carried out later.
    #[serde(default)]
    pub late: u64,
    /// Reads answered 200 with a body cut short.
    #[serde(default)]
    pub garbled: u64,
    /// Write requests (set email, unlink) received, whatever came of them.
    #[serde(default)]
    pub write_requests: u64,
    /// Of those, answered 429.
    #[serde(default)]
    pub writes_rate_limited: u64,
    /// The most reads under way at once (arrived, not yet answered).
    #[serde(default)]
    pub reads_at_once: u64,
}

/// `GET /__state`.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub accounts: Vec<SimAccount>,
    pub counters: Counters,
}

#[derive(Default)]
struct Tally {
    requests: AtomicU64,
    writes: AtomicU64,
    rate_limited: AtomicU64,
    errors: AtomicU64,
    drops: AtomicU64,
    slow: AtomicU64,
    ambiguous: AtomicU64,
    concurrent_writes: AtomicU64,
    late: AtomicU64,
    garbled: AtomicU64,
    write_requests: AtomicU64,
    writes_rate_limited: AtomicU64,
    reads_under_way: AtomicU64,
    reads_at_once: AtomicU64,
}

impl Tally {
    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn read(&self) -> Counters {
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Counters {
            requests: r(&self.requests),
            writes: r(&self.writes),
            rate_limited: r(&self.rate_limited),
            errors: r(&self.errors),
            drops: r(&self.drops),
            slow: r(&self.slow),
            ambiguous: r(&self.ambiguous),
            concurrent_writes: r(&self.concurrent_writes),
            late: r(&self.late),
            garbled: r(&self.garbled),
            write_requests: r(&self.write_requests),
            writes_rate_limited: r(&self.writes_rate_limited),
            reads_at_once: r(&self.reads_at_once),
        }
    }
}

struct Shared {
    rules: Rules,
    org_id: String,
    taken_status: StatusCode,
    page_size: usize,
    started: Instant,
    tally: Tally,
    /// The one lock: the simulator's state, and what tests are shown of the traffic.
    inner: Mutex<Inner>,
}

struct Inner {
    sim: SimState,
    log: Option<Vec<WriteSeen>>,
    clients: Clients,
}

impl Shared {
    /// Time since the simulator started: the `now` its state's rules take.
    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    fn faults(&self) -> &FaultConfig {
        &self.rules.faults
    }
}

/// A lock that a panic elsewhere cannot make unusable: the data is plain and stays consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A running simulator.
pub struct Server {
    pub addr: SocketAddr,
    pub api_key: String,
    pub org_id: String,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn snapshot(&self) -> Snapshot {
        snapshot(&self.shared)
    }

    /// The counters alone, without copying the accounts.
    pub fn counters(&self) -> Counters {
        self.shared.tally.read()
    }

    /// Every set-email request received so far, in order (empty unless `log_writes`).
    pub fn write_log(&self) -> Vec<WriteSeen> {
        lock(&self.shared.inner).log.clone().unwrap_or_default()
    }

    pub fn clients(&self) -> ClientsSeen {
        let inner = lock(&self.shared.inner);
        let clients = &inner.clients;
        ClientsSeen {
            connections: clients.peers.len(),
            user_agents: clients.user_agents.clone(),
        }
    }

    /// Stops taking connections, lets requests under way finish, and returns the final world.
    pub async fn stop(mut self) -> std::io::Result<World> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match (&mut self.task).await {
            Ok(result) => result?,
            Err(e) => return Err(std::io::Error::other(e)),
        }
        Ok(lock(&self.shared.inner).sim.world.clone())
    }
}

/// Starts the simulator on `config.bind` (port 0 picks a free one).
pub async fn start(config: SimConfig) -> std::io::Result<Server> {
    let listener = tokio::net::TcpListener::bind(config.bind).await?;
    let addr = listener.local_addr()?;
    let started = Instant::now();
    let shared = Arc::new(Shared {
        rules: Rules {
            api_key: config.api_key.clone(),
            key_lifetime: config.key_lifetime,
            faults: config.faults,
            read_delay: config.read_delay,
        },
        org_id: config.org_id.clone(),
        taken_status: StatusCode::from_u16(config.taken_status).unwrap_or(StatusCode::BAD_REQUEST),
        page_size: config.page_size.max(1),
        started,
        tally: Tally::default(),
        inner: Mutex::new(Inner {
            sim: SimState::new(config.world, config.rate, config.seed),
            log: config.log_writes.then(Vec::new),
            clients: Clients::default(),
        }),
    });
    let app = Router::new()
        .route("/users/{account_id}/manage/email", put(users::set_email))
        .route("/users/{account_id}/manage/profile", get(users::profile))
        .route("/users/{account_id}/manage", get(users::manage))
        .route("/admin/v1/orgs/{org_id}/users", get(orgs::org_users))
        .route("/admin/v1/orgs/{org_id}/domains", get(orgs::org_domains))
        .route(
            "/admin/v2/orgs/{org_id}/directories/{directory}/users/search",
            post(directory::search_users),
        )
        .route(
            "/admin/user-provisioning/v1/org/{org_id}/user/{account_id}/onlyDeleteUserInDB",
            delete(scim::scim_delete),
        )
        .route(
            "/admin/user-provisioning/v1/org/{org_id}/user/{account_id}/get-scim-links",
            get(scim::scim_links),
        )
        .route(
            "/admin/user-provisioning/v1/org/{org_id}/get-scim-links-for-email",
            post(scim::scim_links_for_email),
        )
        .route("/__state", get(state))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            Arc::clone(&shared),
            note_client,
        ))
        .with_state(Arc::clone(&shared));
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .await
    });
    Ok(Server {
        addr,
        api_key: config.api_key,
        org_id: config.org_id,
        shared,
        stop: Some(stop),
        task,
    })
}

/// Each request's connection and `User-Agent`, for tests of the client's transport.
async fn note_client(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let agent = request
        .headers()
        .get(header::USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    {
        let mut inner = lock(&shared.inner);
        let clients = &mut inner.clients;
        clients.peers.insert(peer);
        if let Some(agent) = agent {
            clients.user_agents.insert(agent);
        }
    }
    next.run(request).await
}

fn snapshot(shared: &Shared) -> Snapshot {
    Snapshot {
        accounts: lock(&shared.inner).sim.world.accounts().to_vec(),
        counters: shared.tally.read(),
    }
}

/// The three error dialects of the APIs being imitated.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dialect {
    /// `/users/...`: `{"key": ..., "context": ...}`.
    UserManagement,
    /// `/admin/...`: `{"errors": [{"id","status","code","title","detail"}]}`.
    Organizations,
}

fn um(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn org_error(status: StatusCode, code: &str, title: &str, detail: &str) -> Response {
    let body = json!({"errors": [{
        "id": format!("sim-{}", status.as_u16()),
        "status": status.as_u16().to_string(),
        "code": code,
        "title": title,
        "detail": detail,
    }]});
    (status, axum::Json(body)).into_response()
}

fn unauthorized(dialect: Dialect) -> Response {
    match dialect {
        Dialect::UserManagement => um(StatusCode::UNAUTHORIZED, json!({"key": "unauthorized"})),
        Dialect::Organizations => org_error(
            StatusCode::UNAUTHORIZED,
            "ADMIN-401-1",
            "Unauthorized",
            "The API key is missing or not valid.",
        ),
    }
}

/// What a request that got past authentication and the rate limit is to suffer.
struct Admitted {
    fault: Fault,
    limit: u32,
    remaining: u32,
    /// The answers that pass carry the rate headers (`FaultConfig::rate_headers_on_429_only`).
    rate_headers: bool,
}

impl Admitted {
    fn headers(&self, mut response: Response) -> Response {
        if !self.rate_headers {
            return response;
        }
        let h = response.headers_mut();
        h.insert("x-ratelimit-limit", HeaderValue::from(self.limit));
        h.insert("x-ratelimit-remaining", HeaderValue::from(self.remaining));
        response
    }
}

/// The way in: the request reaches the rate limit this late (bunched, with jitter).
async fn arrive(shared: &Shared) {
    if shared.faults().arrival.is_zero() && shared.faults().arrival_jitter.is_zero() {
        return;
    }
    let wait = lock(&shared.inner).sim.arrival(&shared.rules);
    tokio::time::sleep(wait).await;
}

/// Authentication, then the rate limit, then the roll of the dice.
fn admit(
    shared: &Shared,
    headers: &HeaderMap,
    dialect: Dialect,
    write: bool,
) -> Result<Admitted, Response> {
    Tally::add(&shared.tally.requests);
    if write {
        Tally::add(&shared.tally.write_requests);
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let user_management = dialect == Dialect::UserManagement;
    let admission = lock(&shared.inner).sim.admit(
        &shared.rules,
        shared.now(),
        presented,
        user_management,
        write,
    );
    match admission {
        Admission::Unauthorized => Err(unauthorized(dialect)),
        // The body Atlassian documents for a key created with scopes (AX-631).
        Admission::OutOfScope => Err(um(
            StatusCode::FORBIDDEN,
            json!({
                "key": "forbidden.insufficientScope",
                "context": {
                    "message": "Insufficient scope for this action",
                    "acceptableScopes": ["manage:org"],
                },
                "errorKey": "forbidden.insufficient-scope",
                "errorDetail": "Insufficient scope for this action",
            }),
        )),
        Admission::Limited { limit, wait } => {
            if write {
                Tally::add(&shared.tally.writes_rate_limited);
            }
            Err(rate_limited(shared, limit, wait))
        }
        Admission::Admitted {
            fault,
            limit,
            remaining,
        } => Ok(Admitted {
            fault,
            limit,
            remaining,
            rate_headers: !shared.faults().rate_headers_on_429_only,
        }),
    }
}

fn rate_limited(shared: &Shared, limit: u32, wait: Duration) -> Response {
    Tally::add(&shared.tally.rate_limited);
    let mut response = org_error(
        StatusCode::TOO_MANY_REQUESTS,
        "ADMIN-429-1",
        "Rate limit exceeded",
        "Too many requests; wait before retrying.",
    );
    let reset = SystemTime::now() + wait;
    let h = response.headers_mut();
    h.insert("x-ratelimit-limit", HeaderValue::from(limit));
    h.insert("x-ratelimit-remaining", HeaderValue::from(0));
    if let Ok(v) = HeaderValue::from_str(&humantime::format_rfc3339_seconds(reset).to_string()) {
        h.insert("x-ratelimit-reset", v);
    }
    if let Some(text) = &shared.faults().retry_after_text {
        if let Ok(v) = HeaderValue::from_str(text) {
            h.insert(header::RETRY_AFTER, v);
        }
    } else if lock(&shared.inner).sim.retry_after(&shared.rules) {
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        h.insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    }
    response
}

/// Sleeps the latency and, for a slow fault, long past the client's timeout.
async fn delay(shared: &Shared, fault: Fault) {
    let wait = lock(&shared.inner).sim.latency(&shared.rules, fault);
    if fault == Fault::Slow {
        Tally::add(&shared.tally.slow);
    }
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
}

/// The answer for faults that stop a request before it is carried out.
fn early_fault(shared: &Shared, fault: Fault) -> Option<Response> {
    match fault {
        Fault::Error(status) => {
            Tally::add(&shared.tally.errors);
            Some(server_error(status))
        }
        Fault::Drop => {
            Tally::add(&shared.tally.drops);
            Some(Response::new(Body::new(Severed)))
        }
        _ => None,
    }
}

fn server_error(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    org_error(
        status,
        "ADMIN-500-1",
        "Internal error",
        "The simulator failed this request on purpose.",
    )
}

/// A response body that fails at once, so that the server aborts the connection instead of
/// answering: what a client sees when a connection drops.
struct Severed;

impl http_body::Body for Severed {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::other(
            "connection dropped by the simulator",
        ))))
    }
}

/// What a read endpoint sees: the world, with addresses as reads show them now.
struct Shown<'a> {
    state: &'a SimState,
    rules: &'a Rules,
    now: Duration,
}

impl Shown<'_> {
    fn world(&self) -> &World {
        &self.state.world
    }

    /// The address reads show: the old one while a change is younger than the read delay.
    fn email_of<'b>(&'b self, a: &'b SimAccount) -> &'b str {
        self.state
            .visible_email(self.rules, self.now, &a.account_id, &a.email)
    }
}

/// A read endpoint: admitted, spoilt or delayed like any request, then answered by `answer`.
async fn read(
    shared: &Shared,
    headers: &HeaderMap,
    dialect: Dialect,
    answer: impl FnOnce(&Shown) -> Response,
) -> Response {
    let _under_way = ReadUnderWay::begin(&shared.tally);
    arrive(shared).await;
    let admitted = match admit(shared, headers, dialect, false) {
        Ok(a) => a,
        Err(response) => return response,
    };
    if let Some(response) = early_fault(shared, admitted.fault) {
        return response;
    }
    delay(shared, admitted.fault).await;
    if lock(&shared.inner).sim.garble(&shared.rules) {
        Tally::add(&shared.tally.garbled);
        let cut = Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"data":[{"account_id":"#))
            .unwrap_or_else(|_| server_error(500));
        return admitted.headers(cut);
    }
    let inner = lock(&shared.inner);
    let response = answer(&Shown {
        state: &inner.sim,
        rules: &shared.rules,
        now: shared.now(),
    });
    admitted.headers(response)
}

/// Counts a read under way until dropped (answered, or the client gone), keeping the most.
struct ReadUnderWay<'a>(&'a Tally);

impl ReadUnderWay<'_> {
    fn begin(tally: &Tally) -> ReadUnderWay<'_> {
        let now = tally.reads_under_way.fetch_add(1, Ordering::Relaxed) + 1;
        tally.reads_at_once.fetch_max(now, Ordering::Relaxed);
        ReadUnderWay(tally)
    }
}

impl Drop for ReadUnderWay<'_> {
    fn drop(&mut self) {
        self.0.reads_under_way.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn state(State(shared): State<Arc<Shared>>) -> Response {
    (StatusCode::OK, axum::Json(snapshot(&shared))).into_response()
}

async fn not_found() -> Response {
    um(StatusCode::NOT_FOUND, json!({"key": "notFound"}))
}
