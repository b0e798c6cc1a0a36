//! The schema API's changes (`POST`/`PUT /schemas/<class>`: fields added or deleted, class-level
//! permissions, indexes added or dropped): parsed and checked on their own
//! (`SchemaChange::parse`), then applied to the class as it is (`SchemaChange::apply`). The
//! command side runs both to answer early; the projector runs `apply` again to decide.

use serde_json::{json, Value};

use crate::clp::{validate_clp, OPERATION_KEYS};
use crate::error::{code, ParseError};
use crate::names::{is_valid_field_name, validate_class_name, DEFAULT_FIELDS};
use crate::schema::{default_fields, ClassSchema, FieldType};
use crate::Map;

/// Parse Server's refusal to delete a class that still has objects.
pub fn not_empty(class: &str, count: u64) -> ParseError {
    ParseError::new(
        255,
        format!("Class {class} is not empty, contains {count} objects, cannot drop schema."),
    )
}

/// A checked schema change.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaChange {
    /// `POST`: the class must not exist yet; `PUT`: it must.
    pub create: bool,
    pub add: Vec<(String, FieldType)>,
    /// Fields to delete (`{"__op": "Delete"}`), with their values in every object.
    pub delete: Vec<String>,
    pub class_level_permissions: Option<Map>,
    /// Indexes to create: name, `{field: 1 | -1, …}`.
    pub add_indexes: Vec<(String, Map)>,
    pub drop_indexes: Vec<String>,
}

fn field_type(name: &str, spec: &Value) -> Result<FieldType, ParseError> {
    let ty = spec.get("type").and_then(Value::as_str).unwrap_or_default();
    if matches!(ty, "Pointer" | "Relation") {
        let target = spec
            .get("targetClass")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                ParseError::new(
                    code::MISSING_REQUIRED_FIELD,
                    format!("type {ty} needs a class name"),
                )
            })?;
        validate_class_name(target)?;
    }
    FieldType::from_json(spec).ok_or_else(|| {
        ParseError::incorrect_type(format!(
            "invalid field type: {}",
            if ty.is_empty() { name } else { ty }
        ))
    })
}

impl SchemaChange {
    /// Reads a request body (`fields`, `classLevelPermissions`; `className` when given must be
    /// `class`).
    pub fn parse(class: &str, body: &Map, create: bool) -> Result<SchemaChange, ParseError> {
        if let Some(named) = body.get("className").and_then(Value::as_str) {
            if named != class {
                return Err(ParseError::new(
                    code::INVALID_CLASS_NAME,
                    format!("Class name mismatch between {named} and {class}."),
                ));
            }
        }
        validate_class_name(class)?;
        let (mut add, mut delete) = (Vec::new(), Vec::new());
        if let Some(fields) = body.get("fields") {
            let fields = fields
                .as_object()
                .ok_or_else(|| ParseError::invalid_json("fields must be an object"))?;
            for (name, spec) in fields {
                if !is_valid_field_name(name) {
                    return Err(ParseError::invalid_key(format!(
                        "invalid field name: {name}"
                    )));
                }
                if spec.get("__op").and_then(Value::as_str) == Some("Delete") {
                    if default_fields(class).iter().any(|(f, _)| f == name) {
                        return Err(ParseError::new(
                            code::CHANGED_IMMUTABLE_FIELD,
                            format!("field {name} cannot be changed"),
                        ));
                    }
                    delete.push(name.clone());
                    continue;
                }
                if DEFAULT_FIELDS.contains(&name.as_str()) {
                    return Err(ParseError::new(
                        code::CHANGED_IMMUTABLE_FIELD,
                        format!("field {name} cannot be added"),
                    ));
                }
                add.push((name.clone(), field_type(name, spec)?));
            }
        }
        let (mut add_indexes, mut drop_indexes) = (Vec::new(), Vec::new());
        if let Some(indexes) = body.get("indexes") {
            let indexes = indexes
                .as_object()
                .ok_or_else(|| ParseError::invalid_json("indexes must be an object"))?;
            for (name, spec) in indexes {
                if spec.get("__op").and_then(Value::as_str) == Some("Delete") {
                    drop_indexes.push(name.clone());
                    continue;
                }
                let keys = spec
                    .as_object()
                    .filter(|k| !k.is_empty())
                    .filter(|k| k.values().all(|d| d == &json!(1) || d == &json!(-1)))
                    .ok_or_else(|| {
                        ParseError::invalid_query(format!(
                            "Index {name} must map fields to 1 or -1."
                        ))
                    })?;
                add_indexes.push((name.clone(), keys.clone()));
            }
        }
        let class_level_permissions = match body.get("classLevelPermissions") {
            None | Some(Value::Null) => None,
            Some(Value::Object(clp)) => {
                if let Some(bad) = clp.keys().find(|k| !OPERATION_KEYS.contains(&k.as_str())) {
                    return Err(ParseError::invalid_json(format!(
                        "{bad} is not a valid operation for class level permissions"
                    )));
                }
                Some(clp.clone())
            }
            Some(_) => {
                return Err(ParseError::invalid_json(
                    "classLevelPermissions must be an object",
                ))
            }
        };
        Ok(SchemaChange {
            create,
            add,
            delete,
            class_level_permissions,
            add_indexes,
            drop_indexes,
        })
    }

