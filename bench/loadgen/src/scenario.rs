//! The workloads: per-scenario setup (seed data), the request each worker repeats, and end-of-run checks.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::cli::Scenario;
use crate::client::{send_json, Target};
use crate::rng::Rng;

/// Class written by `create` and read by `get` and `increment`.
const OBJECT_CLASS: &str = "BenchObject";
/// Class seeded and read by `query`.
const QUERY_CLASS: &str = "BenchQuery";
/// Class of the objects `BenchQuery.owner` points to (`query-include` includes them).
const OWNER_CLASS: &str = "BenchOwner";
const OWNERS: usize = 100;
/// Objects created before `get` starts.
const GET_OBJECTS: usize = 1_000;
/// Counters created before `increment` starts.
const INCREMENT_OBJECTS: usize = 10;
/// Objects created before `query` starts, and how many go in one /batch request.
const QUERY_OBJECTS: usize = 10_000;
const QUERY_BATCH: usize = 500;
/// Distinct values of the `group` field in `query` (0..99).
const QUERY_GROUPS: usize = 100;
/// `limit` of each query.
const QUERY_LIMIT: usize = 20;
/// Class seeded and read by the `query-acl-*` scenarios.
const ACL_CLASS: &str = "BenchAcl";
/// Users and roles of the `query-acl-*` scenarios: user i is in role i mod ACL_ROLES.
const ACL_USERS: usize = 100;
const ACL_ROLES: usize = 5;

/// A scenario after its setup: everything a worker needs to build its next request.
#[derive(Debug)]
pub struct Prepared {
    scenario: Scenario,
    /// Object URL for `create`, or the class URL for `query`.
    class_url: String,
    /// Object ids created during setup (`get`, `increment`).
    ids: Vec<String>,
    /// `query-acl-user`: the users' session tokens, and one client per worker without the
    /// master key.
    tokens: Vec<String>,
    user_clients: Vec<Client>,
}

/// The result of an end-of-run consistency check.
#[derive(Debug, Clone)]
pub struct Check {
    pub ok: bool,
    pub detail: String,
}

/// Creates the seed data a scenario needs, using the worker clients in parallel.
pub async fn setup(
    scenario: Scenario,
    target: &Target,
    clients: &[Client],
    user_clients: Vec<Client>,
) -> Result<Prepared> {
    let object_url = target.url(&format!("/classes/{OBJECT_CLASS}"));
    let query_url = target.url(&format!("/classes/{QUERY_CLASS}"));
    let mut tokens = Vec::new();
    let (class_url, ids) = match scenario {
        Scenario::Create => (object_url, Vec::new()),
        Scenario::Get => {
            let ids = create_objects(
                clients,
                &object_url,
                GET_OBJECTS,
                |i| json!({"title": format!("bench-get-{i}"), "n": i, "tags": ["a", "b"]}),
            )
            .await?;
            check_get(clients, &object_url, &ids).await?;
            (object_url, ids)
        }
        Scenario::Increment => {
            let ids = create_objects(
                clients,
                &object_url,
                INCREMENT_OBJECTS,
                |i| json!({"title": format!("bench-counter-{i}"), "n": 0, "tags": ["a", "b"]}),
            )
            .await?;
            (object_url, ids)
        }
        Scenario::Query | Scenario::QueryInclude => {
            seed_query_class(clients, target).await?;
            (query_url, Vec::new())
        }
        Scenario::QueryAclUser | Scenario::QueryAclMaster => {
            tokens = seed_acl_class(clients, target).await?;
            (target.url(&format!("/classes/{ACL_CLASS}")), Vec::new())
        }
    };
    Ok(Prepared {
        scenario,
        class_url,
        ids,
        tokens,
        user_clients,
    })
}

