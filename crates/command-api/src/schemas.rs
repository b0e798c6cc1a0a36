//! The schema API's writes (master key): `POST /schemas[/<class>]` creates a class with fields
//! and class-level permissions, `PUT /schemas/<class>` adds fields or replaces the permissions.
//! Each is one `schema.updated` event; the answer is the class's schema once it is projected.

use api::{ApiError, ParseRequest, ParseResponse};
use events::Event;
use model::outcome::Outcome;
use model::schema_change::SchemaChange;
use model::{code, ParseError};
use serde_json::Value;

use crate::submit::origin;
use crate::CommandApi;

impl CommandApi {
    pub(crate) async fn write_schema(
        &self,
        req: &ParseRequest,
        class: Option<&str>,
        create: bool,
    ) -> Result<ParseResponse, ApiError> {
        req.ctx.auth.require_master()?;
        let class = match class.or_else(|| req.body.get("className").and_then(Value::as_str)) {
            Some(c) => c.to_string(),
            None => {
                return Err(ParseError::new(
                    code::MISSING_REQUIRED_FIELD,
                    "POST /schemas needs a class name.",
                )
                .into())
            }
        };
        let change = SchemaChange::parse(&class, &req.body, create)?;
        let app = &req.ctx.app.app_id;
        let current = self
            .reads
            .store()
            .schema(app, &class)
            .await
            .map_err(ApiError::internal)?;
        // A dry run answers the usual mistakes before anything is logged.
        change.apply(&class, current.as_ref())?;
        let event = Event::schema(origin(&req.ctx), &class, change.to_event());
        let outcomes = self.append_and_wait(&req.ctx, vec![event]).await?;
        if let Some(Outcome::Rejected { error, .. }) = outcomes.into_iter().next() {
            return Err(error.into());
        }
        self.reads.store().schema_changed(app, &class);
        let schema = self.reads.existing_schema(&req.ctx, &class).await?;
        Ok(ParseResponse::ok(schema.to_json()))
    }
}
