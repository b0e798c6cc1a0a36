//! Preparing one object write: check it against the current read model with the same pure
//! functions the projector uses, so most bad writes are rejected before anything is logged.

use api::{ApiError, ParseRequest, Route};
use events::{Write, WriteKind};
use model::names::SYSTEM_CLASSES;
use model::write::{self, WriteKind as BodyKind};
use model::{code, time, ClassSchema, Map, ParseError};
use rand::distr::{Alphanumeric, SampleString};

use crate::CommandApi;

/// Parse Server's object ids: 10 random alphanumerics.
fn new_object_id() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 10)
}

pub(crate) fn ops_json(ops: &model::Ops) -> Map {
    ops.iter()
        .map(|(k, op)| (k.clone(), op.to_json()))
        .collect()
}

/// A validated write, and whether it adds fields to its class's schema (then, once it is
/// applied, cached copies of that schema are stale).
pub(crate) struct Prepared {
    pub write: Write,
    pub new_fields: bool,
}

impl CommandApi {
    async fn schema(&self, req: &ParseRequest, class: &str) -> Result<ClassSchema, ApiError> {
        if SYSTEM_CLASSES.contains(&class) {
            // Users, roles, sessions and installations have rules of their own (hashing,
            // uniqueness, tokens) that generic object writes would bypass.
            return Err(ParseError::new(
                code::OPERATION_FORBIDDEN,
                format!("Writes to {class} are not supported by this server yet."),
            )
            .into());
        }
        Ok(self
            .reads
            .schema_for(&req.ctx, class)
            .await?
            .unwrap_or_else(|| ClassSchema::new(class)))
    }

    async fn current(
        &self,
        req: &ParseRequest,
        class: &str,
        id: &str,
    ) -> Result<model::Object, ApiError> {
        self.reads
            .store()
            .get(&req.ctx.app.app_id, class, id)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| ParseError::not_found().into())
    }

    /// Validates a create, update or delete and returns the write it makes.
    pub(crate) async fn prepare(&self, req: &ParseRequest) -> Result<Prepared, ApiError> {
        let now = time::to_iso(&chrono::Utc::now());
        let mut new_fields = false;
        let write = match &req.route {
            Route::Create { class } => {
                let schema = self.schema(req, class).await?;
                let ops = write::parse_body(&req.body, BodyKind::Create)?;
                let object_id = new_object_id();
                new_fields = !write::create(&schema, &object_id, &now, &ops)?
                    .new_fields
                    .is_empty();
                Write {
                    kind: WriteKind::Create,
                    class: class.clone(),
                    object_id,
                    ops: ops_json(&ops),
                }
            }
            Route::Update { class, object_id } => {
                let schema = self.schema(req, class).await?;
                let ops = write::parse_body(&req.body, BodyKind::Update)?;
                let current = self.current(req, class, object_id).await?;
                new_fields = !write::update(&schema, &current, &now, &ops)?
                    .new_fields
                    .is_empty();
                Write {
                    kind: WriteKind::Update,
                    class: class.clone(),
                    object_id: object_id.clone(),
                    ops: ops_json(&ops),
                }
            }
            Route::Delete { class, object_id } => {
                // Deleting from a class that does not exist is "not found", not forbidden.
                self.current(req, class, object_id).await?;
                Write {
                    kind: WriteKind::Delete,
                    class: class.clone(),
                    object_id: object_id.clone(),
                    ops: Map::new(),
                }
            }
            other => return Err(ApiError::NoRoute(format!("{} {other:?}", req.method))),
        };
        Ok(Prepared { write, new_fields })
    }
}
