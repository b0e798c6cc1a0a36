//! `DELETE /purge/<class>` (master key): deletes every object of a class and keeps its schema,
//! as one `class.purged` event.

use api::{ApiError, ParseRequest, ParseResponse};
use events::Event;
use serde_json::json;

use crate::submit::origin;
use crate::CommandApi;

impl CommandApi {
    pub(crate) async fn purge(
        &self,
        req: &ParseRequest,
        class: &str,
    ) -> Result<ParseResponse, ApiError> {
        req.ctx.auth.require_master()?;
        self.reads.existing_schema(&req.ctx, class).await?;
        let event = Event::purge(origin(&req.ctx), class);
        self.append_and_wait(&req.ctx, vec![event]).await?;
        Ok(ParseResponse::ok(json!({})))
    }
}
