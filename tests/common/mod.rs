//! The black-box harness: each test starts its own Chronicle on a free loopback port with a
//! fresh data directory and talks to it over HTTP. `CHRONICLE_TEST_STACK` selects the stack
//! (`embedded`, the default).
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const APP_ID: &str = "test";
pub const MASTER_KEY: &str = "test-master";
pub const REST_KEY: &str = "test-rest";
pub const JS_KEY: &str = "test-js";

pub struct TestServer {
    children: Vec<Child>,
    /// The port of the process that serves the whole API.
    pub port: u16,
    /// The port of a query-api process (distributed stack), else the same as `port`.
    pub query_port: u16,
    pub data_dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    extra_args: Vec<String>,
    /// Distributed stack: the read-model schema and topic that isolate this server.
    namespace: String,
    pub http: reqwest::Client,
}

/// Which stack the suite runs against: `embedded` (default) or `distributed`.
pub fn stack() -> String {
    std::env::var("CHRONICLE_TEST_STACK").unwrap_or_else(|_| "embedded".into())
}

pub fn distributed() -> bool {
    stack() == "distributed"
}

pub fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} must be set for the distributed stack (scripts/test sets it)")
    })
}

/// Options that put a process on this server's PostgreSQL schema and Kafka topic.
pub fn distributed_args(namespace: &str, schema: &str) -> Vec<String> {
    vec![
        "--databaseURI".into(),
        required_env("CHRONICLE_TEST_DATABASE_URL"),
        "--readModelSchema".into(),
        schema.into(),
        "--kafkaBrokers".into(),
        required_env("CHRONICLE_TEST_KAFKA_BROKERS"),
        "--kafkaTopic".into(),
        namespace.into(),
        "--kafkaPartitions".into(),
        "3".into(),
        "--databasePoolSize".into(),
        "4".into(),
    ]
}

impl TestServer {
    /// A server with the test keys and client class creation allowed (as Parse Server's own
    /// test suite runs).
    pub async fn start() -> TestServer {
        Self::start_with(&["--allowClientClassCreation"]).await
    }

    pub async fn start_with(extra: &[&str]) -> TestServer {
        let tmp = tempfile::tempdir().expect("temp dir");
        let data_dir = tmp.path().to_path_buf();
        let namespace = format!("t_{}", uuid_like());
        let mut s = TestServer {
            children: Vec::new(),
            port: 0,
            query_port: 0,
            data_dir,
            _tmp: Some(tmp),
            extra_args: extra.iter().map(|s| s.to_string()).collect(),
            namespace,
            http: reqwest::Client::new(),
        };
        s.launch().await;
        s
    }

