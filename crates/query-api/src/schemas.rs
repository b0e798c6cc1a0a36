//! The schema API's reads (master key): `GET /schemas` and `GET /schemas/<class>`, in Parse
//! Server's shape (`className`, `fields` with their types, `classLevelPermissions`). Classes
//! that exist only for the server's own bookkeeping (`_GlobalConfig`, …) are not listed.

use api::{ApiError, ParseRequest, ParseResponse};
use model::names::MASTER_ONLY_CLASSES;
use model::{code, ParseError};
use serde_json::{json, Value};

use crate::{store_error, QueryApi};

impl QueryApi {
    pub(crate) async fn get_schemas(&self, req: &ParseRequest) -> Result<ParseResponse, ApiError> {
        if !req.ctx.auth.is_master() {
            return Err(ApiError::MasterKeyRequired);
        }
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
        if !req.ctx.auth.is_master() {
            return Err(ApiError::MasterKeyRequired);
        }
        let schema = self
            .store()
            .schema(&req.ctx.app.app_id, class)
            .await
            .map_err(store_error)?
            .filter(|_| !MASTER_ONLY_CLASSES.contains(&class))
            .ok_or_else(|| {
                ParseError::new(
                    code::INVALID_CLASS_NAME,
                    format!("Class {class} does not exist."),
                )
            })?;
        Ok(ParseResponse::ok(schema.to_json()))
    }
}
