//! The timed run: one task per worker, each on its own keep-alive client, recording latencies after the warm-up.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use hdrhistogram::Histogram;
use reqwest::Client;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::client::{execute, Outcome};
use crate::rng::Rng;
use crate::scenario::Prepared;

/// Highest latency the histogram tracks exactly, in microseconds (larger values saturate).
const MAX_TRACKED_US: u64 = 600_000_000;

/// Counters and latencies of the measured window (and a few whole-run totals).
#[derive(Debug)]
pub struct Stats {
    /// Latencies in microseconds of successful measured requests.
    pub histogram: Histogram<u64>,
    /// Successful requests in the measured window.
    pub ok: u64,
    /// Responses with an unexpected status in the measured window, by status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Start of the first body seen for each unexpected status (whole run).
    pub status_samples: BTreeMap<u16, String>,
    /// Requests without a complete answer in the measured window, by kind.
    pub transport: BTreeMap<&'static str, u64>,
    /// First message seen for each transport error kind (whole run).
    pub transport_samples: BTreeMap<&'static str, String>,
    /// Successful requests over the whole run, warm-up included.
    pub ok_all: u64,
    /// Transport errors over the whole run, warm-up included.
    pub transport_all: u64,
    /// Seconds from the end of the warm-up until the last measured request finished.
    pub measured_secs: f64,
}

impl Stats {
    fn new() -> Result<Self> {
        Ok(Stats {
            histogram: Histogram::new_with_bounds(1, MAX_TRACKED_US, 3)
                .context("creating histogram")?,
            ok: 0,
            statuses: BTreeMap::new(),
            status_samples: BTreeMap::new(),
            transport: BTreeMap::new(),
            transport_samples: BTreeMap::new(),
            ok_all: 0,
            transport_all: 0,
            measured_secs: 0.0,
        })
    }

    pub fn http_errors(&self) -> u64 {
        self.statuses.values().sum()
    }

    pub fn transport_errors(&self) -> u64 {
        self.transport.values().sum()
    }

    fn merge(&mut self, other: Stats) -> Result<()> {
        self.histogram
            .add(&other.histogram)
            .context("merging histograms")?;
        self.ok += other.ok;
        for (status, n) in other.statuses {
            *self.statuses.entry(status).or_default() += n;
        }
        for (status, body) in other.status_samples {
            self.status_samples.entry(status).or_insert(body);
        }
        for (kind, n) in other.transport {
            *self.transport.entry(kind).or_default() += n;
        }
        for (kind, message) in other.transport_samples {
            self.transport_samples.entry(kind).or_insert(message);
        }
        self.ok_all += other.ok_all;
        self.transport_all += other.transport_all;
        self.measured_secs = self.measured_secs.max(other.measured_secs);
        Ok(())
    }
}

/// The schedule of an open-loop run: request `k` is due at `start + k / rate`, whichever worker
/// is free to send it.
#[derive(Debug)]
struct Pacer {
    start: Instant,
    interval: Duration,
    next: AtomicU64,
}

impl Pacer {
    fn new(start: Instant, rate: u32) -> Self {
        Pacer {
            start,
            interval: Duration::from_secs(1) / rate,
            next: AtomicU64::new(0),
        }
    }

    /// When the next unclaimed request is due.
    fn claim(&self) -> Instant {
        let k = self.next.fetch_add(1, Ordering::Relaxed);
        let offset = self.interval.as_nanos().saturating_mul(u128::from(k));
        self.start + Duration::from_nanos(u64::try_from(offset).unwrap_or(u64::MAX))
    }
}

