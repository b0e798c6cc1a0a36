//! The embedded event log: a SQLite file in WAL mode with `synchronous=FULL`, so a commit is on
//! disk before `append` returns. One writer task owns the write connection and commits every
//! append that queued up while the previous commit was syncing in one transaction (group
//! commit): concurrent writers share fsyncs instead of paying one each.

use std::path::Path;
use std::str::FromStr;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, Row, SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot, watch};

use crate::{Event, EventLog, LogError, PartitionReader, StoredEvent};

/// The most appends one group commit takes; more wait for the next one.
const MAX_GROUP: usize = 2048;

struct AppendRequest {
    events: Vec<Event>,
    reply: oneshot::Sender<Result<Vec<u64>, LogError>>,
}

pub struct SqliteLog {
    appends: mpsc::Sender<AppendRequest>,
    readers: SqlitePool,
    head: watch::Receiver<u64>,
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS events (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    app TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL
)";

impl SqliteLog {
    /// Opens (or creates) the log at `path`.
    pub async fn open(path: &Path) -> Result<SqliteLog, LogError> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full);
        let mut writer = SqliteConnection::connect_with(&options).await?;
        sqlx::query(SCHEMA).execute(&mut writer).await?;
        let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) FROM events")
            .fetch_one(&mut writer)
            .await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await?;
        let (head_tx, head) = watch::channel(last as u64);
        let (appends, rx) = mpsc::channel(4096);
        tokio::spawn(write_loop(writer, rx, head_tx));
        Ok(SqliteLog {
            appends,
            readers,
            head,
        })
    }
}

async fn write_loop(
    mut conn: SqliteConnection,
    mut rx: mpsc::Receiver<AppendRequest>,
    head: watch::Sender<u64>,
) {
    let mut group = Vec::new();
    while rx.recv_many(&mut group, MAX_GROUP).await > 0 {
        let span = tracing::debug_span!("group_commit", appends = group.len());
        let _enter = span.enter();
        match commit_group(&mut conn, &group).await {
            Ok(positions) => {
                if let Some(last) = positions.iter().flatten().last() {
                    head.send_replace(*last);
                }
                for (req, pos) in group.drain(..).zip(positions) {
                    let _ = req.reply.send(Ok(pos));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "event log commit failed");
                let msg = e.to_string();
                for req in group.drain(..) {
                    let _ = req
                        .reply
                        .send(Err(LogError::Storage(sqlx::Error::Protocol(msg.clone()))));
                }
            }
        }
    }
    tracing::info!("event log writer stopped");
}

async fn commit_group(
    conn: &mut SqliteConnection,
    group: &[AppendRequest],
) -> Result<Vec<Vec<u64>>, LogError> {
    let mut tx = conn.begin().await?;
    let mut out = Vec::with_capacity(group.len());
    for req in group {
        let mut positions = Vec::with_capacity(req.events.len());
        for event in &req.events {
            let body = serde_json::to_string(event)?;
            let done = sqlx::query("INSERT INTO events (app, kind, body) VALUES (?, ?, ?)")
                .bind(&event.app)
                .bind(event.kind.as_str())
                .bind(body)
                .execute(&mut *tx)
                .await?;
            positions.push(done.last_insert_rowid() as u64);
        }
        out.push(positions);
    }
    tx.commit().await?;
    Ok(out)
}

impl SqliteLog {
    /// Appends and returns the events' positions.
    pub async fn append_positions(&self, events: Vec<Event>) -> Result<Vec<u64>, LogError> {
        if events.is_empty() {
            return Ok(vec![]);
        }
        let (reply, rx) = oneshot::channel();
        self.appends
            .send(AppendRequest { events, reply })
            .await
            .map_err(|_| LogError::Closed)?;
        rx.await.map_err(|_| LogError::Closed)?
    }

    /// Up to `max` events at positions `>= from`, in order.
    pub async fn read(&self, from: u64, max: usize) -> Result<Vec<StoredEvent>, LogError> {
        read(&self.readers, from, max).await
    }
}

