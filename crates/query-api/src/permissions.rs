//! Class-level permissions on the read side: whether the caller may find, count or get in a
//! class at all, on which objects (pointer permissions become a condition ANDed into the
//! query), which `where` keys they may not use, and which fields they may not see.

use api::{ApiError, RequestContext};
use model::clp::{self, Decision, Op};
use model::query::{Cond, Filter};
use model::{ClassSchema, Map};
use serde_json::Value;

/// The class's stored CLP, if any.
pub(crate) fn stored(schema: Option<&ClassSchema>) -> Option<&Map> {
    schema.and_then(|s| s.class_level_permissions.as_ref())
}

/// Parse Server checks a query whose `where` is exactly `{"objectId": "<id>"}` as a `get`.
pub(crate) fn query_op(filter: &Filter) -> Op {
    let single = match filter {
        Filter::And(fs) if fs.len() == 1 => &fs[0],
        f => f,
    };
    match single {
        Filter::Field {
            path,
            cond: Cond::Eq(Value::String(_)),
        } if path == "objectId" => Op::Get,
        _ => Op::Find,
    }
}

/// Decides `op`: `Ok(None)` allowed, `Ok(Some(filter))` allowed on what `filter` matches.
pub(crate) fn decide(
    ctx: &RequestContext,
    schema: Option<&ClassSchema>,
    class: &str,
    op: Op,
) -> Result<Option<Filter>, ApiError> {
    let caller = ctx.auth.caller();
    let constraint = match clp::check(stored(schema), class, op, &caller) {
        Decision::Allow => None,
        Decision::Deny(e) => return Err(e.into()),
        Decision::Constrain { fields } => Some(clp::constraint_filter(&fields, &caller)),
    };
    // A restricted session reads only restricted sessions.
    let restricted = ctx.auth.user().is_some_and(|u| u.restricted);
    if restricted && class == model::user::SESSION_CLASS {
        let only_restricted = Filter::Field {
            path: "restricted".into(),
            cond: Cond::Eq(Value::Bool(true)),
        };
        return Ok(Some(narrowed(only_restricted, constraint)));
    }
    Ok(constraint)
}

/// Whether any field of the class can be protected: only a stored CLP, or the server's default
/// for users (their email), protects one; every other read skips the work.
fn protects_fields(schema: &ClassSchema) -> bool {
    schema.class_level_permissions.is_some() || schema.class_name == model::user::USER_CLASS
}

/// `filter` narrowed by a constraint.
pub(crate) fn narrowed(filter: Filter, constraint: Option<Filter>) -> Filter {
    match constraint {
        None => filter,
        Some(c) => Filter::And(vec![filter, c]),
    }
}

/// Refuses a `where` on a field the caller may not see (the request's raw `where`).
pub(crate) fn check_where(
    ctx: &RequestContext,
    schema: Option<&ClassSchema>,
    class: &str,
    params: &Map,
) -> Result<(), ApiError> {
    if ctx.auth.is_master() || !schema.is_some_and(protects_fields) {
        return Ok(());
    }
    let where_ = match params.get("where") {
        Some(Value::Object(m)) => m.clone(),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => m,
            _ => return Ok(()),
        },
        _ => return Ok(()),
    };
    Ok(clp::check_protected_query(
        stored(schema),
        class,
        &ctx.auth.caller(),
        &where_,
    )?)
}

/// Removes the fields the caller may not see from an object of `schema`'s class.
pub(crate) fn hide_protected(ctx: &RequestContext, schema: Option<&ClassSchema>, fields: &mut Map) {
    let Some(schema) = schema else { return };
    if ctx.auth.is_master() || !protects_fields(schema) {
        return;
    }
    let hidden = clp::protected_fields(
        stored(Some(schema)),
        &ctx.auth.caller(),
        fields,
        &schema.class_name,
    );
    for f in hidden {
        fields.remove(&f);
    }
}
