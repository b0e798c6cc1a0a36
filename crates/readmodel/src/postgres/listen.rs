//! Listeners on the read model's notifications. Outcomes: a command-api process `LISTEN`s on
//! the outcome channel; a notification carries a commit's outcomes (or, when they are too
//! many for one, says to fetch those of the events still waiting); a slow poll covers
//! notifications lost while the listener reconnected. Schemas:
//! every process that caches class schemas drops an entry when its change is announced, and
//! all of them when the connection was lost.

use std::sync::Arc;
use std::time::Duration;

use model::outcome::Outcome;
use serde_json::Value;
use sqlx::postgres::PgListener;
use uuid::Uuid;

use super::{ident, PgStore};
use crate::{AuthChange, Outcomes, StoreError};

/// How often waiting events are looked up even without a notification.
const POLL: Duration = Duration::from_millis(250);

/// A listener on a connection of its own: a listener holds its connection for the life of the
/// process, and taking it from the store's pool would leave that many fewer for queries (the
/// pool is sized to what PostgreSQL's cores can serve).
async fn dedicated_listener(store: &PgStore) -> Result<PgListener, StoreError> {
    let options = (*store.pool().connect_options()).clone();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_with(options)
        .await?;
    Ok(PgListener::connect_with(&pool).await?)
}

async fn deliver(store: &PgStore, outcomes: &Outcomes) -> Result<(), StoreError> {
    let pending = outcomes.pending();
    if pending.is_empty() {
        return Ok(());
    }
    let rows: Vec<(Uuid, Value)> = sqlx::query_as(&format!(
        "SELECT event_id, outcome FROM {}.outcomes WHERE event_id = ANY($1)",
        ident(store.root())
    ))
    // Not prepared: the outcomes table starts empty too (see `PgStore::get_many`).
    .persistent(false)
    .bind(&pending)
    .fetch_all(store.pool())
    .await?;
    for (id, outcome) in rows {
        match serde_json::from_value::<Outcome>(outcome) {
            Ok(o) => outcomes.publish(id, o),
            Err(e) => tracing::error!(%id, error = %e, "unreadable outcome"),
        }
    }
    Ok(())
}

/// Feeds `outcomes` from the store's outcome notifications until the process ends.
pub async fn spawn_outcome_listener(
    store: Arc<PgStore>,
    outcomes: Arc<Outcomes>,
) -> Result<(), StoreError> {
    let mut listener = dedicated_listener(&store).await?;
    listener.listen(&store.outcome_channel()).await?;
    tokio::spawn(async move {
        let mut polled = std::time::Instant::now();
        loop {
            // Whether to look the waiting events up now: the notification did not carry the
            // outcomes, or some may have been missed.
            let fetch = match tokio::time::timeout(POLL, listener.try_recv()).await {
                Ok(Ok(Some(n))) if n.payload().starts_with('[') => {
                    match serde_json::from_str::<Vec<(Uuid, Outcome)>>(n.payload()) {
                        Ok(carried) => {
                            for (id, outcome) in carried {
                                outcomes.publish(id, outcome);
                            }
                            false
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "unreadable outcome notification");
                            true
                        }
                    }
                }
                Ok(Ok(_)) | Err(_) => true,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "outcome listener lost its connection; polling");
                    tokio::time::sleep(POLL).await;
                    true
                }
            };
            if !fetch && polled.elapsed() < POLL {
                continue;
            }
            polled = std::time::Instant::now();
            if let Err(e) = deliver(&store, &outcomes).await {
                tracing::warn!(error = %e, "cannot fetch outcomes");
            }
        }
    });
    Ok(())
}

/// "Anything may have changed": what session caches hear after a lost connection.
fn everything() -> AuthChange {
    AuthChange {
        app: String::new(),
        class: String::new(),
        object_id: None,
    }
}

/// Reads an auth announcement (`<app>\n<class>[\n<objectId>]`).
fn auth_change(payload: &str) -> AuthChange {
    let mut parts = payload.splitn(3, '\n');
    match (parts.next(), parts.next()) {
        (Some(app), Some(class)) => AuthChange {
            app: app.to_string(),
            class: class.to_string(),
            object_id: parts.next().map(str::to_string),
        },
        _ => everything(),
    }
}

/// Keeps `store`'s schema cache honest: entries go when a change is announced; everything goes
/// when the connection drops (notifications may have been missed meanwhile). Passes session,
/// user and role announcements on to the process's session caches the same way.
pub async fn spawn_schema_listener(store: Arc<PgStore>) -> Result<(), StoreError> {
    let mut listener = dedicated_listener(&store).await?;
    let auth_channel = store.auth_channel();
    listener
        .listen_all([store.schema_channel().as_str(), auth_channel.as_str()])
        .await?;
    store
        .schema_listening
        .store(true, std::sync::atomic::Ordering::Release);
    tokio::spawn(async move {
        loop {
            match listener.try_recv().await {
                Ok(Some(n)) if n.channel() == auth_channel => {
                    store.announce(auth_change(n.payload()))
                }
                Ok(Some(n)) => match n.payload().split_once('\n') {
                    Some((app, class)) => store.forget_schema(Some((app, class))),
                    None => store.forget_schema(None),
                },
                Ok(None) => {
                    tracing::warn!(
                        "schema listener reconnected; schema and session caches cleared"
                    );
                    store.forget_schema(None);
                    store.announce(everything());
                }
                Err(e) => {
                    tracing::warn!(error = %e, "schema listener failed; schema and session caches cleared");
                    store.forget_schema(None);
                    store.announce(everything());
                    tokio::time::sleep(POLL).await;
                }
            }
        }
    });
    Ok(())
}
