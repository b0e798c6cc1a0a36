//! `GET /events/<name>` (master key): the hourly counts of an analytics event, by dimensions, as
//! the projector rolled them up.

use api::{ApiError, ParseRequest, ParseResponse};
use serde_json::{json, Value};

use crate::{store_error, QueryApi};

impl QueryApi {
    pub(crate) async fn get_tracked(
        &self,
        req: &ParseRequest,
        name: &str,
    ) -> Result<ParseResponse, ApiError> {
        req.ctx.auth.require_master()?;
        let counts = self
            .store()
            .tracked(&req.ctx.app.app_id, name)
            .await
            .map_err(store_error)?;
        let results: Vec<Value> = counts
            .into_iter()
            .map(|c| json!({"hour": c.hour, "dimensions": c.dimensions, "count": c.count}))
            .collect();
        Ok(ParseResponse::ok(json!({"results": results})))
    }
}