/// Seeds the `query-acl-*` data once per server: `ACL_USERS` users (signed up, or logged in
/// again when they exist), `ACL_ROLES` roles, and `QUERY_OBJECTS` objects, object i readable by
/// user i mod 100 and by role (i / 100) mod 5. Returns the users' session tokens.
async fn seed_acl_class(clients: &[Client], target: &Target) -> Result<Vec<String>> {
    let Some(client) = clients.first() else {
        bail!("no client");
    };
    let existing = count_of(client, &target.url(&format!("/classes/{ACL_CLASS}"))).await?;
    // Users: signed up the first time, logged in afterwards (a session token each).
    let mut tasks = JoinSet::new();
    for i in 0..ACL_USERS {
        let client = clients[i % clients.len()].clone();
        let (users, login) = (target.url("/users"), target.url("/login"));
        let fresh = existing == 0;
        tasks.spawn(async move {
            let name = format!("bench-user-{i}");
            let answer = if fresh {
                send_json(
                    client
                        .post(users)
                        .json(&json!({"username": name, "password": "bench"})),
                    StatusCode::CREATED,
                    "setup sign-up",
                )
                .await?
            } else {
                send_json(
                    client
                        .post(login)
                        .json(&json!({"username": name, "password": "bench"})),
                    StatusCode::OK,
                    "setup log-in",
                )
                .await?
            };
            let id = object_id(&answer)?;
            let token = answer
                .get("sessionToken")
                .and_then(Value::as_str)
                .map(str::to_string)
                .with_context(|| format!("no session token in {answer}"))?;
            anyhow::Ok((i, id, token))
        });
    }
    let mut ids = vec![String::new(); ACL_USERS];
    let mut tokens = vec![String::new(); ACL_USERS];
    while let Some(joined) = tasks.join_next().await {
        let (i, id, token) = joined.context("setup task panicked")??;
        ids[i] = id;
        tokens[i] = token;
    }
    if existing >= QUERY_OBJECTS as u64 {
        return Ok(tokens);
    }
    send_json(
        client
            .post(target.url(&format!("/schemas/{ACL_CLASS}")))
            .json(&json!({
                "fields": {"title": {"type": "String"}, "group": {"type": "Number"}, "score": {"type": "Number"}},
                "indexes": {"group_score": {"group": 1, "score": -1}}
            })),
        StatusCode::OK,
        "setup schema",
    )
    .await?;
    for r in 0..ACL_ROLES {
        let users: Vec<Value> = (r..ACL_USERS)
            .step_by(ACL_ROLES)
            .map(|i| json!({"__type": "Pointer", "className": "_User", "objectId": ids[i]}))
            .collect();
        send_json(
            client.post(target.url("/roles")).json(&json!({
                "name": format!("BenchRole{r}"),
                "ACL": {"*": {"read": true}},
                "users": {"__op": "AddRelation", "objects": users}
            })),
            StatusCode::CREATED,
            "setup role",
        )
        .await?;
    }
    let mut rng = Rng::for_stream(u64::MAX - 1);
    batch_create(client, target, ACL_CLASS, |i| {
        let mut acl = serde_json::Map::new();
        acl.insert(
            ids[i % ACL_USERS].clone(),
            json!({"read": true, "write": true}),
        );
        acl.insert(
            format!("role:BenchRole{}", (i / ACL_USERS) % ACL_ROLES),
            json!({"read": true}),
        );
        json!({
            "title": format!("bench-acl-{i}"),
            "group": i % QUERY_GROUPS,
            "score": rng.unit_f64() * 1000.0,
            "ACL": acl,
        })
    })
    .await?;
    Ok(tokens)
}

/// POSTs `count` objects, spread over the clients, and returns their ids in creation order.
async fn create_objects(
    clients: &[Client],
    class_url: &str,
    count: usize,
    body: impl Fn(usize) -> Value,
) -> Result<Vec<String>> {
    let lanes = clients.len().clamp(1, count.max(1));
    let mut tasks = JoinSet::new();
    for (lane, client) in clients.iter().take(lanes).enumerate() {
        let bodies: Vec<(usize, Value)> =
            (lane..count).step_by(lanes).map(|i| (i, body(i))).collect();
        let client = client.clone();
        let url = class_url.to_string();
        tasks.spawn(async move {
            let mut created = Vec::with_capacity(bodies.len());
            for (i, body) in bodies {
                let value = send_json(
                    client.post(&url).json(&body),
                    StatusCode::CREATED,
                    "setup create",
                )
                .await?;
                created.push((i, object_id(&value)?));
            }
            anyhow::Ok(created)
        });
    }
    let mut ids = vec![String::new(); count];
    while let Some(joined) = tasks.join_next().await {
        for (i, id) in joined.context("setup task panicked")?? {
            ids[i] = id;
        }
    }
    Ok(ids)
}

