//! Preparing one object write: check it against the current read model with the same pure
//! functions the projector uses, so most bad writes are rejected before anything is logged.

use api::{ApiError, ParseRequest, Route};
use events::{Write, WriteKind};
use model::clp::{self, Decision, Op};
use model::installation::CLASS as INSTALLATION;
use model::names::{check_client_access, SYSTEM_CLASSES, WRITABLE_SYSTEM_CLASSES};
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

/// The writes one request makes (several for an installation save that removes duplicates,
/// submitted as one transaction) and which of them answers the client.
pub(crate) struct Planned {
    pub writes: Vec<Prepared>,
    pub answer: usize,
    /// Fields added to that answer (the session token of a sign-up).
    pub extra: Map,
    /// Mails to send once the writes are applied (a sign-up's verification mail); none if
    /// they are not.
    pub mails: Vec<mail::Mail>,
}

impl Planned {
    /// Writes made together; `answer` is the one the client sees.
    pub fn many(writes: Vec<Prepared>, answer: usize) -> Self {
        Planned {
            writes,
            answer,
            extra: Map::new(),
            mails: Vec::new(),
        }
    }

    pub fn one(prepared: Prepared) -> Self {
        Planned::many(vec![prepared], 0)
    }
}

/// A create of `class` with `body`, checked against `schema`.
pub(crate) fn prepare_create(
    schema: &ClassSchema,
    class: &str,
    body: &Map,
    now: &str,
) -> Result<Prepared, ApiError> {
    let ops = write::parse_body(body, BodyKind::Create)?;
    let object_id = new_object_id();
    let new_fields = !write::create(schema, &object_id, now, &ops)?
        .new_fields
        .is_empty();
    Ok(Prepared {
        write: Write {
            kind: WriteKind::Create,
            class: class.to_string(),
            object_id,
            ops: ops_json(&ops),
            internal: Default::default(),
        },
        new_fields,
    })
}

/// An update of `current` with `body`, checked against `schema`.
pub(crate) fn prepare_update(
    schema: &ClassSchema,
    class: &str,
    current: &model::Object,
    body: &Map,
    now: &str,
) -> Result<Prepared, ApiError> {
    let ops = write::parse_body(body, BodyKind::Update)?;
    let new_fields = !write::update(schema, current, now, &ops)?
        .new_fields
        .is_empty();
    Ok(Prepared {
        write: Write {
            kind: WriteKind::Update,
            class: class.to_string(),
            object_id: current.object_id().to_string(),
            ops: ops_json(&ops),
            internal: Default::default(),
        },
        new_fields,
    })
}

pub(crate) fn prepare_delete(class: &str, object_id: &str) -> Prepared {
    Prepared {
        write: Write {
            kind: WriteKind::Delete,
            class: class.to_string(),
            object_id: object_id.to_string(),
            ops: Map::new(),
            internal: Default::default(),
        },
        new_fields: false,
    }
}

/// The class-level permissions of a create: `addField` when it adds fields, then `create`.
pub(crate) fn check_create_clp(
    req: &ParseRequest,
    schema: &ClassSchema,
    new_fields: bool,
) -> Result<(), ApiError> {
    if new_fields {
        let op = Op::AddField {
            during_update: false,
        };
        check_clp(req, schema, op, None)?;
    }
    check_clp(req, schema, Op::Create, None)
}

/// The class-level permissions of an update of `current`: `addField` when it adds fields,
/// then `update`.
pub(crate) fn check_update_clp(
    req: &ParseRequest,
    schema: &ClassSchema,
    new_fields: bool,
    current: &model::Object,
) -> Result<(), ApiError> {
    if new_fields {
        let op = Op::AddField {
            during_update: true,
        };
        check_clp(req, schema, op, Some(current))?;
    }
    check_clp(req, schema, Op::Update, Some(current))
}

/// Checks the class-level permission of `op` for the caller; a write limited by pointer
/// permissions must be on an object they point from (else, to the caller, it is not there).
pub(crate) fn check_clp(
    req: &ParseRequest,
    schema: &ClassSchema,
    op: Op,
    object: Option<&model::Object>,
) -> Result<(), ApiError> {
    let caller = req.ctx.auth.caller();
    match clp::check(
        schema.class_level_permissions.as_ref(),
        &schema.class_name,
        op,
        &caller,
    ) {
        Decision::Allow => Ok(()),
        Decision::Deny(e) => Err(e.into()),
        Decision::Constrain { fields } => match object {
            Some(o) if !clp::object_satisfies(&fields, &caller, &o.fields) => {
                Err(ParseError::not_found().into())
            }
            _ => Ok(()),
        },
    }
}