    /// The class after the change; `current` is `None` when the class does not exist.
    pub fn apply(
        &self,
        class: &str,
        current: Option<&ClassSchema>,
    ) -> Result<ClassSchema, ParseError> {
        let mut schema = match (current, self.create) {
            (Some(_), true) => {
                return Err(ParseError::new(
                    code::INVALID_CLASS_NAME,
                    format!("Class {class} already exists."),
                ))
            }
            (None, false) => {
                return Err(ParseError::new(
                    code::INVALID_CLASS_NAME,
                    format!("Class {class} does not exist."),
                ))
            }
            (Some(s), false) => s.clone(),
            (None, true) => ClassSchema::new(class),
        };
        for name in &self.delete {
            if schema.fields.remove(name).is_none() {
                return Err(ParseError::new(
                    255,
                    format!("Field {name} does not exist, cannot delete."),
                ));
            }
            // An index over a field that no longer exists would index nothing.
            schema.indexes.retain(|_, keys| !keys.contains_key(name));
        }
        for (name, ty) in &self.add {
            if schema.fields.contains_key(name) {
                return Err(ParseError::new(
                    255,
                    format!("Field {name} exists, cannot update."),
                ));
            }
            schema.check_field(name, ty)?;
            schema.fields.insert(name.clone(), ty.clone());
        }
        if let Some(clp) = &self.class_level_permissions {
            // Checked against the fields as this change leaves them, as Parse Server does.
            validate_clp(clp, &schema)?;
            schema.class_level_permissions = Some(clp.clone());
        }
        for name in &self.drop_indexes {
            if schema.indexes.remove(name).is_none() {
                return Err(ParseError::invalid_query(format!(
                    "Index {name} does not exist, cannot delete."
                )));
            }
        }
        for (name, keys) in &self.add_indexes {
            if schema.indexes.contains_key(name) {
                return Err(ParseError::invalid_query(format!(
                    "Index {name} exists, cannot update."
                )));
            }
            for field in keys.keys() {
                match schema.fields.get(field) {
                    None => {
                        return Err(ParseError::invalid_query(format!(
                            "Field {field} does not exist, cannot add index."
                        )))
                    }
                    Some(t) if !t.is_indexable() => {
                        return Err(ParseError::invalid_query(format!(
                            "Field {field} is a {t}: only Number, String, Boolean and Date fields can be indexed here."
                        )))
                    }
                    Some(_) => {}
                }
            }
            schema.indexes.insert(name.clone(), keys.clone());
        }
        Ok(schema)
    }

    /// The change as it travels in a `schema.updated` event (read back by `from_event`).
    pub fn to_event(&self) -> Value {
        let fields: Map = self
            .add
            .iter()
            .map(|(k, t)| (k.clone(), t.to_json()))
            .chain(
                self.delete
                    .iter()
                    .map(|k| (k.clone(), json!({"__op": "Delete"}))),
            )
            .collect();
        let mut v = json!({"create": self.create, "fields": fields});
        if let Some(clp) = &self.class_level_permissions {
            v["classLevelPermissions"] = Value::Object(clp.clone());
        }
        let mut indexes: Map = self
            .add_indexes
            .iter()
            .map(|(k, spec)| (k.clone(), Value::Object(spec.clone())))
            .collect();
        for name in &self.drop_indexes {
            indexes.insert(name.clone(), json!({"__op": "Delete"}));
        }
        if !indexes.is_empty() {
            v["indexes"] = Value::Object(indexes);
        }
        v
    }

