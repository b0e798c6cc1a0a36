//! A stored Parse object: its REST JSON (objectId, createdAt, updatedAt, ACL and fields),
//! without relation fields, which live in the read model's join tables.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Map;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Object {
    pub fields: Map,
}

impl Object {
    pub fn object_id(&self) -> &str {
        self.str_field("objectId")
    }

    pub fn created_at(&self) -> &str {
        self.str_field("createdAt")
    }

    pub fn updated_at(&self) -> &str {
        self.str_field("updatedAt")
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.fields.get(key)
    }

    fn str_field(&self, key: &str) -> &str {
        self.fields
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}
