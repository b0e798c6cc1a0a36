//! Field types and class schemas: what type each field holds, inferred on first write.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{json, Value};

use crate::clp::default_clp;
use crate::error::ParseError;
use crate::Map;

/// The type of a field, as the schema API names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FieldType {
    String,
    Number,
    Boolean,
    Date,
    Object,
    Array,
    Pointer(String),
    Relation(String),
    File,
    GeoPoint,
    Polygon,
    Bytes,
    Acl,
}

impl fmt::Display for FieldType {
    /// Parse Server's spelling in error messages, e.g. `Pointer<_User>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldType::Pointer(c) => write!(f, "Pointer<{c}>"),
            FieldType::Relation(c) => write!(f, "Relation<{c}>"),
            other => f.write_str(other.name()),
        }
    }
}

impl FieldType {
    pub fn name(&self) -> &'static str {
        match self {
            FieldType::String => "String",
            FieldType::Number => "Number",
            FieldType::Boolean => "Boolean",
            FieldType::Date => "Date",
            FieldType::Object => "Object",
            FieldType::Array => "Array",
            FieldType::Pointer(_) => "Pointer",
            FieldType::Relation(_) => "Relation",
            FieldType::File => "File",
            FieldType::GeoPoint => "GeoPoint",
            FieldType::Polygon => "Polygon",
            FieldType::Bytes => "Bytes",
            FieldType::Acl => "ACL",
        }
    }

    /// Types a schema-API index can cover (each has one typed sort key in PostgreSQL).
    pub fn is_indexable(&self) -> bool {
        matches!(
            self,
            FieldType::Number | FieldType::String | FieldType::Boolean | FieldType::Date
        )
    }

    /// The schema API's encoding: `{"type":"Pointer","targetClass":"_User"}`.
    pub fn to_json(&self) -> Value {
        match self {
            FieldType::Pointer(c) | FieldType::Relation(c) => {
                json!({"type": self.name(), "targetClass": c})
            }
            other => json!({"type": other.name()}),
        }
    }

    pub fn from_json(v: &Value) -> Option<FieldType> {
        let target = || {
            v.get("targetClass")
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        Some(match v.get("type")?.as_str()? {
            "String" => FieldType::String,
            "Number" => FieldType::Number,
            "Boolean" => FieldType::Boolean,
            "Date" => FieldType::Date,
            "Object" => FieldType::Object,
            "Array" => FieldType::Array,
            "Pointer" => FieldType::Pointer(target()?),
            "Relation" => FieldType::Relation(target()?),
            "File" => FieldType::File,
            "GeoPoint" => FieldType::GeoPoint,
            "Polygon" => FieldType::Polygon,
            "Bytes" => FieldType::Bytes,
            "ACL" => FieldType::Acl,
            _ => return None,
        })
    }
}

/// Fields a class has before anything is written to it.
pub fn default_fields(class_name: &str) -> Vec<(&'static str, FieldType)> {
    let mut fields = vec![
        ("objectId", FieldType::String),
        ("createdAt", FieldType::Date),
        ("updatedAt", FieldType::Date),
        ("ACL", FieldType::Acl),
    ];
    let user = || FieldType::Pointer("_User".into());
    let extra: Vec<(&'static str, FieldType)> = match class_name {
        "_User" => vec![
            ("username", FieldType::String),
            ("password", FieldType::String),
            ("email", FieldType::String),
            ("emailVerified", FieldType::Boolean),
            ("authData", FieldType::Object),
        ],
        "_Installation" => vec![
            ("installationId", FieldType::String),
            ("deviceToken", FieldType::String),
            ("channels", FieldType::Array),
            ("deviceType", FieldType::String),
            ("pushType", FieldType::String),
            ("GCMSenderId", FieldType::String),
            ("timeZone", FieldType::String),
            ("localeIdentifier", FieldType::String),
            ("badge", FieldType::Number),
            ("appVersion", FieldType::String),
            ("appName", FieldType::String),
            ("appIdentifier", FieldType::String),
            ("parseVersion", FieldType::String),
        ],
        "_Role" => vec![
            ("name", FieldType::String),
            ("users", FieldType::Relation("_User".into())),
            ("roles", FieldType::Relation("_Role".into())),
        ],
        "_Session" => vec![
            ("user", user()),
            ("installationId", FieldType::String),
            ("sessionToken", FieldType::String),
            ("expiresAt", FieldType::Date),
            ("createdWith", FieldType::Object),
        ],
        _ => vec![],
    };
    fields.extend(extra);
    fields
}

/// The schema of one class: its fields and their types. Default fields are implied.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClassSchema {
    pub class_name: String,
    pub fields: BTreeMap<String, FieldType>,
    /// Class-level permissions set through the schema API (`None`: Parse's public default).
    pub class_level_permissions: Option<Map>,
    /// Indexes declared through the schema API: name -> `{field: 1 | -1, …}` in key order.
    pub indexes: BTreeMap<String, Map>,
}

