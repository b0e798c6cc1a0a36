//! The read routes: get an object, find objects (with count), health. Served by query-api
//! processes and linked into command-api, because the JS SDK tunnels reads through POST.
//!
//! A find runs in three steps: resolve what the read model cannot evaluate alone (`resolve`),
//! read the page from the read model, then replace included pointers (`include`).

mod analytics;
mod config;
mod downloads;
mod include;
mod permissions;
mod resolve;
mod schemas;
mod sessions;

use std::sync::Arc;

use api::{ApiError, Handler, ParseRequest, ParseResponse, RequestContext, Route};
use async_trait::async_trait;
use files::FileStore;
use model::query::{check_get_params, Filter, Query};
use model::{code, ClassSchema, FieldType, Map, Object, ParseError};
use readmodel::{ReadStore, StoreError};
use serde_json::{json, Value};

pub struct QueryApi {
    store: Arc<dyn ReadStore>,
    files: Arc<dyn FileStore>,
    sessions: Arc<sessions::SessionCache>,
}

/// A store failure as the client sees it: a query the store refuses is the client's mistake
/// (102); anything else is ours.
pub(crate) fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Refused(msg) => ParseError::invalid_query(msg).into(),
        other => ApiError::internal(other),
    }
}

impl QueryApi {
    /// A query API over `store`; it follows the store's session announcements, so it must be
    /// made inside the runtime.
    pub fn new(store: Arc<dyn ReadStore>, files: Arc<dyn FileStore>) -> Self {
        let sessions = Arc::new(sessions::SessionCache::default());
        sessions.follow(store.as_ref());
        QueryApi {
            store,
            files,
            sessions,
        }
    }

    pub fn store(&self) -> &Arc<dyn ReadStore> {
        &self.store
    }

    pub fn files(&self) -> &Arc<dyn FileStore> {
        &self.files
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
            .map_err(store_error)?;
        // A system class clients write exists before its first object, as in Parse Server.
        let builtin = model::names::WRITABLE_SYSTEM_CLASSES.contains(&class);
        if schema.is_none()
            && !builtin
            && !ctx.auth.is_master()
            && !ctx.app.allow_client_class_creation
        {
            return Err(ParseError::new(
                code::OPERATION_FORBIDDEN,
                format!("This user is not allowed to access non-existent class: {class}"),
            )
            .into());
        }
        Ok(schema)
    }

    /// The class a query runs on: with `redirectClassNameForKey`, the target class of that
    /// Relation field of `class` (when it is one).
    async fn target_class(
        &self,
        ctx: &RequestContext,
        class: &str,
        query: &Query,
    ) -> Result<Option<String>, ApiError> {
        let Some(key) = &query.redirect_class_name_for_key else {
            return Ok(None);
        };
        let schema = self
            .store
            .schema(&ctx.app.app_id, class)
            .await
            .map_err(store_error)?;
        Ok(match schema.as_ref().and_then(|s| s.field_type(key)) {
            Some(FieldType::Relation(target)) => Some(target.clone()),
            _ => None,
        })
    }

    /// Prepares `query` on `class` for the read model: the class it really runs on (another one
    /// with `redirectClassNameForKey`), that class's schema (`None`: it has no objects), and the
    /// query with sub-queries and relations resolved (each sub-query runs here, once).
    pub(crate) async fn prepare(
        &self,
        ctx: &RequestContext,
        class: &str,
        mut query: Query,
    ) -> Result<(String, Option<ClassSchema>, Query), ApiError> {
        let class = self
            .target_class(ctx, class, &query)
            .await?
            .unwrap_or_else(|| class.to_string());
        let schema = self.schema_for(ctx, &class).await?;
        // `count=1&limit=0` is a count only; anything else is a find (or a get by id).
        let op = if query.count && query.limit == 0 {
            model::clp::Op::Count
        } else {
            permissions::query_op(&query.filter)
        };
        let constraint = permissions::decide(ctx, schema.as_ref(), &class, op)?;
        if schema.is_some() {
            let filter = std::mem::replace(&mut query.filter, Filter::And(vec![]));
            query.filter = permissions::narrowed(
                self.resolve(ctx, schema.as_ref(), filter).await?,
                constraint,
            );
        }
        // The store only returns what the caller's ACL entries may read.
        query.readers = ctx.auth.readers();
        Ok((class, schema, query))
    }

    /// The page of objects a prepared query finds.
    pub(crate) async fn find_prepared(
        &self,
        ctx: &RequestContext,
        class: &str,
        schema: Option<&ClassSchema>,
        query: &Query,
    ) -> Result<Vec<Object>, ApiError> {
        if schema.is_none() || query.limit == 0 {
            return Ok(vec![]);
        }
        self.store
            .find(&ctx.app.app_id, class, query)
            .await
            .map_err(store_error)
    }

    async fn get(
        &self,
        req: &ParseRequest,
        class: &str,
        id: &str,
    ) -> Result<ParseResponse, ApiError> {
        check_get_params(&req.params)?;
        model::names::check_client_access(class, "get", req.ctx.auth.is_master())?;
        let query = Query::from_params(&req.params, None, &chrono::Utc::now())?;
        let schema = self.schema_for(&req.ctx, class).await?;
        let constraint =
            permissions::decide(&req.ctx, schema.as_ref(), class, model::clp::Op::Get)?;
        let object = self
            .store
            .get(&req.ctx.app.app_id, class, id)
            .await
            .map_err(store_error)?
            .filter(|o| req.ctx.auth.may(o.get("ACL"), "read"))
            .filter(|o| constraint.as_ref().is_none_or(|c| c.matches(&o.fields)))
            .ok_or_else(ParseError::not_found)?;
        let mut results = [render(&req.ctx, schema.as_ref(), object, &query)];
        self.include(&req.ctx, class, &query, &mut results).await?;
        let [object] = results;
        Ok(ParseResponse::ok(Value::Object(object)))
    }

