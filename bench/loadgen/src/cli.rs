//! Command-line options of the load generator.

use clap::{Parser, ValueEnum};

/// Drives a Parse REST server over HTTP on loopback and prints a results table.
#[derive(Debug, Clone, Parser)]
#[command(name = "loadgen", version, about)]
pub struct Args {
    /// Parse mount URL of the server under test; must be a loopback address.
    #[arg(long, default_value = "http://127.0.0.1:1337/parse")]
    pub url: String,

    /// Value of the X-Parse-Application-Id header.
    #[arg(long)]
    pub app_id: String,

    /// Value of the X-Parse-Master-Key header (sent only when given).
    #[arg(long)]
    pub master_key: Option<String>,

    /// Value of the X-Parse-REST-API-Key header (sent only when given).
    #[arg(long)]
    pub rest_key: Option<String>,

    /// Number of concurrent workers; each keeps its own keep-alive connection.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub connections: u32,

    /// Measured duration in seconds (after the warm-up).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub duration: u64,

    /// Warm-up in seconds: load is applied but not counted.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(0..=600))]
    pub warmup: u64,

    /// Workload to run.
    #[arg(long, value_enum)]
    pub scenario: Scenario,

    /// Total requests per second, spread evenly over the run (open loop). Each request is due
    /// at its slot and its latency counts from then, so a server that falls behind shows it in
    /// the percentiles instead of slowing the load (no coordinated omission). Without it each
    /// worker sends its next request as soon as the previous one is answered (closed loop).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub rate: Option<u32>,

    /// Threads driving the connections. One (the default) serves every connection from a
    /// single thread: on a machine the server shares, the load generator then takes the least
    /// CPU and wakes the fewest threads (measured at 32 connections and ~6,500 creates/s: 30 %
    /// less CPU than a thread per core, and a lower p99). Raise it if one thread cannot keep up.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: u16,

    /// Per-request timeout in seconds; a request that takes longer counts as a transport error.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub timeout: u64,

    /// Print the summary as one JSON object instead of a markdown table.
    #[arg(long)]
    pub json: bool,

    /// Print only the markdown data row, without the header (for collating several runs).
    #[arg(long, conflicts_with = "json")]
    pub no_header: bool,
}

/// The workloads the load generator knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// POST /classes/BenchObject with a small body; expects 201.
    Create,
    /// Creates 1,000 objects, then GETs a random one of them.
    Get,
    /// Creates 10 objects, then PUTs an Increment on a random one; checks the sum at the end.
    Increment,
    /// Creates 10,000 objects via /batch, then queries one group ordered by score.
    Query,
    /// The `query` scenario's query with `include=owner` (a pointer to one of 100 objects).
    QueryInclude,
    /// 10,000 objects with per-user and role ACLs (100 users, 5 roles); the `query` scenario's
    /// query sent as a random logged-in user (session token, no master key).
    QueryAclUser,
    /// The same data and query as `query-acl-user`, sent with the master key.
    QueryAclMaster,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Create => "create",
            Scenario::Get => "get",
            Scenario::Increment => "increment",
            Scenario::Query => "query",
            Scenario::QueryInclude => "query-include",
            Scenario::QueryAclUser => "query-acl-user",
            Scenario::QueryAclMaster => "query-acl-master",
        }
    }
}
