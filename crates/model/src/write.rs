//! Folding a write into an object: reading a create/update body into operations, and applying
//! those operations to an object under its class schema. Pure: the command side runs it to
//! reject bad writes early, the projector runs it again to decide for good.

use serde_json::{json, Value};

use crate::error::{code, ParseError};
use crate::names::is_valid_field_name;
use crate::ops::{FieldOp, Ops};
use crate::schema::{ClassSchema, FieldType};
use crate::value::normalize_acl;
use crate::{Map, Object};

/// Whether a body creates an object or updates one: names are checked, and reported, differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    Create,
    Update,
}

/// Changes to one relation field of one object.
#[derive(Debug, Clone, PartialEq)]
pub struct RelationDelta {
    pub field: String,
    pub target: String,
    pub add: Vec<String>,
    pub remove: Vec<String>,
}

/// What applying a write produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub object: Object,
    /// Fields the write adds to the class schema.
    pub new_fields: Vec<(String, FieldType)>,
    pub relations: Vec<RelationDelta>,
    /// Values produced by operations (the new counter, the new array), echoed to the client.
    pub results: Map,
}

/// Keys no request may carry anywhere in its data (Parse Server's `requestKeywordDenylist`):
/// they are how prototype-pollution and BSON-injection payloads are spelled.
fn check_denylist(value: &Value) -> Result<(), ParseError> {
    // NUL cannot be stored by every read model (PostgreSQL's jsonb refuses it), and a write
    // one store refuses would block the log behind it: refuse it at the door, on every stack.
    let nul = || ParseError::invalid_json("Strings and keys must not contain the NUL character");
    match value {
        Value::String(text) if text.contains('\0') => return Err(nul()),
        Value::Object(map) if map.keys().any(|k| k.contains('\0')) => return Err(nul()),
        _ => {}
    }
    let prohibited = |entry: &str| {
        ParseError::invalid_key(format!("Prohibited keyword in request data: {entry}."))
    };
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                for seg in k.split('.') {
                    if seg == "constructor" || seg == "__proto__" {
                        return Err(prohibited(&format!("{{\"key\":\"{seg}\"}}")));
                    }
                }
                if k == "_bsontype" && v == "Code" {
                    return Err(prohibited("{\"key\":\"_bsontype\",\"value\":\"Code\"}"));
                }
                check_denylist(v)?;
            }
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(check_denylist),
        _ => Ok(()),
    }
}

/// Reads a request body into operations, rejecting names Parse rejects.
pub fn parse_body(body: &Map, kind: WriteKind) -> Result<Ops, ParseError> {
    for (k, v) in body {
        check_denylist(&Value::Object(Map::from_iter([(k.clone(), v.clone())])))?;
    }
    let mut ops = Ops::with_capacity(body.len());
    for (key, value) in body {
        match key.as_str() {
            "objectId" if kind == WriteKind::Create => {
                return Err(ParseError::invalid_key(
                    "objectId is an invalid field name.",
                ))
            }
            "id" if kind == WriteKind::Create => {
                return Err(ParseError::invalid_key("id is an invalid field name."))
            }
            // The server owns these; Parse Server drops them silently.
            "objectId" | "createdAt" | "updatedAt" => continue,
            "ACL" => {
                let op = match FieldOp::parse(value)? {
                    FieldOp::Delete => FieldOp::Delete,
                    FieldOp::Set(v) => FieldOp::Set(normalize_acl(&v)?),
                    _ => return Err(ParseError::new(code::INVALID_ACL, "Invalid ACL.")),
                };
                ops.push((key.clone(), op));
                continue;
            }
            _ => {}
        }
        let root = key.split('.').next().unwrap_or_default();
        let path_ok = key
            .split('.')
            .skip(1)
            .all(|seg| !seg.is_empty() && !seg.contains('$'));
        if !is_valid_field_name(root) || !path_ok {
            return Err(ParseError::invalid_key(match kind {
                WriteKind::Create => format!("Invalid field name: {key}."),
                WriteKind::Update => format!("Invalid field name for update: {key}"),
            }));
        }
        ops.push((key.clone(), FieldOp::parse(value)?));
    }
    Ok(ops)
}