    async fn find(&self, req: &ParseRequest, class: &str) -> Result<ParseResponse, ApiError> {
        let ctx = &req.ctx;
        model::names::check_client_access(class, "find", ctx.auth.is_master())?;
        let query = Query::from_params(&req.params, ctx.app.max_limit, &chrono::Utc::now())?;
        let (target, schema, query) = self.prepare(ctx, class, query).await?;
        permissions::check_where(ctx, schema.as_ref(), &target, &req.params)?;
        if query.count && query.limit > 0 {
            permissions::decide(ctx, schema.as_ref(), &target, model::clp::Op::Count)?;
        }
        let found = self
            .find_prepared(ctx, &target, schema.as_ref(), &query)
            .await?;
        let mut results: Vec<Map> = found
            .into_iter()
            .map(|o| render(ctx, schema.as_ref(), o, &query))
            .collect();
        self.include(ctx, &target, &query, &mut results).await?;
        if target != class {
            for r in &mut results {
                r.insert("className".into(), Value::String(target.clone()));
            }
        }
        let mut body = json!({"results": results});
        if query.count {
            let count = match schema {
                Some(_) => self
                    .store
                    .count(&ctx.app.app_id, &target, &query)
                    .await
                    .map_err(store_error)?,
                None => 0,
            };
            body["count"] = json!(count);
        }
        Ok(ParseResponse::ok(body))
    }
}

/// `GET /serverInfo` (master key): Parse Server's feature list, saying what this server has.
/// The Parse Dashboard reads it to decide what to offer.
fn server_info(req: &ParseRequest) -> Result<ParseResponse, ApiError> {
    req.ctx.auth.require_master()?;
    let crud = |on: bool| json!({"create": on, "read": on, "update": on, "delete": on});
    Ok(ParseResponse::ok(json!({
        "features": {
            "globalConfig": crud(true),
            "hooks": crud(false),
            "cloudCode": {"jobs": false},
            "logs": {"level": false, "size": false, "order": false, "until": false, "from": false},
            "push": {
                "immediatePush": false,
                "scheduledPush": false,
                "storedPushData": false,
                "pushAudiences": false,
                "localization": false
            },
            "schemas": {
                "addField": true,
                "removeField": true,
                "addClass": true,
                "removeClass": true,
                "clearAllDataFromClass": true,
                "exportClass": false,
                "editClassLevelPermissions": true,
                "editPointerPermissions": false
            },
            "settings": {"securityCheck": false}
        },
        "parseServerVersion": env!("CARGO_PKG_VERSION"),
        "server": "chronicle"
    })))
}

/// An object as the API shows it: relation fields from the schema, the URL of every file
/// (computed on each read, as Parse Server does: only the name is the file's identity),
/// `keys`/`excludeKeys` applied.
pub fn render(
    ctx: &RequestContext,
    schema: Option<&ClassSchema>,
    object: Object,
    query: &Query,
) -> Map {
    let mut fields = object.fields;
    if let Some(schema) = schema {
        if schema.class_name == model::user::USER_CLASS {
            let own = ctx.auth.is_master()
                || ctx.auth.user_id() == fields.get("objectId").and_then(Value::as_str);
            model::user::present_user(&mut fields, own);
        }
        for (field, target) in schema.relation_fields() {
            fields.insert(
                field.clone(),
                json!({"__type": "Relation", "className": target}),
            );
        }
    }
    model::user::strip_internal(&mut fields);
    permissions::hide_protected(ctx, schema, &mut fields);
    for value in fields.values_mut() {
        match value {
            Value::Array(items) => items.iter_mut().for_each(|v| fill_file_url(ctx, v)),
            v => fill_file_url(ctx, v),
        }
    }
    query.project(&mut fields);
    fields
}

fn fill_file_url(ctx: &RequestContext, value: &mut Value) {
    let Value::Object(m) = value else { return };
    if m.get("__type").and_then(Value::as_str) != Some("File") {
        return;
    }
    if let Some(name) = m.get("name").and_then(Value::as_str) {
        let url = ctx.file_url(name);
        m.insert("url".into(), Value::String(url));
    }
}

#[async_trait]
impl Handler for QueryApi {
    async fn handle(&self, mut req: ParseRequest) -> Result<ParseResponse, ApiError> {
        if !req.route.is_keyless() {
            self.authenticate(&mut req).await?;
        }
        match &req.route {
            Route::Health => Ok(ParseResponse::ok(json!({"status": "ok"}))),
            Route::Get { class, object_id } => self.get(&req, class, object_id).await,
            Route::Find { class } => self.find(&req, class).await,
            Route::GetConfig => self.get_config(&req).await,
            Route::GetTracked { name } => self.get_tracked(&req, name).await,
            Route::ServerInfo => server_info(&req),
            Route::GetSchemas => self.get_schemas(&req).await,
            Route::GetSchema { class } => self.get_schema(&req, class).await,
            Route::GetFile { app_id, name } => self.download(&req, app_id, name).await,
            Route::FileMetadata { app_id, name } => self.file_metadata(&req, app_id, name).await,
            other => Err(ApiError::NoRoute(format!(
                "{} {other:?} on a read-only server",
                req.method
            ))),
        }
    }
}
