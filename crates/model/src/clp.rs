//! Class-level permissions (CLP) and object ACLs as pure decisions: who is asking (`Caller`),
//! whether a CLP a client sends through the schema API is valid (`validate_clp`), whether an
//! operation may run and on which objects (`check`, `constraint_filter`, `object_satisfies`),
//! whether an object's ACL lets the caller read or write it (`can_read`, `can_write`), and which
//! fields a reader must not see (`protected_fields`, `check_protected_query`). Parse Server's
//! `SchemaController` (validateCLP, validatePermission) and `DatabaseController`
//! (addPointerPermissions, addProtectedFields, filterSensitiveData) are the reference, errors and
//! messages included.
//!
//! How a request uses this module (Parse Server's order):
//! - find / count / get: `Op::for_query` names the operation (`get` for a `where` that is only
//!   `objectId`); a find with `count=1` checks `Find` and then `Count` (only `Count` when
//!   `limit=0`). `check`; on `Constrain`, AND `constraint_filter` into the query (a get that
//!   reads by id may instead test `object_satisfies` and answer `ParseError::not_found()`).
//!   `check_protected_query` refuses a `where` on a protected field; each object read is then
//!   stripped of `protected_fields` (computed before `keys` is applied: `userField:` rules need
//!   the pointer fields they name).
//! - create: `check(AddField { during_update: false })` when the body adds fields to the
//!   schema, then `check(Create)`. Neither constrains a create.
//! - update: `check(AddField { during_update: true })` when the body adds fields, then
//!   `check(Update)`; the object must satisfy both constraints and `can_write`, else
//!   `ParseError::not_found()`.
//! - delete: `check(Delete)`, then the constraint and `can_write` as for an update.

use serde_json::{json, Value};

use crate::error::{code, ParseError};
use crate::names::DEFAULT_FIELDS;
use crate::query::{Cond, Filter};
use crate::schema::{ClassSchema, FieldType};
use crate::Map;

/// The keys a class-level permission object may have.
pub const OPERATION_KEYS: &[&str] = &[
    "find",
    "count",
    "get",
    "create",
    "update",
    "delete",
    "addField",
    "readUserFields",
    "writeUserFields",
    "protectedFields",
];

/// The operations `check` decides (the CLP keys that are not groups of fields).
const OPERATIONS: &[&str] = &[
    "find", "count", "get", "create", "update", "delete", "addField",
];

/// Who makes a request, as far as permissions go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The master key: no CLP, ACL or protected field applies.
    Master,
    /// Anyone else: a logged-in user (`user_id`) with the names of the roles they hold (without
    /// the `role:` prefix, inherited roles included), or nobody (`None`, no roles).
    Client {
        user_id: Option<String>,
        roles: Vec<String>,
    },
}

impl Caller {
    pub fn anonymous() -> Caller {
        Caller::Client {
            user_id: None,
            roles: Vec::new(),
        }
    }

    pub fn user<R: Into<String>>(
        id: impl Into<String>,
        roles: impl IntoIterator<Item = R>,
    ) -> Caller {
        Caller::Client {
            user_id: Some(id.into()),
            roles: roles.into_iter().map(Into::into).collect(),
        }
    }

    pub fn is_master(&self) -> bool {
        matches!(self, Caller::Master)
    }

    pub fn user_id(&self) -> Option<&str> {
        match self {
            Caller::Client { user_id, .. } => user_id.as_deref(),
            Caller::Master => None,
        }
    }

    /// Role names without the `role:` prefix.
    pub fn roles(&self) -> &[String] {
        match self {
            Caller::Client { roles, .. } => roles,
            Caller::Master => &[],
        }
    }

    /// The names an ACL or a CLP may grant to this caller: `*`, the user id, `role:<name>` per
    /// role. For the master key this is only `*`, which does not matter: it bypasses all checks.
    pub fn groups(&self) -> Vec<String> {
        crate::acl::groups(self.user_id(), self.roles())
    }
}

/// An operation a class-level permission governs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Find,
    Count,
    Get,
    Create,
    Update,
    Delete,
    /// A write that introduces a field the class does not have yet. Parse Server lets the
    /// operation's `pointerFields` grant it on an update only, never on a create.
    AddField {
        during_update: bool,
    },
}

impl Op {
    /// The CLP key and the word Parse Server's messages use.
    pub fn name(self) -> &'static str {
        match self {
            Op::Find => "find",
            Op::Count => "count",
            Op::Get => "get",
            Op::Create => "create",
            Op::Update => "update",
            Op::Delete => "delete",
            Op::AddField { .. } => "addField",
        }
    }

    /// Reads take their pointer permissions from `readUserFields`, writes from `writeUserFields`.
    pub fn is_read(self) -> bool {
        matches!(self, Op::Find | Op::Count | Op::Get)
    }

    /// The operation a query without `count` is checked as: Parse Server calls a query whose
    /// `where` is exactly `{"objectId": "<string>"}` a `get` (GET by id, include), else `find`.
    pub fn for_query(where_: &Map) -> Op {
        match where_.get("objectId") {
            Some(Value::String(_)) if where_.len() == 1 => Op::Get,
            _ => Op::Find,
        }
    }

    fn adds_field_on_create(self) -> bool {
        self == Op::AddField {
            during_update: false,
        }
    }

    fn user_fields_key(self) -> &'static str {
        if self.is_read() {
            "readUserFields"
        } else {
            "writeUserFields"
        }
    }
}