    pub fn from_event(class: &str, v: &Value) -> Result<SchemaChange, ParseError> {
        let body = v.as_object().cloned().unwrap_or_default();
        let create = body.get("create").and_then(Value::as_bool).unwrap_or(false);
        SchemaChange::parse(class, &body, create)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Map {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn parse_and_apply() {
        let change = SchemaChange::parse(
            "Post",
            &body(json!({"className": "Post", "fields": {"title": {"type": "String"}, "author": {"type": "Pointer", "targetClass": "_User"}}, "classLevelPermissions": {"find": {"*": true}}})),
            true,
        )
        .unwrap();
        let s = change.apply("Post", None).unwrap();
        assert_eq!(s.fields["author"], FieldType::Pointer("_User".into()));
        assert_eq!(s.fields["objectId"], FieldType::String);
        assert_eq!(change.apply("Post", Some(&s)).unwrap_err().code, 103);
        let again = SchemaChange::from_event("Post", &change.to_event()).unwrap();
        assert_eq!(again, change);
        let put = SchemaChange::parse(
            "Post",
            &body(json!({"fields": {"title": {"type": "Number"}}})),
            false,
        )
        .unwrap();
        assert_eq!(put.apply("Post", Some(&s)).unwrap_err().code, 255);
        assert_eq!(put.apply("Nope", None).unwrap_err().code, 103);
    }

    #[test]
    fn delete_fields() {
        let mut s = ClassSchema::new("Post");
        s.fields.insert("title".into(), FieldType::String);
        s.fields.insert("n".into(), FieldType::Number);
        s.indexes
            .insert("by_title".into(), body(json!({"title": 1, "n": -1})));
        s.indexes.insert("by_n".into(), body(json!({"n": 1})));
        let del = SchemaChange::parse(
            "Post",
            &body(json!({"fields": {"title": {"__op": "Delete"}}})),
            false,
        )
        .unwrap();
        assert_eq!(del.delete, vec!["title".to_string()]);
        let after = del.apply("Post", Some(&s)).unwrap();
        assert!(!after.fields.contains_key("title"));
        assert_eq!(after.indexes.keys().collect::<Vec<_>>(), vec!["by_n"]);
        assert_eq!(
            SchemaChange::from_event("Post", &del.to_event()).unwrap(),
            del
        );
        // Deleting it again: it is gone.
        assert_eq!(del.apply("Post", Some(&after)).unwrap_err().code, 255);
        let default = SchemaChange::parse(
            "Post",
            &body(json!({"fields": {"createdAt": {"__op": "Delete"}}})),
            false,
        );
        assert_eq!(default.unwrap_err().code, 136);
        let user_default = SchemaChange::parse(
            "_User",
            &body(json!({"fields": {"username": {"__op": "Delete"}}})),
            false,
        );
        assert_eq!(user_default.unwrap_err().code, 136);
    }

    #[test]
    fn errors() {
        let bad = |v: Value| {
            SchemaChange::parse("Post", &body(v), true)
                .unwrap_err()
                .code
        };
        assert_eq!(bad(json!({"className": "Other"})), 103);
        assert_eq!(bad(json!({"fields": {"1x": {"type": "String"}}})), 105);
        assert_eq!(
            bad(json!({"fields": {"objectId": {"type": "String"}}})),
            136
        );
        assert_eq!(bad(json!({"fields": {"a": {"type": "Nope"}}})), 111);
        assert_eq!(bad(json!({"fields": {"a": {"type": "Pointer"}}})), 135);
        assert_eq!(bad(json!({"classLevelPermissions": {"fly": {}}})), 107);
    }

    #[test]
    fn class_level_permissions_are_checked_against_the_new_fields() {
        let apply = |class: &str, v: Value, current: Option<&ClassSchema>| {
            let create = current.is_none();
            SchemaChange::parse(class, &body(v), create).and_then(|c| c.apply(class, current))
        };
        // Fields added by the same request may be named.
        let s = apply(
            "Post",
            json!({"fields": {"owner": {"type": "Pointer", "targetClass": "_User"}, "secret": {"type": "String"}},
                   "classLevelPermissions": {"update": {"pointerFields": ["owner"]},
                                             "protectedFields": {"*": ["secret"]}}}),
            None,
        )
        .unwrap();
        assert_eq!(
            s.class_level_permissions.as_ref().unwrap()["protectedFields"],
            json!({"*": ["secret"]})
        );
        let err = |r: Result<ClassSchema, ParseError>| {
            let e = r.unwrap_err();
            (e.code, e.error)
        };
        assert_eq!(
            err(apply(
                "Post",
                json!({"classLevelPermissions": {"readUserFields": ["secret"]}}),
                Some(&s)
            )),
            (
                107,
                "'secret' is not a valid column for class level pointer permissions readUserFields"
                    .into()
            )
        );
        assert_eq!(
            err(apply(
                "Post",
                json!({"classLevelPermissions": {"protectedFields": {"*": ["createdAt"]}}}),
                Some(&s)
            )),
            (107, "Default field 'createdAt' can not be protected".into())
        );
        // A field deleted by the same request no longer exists.
        assert_eq!(
            err(apply(
                "Post",
                json!({"fields": {"secret": {"__op": "Delete"}},
                       "classLevelPermissions": {"protectedFields": {"*": ["secret"]}}}),
                Some(&s)
            )),
            (
                107,
                "Field 'secret' in protectedFields:* does not exist".into()
            )
        );
        assert_eq!(
            err(apply(
                "Post",
                json!({"classLevelPermissions": {"find": {"*": false}}}),
                None
            )),
            (
                107,
                "'false' is not a valid value for class level permissions find:*:false".into()
            )
        );
        // Class defaults exist from the start: `_User.email` may be protected at once.
        let users = apply(
            "_User",
            json!({"classLevelPermissions": {"protectedFields": {"*": ["email"]},
                                             "get": {"requiresAuthentication": true}}}),
            None,
        );
        assert!(users.is_ok());
        // The projector replays the same check from the event.
        let change = SchemaChange::parse(
            "Post",
            &body(json!({"classLevelPermissions": {"delete": {"pointerFields": ["nope"]}}})),
            false,
        )
        .unwrap();
        let replayed = SchemaChange::from_event("Post", &change.to_event()).unwrap();
        assert_eq!(replayed.apply("Post", Some(&s)).unwrap_err().code, 107);
    }
}