/// Runs every worker for `warmup + duration` and merges what they measured; with a `rate`
/// the workers share one schedule of requests (open loop) instead of each sending back to back.
pub async fn run(
    prepared: Arc<Prepared>,
    clients: &[Client],
    warmup: Duration,
    duration: Duration,
    request_timeout: Duration,
    rate: Option<u32>,
) -> Result<Stats> {
    let start = Instant::now();
    let warmup_end = start + warmup;
    let end = warmup_end + duration;
    let pacer = rate.map(|rate| Arc::new(Pacer::new(start, rate)));
    let mut tasks = JoinSet::new();
    for (index, client) in clients.iter().enumerate() {
        let prepared = Arc::clone(&prepared);
        let client = client.clone();
        let worker = u32::try_from(index).unwrap_or(u32::MAX);
        let window = Window {
            warmup_end,
            end,
            pacer: pacer.clone(),
        };
        tasks.spawn(worker_loop(worker, client, prepared, window));
    }
    // Every request has its own timeout, so workers end by `end + request_timeout`;
    // the guard below only protects against a bug, so the run is always bounded.
    let deadline = end + request_timeout + Duration::from_secs(5);
    let mut total = Stats::new()?;
    loop {
        match tokio::time::timeout_at(deadline, tasks.join_next()).await {
            Ok(Some(joined)) => total.merge(joined.context("worker panicked")??)?,
            Ok(None) => break,
            Err(_) => {
                tasks.abort_all();
                bail!("workers did not stop within {request_timeout:?} after the end of the run");
            }
        }
    }
    Ok(total)
}

/// When a worker's requests count and stop, and the shared schedule of an open-loop run.
struct Window {
    warmup_end: Instant,
    end: Instant,
    pacer: Option<Arc<Pacer>>,
}

async fn worker_loop(
    worker: u32,
    client: Client,
    prepared: Arc<Prepared>,
    window: Window,
) -> Result<Stats> {
    let Window {
        warmup_end,
        end,
        pacer,
    } = window;
    let mut stats = Stats::new()?;
    let mut rng = Rng::for_stream(u64::from(worker));
    let mut seq: u64 = 0;
    let mut last_done = warmup_end;
    loop {
        // A request's latency counts from when it was due: in an open-loop run, time spent
        // waiting for a free worker because the server fell behind is part of it.
        let started = match &pacer {
            Some(pacer) => pacer.claim(),
            None => Instant::now(),
        };
        if started >= end {
            break;
        }
        tokio::time::sleep_until(started).await;
        let (request, expected) = prepared.request(&client, &mut rng, worker, seq);
        seq += 1;
        let outcome = execute(request, expected).await;
        let done = Instant::now();
        let measured = started >= warmup_end;
        if measured {
            last_done = last_done.max(done);
        }
        match outcome {
            Outcome::Ok => {
                stats.ok_all += 1;
                if measured {
                    stats.ok += 1;
                    let micros = u64::try_from((done - started).as_micros()).unwrap_or(u64::MAX);
                    stats.histogram.saturating_record(micros.max(1));
                }
            }
            Outcome::Status { status, body } => {
                if measured {
                    *stats.statuses.entry(status).or_default() += 1;
                }
                stats.status_samples.entry(status).or_insert(body);
            }
            Outcome::Transport { kind, message } => {
                stats.transport_all += 1;
                if measured {
                    *stats.transport.entry(kind).or_default() += 1;
                }
                stats.transport_samples.entry(kind).or_insert(message);
                // Don't spin on a dead server: a refused connect returns at once.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    stats.measured_secs = last_done
        .saturating_duration_since(warmup_end)
        .as_secs_f64();
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_loop_schedule_spreads_requests_evenly_whoever_claims_them() {
        let start = Instant::now();
        let pacer = Pacer::new(start, 4_000);
        let due: Vec<Duration> = (0..5).map(|_| pacer.claim() - start).collect();
        let expected: Vec<Duration> = (0..5).map(|k| Duration::from_micros(250 * k)).collect();
        assert_eq!(due, expected);
        // Far into a long run the slots do not drift.
        pacer.next.store(4_000 * 3_600, Ordering::Relaxed);
        assert_eq!(pacer.claim() - start, Duration::from_secs(3_600));
    }
}