async fn read(pool: &SqlitePool, from: u64, max: usize) -> Result<Vec<StoredEvent>, LogError> {
    let rows = sqlx::query(
        "SELECT position, body FROM events WHERE position >= ? ORDER BY position LIMIT ?",
    )
    .bind(from as i64)
    .bind(max as i64)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let position: i64 = row.try_get("position")?;
            let body: String = row.try_get("body")?;
            Ok(StoredEvent {
                position: position as u64,
                event: serde_json::from_str(&body)?,
                local: false,
            })
        })
        .collect()
}

#[async_trait]
impl EventLog for SqliteLog {
    async fn append(&self, events: Vec<Event>) -> Result<(), LogError> {
        self.append_positions(events).await.map(|_| ())
    }

    async fn partitions(&self) -> Result<Vec<u32>, LogError> {
        Ok(vec![0])
    }

    async fn reader(&self, _partition: u32) -> Result<Box<dyn PartitionReader>, LogError> {
        Ok(Box::new(SqliteReader {
            pool: self.readers.clone(),
            head: self.head.clone(),
        }))
    }
}

/// Reads the single partition of the SQLite log, woken by the writer's head position.
struct SqliteReader {
    pool: SqlitePool,
    head: watch::Receiver<u64>,
}

#[async_trait]
impl PartitionReader for SqliteReader {
    fn partition(&self) -> u32 {
        0
    }

    async fn end(&mut self) -> Result<u64, LogError> {
        Ok(*self.head.borrow())
    }

    async fn next_batch(&mut self, from: u64, max: usize) -> Result<Vec<StoredEvent>, LogError> {
        loop {
            if *self.head.borrow_and_update() >= from {
                let batch = read(&self.pool, from, max).await?;
                if !batch.is_empty() {
                    return Ok(batch);
                }
            }
            self.head.changed().await.map_err(|_| LogError::Closed)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Actor, Origin, Write, WriteKind};
    use std::sync::Arc;

    fn event(n: usize) -> Event {
        let origin = Origin {
            app: "a".into(),
            at: "2024-01-01T00:00:00.000Z".into(),
            actor: Actor::public(),
            request_id: None,
        };
        Event::object(
            origin,
            Write {
                kind: WriteKind::Delete,
                class: "C".into(),
                object_id: format!("o{n}"),
                ops: Default::default(),
                internal: Default::default(),
            },
        )
    }

    #[tokio::test]
    async fn appends_are_ordered_durable_and_followable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.sqlite");
        let log = Arc::new(SqliteLog::open(&path).await.unwrap());
        let mut tasks = Vec::new();
        for n in 0..50 {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                log.append_positions(vec![event(n), event(n + 1000)])
                    .await
                    .unwrap()
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            let p = t.await.unwrap();
            assert_eq!(p[1], p[0] + 1, "one append's events are contiguous");
            all.extend(p);
        }
        all.sort();
        assert_eq!(all, (1..=100).collect::<Vec<u64>>());
        let mut reader = log.reader(0).await.unwrap();
        assert_eq!(reader.end().await.unwrap(), 100);
        let batch = reader.next_batch(99, 10).await.unwrap();
        assert_eq!(
            batch.iter().map(|e| e.position).collect::<Vec<_>>(),
            vec![99, 100]
        );

        // A follower waiting at the tail wakes on the next append.
        let follower = {
            let log = log.clone();
            tokio::spawn(async move {
                let mut reader = log.reader(0).await.unwrap();
                reader.next_batch(101, 10).await.unwrap()
            })
        };
        log.append(vec![event(7)]).await.unwrap();
        let got = follower.await.unwrap();
        assert_eq!(got[0].position, 101);
        assert_eq!(got[0].event.object_id.as_deref(), Some("o7"));
        drop(log);

        let reopened = SqliteLog::open(&path).await.unwrap();
        assert_eq!(reopened.reader(0).await.unwrap().end().await.unwrap(), 101);
        assert_eq!(reopened.read(1, 1000).await.unwrap().len(), 101);
    }
}
