//! Measures the fold alone: batches of 1,024 creates (the benchmark's `create` body), each
//! folded over the state the previous one left, against an empty in-memory store, as a replay
//! folds them. `cargo run --release -p projector --example fold_speed [batches]`.

use std::time::Instant;

use events::{Actor, Event, Origin, StoredEvent, Write, WriteKind};
use readmodel::MemoryStore;
use serde_json::json;

const BATCH: usize = 1024;

/// The allocator the `chronicle` binary runs with.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn create(n: usize) -> Event {
    let origin = Origin {
        app: "bench".into(),
        at: format!("2026-11-26T05:08:{:02}.{:03}Z", n / 1000 % 60, n % 1000),
        actor: Actor::master(),
        request_id: None,
    };
    let ops = json!({"title": format!("bench-{}-{n}", n % 32), "n": 0, "tags": ["a", "b"]});
    let write = Write {
        kind: WriteKind::Create,
        class: "BenchObject".into(),
        object_id: format!("{n:010}"),
        ops: ops.as_object().cloned().unwrap_or_default(),
        internal: Default::default(),
    };
    Event::object(origin, write)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let batches: usize = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 100,
    };
    let store = MemoryStore::new();
    let log: Vec<Vec<StoredEvent>> = (0..batches)
        .map(|b| {
            (0..BATCH)
                .map(|i| {
                    let n = b * BATCH + i;
                    StoredEvent {
                        position: n as u64 + 1,
                        event: create(n),
                        local: false,
                    }
                })
                .collect()
        })
        .collect();
    let started = Instant::now();
    let mut pending = None;
    let mut since = 0;
    for batch in &log {
        let (commit, state) =
            projector::fold_batch(&store, 0, since, pending.as_ref(), batch, true).await?;
        since = commit.position;
        pending = Some(state);
    }
    let secs = started.elapsed().as_secs_f64();
    let events = batches * BATCH;
    println!(
        "folded {events} creates in {:.3} s: {:.0} events/s, {:.2} ms per batch of {BATCH}",
        secs,
        events as f64 / secs,
        secs * 1e3 / batches as f64
    );
    Ok(())
}
