//! The `chronicle` binary. `chronicle serve` runs everything in one process (embedded by
//! default); `command-api`, `query-api` and `projector` run the distributed stack's pieces
//! alone; `replay` rebuilds a read model from the log.

mod config;
mod stack;

use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use command_api::CommandApi;
use query_api::QueryApi;
use tracing_subscriber::EnvFilter;

use crate::config::{Cli, Command, ProjectorArgs, ReplayArgs, ServeArgs};
use crate::stack::{serve_http, LogUse, Stack};

/// Every request builds and drops many small JSON values; glibc's allocator spent a quarter of
/// the query path's CPU on them (measured with perf), mimalloc a fraction of that.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    match cli
        .command
        .unwrap_or_else(|| Command::Serve(Box::default()))
    {
        Command::Serve(args) => serve(*args).await,
        Command::CommandApi(args) => command_api(*args).await,
        Command::QueryApi(args) => query_api(*args).await,
        Command::Projector(args) => projector(*args).await,
        Command::Replay(args) => replay(*args).await,
    }
}

/// Everything in one process, on whichever stack the options select.
async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let embedded = args.stack.database_uri.is_none() && args.stack.kafka_brokers.is_none();
    if embedded {
        std::fs::create_dir_all(&args.stack.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                args.stack.data_dir.display()
            )
        })?;
    }
    let app = Arc::new(args.app_config(embedded)?);
    let stack = Stack::open(&args.stack, LogUse::Both).await?;
    let mut projectors = stack.start_projectors(true).await?;
    serve_whole_api(&stack, &args, app).await?;
    projectors.abort_all();
    tracing::info!("shut down cleanly");
    Ok(())
}

async fn command_api(args: ServeArgs) -> anyhow::Result<()> {
    let app = Arc::new(args.app_config(false)?);
    let stack = Stack::open(&args.stack, LogUse::Apart).await?;
    stack.require_distributed()?;
    stack.listen_for_outcomes().await?;
    serve_whole_api(&stack, &args, app).await?;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// Writes and reads (the command API with the query API linked in) until shutdown.
async fn serve_whole_api(
    stack: &Stack,
    args: &ServeArgs,
    app: Arc<api::AppConfig>,
) -> anyhow::Result<()> {
    let reads = QueryApi::new(stack.reads.clone(), stack.files.clone());
    let mut command = CommandApi::new(reads, stack.log()?, stack.outcomes.clone())
        .with_auth_providers(args.auth_providers()?);
    if let Some(mailer) = args.app.email_adapter.mailer()? {
        command = command.with_mailer(mailer);
    }
    let handler = Arc::new(command);
    serve_http(
        api::router(app.clone(), handler),
        &args.http.host,
        args.http.port,
        &app,
    )
    .await
}

async fn query_api(args: ServeArgs) -> anyhow::Result<()> {
    let app = Arc::new(args.app_config(false)?);
    let stack = Stack::open(&args.stack, LogUse::None).await?;
    stack.require_distributed()?;
    let handler = Arc::new(QueryApi::new(stack.reads.clone(), stack.files.clone()));
    serve_http(
        api::router(app.clone(), handler),
        &args.http.host,
        args.http.port,
        &app,
    )
    .await?;
    tracing::info!("shut down cleanly");
    Ok(())
}

async fn projector(args: ProjectorArgs) -> anyhow::Result<()> {
    let stack = Stack::open(&args.stack, LogUse::Apart).await?;
    stack.require_distributed()?;
    let mut projectors = stack.start_projectors(false).await?;
    stack::serve_health(&args.host, args.port).await?;
    projectors.abort_all();
    tracing::info!("shut down cleanly");
    Ok(())
}

async fn replay(args: ReplayArgs) -> anyhow::Result<()> {
    stack::replay(&args.stack, &args.into).await
}
