//! The schema API's reads (master key): `GET /schemas` and `GET /schemas/<class>`, in Parse
//! Server's shape (`className`, `fields` with their types, `classLevelPermissions`). Classes
//! that exist only for the server's own bookkeeping (`_GlobalConfig`, …) are not listed.

use api::{ApiError, ParseRequest, ParseResponse, RequestContext};
use model::names::MASTER_ONLY_CLASSES;
use model::{code, ClassSchema, ParseError};
use serde_json::{json, Value};

use crate::{store_error, QueryApi};

impl QueryApi {
    pub(crate) async fn get_schemas(&self, req: &ParseRequest) -> Result<ParseResponse, ApiError> {
        req.ctx.auth.require_master()?;
        let schemas = self
            .store()
            .schemas(&req.ctx.app.app_id)
            .await
            .map_err(store_error)?;
        let results: Vec<Value> = schemas
            .iter()
            .filter(|s| !MASTER_ONLY_CLASSES.contains(&s.class_name.as_str()))
            .map(|s| s.to_json())
            .collect();
        Ok(ParseResponse::ok(json!({"results": results})))
    }

    pub(crate) async fn get_schema(
        &self,
        req: &ParseRequest,
        class: &str,
    ) -> Result<ParseResponse, ApiError> {
        req.ctx.auth.require_master()?;
        if MASTER_ONLY_CLASSES.contains(&class) {
            return Err(no_such_class(class));
        }
        Ok(ParseResponse::ok(
            self.existing_schema(&req.ctx, class).await?.to_json(),
        ))
    }

    /// The schema of a class the schema API can name: 103 when it does not exist.
    pub async fn existing_schema(
        &self,
        ctx: &RequestContext,
        class: &str,
    ) -> Result<ClassSchema, ApiError> {
        self.store()
            .schema(&ctx.app.app_id, class)
            .await
            .map_err(store_error)?
            .ok_or_else(|| no_such_class(class))
    }
}

fn no_such_class(class: &str) -> ApiError {
    ParseError::new(
        code::INVALID_CLASS_NAME,
        format!("Class {class} does not exist."),
    )
    .into()
}