fn object_id(value: &Value) -> Result<String> {
    value
        .get("objectId")
        .and_then(Value::as_str)
        .map(str::to_string)
        .with_context(|| format!("response has no objectId: {value}"))
}

/// Reads one seeded object back, so `get` does not measure a server that cannot find them.
async fn check_get(clients: &[Client], class_url: &str, ids: &[String]) -> Result<()> {
    let (Some(client), Some(id)) = (clients.first(), ids.first()) else {
        return Ok(());
    };
    let value = send_json(
        client.get(format!("{class_url}/{id}")),
        StatusCode::OK,
        "setup read-back",
    )
    .await?;
    if object_id(&value)? != *id {
        bail!("setup read-back returned another object: {value}");
    }
    Ok(())
}

/// Seeds `QUERY_OBJECTS` objects through /batch, `QUERY_BATCH` at a time, each pointing to one
/// of `OWNERS` owners; once per server (both query scenarios read the same data).
async fn seed_query_class(clients: &[Client], target: &Target) -> Result<()> {
    let Some(client) = clients.first() else {
        bail!("no client");
    };
    let existing = count_of(client, &target.url(&format!("/classes/{QUERY_CLASS}"))).await?;
    if existing >= QUERY_OBJECTS as u64 {
        return Ok(());
    }
    // The class, declared with the index the query needs ("a where on an indexed field").
    if existing == 0 {
        send_json(
            client
                .post(target.url(&format!("/schemas/{QUERY_CLASS}")))
                .json(&json!({
                    "fields": {
                        "title": {"type": "String"},
                        "group": {"type": "Number"},
                        "score": {"type": "Number"},
                        "owner": {"type": "Pointer", "targetClass": OWNER_CLASS}
                    },
                    "indexes": {"group_score": {"group": 1, "score": -1}}
                })),
            StatusCode::OK,
            "setup schema",
        )
        .await?;
    }
    let owners = create_objects(
        clients,
        &target.url(&format!("/classes/{OWNER_CLASS}")),
        OWNERS,
        |i| json!({"name": format!("owner-{i}"), "rank": i}),
    )
    .await?;
    let mut rng = Rng::for_stream(u64::MAX);
    batch_create(client, target, QUERY_CLASS, |i| {
        json!({
            "title": format!("bench-query-{i}"),
            "group": i % QUERY_GROUPS,
            "score": rng.unit_f64() * 1000.0,
            "owner": {"__type": "Pointer", "className": OWNER_CLASS, "objectId": owners[i % OWNERS]},
        })
    })
    .await
}

/// Creates `QUERY_OBJECTS` objects of `class` through /batch, `QUERY_BATCH` at a time
/// (sub-request paths carry the mount path), and checks every one was created.
async fn batch_create(
    client: &Client,
    target: &Target,
    class: &str,
    mut body: impl FnMut(usize) -> Value,
) -> Result<()> {
    let batch_url = target.url("/batch");
    let path = target.batch_path(&format!("/classes/{class}"));
    for start in (0..QUERY_OBJECTS).step_by(QUERY_BATCH) {
        let end = (start + QUERY_BATCH).min(QUERY_OBJECTS);
        let requests: Vec<Value> = (start..end)
            .map(|i| json!({"method": "POST", "path": path, "body": body(i)}))
            .collect();
        let what = format!("setup batch {class} {start}..{end}");
        let value = send_json(
            client
                .post(&batch_url)
                .json(&json!({ "requests": requests }))
                .timeout(Duration::from_secs(120)),
            StatusCode::OK,
            &what,
        )
        .await?;
        let results = value
            .as_array()
            .with_context(|| format!("{what}: response is not an array"))?;
        if results.len() != end - start {
            bail!(
                "{what}: {} results for {} requests",
                results.len(),
                end - start
            );
        }
        if let Some(first) = results.iter().find(|r| r.get("success").is_none()) {
            let failed = results
                .iter()
                .filter(|r| r.get("success").is_none())
                .count();
            bail!("{what}: {failed} sub-requests failed, first: {first}");
        }
    }
    Ok(())
}