/// Sets the server-only fields of a write (`null` removes one). Only `_`-prefixed names are
/// accepted: a client's field can never arrive this way.
pub fn set_internal(object: &mut Object, internal: &Map) -> Result<(), ParseError> {
    for (key, value) in internal {
        if !crate::user::is_internal(key) {
            return Err(ParseError::invalid_key(format!(
                "{key} is not a server-only field"
            )));
        }
        match value {
            Value::Null => object.fields.remove(key),
            v => object.fields.insert(key.clone(), v.clone()),
        };
    }
    Ok(())
}

/// Creates an object with `ops` applied to nothing.
pub fn create(
    schema: &ClassSchema,
    object_id: &str,
    at: &str,
    ops: &Ops,
) -> Result<Applied, ParseError> {
    let mut fields = Map::new();
    fields.insert("objectId".into(), json!(object_id));
    fields.insert("createdAt".into(), json!(at));
    fields.insert("updatedAt".into(), json!(at));
    apply(schema, Object { fields }, ops)
}

/// Applies `ops` to `current` and stamps `updatedAt`.
pub fn update(
    schema: &ClassSchema,
    current: &Object,
    at: &str,
    ops: &Ops,
) -> Result<Applied, ParseError> {
    let mut object = current.clone();
    object.fields.insert("updatedAt".into(), json!(at));
    apply(schema, object, ops)
}

