//! `POST /events/<name>` (and `/events/AppOpened`): an analytics event becomes an event in the
//! log like any write; the projector counts it per name, dimensions and hour.

use api::{ApiError, ParseRequest, ParseResponse};
use events::{Event, Tracked};
use model::{time, Map, ParseError};
use serde_json::{json, Value};

use crate::submit::origin;
use crate::CommandApi;

/// Parse keeps the first eight dimension pairs of a call.
const MAX_DIMENSIONS: usize = 8;

/// The event's dimensions (strings, the first eight) and the time the client gives it.
fn tracked(name: &str, body: &Map) -> Result<Tracked, ParseError> {
    let dimensions = match body.get("dimensions") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(d)) => {
            if let Some((k, _)) = d.iter().find(|(_, v)| !v.is_string()) {
                return Err(ParseError::invalid_json(format!(
                    "dimension {k} must be a string"
                )));
            }
            d.iter()
                .take(MAX_DIMENSIONS)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        }
        Some(_) => return Err(ParseError::invalid_json("dimensions must be an object")),
    };
    let at = match body.get("at") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let iso = match v {
                Value::String(s) => Some(s.as_str()),
                Value::Object(m) if m.get("__type") == Some(&json!("Date")) => {
                    m.get("iso").and_then(Value::as_str)
                }
                _ => None,
            };
            let t = iso
                .and_then(time::parse_iso)
                .ok_or_else(|| ParseError::invalid_json(format!("invalid at: {v}")))?;
            Some(time::to_iso(&t))
        }
    };
    Ok(Tracked {
        name: name.to_string(),
        dimensions,
        at,
    })
}

impl CommandApi {
    pub(crate) async fn track(
        &self,
        req: &ParseRequest,
        name: &str,
    ) -> Result<ParseResponse, ApiError> {
        let event = Event::tracked(origin(&req.ctx), tracked(name, &req.body)?);
        self.append_and_wait(&req.ctx, vec![event]).await?;
        Ok(ParseResponse::ok(json!({})))
    }
}
