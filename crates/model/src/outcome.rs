//! Outcomes: what the projector decided for an event, as the waiting request and the outcomes
//! table see it.

use serde::{Deserialize, Serialize};

use crate::{Map, ParseError};

/// What one write of an applied event produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WriteResult {
    pub object_id: String,
    pub created_at: String,
    pub updated_at: String,
    /// Values the operations produced (the new counter, the new array).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub results: Map,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "status")]
pub enum Outcome {
    /// Applied; one result per write, in order.
    Applied { writes: Vec<WriteResult> },
    /// Rejected as a whole; `index` is the write that failed.
    Rejected { index: usize, error: ParseError },
}
