//! Class and field name rules, and the fields every object has.

use crate::error::{code, ParseError};

/// Classes Parse Server defines itself; any other class name must not start with `_`.
pub const SYSTEM_CLASSES: &[&str] = &[
    "_User",
    "_Installation",
    "_Role",
    "_Session",
    "_Product",
    "_PushStatus",
    "_JobStatus",
    "_JobSchedule",
    "_Audience",
    "_Idempotency",
    "_GlobalConfig",
    "_GraphQLConfig",
    "_Hooks",
];

/// Classes only the master key may read or write through `/classes` (Parse Server's
/// `classesWithMasterOnlyAccess`); `_GlobalConfig` is served by `/config`.
pub const MASTER_ONLY_CLASSES: &[&str] = &[
    "_JobStatus",
    "_PushStatus",
    "_Hooks",
    "_GlobalConfig",
    "_GraphQLConfig",
    "_JobSchedule",
    "_Idempotency",
];

/// The class and object `/config` keeps its parameters in (as Parse Server does).
pub const CONFIG_CLASS: &str = "_GlobalConfig";
pub const CONFIG_OBJECT_ID: &str = "1";

/// System classes clients write through the object routes, under their class's own rules
/// (`installation`, `user`, `role`); writes to the other system classes are refused. Sessions
/// are made by signing up and logging in, and only deleted through the object routes.
pub const WRITABLE_SYSTEM_CLASSES: &[&str] = &["_Installation", "_User", "_Role", "_Session"];

/// Operations only the master key may perform on a class clients otherwise use: a client may
/// save and read its own installation, but not list the others or delete one.
fn master_only_ops(class: &str) -> &'static [&'static str] {
    match class {
        "_Installation" => &["find", "delete"],
        _ => &[],
    }
}

/// Checks that a client without the master key may `op` (find, get, delete, …) on `class`.
/// A count is a find.
pub fn check_client_access(class: &str, op: &str, master: bool) -> Result<(), ParseError> {
    if master {
        return Ok(());
    }
    // Parse Server's messages: the installation collection is named in words.
    let collection = if master_only_ops(class).contains(&op) {
        "installation"
    } else if MASTER_ONLY_CLASSES.contains(&class) {
        class
    } else {
        return Ok(());
    };
    Err(ParseError::new(
        code::OPERATION_FORBIDDEN,
        format!(
            "Clients aren't allowed to perform the {op} operation on the {collection} collection."
        ),
    ))
}

/// Fields every class has, maintained by the server.
pub const DEFAULT_FIELDS: &[&str] = &["objectId", "createdAt", "updatedAt", "ACL"];

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A user class (`^[A-Za-z][A-Za-z0-9_]*$`) or a system class.
pub fn is_valid_class_name(name: &str) -> bool {
    SYSTEM_CLASSES.contains(&name) || is_identifier(name)
}

pub fn validate_class_name(name: &str) -> Result<(), ParseError> {
    if is_valid_class_name(name) {
        Ok(())
    } else {
        // Parse Server's message, trailing space and all: SDK users match on it.
        Err(ParseError::new(
            code::INVALID_CLASS_NAME,
            format!(
                "Invalid classname: {name}, classnames can only have alphanumeric characters and _, and must start with an alpha character "
            ),
        ))
    }
}

/// A field name as a top-level key of an object (`^[A-Za-z][A-Za-z0-9_]*$`, not reserved).
pub fn is_valid_field_name(name: &str) -> bool {
    is_identifier(name) && name != "length" && name != "className"
}

/// Whether `key` names a field the server manages and a client may not write.
pub fn is_default_field(key: &str) -> bool {
    DEFAULT_FIELDS.contains(&key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names() {
        assert!(is_valid_class_name("GameScore"));
        assert!(is_valid_class_name("a_1"));
        assert!(is_valid_class_name("_User"));
        assert!(!is_valid_class_name("_Foo"));
        assert!(!is_valid_class_name("1abc"));
        assert!(!is_valid_class_name("a-b"));
        assert!(!is_valid_class_name(""));
        assert_eq!(validate_class_name("Bad Name").unwrap_err().code, 103);
    }

    #[test]
    fn installations_are_listed_and_deleted_by_the_master_key_only() {
        for op in ["find", "delete"] {
            let e = check_client_access("_Installation", op, false).unwrap_err();
            assert_eq!(e.code, 119);
            assert_eq!(
                e.error,
                format!("Clients aren't allowed to perform the {op} operation on the installation collection.")
            );
            assert!(check_client_access("_Installation", op, true).is_ok());
        }
        for op in ["get", "create", "update"] {
            assert!(check_client_access("_Installation", op, false).is_ok());
        }
        assert!(check_client_access("_Hooks", "get", false).is_err());
        assert!(check_client_access("GameScore", "delete", false).is_ok());
    }

    #[test]
    fn field_names() {
        assert!(is_valid_field_name("score"));
        assert!(is_valid_field_name("a_B9"));
        assert!(!is_valid_field_name("_private"));
        assert!(!is_valid_field_name("9lives"));
        assert!(!is_valid_field_name("has space"));
        assert!(!is_valid_field_name("length"));
        assert!(!is_valid_field_name("className"));
    }
}
