//! `DELETE /purge/<class>` (master key): deletes every object of a class and keeps its schema,
//! as one `class.purged` event.

use api::{ApiError, ParseRequest, ParseResponse};
use events::Event;
use model::{code, ParseError};
use serde_json::json;

use crate::submit::origin;
use crate::CommandApi;

impl CommandApi {
    pub(crate) async fn purge(
        &self,
        req: &ParseRequest,
        class: &str,
    ) -> Result<ParseResponse, ApiError> {
        if !req.ctx.auth.is_master() {
            return Err(ApiError::MasterKeyRequired);
        }
        let schema = self
            .reads
            .store()
            .schema(&req.ctx.app.app_id, class)
            .await
            .map_err(ApiError::internal)?;
        if schema.is_none() {
            return Err(ParseError::new(
                code::INVALID_CLASS_NAME,
                format!("Class {class} does not exist."),
            )
            .into());
        }
        let event = Event::purge(origin(&req.ctx), class);
        self.append_and_wait(&req.ctx, vec![event]).await?;
        Ok(ParseResponse::ok(json!({})))
    }
}