impl CommandApi {
    pub(crate) async fn schema(
        &self,
        req: &ParseRequest,
        class: &str,
    ) -> Result<ClassSchema, ApiError> {
        if SYSTEM_CLASSES.contains(&class) && !WRITABLE_SYSTEM_CLASSES.contains(&class) {
            // Users, roles and sessions have rules of their own (hashing, uniqueness, tokens)
            // that generic object writes would bypass.
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

    pub(crate) async fn current(
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

    /// The object, if the caller's ACL entries let them write it (else, to them, it is not
    /// there: 101, as Parse Server answers).
    pub(crate) async fn writable(
        &self,
        req: &ParseRequest,
        class: &str,
        id: &str,
    ) -> Result<model::Object, ApiError> {
        let current = self.current(req, class, id).await?;
        if !req.ctx.auth.may(current.get("ACL"), "write") {
            return Err(ParseError::not_found().into());
        }
        Ok(current)
    }

    /// A role name another role holds: answered before anything is logged (the projector
    /// decides for good).
    async fn check_role_name_free(&self, req: &ParseRequest, body: &Map) -> Result<(), ApiError> {
        let Some(name) = body.get("name") else {
            return Ok(());
        };
        let query = model::query::Query {
            filter: model::query::Filter::Field {
                path: "name".into(),
                cond: model::query::Cond::Eq(name.clone()),
            },
            limit: 1,
            ..model::query::Query::default()
        };
        let taken = !self
            .reads
            .store()
            .find(&req.ctx.app.app_id, model::user::ROLE_CLASS, &query)
            .await
            .map_err(ApiError::internal)?
            .is_empty();
        if taken {
            return Err(ParseError::new(
                code::DUPLICATE_VALUE,
                "A duplicate value for a field with unique values was provided",
            )
            .into());
        }
        Ok(())
    }

    /// Validates a create, update or delete and returns the writes it makes.
    pub(crate) async fn prepare(&self, req: &ParseRequest) -> Result<Planned, ApiError> {
        let now = time::to_iso(&chrono::Utc::now());
        let prepared = match &req.route {
            Route::Create { class } | Route::Update { class, .. } if class == INSTALLATION => {
                return self.prepare_installation(req).await;
            }
            Route::Create { class } | Route::Update { class, .. } | Route::Delete { class, .. }
                if req.ctx.auth.user().is_some_and(|u| u.restricted)
                    && model::user::AUTH_CLASSES.contains(&class.as_str()) =>
            {
                return Err(ParseError::new(
                    code::OPERATION_FORBIDDEN,
                    format!("A restricted session cannot write {class}."),
                )
                .into());
            }
            Route::Create { class } | Route::Update { class, .. } | Route::Delete { class, .. }
                if class == model::user::USER_CLASS =>
            {
                return self.prepare_user(req).await;
            }
            Route::Create { class }
                if class == model::user::SESSION_CLASS && !req.ctx.auth.is_master() =>
            {
                return self.prepare_restricted_session(req).await;
            }
            Route::Update { class, .. }
                if class == model::user::SESSION_CLASS && !req.ctx.auth.is_master() =>
            {
                return Err(ParseError::new(
                    code::OPERATION_FORBIDDEN,
                    "Sessions are made by signing up and logging in.",
                )
                .into());
            }
            Route::Create { class } => {
                let schema = self.schema(req, class).await?;
                if class == model::user::ROLE_CLASS {
                    write::parse_body(&req.body, BodyKind::Create)?;
                    model::user::check_role(&req.body, None)?;
                    self.check_role_name_free(req, &req.body).await?;
                }
                let prepared = prepare_create(&schema, class, &req.body, &now)?;
                check_create_clp(req, &schema, prepared.new_fields)?;
                prepared
            }
            Route::Update { class, object_id } => {
                let schema = self.schema(req, class).await?;
                // The body's names are checked before the object is looked for.
                write::parse_body(&req.body, BodyKind::Update)?;
                let current = self.writable(req, class, object_id).await?;
                if class == model::user::ROLE_CLASS {
                    model::user::check_role(&req.body, Some(&current))?;
                }
                let prepared = prepare_update(&schema, class, &current, &req.body, &now)?;
                check_update_clp(req, &schema, prepared.new_fields, &current)?;
                prepared
            }
            Route::Delete { class, object_id } => {
                check_client_access(class, "delete", req.ctx.auth.is_master())?;
                // Deleting from a class that does not exist is "not found", not forbidden.
                let current = self.writable(req, class, object_id).await?;
                let schema = self.schema(req, class).await?;
                check_clp(req, &schema, Op::Delete, Some(&current))?;
                prepare_delete(class, object_id)
            }
            other => return Err(ApiError::NoRoute(format!("{} {other:?}", req.method))),
        };
        Ok(Planned::one(prepared))
    }
}
