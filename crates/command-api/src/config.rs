//! `PUT /config` (master key): sets or deletes parameters and their master-key-only flags. The
//! parameters live in the object `_GlobalConfig/1`, so each change is an ordinary object event
//! and the log keeps the config's whole history.

use api::{ApiError, ParseRequest, ParseResponse};
use events::{Write, WriteKind};
use model::names::{CONFIG_CLASS, CONFIG_OBJECT_ID};
use model::write::{self, WriteKind as BodyKind};
use model::{time, ClassSchema, Map, ParseError};
use serde_json::{json, Value};

use crate::objects::{ops_json, Prepared};
use crate::CommandApi;

/// The update `{params: {k: v}, masterKeyOnly: {k: bool}}` means, as dotted-key operations
/// (Parse Server's translation): each parameter set, and its flag set (false unless given).
fn config_ops(body: &Map) -> Result<Map, ApiError> {
    let section = |name: &str| match body.get(name) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(_) => Err(ParseError::invalid_json(format!(
            "{name} must be an object"
        ))),
    };
    let (params, master_only) = (section("params")?, section("masterKeyOnly")?);
    let mut ops = Map::new();
    for (key, value) in params {
        if key.is_empty() || key.contains('.') || key.contains('$') {
            return Err(
                ParseError::invalid_key(format!("Invalid config parameter name: {key}")).into(),
            );
        }
        let flag = master_only
            .get(&key)
            .and_then(Value::as_bool)
            .unwrap_or(false);
        ops.insert(format!("masterKeyOnly.{key}"), json!(flag));
        ops.insert(format!("params.{key}"), value);
    }
    Ok(ops)
}

impl CommandApi {
    pub(crate) async fn update_config(
        &self,
        req: &ParseRequest,
    ) -> Result<ParseResponse, ApiError> {
        req.ctx.auth.require_master()?;
        let body = config_ops(&req.body)?;
        if !body.is_empty() {
            let prepared = self.prepare_config(req, &body).await?;
            let first_write = prepared.write.kind == WriteKind::Create;
            let answer = self.submit_one(req, prepared).await;
            // Only a first write can lose a race (with another first write); then the config
            // exists and the second try is an update.
            if answer.is_err() && first_write {
                let prepared = self.prepare_config(req, &body).await?;
                self.submit_one(req, prepared).await?;
            } else {
                answer?;
            }
        }
        Ok(ParseResponse::ok(json!({"result": true})))
    }

    async fn submit_one(&self, req: &ParseRequest, prepared: Prepared) -> Result<(), ApiError> {
        let mut answers = self.submit(&req.ctx, vec![prepared], false).await?;
        answers
            .pop()
            .unwrap_or_else(|| Err(ApiError::internal("no answer for a config write")))
            .map(|_| ())
    }

    /// The config write: a create of `_GlobalConfig/1` the first time, an update after.
    async fn prepare_config(&self, req: &ParseRequest, body: &Map) -> Result<Prepared, ApiError> {
        let app = &req.ctx.app.app_id;
        let store = self.reads.store();
        let schema = store
            .schema(app, CONFIG_CLASS)
            .await
            .map_err(ApiError::internal)?
            .unwrap_or_else(|| ClassSchema::new(CONFIG_CLASS));
        let current = store
            .get(app, CONFIG_CLASS, CONFIG_OBJECT_ID)
            .await
            .map_err(ApiError::internal)?;
        let now = time::to_iso(&chrono::Utc::now());
        let ops = write::parse_body(body, BodyKind::Update)?;
        let (kind, applied) = match &current {
            Some(object) => (
                WriteKind::Update,
                write::update(&schema, object, &now, &ops)?,
            ),
            None => (
                WriteKind::Create,
                write::create(&schema, CONFIG_OBJECT_ID, &now, &ops)?,
            ),
        };
        Ok(Prepared {
            write: Write {
                kind,
                class: CONFIG_CLASS.to_string(),
                object_id: CONFIG_OBJECT_ID.to_string(),
                ops: ops_json(&ops),
                internal: Default::default(),
            },
            new_fields: !applied.new_fields.is_empty(),
        })
    }
}