/// How many objects `class_url` holds.
async fn count_of(client: &Client, class_url: &str) -> Result<u64> {
    Ok(send_json(
        client
            .get(class_url)
            .query(&[("count", "1"), ("limit", "0")]),
        StatusCode::OK,
        "setup count",
    )
    .await?
    .get("count")
    .and_then(Value::as_u64)
    .unwrap_or(0))
}

impl Prepared {
    pub fn scenario(&self) -> Scenario {
        self.scenario
    }

    /// The next request of a worker, and the status that counts as success.
    pub fn request(
        &self,
        client: &Client,
        rng: &mut Rng,
        worker: u32,
        seq: u64,
    ) -> (RequestBuilder, StatusCode) {
        match self.scenario {
            Scenario::Create => {
                let body = json!({
                    "title": format!("bench-{worker}-{seq}"),
                    "n": seq,
                    "tags": ["a", "b"],
                });
                (
                    client.post(&self.class_url).json(&body),
                    StatusCode::CREATED,
                )
            }
            Scenario::Get => {
                let id = &self.ids[rng.below(self.ids.len())];
                (
                    client.get(format!("{}/{id}", self.class_url)),
                    StatusCode::OK,
                )
            }
            Scenario::Increment => {
                let id = &self.ids[rng.below(self.ids.len())];
                let body = json!({"n": {"__op": "Increment", "amount": 1}});
                (
                    client.put(format!("{}/{id}", self.class_url)).json(&body),
                    StatusCode::OK,
                )
            }
            Scenario::Query | Scenario::QueryInclude | Scenario::QueryAclMaster => {
                let group = rng.below(QUERY_GROUPS);
                (
                    query_request(client, &self.class_url, group, self.include()),
                    StatusCode::OK,
                )
            }
            Scenario::QueryAclUser => {
                let group = rng.below(QUERY_GROUPS);
                let token = &self.tokens[rng.below(self.tokens.len())];
                let client = &self.user_clients[worker as usize % self.user_clients.len()];
                (
                    query_request(client, &self.class_url, group, false)
                        .header("X-Parse-Session-Token", token),
                    StatusCode::OK,
                )
            }
        }
    }

    /// End-of-run consistency check, where the scenario has one.
    ///
    /// `succeeded` counts every increment answered with success (warm-up included);
    /// `unknown` counts those that got no answer and so may or may not have been applied.
    pub async fn verify(
        &self,
        client: &Client,
        succeeded: u64,
        unknown: u64,
    ) -> Result<Option<Check>> {
        match self.scenario {
            Scenario::Create | Scenario::Get | Scenario::QueryAclMaster => Ok(None),
            Scenario::QueryAclUser => self.verify_acl().await.map(Some),
            Scenario::Increment => self
                .verify_increment(client, succeeded, unknown)
                .await
                .map(Some),
            Scenario::Query | Scenario::QueryInclude => self.verify_query(client).await.map(Some),
        }
    }

    async fn verify_increment(
        &self,
        client: &Client,
        succeeded: u64,
        unknown: u64,
    ) -> Result<Check> {
        let mut sum: i64 = 0;
        for id in &self.ids {
            let value = send_json(
                client.get(format!("{}/{id}", self.class_url)),
                StatusCode::OK,
                "increment read-back",
            )
            .await?;
            let n = value
                .get("n")
                .with_context(|| format!("object {id} has no n: {value}"))?;
            let n = match (n.as_i64(), n.as_f64()) {
                (Some(n), _) => n,
                (None, Some(f)) if f.fract() == 0.0 => f as i64,
                _ => bail!("object {id} has a non-integer n: {n}"),
            };
            sum += n;
        }
        let expected = i64::try_from(succeeded).unwrap_or(i64::MAX);
        let slack = i64::try_from(unknown).unwrap_or(i64::MAX);
        let exact = sum == expected;
        let ok = exact || (sum > expected && sum - expected <= slack);
        let mut detail =
            format!("sum of counters {sum}, successful increments {succeeded} (warm-up included)");
        if unknown > 0 {
            detail.push_str(&format!(
                ", {unknown} unanswered (may or may not have applied)"
            ));
        }
        Ok(Check { ok, detail })
    }