/// What the class-level permissions say about one operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Allow,
    /// Refused with this error, before anything is read or written.
    Deny(ParseError),
    /// Allowed only on objects where one of these fields (`Pointer<_User>` or `Array`) points
    /// to, or contains a pointer to, the caller: AND `constraint_filter` into a query, or test
    /// one object with `object_satisfies` (a miss is `ParseError::not_found()`, as when the
    /// object does not exist). For a find or count without a logged-in user the filter matches
    /// nothing (Parse Server answers an empty list); a get, update or delete without one is
    /// already `Deny(ParseError::not_found())`.
    Constrain {
        fields: Vec<String>,
    },
}

fn forbidden(op: Op, class: &str) -> ParseError {
    ParseError::new(
        code::OPERATION_FORBIDDEN,
        format!(
            "Permission denied for action {} on class {class}.",
            op.name()
        ),
    )
}

fn needs_authentication() -> ParseError {
    ParseError::new(
        code::OBJECT_NOT_FOUND,
        "Permission denied, user needs to be authenticated.",
    )
}

/// JavaScript truthiness, which Parse Server applies to CLP entries (`perms['*']`).
fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

/// The string items of a list of field names (anything else names no field).
fn names(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn non_empty_array(v: Option<&Value>) -> bool {
    v.and_then(Value::as_array).is_some_and(|a| !a.is_empty())
}

/// Decides `op` on class `class` whose stored CLP is `clp` (`None`: nobody restricted the class,
/// everything is public). In a stored CLP an operation that is missing (or not an object)
/// is `{}`: nobody but the master key.
pub fn check(clp: Option<&Map>, class: &str, op: Op, caller: &Caller) -> Decision {
    let Caller::Client { user_id, .. } = caller else {
        return Decision::Allow;
    };
    let Some(clp) = clp else {
        return Decision::Allow;
    };
    let empty = Map::new();
    let perms = clp
        .get(op.name())
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let groups = caller.groups();
    if truthy(perms.get("*")) || groups.iter().any(|g| perms.get(g) == Some(&json!(true))) {
        return Decision::Allow;
    }
    if truthy(perms.get("requiresAuthentication")) {
        if user_id.is_none() {
            return Decision::Deny(needs_authentication());
        }
        // Logged in passes, but pointer permissions of the operation still narrow it below.
    } else {
        if op == Op::Create {
            return Decision::Deny(forbidden(op, class));
        }
        let by_user_fields = non_empty_array(clp.get(op.user_fields_key()));
        let by_pointer_fields =
            non_empty_array(perms.get("pointerFields")) && !op.adds_field_on_create();
        if !by_user_fields && !by_pointer_fields {
            return Decision::Deny(forbidden(op, class));
        }
    }
    // Parse Server narrows finds, gets, updates and deletes by pointer permissions, never a
    // create (nor the addField check of a create).
    if op == Op::Create || op.adds_field_on_create() {
        return Decision::Allow;
    }
    let mut fields = names(perms.get("pointerFields"));
    for f in names(clp.get(op.user_fields_key())) {
        if !fields.contains(&f) {
            fields.push(f);
        }
    }
    if fields.is_empty() {
        return Decision::Allow;
    }
    if user_id.is_none() && !matches!(op, Op::Find | Op::Count) {
        return Decision::Deny(ParseError::not_found());
    }
    Decision::Constrain { fields }
}

fn user_pointer(id: &str) -> Value {
    json!({"__type": "Pointer", "className": "_User", "objectId": id})
}

/// The query condition a `Decision::Constrain` stands for: one of `fields` equals (a pointer
/// field) or contains (an array) a pointer to the caller. Without a logged-in user it matches
/// nothing; for the master key, everything.
pub fn constraint_filter(fields: &[String], caller: &Caller) -> Filter {
    let user_id = match caller {
        Caller::Master => return Filter::And(Vec::new()),
        Caller::Client { user_id: None, .. } => return Filter::Or(Vec::new()),
        Caller::Client {
            user_id: Some(id), ..
        } => id,
    };
    let mut each: Vec<Filter> = fields
        .iter()
        .map(|f| Filter::Field {
            path: f.clone(),
            // Equality on an array field means "contains", in memory and in SQL alike.
            cond: Cond::Eq(user_pointer(user_id)),
        })
        .collect();
    if each.len() == 1 {
        each.remove(0)
    } else {
        Filter::Or(each)
    }
}

/// Whether one object (its REST JSON) meets a `Decision::Constrain`.
pub fn object_satisfies(fields: &[String], caller: &Caller, object: &Map) -> bool {
    constraint_filter(fields, caller).matches(object)
}

fn acl_allows(acl: Option<&Value>, caller: &Caller, perm: &str) -> bool {
    caller.is_master() || crate::acl::allows(acl, perm, &caller.groups())
}

/// Whether an object's REST ACL (`{"*":{"read":true},"<userId>":{…},"role:R":{…}}`) lets the
/// caller read it. No ACL is public; `{}` is master-only.
pub fn can_read(object_acl: Option<&Value>, caller: &Caller) -> bool {
    acl_allows(object_acl, caller, "read")
}

/// Whether an object's REST ACL lets the caller update or delete it.
pub fn can_write(object_acl: Option<&Value>, caller: &Caller) -> bool {
    acl_allows(object_acl, caller, "write")
}

/// The CLP Parse Server assumes for a class nobody restricted.
pub fn default_clp() -> Map {
    let mut clp: Map = OPERATIONS
        .iter()
        .map(|op| (op.to_string(), json!({"*": true})))
        .collect();
    clp.insert("protectedFields".into(), json!({"*": []}));
    clp
}

/// Parse Server's default for its `protectedFields` server option: nobody but the user
/// themselves (and the master key) sees a user's email.
pub fn server_default_protected_fields() -> Map {
    let mut m = Map::new();
    m.insert("_User".into(), json!({"*": ["email"]}));
    m
}

/// The CLP Parse Server evaluates for a class: `default_clp()` when none is stored, else the
/// stored one over empty operations (`{}`: denied); then the server option `protectedFields`
/// (`{class: {key: [fields]}}`) merged into `protectedFields` key by key, as a union after the
/// stored fields. Applying it to its own result changes nothing.
pub fn effective_clp(class: &str, stored: Option<&Map>, server_protected_fields: &Map) -> Map {
    let mut clp = match stored {
        None => default_clp(),
        Some(stored) => {
            let mut clp: Map = OPERATIONS
                .iter()
                .map(|op| (op.to_string(), json!({})))
                .collect();
            clp.insert("protectedFields".into(), json!({}));
            for (k, v) in stored {
                clp.insert(k.clone(), v.clone());
            }
            clp
        }
    };
    if let Some(extra) = server_protected_fields
        .get(class)
        .and_then(Value::as_object)
    {
        let mut protected = clp
            .get("protectedFields")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for (key, fields) in extra {
            let mut merged: Vec<Value> = protected
                .get(key)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for f in fields.as_array().into_iter().flatten() {
                if !merged.contains(f) {
                    merged.push(f.clone());
                }
            }
            protected.insert(key.clone(), Value::Array(merged));
        }
        clp.insert("protectedFields".into(), Value::Object(protected));
    }
    clp
}

/// Fields in every one of `sets` (none when there is no set).
fn intersection(sets: &[Vec<String>]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in sets.iter().flatten() {
        if !out.contains(f) && sets.iter().all(|s| s.contains(f)) {
            out.push(f.clone());
        }
    }
    out
}

/// The `protectedFields` sets that apply to the caller whatever the object: `*`,
/// `authenticated` when logged in, each `role:X` the caller holds, the caller's own id.
fn caller_sets(protected: &Map, caller: &Caller) -> Vec<Vec<String>> {
    let user_id = caller.user_id();
    let roles: Vec<String> = caller.roles().iter().map(|r| format!("role:{r}")).collect();
    let mut sets = Vec::new();
    for (key, fields) in protected {
        let applies =
            key == "*" || (user_id.is_some() && (key == "authenticated" || roles.contains(key)));
        if applies && fields.is_array() {
            sets.push(names(Some(fields)));
        }
    }
    if let Some(id) = user_id {
        // Parse Server looks the user's own entry up after the others.
        if let Some(fields) = protected.get(id).filter(|f| f.is_array()) {
            sets.push(names(Some(fields)));
        }
    }
    sets
}

/// Whether a field's value is a pointer to the user, or an array holding one (Parse Server
/// compares only the `objectId`).
fn points_to(value: Option<&Value>, user_id: &str) -> bool {
    let is_user = |v: &Value| v.get("objectId").and_then(Value::as_str) == Some(user_id);
    match value {
        Some(Value::Array(items)) => items.iter().any(is_user),
        Some(v) => is_user(v),
        None => false,
    }
}

/// The fields of `object` (class `class`, stored CLP `clp`) the caller must not see, with
/// Parse Server's default server option (`_User`: `email` hidden) merged in.
///
/// The applicable sets are `*`, `authenticated` when logged in, each `role:X` the caller has,
/// the caller's own id, and `userField:f` when the object's `f` points to (or contains) the
/// caller; hidden are the fields in **every** applicable set (none when no set applies). So an
/// empty set that applies (say `{"authenticated": []}`) reveals everything. Nothing is hidden
/// from the master key, nor from a user reading their own `_User` object. Passing an
/// `effective_clp` instead of the stored one gives the same answer.
pub fn protected_fields(
    clp: Option<&Map>,
    caller: &Caller,
    object: &Map,
    class: &str,
) -> Vec<String> {
    protected_fields_with(
        clp,
        &server_default_protected_fields(),
        caller,
        object,
        class,
    )
}

/// `protected_fields` with another value of the server option `protectedFields`.
pub fn protected_fields_with(
    clp: Option<&Map>,
    server_protected_fields: &Map,
    caller: &Caller,
    object: &Map,
    class: &str,
) -> Vec<String> {
    let user_id = match caller {
        Caller::Master => return Vec::new(),
        Caller::Client { user_id, .. } => user_id.as_deref(),
    };
    if class == "_User"
        && user_id.is_some()
        && object.get("objectId").and_then(Value::as_str) == user_id
    {
        return Vec::new();
    }
    let clp = effective_clp(class, clp, server_protected_fields);
    let Some(protected) = clp.get("protectedFields").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut sets = vec![intersection(&caller_sets(protected, caller))];
    if let Some(id) = user_id {
        for (key, fields) in protected {
            let Some(field) = key.strip_prefix("userField:") else {
                continue;
            };
            if fields.is_array() && points_to(object.get(field), id) {
                sets.push(names(Some(fields)));
            }
        }
    }
    intersection(&sets)
}

/// Refuses a query whose top-level `where` constrains a field the caller may not see (Parse
/// Server's denyProtectedFields: only the caller's sets, no `userField:` rule; a constraint
/// that is JavaScript-falsy, such as `null`, passes; so does a query on the caller's own id).
pub fn check_protected_query(
    clp: Option<&Map>,
    class: &str,
    caller: &Caller,
    where_: &Map,
) -> Result<(), ParseError> {
    if caller.is_master() {
        return Ok(());
    }
    let own = where_
        .get("objectId")
        .and_then(Value::as_str)
        .is_some_and(|id| id != "*" && caller.groups().iter().any(|g| g == id));
    if own {
        return Ok(());
    }
    let clp = effective_clp(class, clp, &server_default_protected_fields());
    let Some(protected) = clp.get("protectedFields").and_then(Value::as_object) else {
        return Ok(());
    };
    for key in intersection(&caller_sets(protected, caller)) {
        if truthy(where_.get(&key)) {
            return Err(ParseError::new(
                code::OPERATION_FORBIDDEN,
                format!("This user is not allowed to query {key} on class {class}"),
            ));
        }
    }
    Ok(())
}

/// A value as a JavaScript template literal writes it, which Parse Server's messages do.
fn js_string(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e21 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::Null => String::new(),
                other => js_string(other),
            })
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(_) => "[object Object]".into(),
    }
}

