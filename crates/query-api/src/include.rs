//! `include`: replaces pointers in results by the objects they point to, one path level at a
//! time, with one read per class per level (never one per object). Pointers whose object is
//! missing are dropped, as Parse Server drops them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use api::{ApiError, RequestContext};
use model::query::Query;
use model::{FieldType, Map};
use serde_json::Value;

use crate::{render, store_error, QueryApi};

/// Included objects by (className, objectId).
type Found = HashMap<(String, String), Map>;

impl QueryApi {
    /// Applies `query.include` (and `include=*`) to `results`, objects of `class`.
    pub(crate) async fn include(
        &self,
        ctx: &RequestContext,
        class: &str,
        query: &Query,
        results: &mut [Map],
    ) -> Result<(), ApiError> {
        let mut paths = query.include.clone();
        if query.include_all {
            if let Some(schema) = self
                .store()
                .schema(&ctx.app.app_id, class)
                .await
                .map_err(store_error)?
            {
                for (field, ty) in &schema.fields {
                    let path = vec![field.clone()];
                    if matches!(ty, FieldType::Pointer(_) | FieldType::Array)
                        && !paths.contains(&path)
                    {
                        paths.push(path);
                    }
                }
                paths.sort_by_key(Vec::len);
            }
        }
        for path in &paths {
            let mut wanted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for r in results.iter() {
                if let Some((first, rest)) = path.split_first() {
                    if let Some(v) = r.get(first) {
                        collect(v, rest, &mut wanted);
                    }
                }
            }
            if wanted.is_empty() {
                continue;
            }
            let projection = query.projection_at(path);
            let mut found = Found::new();
            for (target, ids) in wanted {
                // What a client may not read is dropped, like a missing object.
                let master = ctx.auth.is_master();
                if model::names::check_client_access(&target, "get", master).is_err() {
                    continue;
                }
                let ids: Vec<String> = ids.into_iter().collect();
                let schema = self
                    .store()
                    .schema(&ctx.app.app_id, &target)
                    .await
                    .map_err(store_error)?;
                // The target class's permissions apply: a class the caller may not read
                // includes nothing, pointer permissions narrow what it includes.
                let Ok(constraint) =
                    crate::permissions::decide(ctx, schema.as_ref(), &target, model::clp::Op::Get)
                else {
                    continue;
                };
                let objects = self
                    .store()
                    .get_many(&ctx.app.app_id, &target, &ids)
                    .await
                    .map_err(store_error)?;
                let readable = |o: &model::Object| {
                    ctx.auth.may(o.get("ACL"), "read")
                        && constraint.as_ref().is_none_or(|c| c.matches(&o.fields))
                };
                for o in objects.into_iter().filter(readable) {
                    let id = o.object_id().to_string();
                    let mut fields = render(ctx, schema.as_ref(), o, &projection);
                    fields.insert("__type".into(), Value::String("Object".into()));
                    fields.insert("className".into(), Value::String(target.clone()));
                    found.insert((target.clone(), id), fields);
                }
            }
            for r in results.iter_mut() {
                replace_in_object(r, path, &found);
            }
        }
        Ok(())
    }
}

/// A pointer's (className, objectId).
fn pointer_of(v: &Value) -> Option<(&str, &str)> {
    let m = v.as_object()?;
    if m.get("__type")?.as_str()? != "Pointer" {
        return None;
    }
    Some((m.get("className")?.as_str()?, m.get("objectId")?.as_str()?))
}

/// The pointers at `path` in `v`, looking through arrays at every level.
fn collect(v: &Value, path: &[String], out: &mut BTreeMap<String, BTreeSet<String>>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| collect(i, path, out)),
        _ => match path.split_first() {
            None => {
                if let Some((class, id)) = pointer_of(v) {
                    out.entry(class.to_string())
                        .or_default()
                        .insert(id.to_string());
                }
            }
            Some((first, rest)) => {
                if let Some(next) = v.as_object().and_then(|m| m.get(first)) {
                    collect(next, rest, out);
                }
            }
        },
    }
}

/// Replaces the pointers at `path` in `object`; a pointer to nothing found is removed.
fn replace_in_object(object: &mut Map, path: &[String], found: &Found) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let Some(v) = object.get_mut(first) else {
        return;
    };
    if !replace(v, rest, found) {
        object.remove(first);
    }
}

/// Replaces in `v`; false when `v` itself is a pointer to nothing found.
fn replace(v: &mut Value, rest: &[String], found: &Found) -> bool {
    match v {
        Value::Array(items) => {
            items.retain_mut(|i| replace(i, rest, found));
            true
        }
        _ if rest.is_empty() => match pointer_of(v) {
            Some((class, id)) => match found.get(&(class.to_string(), id.to_string())) {
                Some(o) => {
                    *v = Value::Object(o.clone());
                    true
                }
                None => false,
            },
            None => true,
        },
        Value::Object(m) => {
            replace_in_object(m, rest, found);
            true
        }
        _ => true,
    }
}