impl ClassSchema {
    pub fn new(class_name: &str) -> Self {
        let fields = default_fields(class_name)
            .into_iter()
            .map(|(k, t)| (k.to_string(), t))
            .collect();
        ClassSchema {
            class_name: class_name.to_string(),
            fields,
            class_level_permissions: None,
            indexes: BTreeMap::new(),
        }
    }

    pub fn field_type(&self, field: &str) -> Option<&FieldType> {
        self.fields.get(field)
    }

    /// Fields holding relations, which every object of the class shows.
    pub fn relation_fields(&self) -> impl Iterator<Item = (&String, &String)> {
        self.fields.iter().filter_map(|(k, t)| match t {
            FieldType::Relation(c) => Some((k, c)),
            _ => None,
        })
    }

    /// Checks that `field` may hold `ty`; `Ok(true)` when the field is new to the class.
    pub fn check_field(&self, field: &str, ty: &FieldType) -> Result<bool, ParseError> {
        match self.fields.get(field) {
            Some(existing) if existing == ty => Ok(false),
            Some(existing) => Err(ParseError::incorrect_type(format!(
                "schema mismatch for {}.{}; expected {} but got {}",
                self.class_name, field, existing, ty
            ))),
            None => {
                if *ty == FieldType::GeoPoint {
                    if let Some((other, _)) =
                        self.fields.iter().find(|(_, t)| **t == FieldType::GeoPoint)
                    {
                        return Err(ParseError::incorrect_type(format!(
                            "currently, only one GeoPoint field may exist in an object. Adding {field} when {other} already exists."
                        )));
                    }
                }
                Ok(true)
            }
        }
    }

    /// Reads back what `to_json` wrote (fields only; unknown types are skipped).
    pub fn from_json(v: &Value) -> Option<ClassSchema> {
        let class_name = v.get("className")?.as_str()?.to_string();
        let fields = v
            .get("fields")?
            .as_object()?
            .iter()
            .filter_map(|(k, t)| Some((k.clone(), FieldType::from_json(t)?)))
            .collect();
        // `to_json` shows the default permissions; reading them back means "no explicit ones".
        let class_level_permissions = v
            .get("classLevelPermissions")
            .and_then(Value::as_object)
            .filter(|clp| **clp != default_clp())
            .cloned();
        let indexes = v
            .get("indexes")
            .and_then(Value::as_object)
            .map(|i| {
                i.iter()
                    .filter_map(|(name, spec)| Some((name.clone(), spec.as_object()?.clone())))
                    .collect()
            })
            .unwrap_or_default();
        Some(ClassSchema {
            class_name,
            fields,
            class_level_permissions,
            indexes,
        })
    }

    /// The schema API's JSON for this class.
    pub fn to_json(&self) -> Value {
        let fields: Map = self
            .fields
            .iter()
            .map(|(k, t)| (k.clone(), t.to_json()))
            .collect();
        let clp = self
            .class_level_permissions
            .clone()
            .unwrap_or_else(default_clp);
        let mut v = json!({
            "className": self.class_name,
            "fields": fields,
            "classLevelPermissions": clp
        });
        if !self.indexes.is_empty() {
            let indexes: Map = self
                .indexes
                .iter()
                .map(|(k, spec)| (k.clone(), Value::Object(spec.clone())))
                .collect();
            v["indexes"] = Value::Object(indexes);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mismatch_message_names_both_types() {
        let mut s = ClassSchema::new("Post");
        s.fields
            .insert("author".into(), FieldType::Pointer("_User".into()));
        let e = s.check_field("author", &FieldType::String).unwrap_err();
        assert_eq!(e.code, 111);
        assert_eq!(
            e.error,
            "schema mismatch for Post.author; expected Pointer<_User> but got String"
        );
        assert!(s.check_field("title", &FieldType::String).unwrap());
        assert!(!s.check_field("createdAt", &FieldType::Date).unwrap());
    }

    #[test]
    fn one_geopoint_per_class() {
        let mut s = ClassSchema::new("Place");
        s.fields.insert("loc".into(), FieldType::GeoPoint);
        assert_eq!(
            s.check_field("other", &FieldType::GeoPoint)
                .unwrap_err()
                .code,
            111
        );
        assert!(!s.check_field("loc", &FieldType::GeoPoint).unwrap());
    }

    #[test]
    fn schema_json_round_trip() {
        let mut s = ClassSchema::new("_Role");
        s.fields.insert("score".into(), FieldType::Number);
        assert_eq!(ClassSchema::from_json(&s.to_json()), Some(s));
    }

    #[test]
    fn json_round_trip() {
        for t in [
            FieldType::Pointer("A".into()),
            FieldType::Relation("B".into()),
            FieldType::Bytes,
        ] {
            assert_eq!(FieldType::from_json(&t.to_json()), Some(t));
        }
    }
}
