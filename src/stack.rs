//! Wiring: which event log and read model the options select, the projectors that connect
//! them, the outcome listener, and the HTTP listeners with graceful shutdown.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use api::AppConfig;
use axum::serve::ListenerExt;
use events::{EventLog, KafkaLog, SqliteLog};
use files::{DiskFileStore, FileStore, PgFileStore};
use projector::Projector;
use readmodel::postgres::{spawn_outcome_listener, spawn_schema_listener, PgStore};
use readmodel::{MemoryStore, Outcomes, ProjectionStore, ReadStore};
use tokio::task::JoinSet;

use crate::config::StackArgs;

pub struct Stack {
    log: Option<Arc<dyn EventLog>>,
    pub reads: Arc<dyn ReadStore>,
    /// Where uploaded files' bytes live.
    pub files: Arc<dyn FileStore>,
    projection: Arc<dyn ProjectionStore>,
    pg: Option<Arc<PgStore>>,
    database_uri: Option<String>,
    pub outcomes: Arc<Outcomes>,
}

/// What a process does with the event log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogUse {
    /// Nothing (the query-api).
    None,
    /// Appends, or reads, not both (command-api, projector, replay).
    Apart,
    /// Appends and projects what it appends (`serve`): on Kafka its projector takes this
    /// process's events from the producer's acknowledgements (the handoff).
    Both,
}

async fn open_log(args: &StackArgs, using: LogUse) -> anyhow::Result<Arc<dyn EventLog>> {
    Ok(match args.kafka()? {
        Some(mut kafka) => Arc::new(
            KafkaLog::connect({
                kafka.handoff = using == LogUse::Both;
                kafka
            })
            .await
            .context("cannot reach the Kafka event log")?,
        ),
        None => {
            std::fs::create_dir_all(&args.data_dir)?;
            let path = args.data_dir.join("events.sqlite");
            tracing::info!(log = %path.display(), "event log on SQLite");
            Arc::new(
                SqliteLog::open(&path)
                    .await
                    .context("cannot open the event log")?,
            )
        }
    })
}

impl Stack {
    pub async fn open(args: &StackArgs, using: LogUse) -> anyhow::Result<Stack> {
        let log = match using {
            LogUse::None => None,
            _ => Some(open_log(args, using).await?),
        };
        let (reads, projection, pg): (Arc<dyn ReadStore>, Arc<dyn ProjectionStore>, _) =
            match &args.database_uri {
                Some(url) => {
                    let pg = Arc::new(
                        PgStore::connect(url, &args.read_model_schema, args.database_pool_size)
                            .await
                            .context("cannot reach the PostgreSQL read model")?,
                    );
                    spawn_schema_listener(pg.clone()).await?;
                    (pg.clone(), pg.clone(), Some(pg))
                }
                None => {
                    let memory = Arc::new(MemoryStore::new());
                    (memory.clone(), memory, None)
                }
            };
        let files: Arc<dyn FileStore> = match (&args.files_directory, &pg) {
            (Some(dir), _) => Arc::new(DiskFileStore::new(dir)),
            (None, Some(pg)) => Arc::new(
                PgFileStore::connect(pg.pool().clone(), &args.read_model_schema)
                    .await
                    .context("cannot prepare file storage in PostgreSQL")?,
            ),
            (None, None) => Arc::new(DiskFileStore::new(args.data_dir.join("files"))),
        };
        Ok(Stack {
            log,
            reads,
            files,
            projection,
            pg,
            database_uri: args.database_uri.clone(),
            outcomes: Arc::new(Outcomes::new()),
        })
    }

    pub fn log(&self) -> anyhow::Result<Arc<dyn EventLog>> {
        self.log.clone().context("this process has no event log")
    }

    pub fn require_distributed(&self) -> anyhow::Result<()> {
        if self.pg.is_none() {
            bail!("this command needs --databaseURI (and --kafkaBrokers for writes)");
        }
        Ok(())
    }

    /// Learns outcomes of this process's events from PostgreSQL (distributed stack).
    pub async fn listen_for_outcomes(&self) -> anyhow::Result<()> {
        if let Some(pg) = &self.pg {
            spawn_outcome_listener(pg.clone(), self.outcomes.clone()).await?;
        }
        Ok(())
    }