fn apply(schema: &ClassSchema, mut object: Object, ops: &Ops) -> Result<Applied, ParseError> {
    let geopoints = ops
        .iter()
        .filter(|(_, op)| op.implied_type() == Some(FieldType::GeoPoint))
        .count();
    if geopoints > 1 {
        return Err(ParseError::incorrect_type(
            "there can only be one geopoint field in a class",
        ));
    }
    let mut working = schema.clone();
    let mut new_fields = Vec::new();
    let mut relations = Vec::new();
    let mut results = Map::new();
    for (key, op) in ops {
        if key == "ACL" {
            match op {
                FieldOp::Set(acl) => object.fields.insert(key.clone(), acl.clone()),
                _ => object.fields.remove(key),
            };
            continue;
        }
        if let Some((root, path)) = key.split_once('.') {
            // A dotted key writes inside an Object field.
            if working.check_field(root, &FieldType::Object)? {
                working.fields.insert(root.to_string(), FieldType::Object);
                new_fields.push((root.to_string(), FieldType::Object));
            }
            let root_value = object
                .fields
                .entry(root.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !root_value.is_object() {
                *root_value = Value::Object(Map::new());
            }
            let produced = apply_at_path(root_value, path, key, op)?;
            if op.echoes_result() {
                // The result comes back nested under the root field: {"stats": {"n": 3}}.
                let mut slot = results
                    .entry(root.to_string())
                    .or_insert_with(|| Value::Object(Map::new()));
                let segments: Vec<&str> = path.split('.').collect();
                for seg in &segments[..segments.len() - 1] {
                    if !slot.is_object() {
                        *slot = Value::Object(Map::new());
                    }
                    slot = slot
                        .as_object_mut()
                        .map(|m| {
                            m.entry(seg.to_string())
                                .or_insert_with(|| Value::Object(Map::new()))
                        })
                        .ok_or_else(|| ParseError::internal("result slot"))?;
                }
                if let (Some(m), Some(last)) = (slot.as_object_mut(), segments.last()) {
                    m.insert(last.to_string(), produced.unwrap_or(Value::Null));
                }
            }
            continue;
        }
        if let Some(ty) = op.implied_type() {
            if working.check_field(key, &ty)? {
                working.fields.insert(key.clone(), ty.clone());
                new_fields.push((key.clone(), ty));
            }
        }
        match op {
            FieldOp::Relation {
                target,
                add,
                remove,
            } => {
                relations.push(RelationDelta {
                    field: key.clone(),
                    target: target.clone(),
                    add: add.clone(),
                    remove: remove.clone(),
                });
            }
            FieldOp::Set(v) if matches!(working.field_type(key), Some(FieldType::Relation(_))) => {
                // Setting a relation field to its own `{__type: Relation}` stores nothing.
                if !v.is_null() && v.get("__type") != Some(&json!("Relation")) {
                    return Err(ParseError::incorrect_type(format!(
                        "schema mismatch for {}.{key}; expected Relation",
                        working.class_name
                    )));
                }
            }
            _ => {
                let new = op.apply(key, object.fields.get(key))?;
                if op.echoes_result() {
                    results.insert(key.clone(), new.clone().unwrap_or(Value::Null));
                }
                match new {
                    Some(v) => object.fields.insert(key.clone(), v),
                    None => object.fields.remove(key),
                };
            }
        }
    }
    Ok(Applied {
        object,
        new_fields,
        relations,
        results,
    })
}

fn apply_at_path(
    container: &mut Value,
    path: &str,
    full_key: &str,
    op: &FieldOp,
) -> Result<Option<Value>, ParseError> {
    let (head, rest) = match path.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (path, None),
    };
    let Some(map) = container.as_object_mut() else {
        return Err(ParseError::incorrect_type(format!(
            "{full_key} is not inside an object"
        )));
    };
    match rest {
        Some(rest) => {
            let child = map
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !child.is_object() {
                *child = Value::Object(Map::new());
            }
            apply_at_path(child, rest, full_key, op)
        }
        None => {
            if matches!(op, FieldOp::Relation { .. }) {
                return Err(ParseError::invalid_key(format!(
                    "Relations cannot be nested: {full_key}"
                )));
            }
            let new = op.apply(full_key, map.get(head))?;
            match &new {
                Some(v) => map.insert(head.to_string(), v.clone()),
                None => map.remove(head),
            };
            Ok(new)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: &str = "2024-01-01T00:00:00.000Z";
    const T1: &str = "2024-01-02T00:00:00.000Z";

    fn body(v: Value) -> Map {
        v.as_object().unwrap().clone()
    }

    fn ops(v: Value, kind: WriteKind) -> Ops {
        parse_body(&body(v), kind).unwrap()
    }

    #[test]
    fn create_flattens_ops_and_infers_schema() {
        let schema = ClassSchema::new("GameScore");
        let o = ops(
            json!({"score": 1337, "n": {"__op": "Increment", "amount": 2}, "tags": {"__op": "Add", "objects": ["a"]}}),
            WriteKind::Create,
        );
        let applied = create(&schema, "abc", T0, &o).unwrap();
        assert_eq!(applied.object.fields["n"], json!(2));
        assert_eq!(applied.object.fields["tags"], json!(["a"]));
        assert_eq!(applied.object.created_at(), T0);
        assert_eq!(applied.results, body(json!({"n": 2, "tags": ["a"]})));
        let names: Vec<_> = applied.new_fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["score", "n", "tags"]);
    }

    #[test]
    fn update_applies_ops_and_reports_results() {
        let mut schema = ClassSchema::new("GameScore");
        schema.fields.insert("score".into(), FieldType::Number);
        let current = create(
            &schema,
            "abc",
            T0,
            &ops(json!({"score": 10, "x": 1}), WriteKind::Create),
        )
        .unwrap()
        .object;
        let o = ops(
            json!({"score": {"__op": "Increment", "amount": -3}, "x": {"__op": "Delete"}}),
            WriteKind::Update,
        );
        let applied = update(&schema, &current, T1, &o).unwrap();
        assert_eq!(applied.object.fields["score"], json!(7));
        assert!(!applied.object.fields.contains_key("x"));
        assert_eq!(applied.object.updated_at(), T1);
        assert_eq!(applied.object.created_at(), T0);
        assert_eq!(applied.results, body(json!({"score": 7})));
    }

    #[test]
    fn type_conflicts_are_111() {
        let mut schema = ClassSchema::new("A");
        schema.fields.insert("name".into(), FieldType::String);
        let e = create(
            &schema,
            "x",
            T0,
            &ops(json!({"name": 3}), WriteKind::Create),
        )
        .unwrap_err();
        assert_eq!(e.code, 111);
        let e = create(
            &schema,
            "x",
            T0,
            &ops(
                json!({"a": 1, "b": {"__op": "Increment", "amount": 1}, "a2": "s"}),
                WriteKind::Create,
            ),
        );
        assert!(e.is_ok());
        // Two GeoPoints in one object.
        let gp = json!({"__type": "GeoPoint", "latitude": 1, "longitude": 2});
        let e = create(
            &schema,
            "x",
            T0,
            &ops(json!({"p": gp, "q": gp}), WriteKind::Create),
        )
        .unwrap_err();
        assert_eq!(e.code, 111);
    }

    #[test]
    fn nul_characters_are_refused() {
        for b in [
            json!({"a": "x\u{0}y"}),
            json!({"a": {"k\u{0}": 1}}),
            json!({"a": ["\u{0}"]}),
        ] {
            assert_eq!(
                parse_body(&body(b), WriteKind::Create).unwrap_err().code,
                107
            );
        }
    }

    #[test]
    fn prohibited_keywords_are_105() {
        for b in [
            json!({"obj": {"constructor": {"prototype": {"x": 0}}}}),
            json!({"obj.__proto__.x": 0}),
            json!({"obj": [{"_bsontype": "Code", "code": "x"}]}),
        ] {
            let e = parse_body(&body(b), WriteKind::Update).unwrap_err();
            assert_eq!(e.code, 105);
            assert!(
                e.error
                    .starts_with("Prohibited keyword in request data: {\"key\":"),
                "{}",
                e.error
            );
        }
    }

    #[test]
    fn dotted_results_nest_under_the_root() {
        let schema = ClassSchema::new("A");
        let o = ops(
            json!({"stats.a.n": {"__op": "Increment", "amount": 2}, "stats.b": {"__op": "Add", "objects": [1]}}),
            WriteKind::Create,
        );
        let applied = create(&schema, "x", T0, &o).unwrap();
        assert_eq!(
            applied.results,
            body(json!({"stats": {"a": {"n": 2}, "b": [1]}}))
        );
    }

    #[test]
    fn names_are_checked() {
        let e = parse_body(&body(json!({"objectId": "x"})), WriteKind::Create).unwrap_err();
        assert_eq!(
            (e.code, e.error.as_str()),
            (105, "objectId is an invalid field name.")
        );
        let e = parse_body(&body(json!({"1a": 1})), WriteKind::Create).unwrap_err();
        assert_eq!(e.error, "Invalid field name: 1a.");
        let e = parse_body(&body(json!({"_x": 1})), WriteKind::Update).unwrap_err();
        assert_eq!(e.error, "Invalid field name for update: _x");
        assert!(parse_body(
            &body(json!({"createdAt": "x", "a.b": 1})),
            WriteKind::Update
        )
        .is_ok());
        assert_eq!(
            parse_body(&body(json!({"ACL": {"u": {"read": 1}}})), WriteKind::Create)
                .unwrap_err()
                .code,
            123
        );
    }

    #[test]
    fn dotted_keys_write_inside_objects() {
        let schema = ClassSchema::new("A");
        let cur = create(
            &schema,
            "x",
            T0,
            &ops(json!({"stats": {"n": 1, "m": 5}}), WriteKind::Create),
        )
        .unwrap();
        let mut schema = schema;
        schema.fields.extend(cur.new_fields.clone());
        let o = ops(
            json!({"stats.n": {"__op": "Increment", "amount": 2}, "stats.deep.k": "v", "stats.m": {"__op": "Delete"}}),
            WriteKind::Update,
        );
        let applied = update(&schema, &cur.object, T1, &o).unwrap();
        assert_eq!(
            applied.object.fields["stats"],
            json!({"n": 3, "deep": {"k": "v"}})
        );
    }

    #[test]
    fn relations_produce_deltas_not_fields() {
        let schema = ClassSchema::new("Post");
        let o = ops(
            json!({"likes": {"__op": "AddRelation", "objects": [{"__type": "Pointer", "className": "_User", "objectId": "u1"}]}}),
            WriteKind::Create,
        );
        let applied = create(&schema, "p", T0, &o).unwrap();
        assert!(!applied.object.fields.contains_key("likes"));
        assert_eq!(applied.relations[0].add, vec!["u1".to_string()]);
        assert_eq!(
            applied.new_fields,
            vec![("likes".to_string(), FieldType::Relation("_User".into()))]
        );
    }
}
