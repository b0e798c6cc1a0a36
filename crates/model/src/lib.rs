//! The Parse domain with no I/O: errors, names, values, schemas, update operations, queries and
//! the pure functions that fold a write into an object. Both the command side (to validate early)
//! and the projector (to decide for good) call the same functions, so they cannot disagree.

pub mod acl;
pub mod clp;
pub mod error;
pub mod file;
pub mod geo;
pub mod installation;
pub mod names;
pub mod object;
pub mod ops;
pub mod outcome;
pub mod pattern;
pub mod query;
pub mod schema;
pub mod schema_change;
pub mod time;
pub mod user;
pub mod value;
pub mod write;

pub use error::{code, ParseError};
pub use object::Object;
pub use ops::{FieldOp, Ops};
pub use schema::{ClassSchema, FieldType};

/// A JSON object: Parse values are carried in their REST encoding.
pub type Map = serde_json::Map<String, serde_json::Value>;
