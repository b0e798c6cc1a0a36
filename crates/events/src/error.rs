//! The event log's error type.

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("event log storage failed: {0}")]
    Storage(#[from] sqlx::Error),
    #[error("event could not be encoded or decoded: {0}")]
    Codec(#[from] serde_json::Error),
    #[error("Kafka: {0}")]
    Kafka(String),
    #[error("partition {partition} has no event at position {missing}, yet has one at {found}")]
    Gap {
        partition: u32,
        missing: u64,
        found: u64,
    },
    #[error("the event log is shut down")]
    Closed,
}