    /// Starts projecting every partition. In memory, the read model is rebuilt before this
    /// returns; on PostgreSQL, each partition is taken by whichever projector holds its
    /// advisory lock. `local` also delivers outcomes to requests waiting in this process.
    pub async fn start_projectors(&self, local: bool) -> anyhow::Result<JoinSet<()>> {
        let log = self.log()?;
        let outcomes = local.then(|| self.outcomes.clone());
        let mut set = JoinSet::new();
        match (&self.pg, &self.database_uri) {
            (Some(pg), Some(url)) => {
                if local {
                    self.listen_for_outcomes().await?;
                }
                for partition in log.partitions().await? {
                    let (log, pg, url, outcomes) =
                        (log.clone(), pg.clone(), url.clone(), outcomes.clone());
                    set.spawn(own_partition(log, pg, url, partition, outcomes));
                }
            }
            _ => {
                let mut projector =
                    Projector::new(log.reader(0).await?, self.projection.clone(), outcomes);
                projector
                    .catch_up()
                    .await
                    .context("cannot rebuild the read model")?;
                set.spawn(async move {
                    if let Err(e) = projector.run().await {
                        tracing::error!(error = %e, "projector stopped");
                    }
                });
            }
        }
        Ok(set)
    }
}

/// Projects one partition whenever this process holds its advisory lock. The lock only avoids
/// wasted work: the commit itself refuses a partition another projector has moved.
async fn own_partition(
    log: Arc<dyn EventLog>,
    pg: Arc<PgStore>,
    url: String,
    partition: u32,
    outcomes: Option<Arc<Outcomes>>,
) {
    use sqlx::Connection;
    loop {
        let attempt = async {
            let mut lock = sqlx::PgConnection::connect(&url).await?;
            let held: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext($1), $2)")
                .bind(pg.root())
                .bind(partition as i32)
                .fetch_one(&mut lock)
                .await?;
            if !held {
                return Ok::<bool, anyhow::Error>(false);
            }
            tracing::info!(partition, "projecting partition");
            let mut projector =
                Projector::new(log.reader(partition).await?, pg.clone(), outcomes.clone());
            projector.catch_up().await?;
            projector.run().await?;
            drop(lock);
            Ok(true)
        };
        match attempt.await {
            Ok(false) => tokio::time::sleep(Duration::from_secs(2)).await,
            Ok(true) => {}
            Err(e) => {
                tracing::warn!(partition, error = %e, "projector stopped; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Serves the API until SIGTERM or Ctrl-C; in-flight requests finish first.
pub async fn serve_http(
    router: axum::Router,
    host: &str,
    port: u16,
    app: &AppConfig,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind((host, port))
        .await
        .with_context(|| format!("cannot listen on {host}:{port}"))?;
    let addr = listener.local_addr()?;
    // An answer must leave at once: with Nagle's algorithm a response written in more than one
    // segment can wait for the client's delayed acknowledgement.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY on a connection");
        }
    });
    tracing::info!(%addr, mounts = ?app.mounts(), app_id = %app.app_id, "Chronicle is serving");
    println!(
        "Chronicle listening on http://{addr} (API at {})",
        app.mounts().join(", ")
    );
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

/// A process without an API still answers `GET /health`.
pub async fn serve_health(host: &str, port: u16) -> anyhow::Result<()> {
    let router = axum::Router::new().route(
        "/health",
        axum::routing::get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
    );
    let listener = tokio::net::TcpListener::bind((host, port))
        .await
        .with_context(|| format!("cannot listen on {host}:{port}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "projector health endpoint");
    println!("Chronicle projector health endpoint on http://{addr}/health");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

/// Rebuilds the read model from the log under a fresh schema, with a progress bar.
pub async fn replay(args: &StackArgs, into: &str) -> anyhow::Result<()> {
    let url = args
        .database_uri
        .as_deref()
        .context("replay needs --databaseURI")?;
    let log = open_log(args, LogUse::Apart).await?;
    let store = Arc::new(PgStore::connect(url, into, args.database_pool_size).await?);
    let partitions = log.partitions().await?;
    for p in &partitions {
        if store.position(*p).await? > 0 {
            bail!("schema {into} already holds a read model; replay needs a fresh one");
        }
    }
    // Partitions hold different apps, so they replay side by side: one projector each, with
    // a progress bar each.
    let start = Instant::now();
    let bars = indicatif::MultiProgress::new();
    let style = indicatif::ProgressStyle::with_template(
        "partition {msg} [{bar:40}] {pos}/{len} events ({per_sec}, eta {eta})",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    let mut replays = JoinSet::new();
    for p in partitions {
        let (log, store) = (log.clone(), store.clone());
        let bar = bars.add(indicatif::ProgressBar::new(0).with_style(style.clone()));
        bar.set_message(p.to_string());
        replays.spawn(async move {
            let reader = log.reader(p).await?;
            let mut projector = Projector::new(reader, store, None).without_outcomes();
            let reached = projector
                .catch_up_with(|position, target| {
                    bar.set_length(target);
                    bar.set_position(position);
                })
                .await;
            bar.finish();
            anyhow::Ok(reached?)
        });
    }
    let mut total = 0u64;
    while let Some(reached) = replays.join_next().await {
        total += reached??;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "replayed {total} events into {into} in {secs:.1} s ({:.0} events/s)",
        total as f64 / secs.max(1e-9)
    );
    Ok(())
}

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
