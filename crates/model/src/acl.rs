//! Access control lists: who may read or write one object. An ACL is
//! `{"*" | "<userId>" | "role:<name>": {"read": true, "write": true}}`; an object without one
//! is open to everyone, and the master key is never asked.

use serde_json::Value;

/// Whether an object with `acl` lets any of `groups` (`*`, a user id, `role:Name`) do `perm`
/// (`read` or `write`).
pub fn allows(acl: Option<&Value>, perm: &str, groups: &[String]) -> bool {
    match acl {
        None | Some(Value::Null) => true,
        Some(Value::Object(entries)) => groups.iter().any(|g| {
            entries
                .get(g)
                .and_then(|p| p.get(perm))
                .and_then(Value::as_bool)
                .unwrap_or(false)
        }),
        Some(_) => false,
    }
}

/// The ACL entries a caller matches: everyone, their user id, and each of their roles.
pub fn groups(user_id: Option<&str>, roles: &[String]) -> Vec<String> {
    let mut g = Vec::with_capacity(2 + roles.len());
    g.push("*".to_string());
    g.extend(user_id.map(str::to_string));
    g.extend(roles.iter().map(|r| format!("role:{r}")));
    g
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entries() {
        let g = groups(Some("u1"), &["Admin".to_string()]);
        assert_eq!(g, vec!["*", "u1", "role:Admin"]);
        assert!(allows(None, "read", &g));
        let acl = json!({"u1": {"read": true}, "role:Admin": {"write": true}});
        assert!(allows(Some(&acl), "read", &g));
        assert!(allows(Some(&acl), "write", &g));
        let public = groups(None, &[]);
        assert!(!allows(Some(&acl), "read", &public));
        assert!(!allows(Some(&json!({})), "read", &g));
        assert!(allows(Some(&json!({"*": {"read": true}})), "read", &public));
    }
}
