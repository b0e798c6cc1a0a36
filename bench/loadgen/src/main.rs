//! loadgen: a bounded HTTP load generator for Parse REST servers on loopback (used by scripts/bench).

mod cli;
mod client;
mod report;
mod rng;
mod runner;
mod scenario;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;

use crate::cli::Args;
use crate::client::{parse_headers, worker_client, Target};
use crate::report::Summary;

/// Upper bound on the seeding phase, so a stuck server cannot hold the run open.
const SETUP_LIMIT: Duration = Duration::from_secs(300);

fn main() -> ExitCode {
    let args = Args::parse();
    let built = match args.threads {
        1 => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        n => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(usize::from(n))
            .enable_all()
            .build(),
    };
    let runtime = match built {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("loadgen: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("loadgen: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<ExitCode> {
    let target = Target::parse(&args.url)?;
    let headers = parse_headers(
        &args.app_id,
        args.master_key.as_deref(),
        args.rest_key.as_deref(),
    )?;
    let timeout = Duration::from_secs(args.timeout);
    let clients = (0..args.connections)
        .map(|_| worker_client(&headers, timeout))
        .collect::<Result<Vec<_>>>()?;
    // Clients that act as a user: the app's keys and a session token, never the master key.
    let user_headers = parse_headers(&args.app_id, None, args.rest_key.as_deref())?;
    let user_clients = (0..args.connections)
        .map(|_| worker_client(&user_headers, timeout))
        .collect::<Result<Vec<_>>>()?;
    let scenario = args.scenario;

    eprintln!(
        "loadgen: {} against {}, {} connections{}, {} s warm-up + {} s measured",
        scenario.name(),
        target.base(),
        args.connections,
        args.rate
            .map(|rate| format!(" sending {rate} requests/s"))
            .unwrap_or_default(),
        args.warmup,
        args.duration
    );

    let setup_started = Instant::now();
    let prepared = tokio::time::timeout(
        SETUP_LIMIT,
        scenario::setup(scenario, &target, &clients, user_clients),
    )
    .await
    .with_context(|| format!("setup did not finish within {SETUP_LIMIT:?}"))?
    .context("setup failed")?;
    eprintln!(
        "loadgen: setup done in {:.1} s",
        setup_started.elapsed().as_secs_f64()
    );

    let prepared = Arc::new(prepared);
    let stats = runner::run(
        Arc::clone(&prepared),
        &clients,
        Duration::from_secs(args.warmup),
        Duration::from_secs(args.duration),
        timeout,
        args.rate,
    )
    .await?;

    let check = match clients.first() {
        Some(client) => tokio::time::timeout(
            SETUP_LIMIT,
            prepared.verify(client, stats.ok_all, stats.transport_all),
        )
        .await
        .context("end-of-run check did not finish in time")?
        .context("end-of-run check failed")?,
        None => None,
    };

    let summary = Summary {
        scenario: prepared.scenario().name(),
        connections: args.connections,
        rate: args.rate,
        duration_secs: args.duration,
        warmup_secs: args.warmup,
        stats,
        check,
    };

    for line in summary.details() {
        eprintln!("loadgen: {line}");
    }
    if args.json {
        println!("{}", summary.to_json());
    } else {
        if !args.no_header {
            println!("{}", Summary::markdown_header());
        }
        println!("{}", summary.markdown_row());
    }

    let failures = summary.failures();
    if failures.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        for reason in failures {
            eprintln!("loadgen: FAILED: {reason}");
        }
        Ok(ExitCode::FAILURE)
    }
}
