//! The built-in adapters, one module per provider, named as in Parse Server's `auth` option.

pub mod anonymous;
pub mod apple;
pub mod facebook;
pub mod github;
pub mod google;
pub mod oauth2;
pub mod twitter;

use serde_json::Value;

/// A string field of the client's data, or none when absent or not a string.
pub(crate) fn data_str<'a>(data: &'a model::Map, key: &str) -> Option<&'a str> {
    data.get(key).and_then(Value::as_str)
}
