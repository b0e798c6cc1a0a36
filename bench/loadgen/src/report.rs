//! The results summary: a markdown table (or one JSON object) plus error details and the pass/fail verdict.

use serde_json::{json, Value};

use crate::runner::Stats;
use crate::scenario::Check;

/// Share of failed requests above which the run fails (0.1 %).
pub const MAX_FAILURE_RATIO: f64 = 0.001;

/// Everything printed about one run.
#[derive(Debug)]
pub struct Summary {
    pub scenario: &'static str,
    pub connections: u32,
    /// Requests per second asked for (open loop), if any.
    pub rate: Option<u32>,
    pub duration_secs: u64,
    pub warmup_secs: u64,
    pub stats: Stats,
    pub check: Option<Check>,
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy)]
struct Latency {
    p50: f64,
    p90: f64,
    p99: f64,
    p999: f64,
    max: f64,
}

impl Summary {
    pub fn failed_requests(&self) -> u64 {
        self.stats.http_errors() + self.stats.transport_errors()
    }

    pub fn failure_ratio(&self) -> f64 {
        let total = self.stats.ok + self.failed_requests();
        if total == 0 {
            return 0.0;
        }
        self.failed_requests() as f64 / total as f64
    }

    /// Successful requests per second over the measured window.
    pub fn throughput(&self) -> f64 {
        let secs = self.stats.measured_secs.max(self.duration_secs as f64);
        if secs <= 0.0 {
            return 0.0;
        }
        self.stats.ok as f64 / secs
    }

    fn latency(&self) -> Latency {
        let h = &self.stats.histogram;
        let ms = |us: u64| us as f64 / 1000.0;
        if h.is_empty() {
            return Latency {
                p50: 0.0,
                p90: 0.0,
                p99: 0.0,
                p999: 0.0,
                max: 0.0,
            };
        }
        Latency {
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        }
    }

    /// Reasons the run failed; empty when it passed.
    pub fn failures(&self) -> Vec<String> {
        let mut reasons = Vec::new();
        if self.stats.ok == 0 {
            reasons.push("no request succeeded".to_string());
        }
        if self.failure_ratio() > MAX_FAILURE_RATIO {
            reasons.push(format!(
                "{} of {} requests failed ({:.3} %, limit {:.1} %)",
                self.failed_requests(),
                self.stats.ok + self.failed_requests(),
                self.failure_ratio() * 100.0,
                MAX_FAILURE_RATIO * 100.0
            ));
        }
        if let Some(check) = &self.check {
            if !check.ok {
                reasons.push(format!("{} check: MISMATCH", self.scenario));
            }
        }
        reasons
    }

    fn check_word(&self) -> &'static str {
        match &self.check {
            None => "-",
            Some(check) if check.ok => "OK",
            Some(_) => "MISMATCH",
        }
    }

    pub fn markdown_header() -> String {
        [
            "| scenario | connections | duration s | requests ok | non-2xx | transport errors | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | check |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        .join("\n")
    }

    /// The scenario, and the rate asked for in an open-loop run.
    fn label(&self) -> String {
        match self.rate {
            Some(rate) => format!("{} at {rate}/s", self.scenario),
            None => self.scenario.to_string(),
        }
    }

    pub fn markdown_row(&self) -> String {
        let l = self.latency();
        format!(
            "| {} | {} | {} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
            self.label(),
            self.connections,
            self.duration_secs,
            self.stats.ok,
            self.stats.http_errors(),
            self.stats.transport_errors(),
            self.throughput(),
            l.p50,
            l.p90,
            l.p99,
            l.p999,
            l.max,
            self.check_word()
        )
    }

    pub fn to_json(&self) -> Value {
        let l = self.latency();
        let statuses: serde_json::Map<String, Value> = self
            .stats
            .statuses
            .iter()
            .map(|(status, n)| (status.to_string(), json!(n)))
            .collect();
        let transport: serde_json::Map<String, Value> = self
            .stats
            .transport
            .iter()
            .map(|(kind, n)| ((*kind).to_string(), json!(n)))
            .collect();
        json!({
            "scenario": self.scenario,
            "connections": self.connections,
            "rate_rps": self.rate,
            "duration_s": self.duration_secs,
            "warmup_s": self.warmup_secs,
            "measured_s": round(self.stats.measured_secs, 3),
            "requests_ok": self.stats.ok,
            "errors": {
                "non_2xx": self.stats.http_errors(),
                "transport": self.stats.transport_errors(),
                "by_status": statuses,
                "by_kind": transport,
            },
            "throughput_rps": round(self.throughput(), 1),
            "latency_ms": {
                "p50": l.p50,
                "p90": l.p90,
                "p99": l.p99,
                "p99_9": l.p999,
                "max": l.max,
            },
            "check": self.check.as_ref().map(|c| json!({
                "result": if c.ok { "OK" } else { "MISMATCH" },
                "detail": c.detail,
            })),
            "passed": self.failures().is_empty(),
        })
    }

    /// Human-readable error breakdown and check outcome (for stderr).
    pub fn details(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if !self.stats.statuses.is_empty() {
            let parts: Vec<String> = self
                .stats
                .statuses
                .iter()
                .map(|(status, n)| format!("HTTP {status}: {n}"))
                .collect();
            lines.push(format!("unexpected statuses: {}", parts.join(", ")));
        }
        if !self.stats.transport.is_empty() {
            let parts: Vec<String> = self
                .stats
                .transport
                .iter()
                .map(|(kind, n)| format!("{kind}: {n}"))
                .collect();
            lines.push(format!("transport errors: {}", parts.join(", ")));
        }
        for (status, body) in &self.stats.status_samples {
            let body = body.split_whitespace().collect::<Vec<_>>().join(" ");
            lines.push(format!("first HTTP {status} body: {body}"));
        }
        for (kind, message) in &self.stats.transport_samples {
            lines.push(format!("first {kind} error: {message}"));
        }
        if let Some(check) = &self.check {
            let word = if check.ok { "OK" } else { "MISMATCH" };
            lines.push(format!(
                "{} check: {word} ({})",
                self.scenario, check.detail
            ));
        }
        lines
    }
}

fn round(value: f64, decimals: i32) -> f64 {
    let factor = 10f64.powi(decimals);
    (value * factor).round() / factor
}
