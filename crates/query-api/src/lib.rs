//! The read routes: get an object, find objects (with count), health. Served by query-api
//! processes and linked into command-api, because the JS SDK tunnels reads through POST.

use std::sync::Arc;

use api::{ApiError, Handler, ParseRequest, ParseResponse, RequestContext, Route};
use async_trait::async_trait;
use model::query::{check_get_params, Query};
use model::{code, ClassSchema, Map, Object, ParseError};
use readmodel::ReadStore;
use serde_json::{json, Value};

pub struct QueryApi {
    store: Arc<dyn ReadStore>,
}

impl QueryApi {
    pub fn new(store: Arc<dyn ReadStore>) -> Self {
        QueryApi { store }
    }

    pub fn store(&self) -> &Arc<dyn ReadStore> {
        &self.store
    }

    /// The class's schema; a class nobody has written to exists for the master key only,
    /// unless clients may create classes.
    pub async fn schema_for(
        &self,
        ctx: &RequestContext,
        class: &str,
    ) -> Result<Option<ClassSchema>, ApiError> {
        let schema = self
            .store
            .schema(&ctx.app.app_id, class)
            .await
            .map_err(ApiError::internal)?;
        if schema.is_none() && !ctx.auth.is_master() && !ctx.app.allow_client_class_creation {
            return Err(ParseError::new(
                code::OPERATION_FORBIDDEN,
                format!("This user is not allowed to access non-existent class: {class}"),
            )
            .into());
        }
        Ok(schema)
    }

    async fn get(
        &self,
        req: &ParseRequest,
        class: &str,
        id: &str,
    ) -> Result<ParseResponse, ApiError> {
        check_get_params(&req.params)?;
        let query = Query::from_params(&req.params, None)?;
        let schema = self.schema_for(&req.ctx, class).await?;
        let object = self
            .store
            .get(&req.ctx.app.app_id, class, id)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(ParseError::not_found)?;
        Ok(ParseResponse::ok(Value::Object(render(
            schema.as_ref(),
            object,
            &query,
        ))))
    }

    async fn find(&self, req: &ParseRequest, class: &str) -> Result<ParseResponse, ApiError> {
        let query = Query::from_params(&req.params, req.ctx.app.max_limit)?;
        let Some(schema) = self.schema_for(&req.ctx, class).await? else {
            let mut body = json!({"results": []});
            if query.count {
                body["count"] = json!(0);
            }
            return Ok(ParseResponse::ok(body));
        };
        let app = &req.ctx.app.app_id;
        let found = if query.limit == 0 {
            vec![]
        } else {
            self.store
                .find(app, class, &query)
                .await
                .map_err(ApiError::internal)?
        };
        let results: Vec<Value> = found
            .into_iter()
            .map(|o| Value::Object(render(Some(&schema), o, &query)))
            .collect();
        let mut body = json!({"results": results});
        if query.count {
            body["count"] = json!(self
                .store
                .count(app, class, &query)
                .await
                .map_err(ApiError::internal)?);
        }
        Ok(ParseResponse::ok(body))
    }
}

/// An object as the API shows it: relation fields from the schema, `keys`/`excludeKeys` applied.
pub fn render(schema: Option<&ClassSchema>, object: Object, query: &Query) -> Map {
    let mut fields = object.fields;
    if let Some(schema) = schema {
        for (field, target) in schema.relation_fields() {
            fields.insert(
                field.clone(),
                json!({"__type": "Relation", "className": target}),
            );
        }
    }
    query.project(&mut fields);
    fields
}

#[async_trait]
impl Handler for QueryApi {
    async fn handle(&self, req: ParseRequest) -> Result<ParseResponse, ApiError> {
        match &req.route {
            Route::Health => Ok(ParseResponse::ok(json!({"status": "ok"}))),
            Route::Get { class, object_id } => self.get(&req, class, object_id).await,
            Route::Find { class } => self.find(&req, class).await,
            other => Err(ApiError::NoRoute(format!(
                "{} {other:?} on a read-only server",
                req.method
            ))),
        }
    }
}
