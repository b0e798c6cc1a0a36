//! The `chronicle` binary: `chronicle serve` runs the embedded stack (SQLite event log,
//! in-memory read model, projector and the whole API) in one process.

mod config;

use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use command_api::CommandApi;
use events::{EventLog, SqliteLog};
use projector::Projector;
use query_api::QueryApi;
use readmodel::{MemoryStore, Outcomes, ProjectionStore, ReadStore};
use tracing_subscriber::EnvFilter;

use crate::config::{Cli, Command, ServeArgs};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve(Box::default())) {
        Command::Serve(args) => serve(*args).await,
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            args.data_dir.display()
        )
    })?;
    let app = Arc::new(args.app_config()?);

    let log_path = args.data_dir.join("events.sqlite");
    let log: Arc<dyn EventLog> = Arc::new(
        SqliteLog::open(&log_path)
            .await
            .context("cannot open the event log")?,
    );
    let store = Arc::new(MemoryStore::new());
    let outcomes = Arc::new(Outcomes::new());
    let mut projector = Projector::new(
        log.reader(0).await?,
        store.clone() as Arc<dyn ProjectionStore>,
        Some(outcomes.clone()),
    );
    let position = projector
        .catch_up()
        .await
        .context("cannot rebuild the read model")?;
    tracing::info!(position, log = %log_path.display(), "event log open");
    let projector_task = tokio::spawn(async move {
        if let Err(e) = projector.run().await {
            tracing::error!(error = %e, "projector stopped");
        }
    });

    let reads = QueryApi::new(store.clone() as Arc<dyn ReadStore>);
    let handler = Arc::new(CommandApi::new(reads, log, outcomes));
    let router = api::router(app.clone(), handler);

    let listener = tokio::net::TcpListener::bind((args.host.as_str(), args.port))
        .await
        .with_context(|| format!("cannot listen on {}:{}", args.host, args.port))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, mounts = ?app.mounts(), app_id = %app.app_id, "Chronicle is serving");
    println!(
        "Chronicle listening on http://{addr} (API at {})",
        app.mounts().join(", ")
    );

    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    projector_task.abort();
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C; in-flight requests then finish before the process exits.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested");
}