    /// A user's query returns only objects whose ACL names the user or the user's role.
    async fn verify_acl(&self) -> Result<Check> {
        let (Some(client), Some(token)) = (self.user_clients.first(), self.tokens.first()) else {
            bail!("no user client or token");
        };
        let me = send_json(
            client
                .get(
                    self.class_url
                        .replace(&format!("/classes/{ACL_CLASS}"), "/users/me"),
                )
                .header("X-Parse-Session-Token", token),
            StatusCode::OK,
            "acl check: me",
        )
        .await?;
        let me = object_id(&me)?;
        let mut seen = 0;
        let mut foreign = 0;
        for group in 0..QUERY_GROUPS {
            let value = send_json(
                query_request(client, &self.class_url, group, false)
                    .header("X-Parse-Session-Token", token),
                StatusCode::OK,
                "acl check",
            )
            .await?;
            for r in value
                .get("results")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                seen += 1;
                let acl = r.get("ACL").cloned().unwrap_or(Value::Null);
                let mine = acl.get(&me).is_some() || acl.get("role:BenchRole0").is_some();
                if !mine {
                    foreign += 1;
                }
            }
        }
        Ok(Check {
            ok: seen > 0 && foreign == 0,
            detail: format!(
                "user 0 saw {seen} objects over {QUERY_GROUPS} groups, {foreign} not readable by them"
            ),
        })
    }

    /// `query-include` includes the owner.
    fn include(&self) -> bool {
        self.scenario == Scenario::QueryInclude
    }

    async fn verify_query(&self, client: &Client) -> Result<Check> {
        let group = 0;
        let value = send_json(
            query_request(client, &self.class_url, group, self.include()),
            StatusCode::OK,
            "query check",
        )
        .await?;
        let results = value
            .get("results")
            .and_then(Value::as_array)
            .with_context(|| format!("query check: no results array in {value}"))?;
        let mut problems = Vec::new();
        if results.len() != QUERY_LIMIT {
            problems.push(format!("{} results, expected {QUERY_LIMIT}", results.len()));
        }
        if results
            .iter()
            .any(|r| r.get("group").and_then(Value::as_u64) != Some(group as u64))
        {
            problems.push(format!("a result is not in group {group}"));
        }
        let scores: Vec<Option<f64>> = results
            .iter()
            .map(|r| r.get("score").and_then(Value::as_f64))
            .collect();
        if scores.iter().any(Option::is_none) {
            problems.push("a result has no numeric score".to_string());
        } else if scores.windows(2).any(|w| w[0] < w[1]) {
            problems.push("results are not ordered by score descending".to_string());
        }
        let included = |r: &Value| {
            r.pointer("/owner/__type").and_then(Value::as_str) == Some("Object")
                && r.pointer("/owner/name").is_some()
        };
        if self.include() && !results.iter().all(included) {
            problems.push("an owner is not included".to_string());
        }
        let ok = problems.is_empty();
        let detail = if ok {
            format!("group {group}: {QUERY_LIMIT} results, all in the group, ordered by -score")
        } else {
            format!("group {group}: {}", problems.join("; "))
        };
        Ok(Check { ok, detail })
    }
}

/// GET /classes/BenchQuery?where={"group":g}&order=-score&limit=20[&include=owner]
/// (reqwest URL-encodes it).
fn query_request(client: &Client, class_url: &str, group: usize, include: bool) -> RequestBuilder {
    let where_json = format!("{{\"group\":{group}}}");
    let limit = QUERY_LIMIT.to_string();
    let request = client.get(class_url).query(&[
        ("where", where_json.as_str()),
        ("order", "-score"),
        ("limit", limit.as_str()),
    ]);
    if include {
        request.query(&[("include", "owner")])
    } else {
        request
    }
}
