//! The Kafka log's handoff, against a real broker (`CHRONICLE_TEST_KAFKA_BROKERS`; scripts/test
//! starts one): a reader in the appending process gets its events without waiting for a fetch,
//! and still reads, in log order, everything another process appended between them.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use events::{
    Actor, Event, EventLog, KafkaConfig, KafkaLog, Origin, PartitionReader, Write, WriteKind,
};

/// A log that projects what it appends (`handoff`), or only appends or reads.
fn config(topic: &str, handoff: bool, options: &[(&str, &str)]) -> KafkaConfig {
    KafkaConfig {
        brokers: std::env::var("CHRONICLE_TEST_KAFKA_BROKERS")
            .expect("CHRONICLE_TEST_KAFKA_BROKERS must point at a Kafka-protocol broker"),
        topic: topic.into(),
        partitions: 1,
        replication: 1,
        options: options
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        handoff,
    }
}

fn topic() -> String {
    format!("handoff-{}", uuid::Uuid::new_v4().simple())
}

fn event(writer: &str, n: usize) -> Event {
    let origin = Origin {
        app: "app".into(),
        at: "2026-01-01T00:00:00.000Z".into(),
        actor: Actor::public(),
        request_id: None,
    };
    Event::object(
        origin,
        Write {
            kind: WriteKind::Delete,
            class: "C".into(),
            object_id: format!("{writer}{n}"),
            ops: Default::default(),
            internal: Default::default(),
        },
    )
}

/// Reads `n` events from position 1 the way the projector does, batch after batch, and checks
/// that they come once each, in position order, none skipped.
async fn read_all(reader: &mut dyn PartitionReader, n: usize) -> Vec<(u64, String)> {
    let mut seen = Vec::new();
    let mut from = 1;
    while seen.len() < n {
        let batch = tokio::time::timeout(Duration::from_secs(30), reader.next_batch(from, 50))
            .await
            .expect("the log stopped delivering")
            .unwrap();
        assert!(!batch.is_empty());
        for e in batch {
            assert_eq!(e.position, from, "a position skipped or repeated");
            from += 1;
            seen.push((e.position, e.event.object_id.unwrap()));
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reader_gets_its_own_and_other_processes_events_in_log_order_once() {
    let topic = topic();
    let here = Arc::new(KafkaLog::connect(config(&topic, true, &[])).await.unwrap());
    let elsewhere = Arc::new(KafkaLog::connect(config(&topic, false, &[])).await.unwrap());
    // Subscribed before the appends, as a projector is: it is handed what `here` appends.
    let mut reader = here.reader(0).await.unwrap();
    let mut writers = Vec::new();
    for w in 0..6 {
        let log = if w % 3 == 0 {
            elsewhere.clone()
        } else {
            here.clone()
        };
        writers.push(tokio::spawn(async move {
            for n in 0..40 {
                let batch = (0..=(n % 3)).map(|k| event(&format!("w{w}-"), n * 3 + k));
                log.append(batch.collect()).await.unwrap();
            }
        }));
    }
    let total: usize = 6 * (0..40).map(|n| n % 3 + 1).sum::<usize>();
    let got = read_all(reader.as_mut(), total).await;
    for w in writers {
        w.await.unwrap();
    }
    let distinct: HashSet<&String> = got.iter().map(|(_, id)| id).collect();
    assert_eq!(distinct.len(), total, "an event was delivered twice");
    // The same log, read by a process that appended nothing: from the broker alone.
    let outsider = KafkaLog::connect(config(&topic, false, &[])).await.unwrap();
    let mut from_broker = outsider.reader(0).await.unwrap();
    assert_eq!(read_all(from_broker.as_mut(), total).await, got);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_appended_event_reaches_a_reader_here_before_the_broker_could_return_it() {
    // tansu sleeps on every fetch, half the wait at least (measured: 1.5 s of a 3 s wait), so
    // from the broker nothing arrives sooner than 5 s here; the handoff has it as soon as the
    // append is acknowledged.
    let topic = topic();
    let log = KafkaLog::connect(config(&topic, true, &[("fetch.wait.max.ms", "10000")]))
        .await
        .unwrap();
    let mut reader = log.reader(0).await.unwrap();
    log.append(vec![event("a", 1), event("a", 2)])
        .await
        .unwrap();
    let started = Instant::now();
    let mut got = reader.next_batch(1, 10).await.unwrap();
    if got.len() < 2 {
        got.extend(reader.next_batch(2, 10).await.unwrap());
    }
    let took = started.elapsed();
    let ids: Vec<_> = got
        .iter()
        .map(|e| (e.position, e.event.object_id.clone().unwrap()))
        .collect();
    assert_eq!(ids, vec![(1, "a1".to_string()), (2, "a2".to_string())]);
    assert!(
        got.iter().all(|e| e.local),
        "handed over, so marked as this process's own"
    );
    assert!(
        took < Duration::from_millis(2500),
        "took {took:?}: read back from the broker, not handed over"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reader_fed_by_the_handoff_still_reads_another_process_s_events_and_starts_over() {
    let topic = topic();
    let here = Arc::new(KafkaLog::connect(config(&topic, true, &[])).await.unwrap());
    let elsewhere = KafkaLog::connect(config(&topic, false, &[])).await.unwrap();
    let mut reader = here.reader(0).await.unwrap();
    // Only this process appends: the handoff brings everything, and the reader stops fetching.
    for n in 0..10 {
        here.append(vec![event("here-", n)]).await.unwrap();
    }
    let mut got: Vec<String> = read_all(reader.as_mut(), 10)
        .await
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    // Another process appends, then this one goes on appending for a while: the reader must
    // fetch the other's event while the handoff keeps bringing later ones.
    elsewhere.append(vec![event("there-", 0)]).await.unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let (here, done) = (here.clone(), done.clone());
        tokio::spawn(async move {
            for n in 10..210 {
                here.append(vec![event("here-", n)]).await.unwrap();
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            done.store(true, Ordering::SeqCst);
        })
    };
    let mut from = 11;
    while got.len() < 211 {
        let batch = tokio::time::timeout(Duration::from_secs(10), reader.next_batch(from, 4))
            .await
            .expect("the log stopped delivering")
            .unwrap();
        for e in batch {
            assert_eq!(e.position, from, "a position skipped or repeated");
            from += 1;
            let id = e.event.object_id.unwrap();
            assert!(!(id.starts_with("there-") && e.local), "{id} marked local");
            if id == "there-0" {
                assert!(
                    !done.load(Ordering::SeqCst),
                    "the other process's event waited until this one stopped appending"
                );
            }
            got.push(id);
        }
    }
    writer.await.unwrap();
    // Later, with the reader idle, another event of the other process.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    elsewhere.append(vec![event("there-", 1)]).await.unwrap();
    let last = tokio::time::timeout(Duration::from_secs(10), reader.next_batch(from, 4))
        .await
        .expect("an event of another process never came, the reader idle")
        .unwrap();
    assert_eq!(last.len(), 1);
    got.push(last[0].event.object_id.clone().unwrap());
    // The log's order, read by a process that appended nothing.
    let outsider = KafkaLog::connect(config(&topic, false, &[])).await.unwrap();
    let mut from_broker = outsider.reader(0).await.unwrap();
    let log: Vec<(u64, String)> = read_all(from_broker.as_mut(), got.len()).await;
    let ids: Vec<String> = log.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(got, ids);
    // A caller starting over (a batch folded again) reads it all again.
    assert_eq!(read_all(reader.as_mut(), got.len()).await, log);
}
