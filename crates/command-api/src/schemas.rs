//! The schema API's writes (master key): `POST /schemas[/<class>]` creates a class with fields
//! and class-level permissions, `PUT /schemas/<class>` adds or deletes fields and indexes or
//! replaces the permissions, `DELETE /schemas/<class>` deletes an empty class. Each is one
//! `schema.updated` or `schema.deleted` event, answered once it is projected.

use api::{ApiError, ParseRequest, ParseResponse};
use events::Event;
use model::outcome::Outcome;
use model::query::Query;
use model::schema_change::not_empty;
use model::schema_change::SchemaChange;
use model::{code, ParseError};
use serde_json::{json, Value};

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

    /// Deletes `class` if it has no objects (255 otherwise, decided by the projector at the
    /// event's place in the log); a class that does not exist is deleted already: `{}`.
    pub(crate) async fn delete_schema(
        &self,
        req: &ParseRequest,
        class: &str,
    ) -> Result<ParseResponse, ApiError> {
        req.ctx.auth.require_master()?;
        let app = &req.ctx.app.app_id;
        let store = self.reads.store();
        if store
            .schema(app, class)
            .await
            .map_err(ApiError::internal)?
            .is_none()
        {
            return Ok(ParseResponse::ok(json!({})));
        }
        // The dry run: the usual refusal is answered without logging anything.
        let count = store
            .count(app, class, &Query::default())
            .await
            .map_err(ApiError::internal)?;
        if count > 0 {
            return Err(not_empty(class, count).into());
        }
        let event = Event::schema_deleted(origin(&req.ctx), class);
        let outcomes = self.append_and_wait(&req.ctx, vec![event]).await?;
        if let Some(Outcome::Rejected { error, .. }) = outcomes.into_iter().next() {
            return Err(error.into());
        }
        self.reads.store().schema_changed(app, class);
        Ok(ParseResponse::ok(json!({})))
    }
}
