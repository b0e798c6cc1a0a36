//! How a command-api process learns the outcomes of its events in the distributed stack:
//! `LISTEN` on the outcome channel, and on every notification fetch the outcomes of the events
//! still waiting. A slow poll covers notifications lost while the listener reconnected.

use std::sync::Arc;
use std::time::Duration;

use model::outcome::Outcome;
use serde_json::Value;
use sqlx::postgres::PgListener;
use uuid::Uuid;

use super::{ident, PgStore};
use crate::{Outcomes, StoreError};

/// How often waiting events are looked up even without a notification.
const POLL: Duration = Duration::from_millis(250);

async fn deliver(store: &PgStore, outcomes: &Outcomes) -> Result<(), StoreError> {
    let pending = outcomes.pending();
    if pending.is_empty() {
        return Ok(());
    }
    let rows: Vec<(Uuid, Value)> = sqlx::query_as(&format!(
        "SELECT event_id, outcome FROM {}.outcomes WHERE event_id = ANY($1)",
        ident(store.root())
    ))
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
    let mut listener = PgListener::connect_with(store.pool()).await?;
    listener.listen(&store.outcome_channel()).await?;
    tokio::spawn(async move {
        loop {
            match tokio::time::timeout(POLL, listener.try_recv()).await {
                Ok(Ok(_)) | Err(_) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "outcome listener lost its connection; polling");
                    tokio::time::sleep(POLL).await;
                }
            }
            if let Err(e) = deliver(&store, &outcomes).await {
                tracing::warn!(error = %e, "cannot fetch outcomes");
            }
        }
    });
    Ok(())
}