    /// A handle on processes started elsewhere, to talk to `port` (it stops nothing).
    pub fn attach(port: u16) -> TestServer {
        TestServer {
            children: Vec::new(),
            port,
            query_port: port,
            data_dir: PathBuf::new(),
            _tmp: None,
            extra_args: Vec::new(),
            namespace: String::new(),
            http: reqwest::Client::new(),
        }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Starts a process of this server; `port` 0 lets the OS choose. Returns the port.
    fn spawn(&mut self, sub: &str, port: u16, app_args: bool) -> u16 {
        let (child, port) = self.process(sub, port, app_args, &self.namespace.clone());
        self.children.push(child);
        port
    }

    /// Starts one more process on this server's data (distributed: `schema` picks the read
    /// model); the caller owns it.
    /// `port` 0 lets the OS choose (no race with other tests); the process prints the address
    /// it listens on, which is read here. Returns the process and its port.
    pub fn process(&self, sub: &str, port: u16, app_args: bool, schema: &str) -> (Child, u16) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_chronicle"));
        cmd.arg(sub)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()]);
        if app_args {
            cmd.args(["--appId", APP_ID, "--masterKey", MASTER_KEY])
                .args(["--restAPIKey", REST_KEY, "--javascriptKey", JS_KEY])
                .args(&self.extra_args);
        }
        if distributed() {
            cmd.args(distributed_args(&self.namespace, schema));
        } else {
            cmd.arg("--dataDir").arg(&self.data_dir);
        }
        let mut child = cmd
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn chronicle");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        let name = sub.to_string();
        std::thread::spawn(move || {
            use std::io::BufRead;
            let mut tx = Some(tx);
            // Keep draining stdout so the process never blocks on a full pipe. Its lines (the
            // logs at RUST_LOG's level, `warn` by default) go to the test's captured output,
            // shown if the test fails.
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                eprintln!("[{name}] {line}");
                if let Some(rest) = line.split("http://127.0.0.1:").nth(1) {
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    if let (Some(tx), Ok(p)) = (tx.take(), digits.parse::<u16>()) {
                        let _ = tx.send(p);
                    }
                }
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("chronicle {sub} did not say where it listens"));
        (child, port)
    }

    /// Distributed: SIGKILL one of the processes (0 projector, 1 command-api, 2 query-api).
    pub fn kill_process(&mut self, index: usize) {
        let c = &mut self.children[index];
        let _ = c.kill();
        let _ = c.wait();
    }

    /// Distributed: starts process `index` again, in place.
    pub async fn restart_process(&mut self, index: usize) {
        // The API processes come back on their old ports, which clients keep using.
        let (sub, port, app) = match index {
            0 => ("projector", 0, false),
            1 => ("command-api", self.port, true),
            _ => ("query-api", self.query_port, true),
        };
        let (child, port) = self.process(sub, port, app, &self.namespace.clone());
        self.children[index] = child;
        self.wait_healthy(port).await;
    }

    /// (Re)starts the processes on the same data: one `serve` when embedded; a projector, a
    /// command-api and a query-api when distributed.
    pub async fn launch(&mut self) {
        if distributed() {
            let projector_port = self.spawn("projector", 0, false);
            self.port = self.spawn("command-api", 0, true);
            self.query_port = self.spawn("query-api", 0, true);
            self.wait_healthy(projector_port).await;
            self.wait_healthy(self.query_port).await;
        } else {
            self.port = self.spawn("serve", 0, true);
            self.query_port = self.port;
        }
        self.wait_healthy(self.port).await;
    }

    pub async fn wait_healthy(&mut self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            for c in &mut self.children {
                if let Ok(Some(status)) = c.try_wait() {
                    panic!("chronicle exited during start: {status}");
                }
            }
            if let Ok(r) = self
                .http
                .get(format!("http://127.0.0.1:{port}/health"))
                .send()
                .await
            {
                if r.status().is_success() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "chronicle did not become healthy in time"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no chance to flush or clean up.
    pub fn kill(&mut self) {
        for mut c in self.children.drain(..) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM to every process; true if all exited successfully.
    pub fn terminate(&mut self) -> bool {
        let mut ok = true;
        for mut c in self.children.drain(..) {
            let pid = c.id().to_string();
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .expect("send SIGTERM");
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if let Some(status) = c.try_wait().expect("wait") {
                    ok &= status.success();
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "chronicle did not stop on SIGTERM"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        ok
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    /// A request as a REST client sends it: app id and REST key headers, JSON body.
    pub fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header("X-Parse-Application-Id", APP_ID)
            .header("X-Parse-REST-API-Key", REST_KEY)
    }

    pub fn master(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.req(method, path)
            .header("X-Parse-Master-Key", MASTER_KEY)
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        send(self.req(reqwest::Method::POST, path).json(&body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        send(self.req(reqwest::Method::PUT, path).json(&body)).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        send(self.req(reqwest::Method::GET, path)).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        send(self.req(reqwest::Method::DELETE, path)).await
    }

    /// Creates an object and returns its id, asserting success.
    pub async fn create(&self, class: &str, body: Value) -> String {
        let (status, res) = self.post(&format!("/parse/classes/{class}"), body).await;
        assert_eq!(status, 201, "create failed: {res}");
        res["objectId"].as_str().expect("objectId").to_string()
    }

    /// Every object of a class, ordered by id, as the master key sees it.
    pub async fn all(&self, class: &str) -> Vec<Value> {
        let (status, res) = send(
            self.master(reqwest::Method::GET, &format!("/parse/classes/{class}"))
                .query(&[("limit", "100000"), ("order", "objectId")]),
        )
        .await;
        assert_eq!(status, 200, "{res}");
        res["results"].as_array().expect("results").clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Sends a request and returns the status and JSON body (`Null` when the body is not JSON).
pub async fn send(rb: reqwest::RequestBuilder) -> (u16, Value) {
    let res = rb.send().await.expect("request sent");
    let status = res.status().as_u16();
    let text = res.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A find with query-string parameters, as a REST client sends it.
pub async fn find(s: &TestServer, class: &str, params: &[(&str, &str)]) -> (u16, Value) {
    send(
        s.req(reqwest::Method::GET, &format!("/parse/classes/{class}"))
            .query(params),
    )
    .await
}

/// The results of a successful `where` find, asserting 200.
pub async fn find_where(
    s: &TestServer,
    class: &str,
    where_: Value,
    extra: &[(&str, &str)],
) -> Vec<Value> {
    let w = where_.to_string();
    let mut params: Vec<(&str, &str)> = vec![("where", w.as_str())];
    params.extend_from_slice(extra);
    let (status, res) = find(s, class, &params).await;
    assert_eq!(status, 200, "where {where_}: {res}");
    res["results"].as_array().expect("results").clone()
}

/// Creates objects in one master batch (fast), asserting every create succeeded.
pub async fn create_many(s: &TestServer, class: &str, bodies: Vec<Value>) -> Vec<String> {
    let requests: Vec<Value> = bodies
        .into_iter()
        .map(|b| json!({"method": "POST", "path": format!("/parse/classes/{class}"), "body": b}))
        .collect();
    let (status, res) = send(
        s.master(reqwest::Method::POST, "/parse/batch")
            .json(&json!({"requests": requests})),
    )
    .await;
    assert_eq!(status, 200, "{res}");
    res.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["success"]["objectId"]
                .as_str()
                .unwrap_or_else(|| panic!("create failed: {r}"))
                .to_string()
        })
        .collect()
}

/// A random lowercase name part (schemas and topics accept it).
pub fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "{:x}{:x}{:x}",
        std::process::id(),
        t & 0xffff_ffff,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A process that is killed when it goes out of scope, also when a test panics: nothing a
/// test starts outlives it.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl TestServer {
    /// Every event in this server's log, in order per partition (read as a consumer of the log
    /// would: the SQLite file, or the Kafka topic).
    pub async fn logged_events(&self) -> Vec<events::Event> {
        use events::EventLog;
        let log: Box<dyn EventLog> = if distributed() {
            Box::new(
                events::KafkaLog::connect(events::KafkaConfig {
                    brokers: required_env("CHRONICLE_TEST_KAFKA_BROKERS"),
                    topic: self.namespace.clone(),
                    partitions: 3,
                    replication: 1,
                    options: vec![],
                    handoff: false,
                })
                .await
                .expect("connect to the Kafka log"),
            )
        } else {
            Box::new(
                events::SqliteLog::open(&self.data_dir.join("events.sqlite"))
                    .await
                    .expect("open the SQLite log"),
            )
        };
        let mut all = Vec::new();
        for p in log.partitions().await.expect("partitions") {
            let mut reader = log.reader(p).await.expect("reader");
            let end = reader.end().await.expect("end");
            let mut from = 1;
            while from <= end {
                let batch = reader.next_batch(from, 1000).await.expect("read the log");
                from = batch.last().map(|e| e.position + 1).unwrap_or(end + 1);
                all.extend(batch.into_iter().map(|e| e.event));
            }
        }
        all
    }
}

/// Distributed stack: every row of every table of this server's read model, as text.
pub async fn read_model_dump(s: &TestServer) -> String {
    let pool = sqlx::PgPool::connect(&required_env("CHRONICLE_TEST_DATABASE_URL"))
        .await
        .expect("connect to PostgreSQL");
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_schema::text, table_name::text FROM information_schema.tables WHERE table_schema LIKE $1",
    )
    .bind(format!("{}%", s.namespace()))
    .fetch_all(&pool)
    .await
    .expect("list tables");
    let mut dump = String::new();
    for (schema, table) in tables {
        let rows: Vec<String> =
            sqlx::query_scalar(&format!("SELECT t::text FROM \"{schema}\".\"{table}\" t"))
                .fetch_all(&pool)
                .await
                .expect("read a table");
        dump.extend(rows);
    }
    dump
}

impl TestServer {
    /// Signs a user up with `body` and returns its id and session token, asserting 201.
    /// POSTs `body` to `path`, expecting 201: the Location header and the body.
    pub async fn post_created(&self, path: &str, body: Value) -> (String, Value) {
        let res = self
            .req(reqwest::Method::POST, path)
            .json(&body)
            .send()
            .await
            .expect("request");
        assert_eq!(res.status().as_u16(), 201);
        let location = res.headers()["location"]
            .to_str()
            .expect("a Location header")
            .to_string();
        (location, res.json().await.expect("a JSON body"))
    }

    /// `POST /login` with a username and password: the status and body.
    pub async fn log_in(&self, username: &str, password: &str) -> (u16, Value) {
        self.post(
            "/parse/login",
            json!({"username": username, "password": password}),
        )
        .await
    }

    /// A request as the user holding `token`.
    pub fn as_user(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
    ) -> reqwest::RequestBuilder {
        self.req(method, path)
            .header("X-Parse-Session-Token", token)
    }

    pub async fn sign_up(&self, body: Value) -> (String, String) {
        let (status, res) = self.post("/parse/users", body).await;
        assert_eq!(status, 201, "sign-up failed: {res}");
        (
            res["objectId"].as_str().expect("objectId").to_string(),
            res["sessionToken"]
                .as_str()
                .expect("sessionToken")
                .to_string(),
        )
    }
}

/// Distributed stack: the names of the PostgreSQL indexes on `class`'s table.
pub async fn index_names(s: &TestServer, class: &str) -> Vec<String> {
    let pool = sqlx::PgPool::connect(&required_env("CHRONICLE_TEST_DATABASE_URL"))
        .await
        .expect("connect to PostgreSQL");
    sqlx::query_scalar(
        "SELECT indexname::text FROM pg_indexes WHERE schemaname LIKE $1 AND tablename = $2",
    )
    .bind(format!("{}%", s.namespace()))
    .bind(class)
    .fetch_all(&pool)
    .await
    .expect("list indexes")
}