/// The entries `for…in` visits: an object's keys, an array's indices; `None` for what
/// `typeof` does not call an object.
fn js_entries(v: &Value) -> Option<Vec<(String, &Value)>> {
    match v {
        Value::Object(m) => Some(m.iter().map(|(k, v)| (k.clone(), v)).collect()),
        Value::Array(items) => Some(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v))
                .collect(),
        ),
        _ => None,
    }
}

/// Parse Server's user id pattern without `allowCustomObjectId`.
fn is_user_id(key: &str) -> bool {
    !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric())
}

fn invalid_key(key: &str) -> ParseError {
    ParseError::invalid_json(format!(
        "'{key}' is not a valid key for class level permissions"
    ))
}

fn check_pointer_field(
    name: &Value,
    schema: &ClassSchema,
    operation: &str,
) -> Result<(), ParseError> {
    let field = js_string(name);
    match schema.fields.get(&field) {
        Some(FieldType::Array) => Ok(()),
        Some(FieldType::Pointer(target)) if target == "_User" => Ok(()),
        _ => Err(ParseError::invalid_json(format!(
            "'{field}' is not a valid column for class level pointer permissions {operation}"
        ))),
    }
}

/// Checks class-level permissions sent to the schema API against the class they will govern
/// (its fields after the same request's changes), with Parse Server's errors (all 107).
pub fn validate_clp(clp: &Map, schema: &ClassSchema) -> Result<(), ParseError> {
    for (op_key, operation) in clp {
        if !OPERATION_KEYS.contains(&op_key.as_str()) {
            return Err(ParseError::invalid_json(format!(
                "{op_key} is not a valid operation for class level permissions"
            )));
        }
        if op_key == "readUserFields" || op_key == "writeUserFields" {
            let Value::Array(fields) = operation else {
                return Err(ParseError::invalid_json(format!(
                    "'{}' is not a valid value for class level permissions {op_key} - must be an array",
                    js_string(operation)
                )));
            };
            for field in fields {
                check_pointer_field(field, schema, op_key)?;
            }
            continue;
        }
        let Some(entries) = js_entries(operation) else {
            return Err(ParseError::invalid_json(format!(
                "'{}' is not a valid value for class level permissions {op_key} - must be an object",
                js_string(operation)
            )));
        };
        if op_key == "protectedFields" {
            for (entity, fields) in entries {
                let key_ok = entity == "*"
                    || entity == "authenticated"
                    || entity.starts_with("role:")
                    || entity.starts_with("userField:")
                    || is_user_id(&entity);
                if !key_ok {
                    return Err(invalid_key(&entity));
                }
                let Value::Array(fields) = fields else {
                    return Err(ParseError::invalid_json(format!(
                        "'{}' is not a valid value for protectedFields[{entity}] - expected an array.",
                        js_string(fields)
                    )));
                };
                for field in fields.iter().map(js_string) {
                    if DEFAULT_FIELDS.contains(&field.as_str()) {
                        return Err(ParseError::invalid_json(format!(
                            "Default field '{field}' can not be protected"
                        )));
                    }
                    if !schema.fields.contains_key(&field) {
                        return Err(ParseError::invalid_json(format!(
                            "Field '{field}' in protectedFields:{entity} does not exist"
                        )));
                    }
                }
            }
            continue;
        }
        for (entity, value) in entries {
            let key_ok = entity == "*"
                || entity == "pointerFields"
                || entity == "requiresAuthentication"
                || entity.starts_with("role:")
                || is_user_id(&entity);
            if !key_ok {
                return Err(invalid_key(&entity));
            }
            if entity == "pointerFields" {
                let Value::Array(fields) = value else {
                    return Err(ParseError::invalid_json(format!(
                        "'{}' is not a valid value for {op_key}[{entity}] - expected an array.",
                        js_string(value)
                    )));
                };
                for field in fields {
                    // Parse Server names the operation's object here, which JavaScript
                    // writes as `[object Object]`; clients may match the message.
                    check_pointer_field(field, schema, "[object Object]")?;
                }
                continue;
            }
            if value != &json!(true) {
                let v = js_string(value);
                return Err(ParseError::invalid_json(format!(
                    "'{v}' is not a valid value for class level permissions {op_key}:{entity}:{v}"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(v: Value) -> Map {
        v.as_object().cloned().unwrap()
    }

    fn post_schema() -> ClassSchema {
        let mut s = ClassSchema::new("Post");
        s.fields
            .insert("owner".into(), FieldType::Pointer("_User".into()));
        s.fields.insert("editors".into(), FieldType::Array);
        s.fields
            .insert("team".into(), FieldType::Pointer("Team".into()));
        s.fields.insert("title".into(), FieldType::String);
        s.fields.insert("secret".into(), FieldType::String);
        s
    }

    fn invalid(clp: Value) -> String {
        let e = validate_clp(&map(clp), &post_schema()).unwrap_err();
        assert_eq!(e.code, 107);
        e.error
    }

    fn alice() -> Caller {
        Caller::user("alice", ["Admin"])
    }

    fn deny(d: Decision) -> (i32, String) {
        match d {
            Decision::Deny(e) => (e.code, e.error),
            other => panic!("expected a denial, got {other:?}"),
        }
    }

    fn ptr(id: &str) -> Value {
        json!({"__type": "Pointer", "className": "_User", "objectId": id})
    }

    #[test]
    fn caller_groups() {
        assert_eq!(
            alice().groups(),
            vec!["*".to_string(), "alice".into(), "role:Admin".into()]
        );
        assert_eq!(Caller::anonymous().groups(), vec!["*".to_string()]);
        assert!(Caller::Master.is_master());
        assert_eq!(alice().user_id(), Some("alice"));
        assert_eq!(Caller::anonymous().user_id(), None);
    }

    #[test]
    fn valid_clps_pass() {
        let s = post_schema();
        for clp in [
            json!({}),
            json!({"find": {"*": true}, "count": {}, "get": {"requiresAuthentication": true},
                   "create": {"role:Admin": true, "abc123": true},
                   "update": {"pointerFields": ["owner", "editors"]}, "delete": {"pointerFields": []},
                   "addField": {}, "readUserFields": ["owner"], "writeUserFields": ["editors"],
                   "protectedFields": {"*": ["secret"], "authenticated": [], "role:Admin": ["title"],
                                       "abc": ["secret"], "userField:owner": []}}),
            // `typeof [] === 'object'`: Parse Server accepts an array as an operation.
            json!({"find": []}),
        ] {
            assert_eq!(validate_clp(&map(clp.clone()), &s), Ok(()), "{clp}");
        }
        let mut user = ClassSchema::new("_User");
        user.fields.insert("phone".into(), FieldType::String);
        let clp = map(json!({"protectedFields": {"*": ["email", "phone"]}}));
        assert_eq!(validate_clp(&clp, &user), Ok(()));
    }

    #[test]
    fn validation_messages() {
        assert_eq!(
            invalid(json!({"fly": {}})),
            "fly is not a valid operation for class level permissions"
        );
        assert_eq!(
            invalid(json!({"find": true})),
            "'true' is not a valid value for class level permissions find - must be an object"
        );
        assert_eq!(
            invalid(json!({"protectedFields": null})),
            "'null' is not a valid value for class level permissions protectedFields - must be an object"
        );
        assert_eq!(
            invalid(json!({"readUserFields": {"owner": true}})),
            "'[object Object]' is not a valid value for class level permissions readUserFields - must be an array"
        );
        assert_eq!(
            invalid(json!({"writeUserFields": ["title"]})),
            "'title' is not a valid column for class level pointer permissions writeUserFields"
        );
        assert_eq!(
            invalid(json!({"readUserFields": ["team"]})),
            "'team' is not a valid column for class level pointer permissions readUserFields"
        );
        assert_eq!(
            invalid(json!({"readUserFields": ["nope"]})),
            "'nope' is not a valid column for class level pointer permissions readUserFields"
        );
        assert_eq!(
            invalid(json!({"find": {"user-1": true}})),
            "'user-1' is not a valid key for class level permissions"
        );
        assert_eq!(
            invalid(json!({"find": {"authenticated": true, "*x": true}})),
            "'*x' is not a valid key for class level permissions"
        );
        assert_eq!(
            invalid(json!({"find": {"userField:owner": true}})),
            "'userField:owner' is not a valid key for class level permissions"
        );
        assert_eq!(
            invalid(json!({"find": {"*": false}})),
            "'false' is not a valid value for class level permissions find:*:false"
        );
        assert_eq!(
            invalid(json!({"get": {"requiresAuthentication": 1}})),
            "'1' is not a valid value for class level permissions get:requiresAuthentication:1"
        );
        assert_eq!(
            invalid(json!({"update": {"role:A": "yes"}})),
            "'yes' is not a valid value for class level permissions update:role:A:yes"
        );
        assert_eq!(
            invalid(json!({"update": {"pointerFields": "owner"}})),
            "'owner' is not a valid value for update[pointerFields] - expected an array."
        );
        assert_eq!(
            invalid(json!({"update": {"pointerFields": ["title"]}})),
            "'title' is not a valid column for class level pointer permissions [object Object]"
        );
        assert_eq!(
            invalid(json!({"protectedFields": {"user_1": []}})),
            "'user_1' is not a valid key for class level permissions"
        );
        // Any alphanumeric key passes as a user id, so these are accepted, as in Parse Server.
        let s = post_schema();
        let odd = map(json!({"protectedFields": {"requiresAuthentication": []},
                             "find": {"authenticated": true}}));
        assert_eq!(validate_clp(&odd, &s), Ok(()));
        assert_eq!(
            invalid(json!({"protectedFields": {"*": "secret"}})),
            "'secret' is not a valid value for protectedFields[*] - expected an array."
        );
        assert_eq!(
            invalid(json!({"protectedFields": {"*": ["objectId"]}})),
            "Default field 'objectId' can not be protected"
        );
        assert_eq!(
            invalid(json!({"protectedFields": {"role:A": ["ACL"]}})),
            "Default field 'ACL' can not be protected"
        );
        assert_eq!(
            invalid(json!({"protectedFields": {"*": ["nope"]}})),
            "Field 'nope' in protectedFields:* does not exist"
        );
        assert_eq!(
            invalid(json!({"protectedFields": {"userField:owner": ["title", "x"]}})),
            "Field 'x' in protectedFields:userField:owner does not exist"
        );
        // The first problem in the order the keys were sent is the one reported.
        assert_eq!(
            invalid(json!({"find": {"*": 2}, "fly": {}})),
            "'2' is not a valid value for class level permissions find:*:2"
        );
    }

    #[test]
    fn javascript_strings() {
        assert_eq!(js_string(&json!(1.0)), "1");
        assert_eq!(js_string(&json!(1.5)), "1.5");
        assert_eq!(js_string(&json!(["a", null, 2])), "a,,2");
        assert_eq!(js_string(&json!({"a": 1})), "[object Object]");
    }

    #[test]
    fn no_clp_and_master_allow_everything() {
        let clp = map(json!({}));
        for op in [
            Op::Find,
            Op::Count,
            Op::Get,
            Op::Create,
            Op::Update,
            Op::Delete,
            Op::AddField {
                during_update: true,
            },
        ] {
            assert_eq!(
                check(None, "Post", op, &Caller::anonymous()),
                Decision::Allow
            );
            assert_eq!(
                check(Some(&clp), "Post", op, &Caller::Master),
                Decision::Allow
            );
        }
    }

    #[test]
    fn missing_operation_denies() {
        let clp = map(json!({"find": {"*": true}}));
        assert_eq!(
            check(Some(&clp), "Post", Op::Find, &alice()),
            Decision::Allow
        );
        // `count` does not fall back to `find`: it is its own key.
        assert_eq!(
            deny(check(Some(&clp), "Post", Op::Count, &alice())),
            (
                119,
                "Permission denied for action count on class Post.".into()
            )
        );
        assert_eq!(
            deny(check(Some(&clp), "Post", Op::Get, &alice())),
            (
                119,
                "Permission denied for action get on class Post.".into()
            )
        );
        assert_eq!(
            deny(check(
                Some(&clp),
                "Post",
                Op::AddField {
                    during_update: true
                },
                &alice()
            )),
            (
                119,
                "Permission denied for action addField on class Post.".into()
            )
        );
        assert_eq!(
            deny(check(Some(&clp), "Post", Op::Create, &Caller::anonymous())),
            (
                119,
                "Permission denied for action create on class Post.".into()
            )
        );
    }

    #[test]
    fn users_and_roles() {
        let clp = map(
            json!({"update": {"alice": true}, "delete": {"role:Admin": true},
                             "find": {"role:Other": true, "bob": true}}),
        );
        assert_eq!(
            check(Some(&clp), "P", Op::Update, &alice()),
            Decision::Allow
        );
        assert_eq!(
            check(Some(&clp), "P", Op::Delete, &alice()),
            Decision::Allow
        );
        assert_eq!(deny(check(Some(&clp), "P", Op::Find, &alice())).0, 119);
        let bob = Caller::user("bob", Vec::<String>::new());
        assert_eq!(deny(check(Some(&clp), "P", Op::Update, &bob)).0, 119);
        assert_eq!(check(Some(&clp), "P", Op::Find, &bob), Decision::Allow);
    }

    #[test]
    fn requires_authentication() {
        let clp = map(json!({"find": {"requiresAuthentication": true},
                             "create": {"requiresAuthentication": true},
                             "get": {"requiresAuthentication": true, "pointerFields": ["owner"]}}));
        assert_eq!(check(Some(&clp), "P", Op::Find, &alice()), Decision::Allow);
        assert_eq!(
            check(Some(&clp), "P", Op::Create, &alice()),
            Decision::Allow
        );
        for op in [Op::Find, Op::Create, Op::Get] {
            assert_eq!(
                deny(check(Some(&clp), "P", op, &Caller::anonymous())),
                (
                    101,
                    "Permission denied, user needs to be authenticated.".into()
                )
            );
        }
        // Logged in passes the gate, yet the operation's pointer fields still narrow it.
        assert_eq!(
            check(Some(&clp), "P", Op::Get, &alice()),
            Decision::Constrain {
                fields: vec!["owner".into()]
            }
        );
    }

    #[test]
    fn pointer_permissions() {
        let clp = map(json!({
            "find": {"pointerFields": ["owner"]}, "get": {}, "count": {},
            "update": {"pointerFields": ["owner"]}, "delete": {},
            "create": {"pointerFields": ["owner"]},
            "addField": {"pointerFields": ["owner"]},
            "readUserFields": ["editors", "owner"], "writeUserFields": []
        }));
        let c = |op| check(Some(&clp), "Post", op, &alice());
        assert_eq!(
            c(Op::Find),
            Decision::Constrain {
                fields: vec!["owner".into(), "editors".into()]
            }
        );
        assert_eq!(
            c(Op::Get),
            Decision::Constrain {
                fields: vec!["editors".into(), "owner".into()]
            }
        );
        assert_eq!(
            c(Op::Update),
            Decision::Constrain {
                fields: vec!["owner".into()]
            }
        );
        // An empty writeUserFields grants nothing.
        assert_eq!(
            deny(c(Op::Delete)),
            (
                119,
                "Permission denied for action delete on class Post.".into()
            )
        );
        // A create is never granted by pointer permissions.
        assert_eq!(
            deny(c(Op::Create)),
            (
                119,
                "Permission denied for action create on class Post.".into()
            )
        );
        // addField: by the operation's pointer fields on an update only.
        assert_eq!(
            deny(c(Op::AddField {
                during_update: false
            })),
            (
                119,
                "Permission denied for action addField on class Post.".into()
            )
        );
        assert_eq!(
            c(Op::AddField {
                during_update: true
            }),
            Decision::Constrain {
                fields: vec!["owner".into()]
            }
        );
        // No user: finds and counts see nothing, the others find no object.
        let anon = |op| check(Some(&clp), "Post", op, &Caller::anonymous());
        assert!(matches!(anon(Op::Find), Decision::Constrain { .. }));
        assert!(matches!(anon(Op::Count), Decision::Constrain { .. }));
        assert_eq!(deny(anon(Op::Get)), (101, "Object not found.".into()));
        assert_eq!(deny(anon(Op::Update)), (101, "Object not found.".into()));
    }

    #[test]
    fn write_user_fields_and_add_field_on_create() {
        let clp = map(json!({"addField": {}, "delete": {}, "create": {},
                             "writeUserFields": ["editors"]}));
        let c = |op| check(Some(&clp), "Post", op, &alice());
        assert_eq!(
            c(Op::Delete),
            Decision::Constrain {
                fields: vec!["editors".into()]
            }
        );
        // Parse Server lets writeUserFields grant addField even on a create, unconstrained.
        assert_eq!(
            c(Op::AddField {
                during_update: false
            }),
            Decision::Allow
        );
        assert_eq!(deny(c(Op::Create)).0, 119);
    }

    #[test]
    fn constraint_filter_and_objects() {
        let fields = vec!["owner".to_string(), "editors".to_string()];
        let f = constraint_filter(&fields, &alice());
        assert_eq!(
            f,
            Filter::Or(vec![
                Filter::Field {
                    path: "owner".into(),
                    cond: Cond::Eq(ptr("alice"))
                },
                Filter::Field {
                    path: "editors".into(),
                    cond: Cond::Eq(ptr("alice"))
                },
            ])
        );
        assert_eq!(
            constraint_filter(&fields[..1], &alice()),
            Filter::Field {
                path: "owner".into(),
                cond: Cond::Eq(ptr("alice"))
            }
        );
        let owned = map(json!({"owner": ptr("alice")}));
        let edited = map(json!({"owner": ptr("bob"), "editors": [ptr("carol"), ptr("alice")]}));
        let other = map(json!({"owner": ptr("bob"), "editors": [ptr("carol")]}));
        let wrong_class =
            map(json!({"owner": {"__type": "Pointer", "className": "Team", "objectId": "alice"}}));
        assert!(object_satisfies(&fields, &alice(), &owned));
        assert!(object_satisfies(&fields, &alice(), &edited));
        assert!(!object_satisfies(&fields, &alice(), &other));
        assert!(!object_satisfies(&fields, &alice(), &wrong_class));
        assert!(!object_satisfies(&fields, &alice(), &map(json!({}))));
        assert!(!object_satisfies(&fields, &Caller::anonymous(), &owned));
        assert!(object_satisfies(&fields, &Caller::Master, &other));
    }

    #[test]
    fn op_for_query() {
        assert_eq!(Op::for_query(&map(json!({"objectId": "x"}))), Op::Get);
        assert_eq!(
            Op::for_query(&map(json!({"objectId": "x", "a": 1}))),
            Op::Find
        );
        assert_eq!(
            Op::for_query(&map(json!({"objectId": {"$in": ["x"]}}))),
            Op::Find
        );
        assert_eq!(Op::for_query(&map(json!({}))), Op::Find);
    }

    #[test]
    fn acls() {
        let acl = json!({"*": {"read": true}, "alice": {"write": true}, "role:Mod": {"read": true, "write": true}});
        let bob = Caller::user("bob", Vec::<String>::new());
        let mod_ = Caller::user("carol", ["Mod"]);
        assert!(can_read(Some(&acl), &Caller::anonymous()));
        assert!(!can_write(Some(&acl), &Caller::anonymous()));
        assert!(can_write(Some(&acl), &alice()));
        assert!(!can_write(Some(&acl), &bob));
        assert!(can_write(Some(&acl), &mod_));
        let private = json!({"alice": {"read": true}});
        assert!(can_read(Some(&private), &alice()));
        assert!(!can_read(Some(&private), &bob));
        assert!(!can_write(Some(&private), &alice()));
        let none = json!({});
        assert!(!can_read(Some(&none), &alice()));
        assert!(can_read(Some(&none), &Caller::Master));
        assert!(can_write(Some(&none), &Caller::Master));
        assert!(can_read(None, &Caller::anonymous()));
        assert!(can_write(None, &Caller::anonymous()));
        assert!(can_write(Some(&Value::Null), &bob));
        assert!(!can_read(
            Some(&json!({"alice": {"read": false}})),
            &alice()
        ));
    }

    #[test]
    fn effective_clp_merges_the_server_option() {
        let server = server_default_protected_fields();
        let user = effective_clp("_User", None, &server);
        assert_eq!(user["find"], json!({"*": true}));
        assert_eq!(user["protectedFields"], json!({"*": ["email"]}));
        let stored =
            map(json!({"find": {"*": true}, "protectedFields": {"*": ["phone", "email"]}}));
        let eff = effective_clp("_User", Some(&stored), &server);
        assert_eq!(eff["get"], json!({}));
        assert_eq!(eff["protectedFields"], json!({"*": ["phone", "email"]}));
        assert_eq!(effective_clp("_User", Some(&eff), &server), eff);
        let stored = map(json!({"find": {}}));
        let eff = effective_clp("_User", Some(&stored), &server);
        assert_eq!(eff["protectedFields"], json!({"*": ["email"]}));
        assert_eq!(effective_clp("Post", None, &server), default_clp());
    }

    #[test]
    fn protected_fields_intersect() {
        let clp = map(json!({"protectedFields": {
            "*": ["secret", "title", "phone"],
            "authenticated": ["secret", "title"],
            "role:Admin": ["secret"],
            "role:Other": [],
            "bob": ["title", "secret"],
            "userField:owner": ["title"],
        }}));
        let object = map(json!({"objectId": "p1", "owner": ptr("dave"), "editors": []}));
        let p = |caller: &Caller, o: &Map| protected_fields(Some(&clp), caller, o, "Post");
        assert_eq!(
            p(&Caller::anonymous(), &object),
            vec!["secret", "title", "phone"]
        );
        assert_eq!(
            p(&Caller::user("x", Vec::<String>::new()), &object),
            vec!["secret", "title"]
        );
        assert_eq!(p(&alice(), &object), vec!["secret"]);
        assert_eq!(
            p(&Caller::user("bob", Vec::<String>::new()), &object),
            vec!["secret", "title"]
        );
        assert!(p(&Caller::user("carol", ["Other"]), &object).is_empty());
        // The object's owner: userField:owner applies too.
        assert_eq!(
            p(&Caller::user("dave", Vec::<String>::new()), &object),
            vec!["title"]
        );
        assert!(p(&Caller::user("dave", ["Admin"]), &object).is_empty());
        assert!(p(&Caller::Master, &object).is_empty());
        // Only `*`: that set.
        let star = map(json!({"protectedFields": {"*": ["secret"]}}));
        assert_eq!(
            protected_fields(Some(&star), &alice(), &object, "Post"),
            vec!["secret"]
        );
        // No set applies: nothing hidden.
        let none = map(json!({"protectedFields": {"role:Other": ["secret"]}}));
        assert!(protected_fields(Some(&none), &alice(), &object, "Post").is_empty());
        assert!(protected_fields(None, &alice(), &object, "Post").is_empty());
    }

    #[test]
    fn protected_user_fields_match_arrays_by_object_id() {
        let clp = map(json!({"protectedFields": {
            "*": ["secret", "title"], "userField:editors": ["secret"]}}));
        let object = map(json!({"editors": [ptr("x"), {"objectId": "alice"}]}));
        assert_eq!(
            protected_fields(Some(&clp), &alice(), &object, "Post"),
            vec!["secret"]
        );
        assert_eq!(
            protected_fields(
                Some(&clp),
                &Caller::user("y", Vec::<String>::new()),
                &object,
                "Post"
            ),
            vec!["secret", "title"]
        );
    }

    #[test]
    fn user_email_is_protected_but_not_from_oneself() {
        let me = map(json!({"objectId": "alice", "email": "a@x.io"}));
        let other = map(json!({"objectId": "bob", "email": "b@x.io"}));
        assert_eq!(
            protected_fields(None, &alice(), &other, "_User"),
            vec!["email"]
        );
        assert_eq!(
            protected_fields(None, &Caller::anonymous(), &other, "_User"),
            vec!["email"]
        );
        assert!(protected_fields(None, &alice(), &me, "_User").is_empty());
        assert!(protected_fields(None, &Caller::Master, &other, "_User").is_empty());
        // A stored CLP keeps the server option; an applicable empty set still reveals it.
        let clp = map(json!({"protectedFields": {"authenticated": []}}));
        assert_eq!(
            protected_fields(Some(&clp), &Caller::anonymous(), &other, "_User"),
            vec!["email"]
        );
        assert!(protected_fields(Some(&clp), &alice(), &other, "_User").is_empty());
        // Another server option replaces the default.
        assert!(protected_fields_with(None, &Map::new(), &alice(), &other, "_User").is_empty());
    }

    #[test]
    fn queries_on_protected_fields() {
        let clp = map(json!({"protectedFields": {"*": ["secret"], "userField:owner": []}}));
        let q =
            |caller: &Caller, w: Value| check_protected_query(Some(&clp), "Post", caller, &map(w));
        assert_eq!(
            q(&alice(), json!({"secret": "x"})),
            Err(ParseError::new(
                119,
                "This user is not allowed to query secret on class Post"
            ))
        );
        assert_eq!(q(&alice(), json!({"secret": null})), Ok(()));
        assert_eq!(q(&alice(), json!({"title": "x"})), Ok(()));
        assert_eq!(q(&alice(), json!({"$or": [{"secret": "x"}]})), Ok(()));
        assert_eq!(q(&Caller::Master, json!({"secret": "x"})), Ok(()));
        assert_eq!(
            q(&alice(), json!({"objectId": "alice", "secret": "x"})),
            Ok(())
        );
        let users = check_protected_query(
            None,
            "_User",
            &Caller::anonymous(),
            &map(json!({"email": "a@x.io"})),
        );
        assert_eq!(
            users.unwrap_err().error,
            "This user is not allowed to query email on class _User"
        );
        assert_eq!(
            check_protected_query(
                None,
                "_User",
                &alice(),
                &map(json!({"objectId": "alice", "email": "a@x.io"}))
            ),
            Ok(())
        );
    }
}
