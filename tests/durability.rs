//! Crash safety and determinism of the embedded stack: SIGKILL under a write load loses no
//! acknowledged write and duplicates none; a read model rebuilt from the log at restart equals
//! the one that served the requests.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::TestServer;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_load_loses_no_acknowledged_write() {
    let mut s = TestServer::start().await;
    let counter = s.create("Counter", json!({"n": 0})).await;
    let base = s.url("/parse");
    let stop = Arc::new(AtomicBool::new(false));
    let acked_increments = Arc::new(AtomicU64::new(0));
    let attempted_increments = Arc::new(AtomicU64::new(0));
    let mut writers = Vec::new();
    for w in 0..16 {
        let (http, base, stop, counter) =
            (s.http.clone(), base.clone(), stop.clone(), counter.clone());
        let (acked_inc, tried_inc) = (acked_increments.clone(), attempted_increments.clone());
        writers.push(tokio::spawn(async move {
            let mut acked: Vec<(u64, String)> = Vec::new();
            let mut seq = 0u64;
            while !stop.load(Ordering::Relaxed) {
                seq += 1;
                let create = http
                    .post(format!("{base}/classes/Item"))
                    .header("X-Parse-Application-Id", common::APP_ID)
                    .header("X-Parse-REST-API-Key", common::REST_KEY)
                    .json(&json!({"writer": w, "seq": seq}))
                    .send()
                    .await;
                match create {
                    Ok(r) if r.status() == 201 => {
                        let body: Value = r.json().await.unwrap_or(Value::Null);
                        if let Some(id) = body["objectId"].as_str() {
                            acked.push((seq, id.to_string()));
                        }
                    }
                    _ => break,
                }
                tried_inc.fetch_add(1, Ordering::SeqCst);
                let inc = http
                    .put(format!("{base}/classes/Counter/{counter}"))
                    .header("X-Parse-Application-Id", common::APP_ID)
                    .header("X-Parse-REST-API-Key", common::REST_KEY)
                    .json(&json!({"n": {"__op": "Increment", "amount": 1}}))
                    .send()
                    .await;
                match inc {
                    Ok(r) if r.status() == 200 => {
                        acked_inc.fetch_add(1, Ordering::SeqCst);
                    }
                    _ => break,
                }
            }
            (w, acked)
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    s.kill();
    stop.store(true, Ordering::Relaxed);
    let mut acked: HashMap<String, (u64, u64)> = HashMap::new();
    for t in writers {
        let (w, list) = t.await.unwrap();
        for (seq, id) in list {
            acked.insert(id, (w, seq));
        }
    }
    assert!(
        acked.len() > 50,
        "the load should have written something: {}",
        acked.len()
    );

    s.launch().await;
    let items = s.all("Item").await;
    let mut seen = HashSet::new();
    let ids: HashSet<String> = items
        .iter()
        .map(|o| o["objectId"].as_str().unwrap().to_string())
        .collect();
    for o in &items {
        let key = (o["writer"].as_u64().unwrap(), o["seq"].as_u64().unwrap());
        assert!(seen.insert(key), "write {key:?} is there twice");
    }
    for (id, key) in &acked {
        assert!(
            ids.contains(id),
            "acknowledged write {key:?} ({id}) is missing after the crash"
        );
    }
    let (_, c) = s.get(&format!("/parse/classes/Counter/{counter}")).await;
    let n = c["n"].as_u64().unwrap();
    let (lo, hi) = (
        acked_increments.load(Ordering::SeqCst),
        attempted_increments.load(Ordering::SeqCst),
    );
    assert!(
        lo <= n && n <= hi,
        "counter {n} must be between acknowledged {lo} and attempted {hi}"
    );
}

#[tokio::test]
async fn restart_rebuilds_the_same_read_model() {
    let mut s = TestServer::start().await;
    let mut ids = Vec::new();
    for i in 0..30 {
        ids.push(s.create("Thing", json!({"i": i, "tags": ["a"], "when": {"__type": "Date", "iso": "2024-05-01T10:00:00Z"}})).await);
    }
    let owner = s.create("Owner", json!({"name": "o"})).await;
    for (i, id) in ids.iter().enumerate() {
        let body = match i % 3 {
            0 => {
                json!({"i": {"__op": "Increment", "amount": 10}, "tags": {"__op": "AddUnique", "objects": ["b", "a"]}})
            }
            1 => {
                json!({"owner": {"__type": "Pointer", "className": "Owner", "objectId": owner}, "tags": {"__op": "Remove", "objects": ["a"]}})
            }
            _ => json!({"i": {"__op": "Delete"}, "meta": {"deep": {"x": 1}}}),
        };
        let (status, res) = s.put(&format!("/parse/classes/Thing/{id}"), body).await;
        assert_eq!(status, 200, "{res}");
    }
    let rel = json!({"likes": {"__op": "AddRelation", "objects": [{"__type": "Pointer", "className": "Thing", "objectId": ids[0]}]}});
    assert_eq!(
        s.put(&format!("/parse/classes/Owner/{owner}"), rel).await.0,
        200
    );
    for id in &ids[..5] {
        assert_eq!(s.delete(&format!("/parse/classes/Thing/{id}")).await.0, 200);
    }
    // A rejected write is in the log too, and must stay rejected on replay.
    let (status, _) = s
        .put(
            &format!("/parse/classes/Thing/{}", ids[9]),
            json!({"i": "not a number"}),
        )
        .await;
    assert_eq!(status, 400);

    let before = (s.all("Thing").await, s.all("Owner").await);
    assert_eq!(before.0.len(), 25);
    assert!(s.terminate(), "SIGTERM should stop every process cleanly");
    s.launch().await;
    let after = (s.all("Thing").await, s.all("Owner").await);
    assert_eq!(
        before, after,
        "the rebuilt read model differs from the one that served requests"
    );
    assert_eq!(
        after.1[0]["likes"],
        json!({"__type": "Relation", "className": "Thing"})
    );
}
