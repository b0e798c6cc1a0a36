//! `GET /config`: the app's parameters, kept in `_GlobalConfig/1` like Parse Server does, with
//! the master-key-only ones left out for clients.

use api::{ApiError, ParseRequest, ParseResponse};
use model::names::{CONFIG_CLASS, CONFIG_OBJECT_ID};
use model::Map;
use serde_json::{json, Value};

use crate::{store_error, QueryApi};

impl QueryApi {
    pub(crate) async fn get_config(&self, req: &ParseRequest) -> Result<ParseResponse, ApiError> {
        let stored = self
            .store()
            .get(&req.ctx.app.app_id, CONFIG_CLASS, CONFIG_OBJECT_ID)
            .await
            .map_err(store_error)?;
        let Some(stored) = stored else {
            return Ok(ParseResponse::ok(json!({"params": {}})));
        };
        let section = |name: &str| -> Map {
            stored
                .fields
                .get(name)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        let (mut params, mut master_only) = (section("params"), section("masterKeyOnly"));
        if !req.ctx.auth.is_master() {
            let hidden: Vec<String> = master_only
                .iter()
                .filter(|(_, v)| v.as_bool() == Some(true))
                .map(|(k, _)| k.clone())
                .collect();
            for k in hidden {
                params.remove(&k);
                master_only.remove(&k);
            }
        }
        Ok(ParseResponse::ok(
            json!({"params": params, "masterKeyOnly": master_only}),
        ))
    }
}
