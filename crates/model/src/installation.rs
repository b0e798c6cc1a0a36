//! The `_Installation` rules of Parse Server (`RestWrite.handleInstallation`), as pure
//! decisions: which existing installations a create or update must be looked up against, and,
//! given what the lookup found, which errors to answer or which writes to make (duplicates to
//! delete, then one create or update). The command side does the lookup and submits the writes.
//!
//! Parse Server compares with JavaScript's `==` and tests fields for truthiness; those
//! semantics are kept (`same`, `truthy`), because which object a save merges into depends on them.

use serde_json::{json, Value};

use crate::error::{code, ParseError};
use crate::query::{Cond, Filter};
use crate::{Map, Object};

pub const CLASS: &str = "_Installation";

/// The fields that identify an installation: plain strings when given.
const IDENTITY_FIELDS: &[&str] = &["installationId", "deviceToken", "deviceType"];

/// A create (`object_id: None`) or update of an installation, normalised: ids lowercased, the
/// installation id the request stands for resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The object the URL names, for an update.
    pub object_id: Option<String>,
    /// The body, with `installationId` and a 64-character `deviceToken` lowercased.
    pub body: Map,
    /// The body's `installationId`, or for a client without the master key the
    /// `X-Parse-Installation-Id` it sent; lowercased.
    pub installation_id: Option<String>,
}

/// What to write for a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Installations to delete first (duplicates of the device), in the same transaction.
    pub deletes: Vec<String>,
    pub target: Target,
    pub body: Map,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Create,
    /// An update of this object (for a create: the request merged into an existing installation).
    Update(String),
}

/// JavaScript truthiness of an optional JSON value, as Parse Server tests fields.
fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Number(n)) => n.as_f64().is_some_and(|n| n != 0.0 && !n.is_nan()),
        Some(_) => true,
    }
}

/// JavaScript's `a == b` for the values Parse Server compares here: a missing field equals
/// `null` and another missing field.
fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (None | Some(Value::Null), None | Some(Value::Null)) => true,
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

fn string_field<'a>(body: &'a Map, key: &str) -> Option<&'a str> {
    body.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn eq(path: &str, value: &str) -> Filter {
    Filter::Field {
        path: path.to_string(),
        cond: Cond::Eq(json!(value)),
    }
}

/// Normalises a create (`object_id: None`) or update. `header_id` is the request's
/// `X-Parse-Installation-Id`; only a client without the master key stands for it.
///
/// Errors: 135 for a create naming no installation at all; 111 for an identity field that is
/// not a string (Parse Server would fail on it with an internal error).
pub fn normalize(
    object_id: Option<&str>,
    mut body: Map,
    header_id: Option<&str>,
    master: bool,
) -> Result<Request, ParseError> {
    for key in IDENTITY_FIELDS {
        match body.get(*key) {
            None | Some(Value::Null) | Some(Value::String(_)) => {}
            Some(other) => {
                return Err(ParseError::incorrect_type(format!(
                    "schema mismatch for {CLASS}.{key}; expected String but got {}",
                    json_type(other)
                )))
            }
        }
    }
    validate_channels(&body)?;
    let header_id = header_id.filter(|h| !h.is_empty());
    if object_id.is_none()
        && !truthy(body.get("deviceToken"))
        && !truthy(body.get("installationId"))
        && header_id.is_none()
    {
        return Err(ParseError::new(
            code::MISSING_REQUIRED_FIELD,
            "at least one ID field (deviceToken, installationId) must be specified in this operation",
        ));
    }
    // APNs tokens are 64 hex digits that devices report in either case.
    if let Some(Value::String(token)) = body.get_mut("deviceToken") {
        if token.encode_utf16().count() == 64 {
            *token = token.to_lowercase();
        }
    }
    if let Some(Value::String(id)) = body.get_mut("installationId") {
        *id = id.to_lowercase();
    }
    let installation_id = match string_field(&body, "installationId") {
        Some(id) => Some(id.to_string()),
        None if !master => header_id.map(str::to_lowercase),
        None => None,
    };
    Ok(Request {
        object_id: object_id.map(str::to_string),
        body,
        installation_id,
    })
}

/// The guide's channel names: the empty string (the broadcast channel), or a letter followed
/// by letters, digits, underscores and dashes.
pub fn is_valid_channel(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        None => true,
        Some(c) => {
            c.is_ascii_alphabetic()
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        }
    }
}

/// Checks the channels a write sets or adds (`channels: [...]`, `Add`/`AddUnique`): 112 for
/// one that is not a valid channel name.
fn validate_channels(body: &Map) -> Result<(), ParseError> {
    let named = match body.get("channels") {
        Some(Value::Array(items)) => items.as_slice(),
        Some(Value::Object(op))
            if matches!(
                op.get("__op").and_then(Value::as_str),
                Some("Add" | "AddUnique")
            ) =>
        {
            op.get("objects")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default()
        }
        _ => return Ok(()),
    };
    if named
        .iter()
        .all(|c| c.as_str().is_some_and(is_valid_channel))
    {
        return Ok(());
    }
    Err(ParseError::new(
        code::INVALID_CHANNEL_NAME,
        "Invalid channel name. A channel name is either an empty string (the broadcast channel) or contains only a-zA-Z0-9_ characters and starts with a letter.",
    ))
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Number(_) => "Number",
        Value::Bool(_) => "Boolean",
        Value::Array(_) => "Array",
        Value::Object(o) if o.contains_key("__op") => "an operation",
        Value::Object(_) => "Object",
        Value::String(_) => "String",
        Value::Null => "null",
    }
}

impl Request {
    /// The installations the rules must see, as one `$or` (the URL's object, the installation
    /// id, the device token); `None` when the write is an ordinary one.
    pub fn lookup(&self) -> Option<Filter> {
        // An update touching no identity is an ordinary update.
        if self.object_id.is_some()
            && !truthy(self.body.get("deviceToken"))
            && self.installation_id.is_none()
            && !truthy(self.body.get("deviceType"))
        {
            return None;
        }
        let mut terms = Vec::new();
        if let Some(id) = &self.object_id {
            terms.push(eq("objectId", id));
        }
        if let Some(id) = &self.installation_id {
            terms.push(eq("installationId", id));
        }
        if let Some(token) = string_field(&self.body, "deviceToken") {
            terms.push(eq("deviceToken", token));
        }
        (!terms.is_empty()).then_some(Filter::Or(terms))
    }

    /// The plan for an ordinary write (no lookup needed).
    pub fn plain(&self) -> Plan {
        Plan {
            deletes: vec![],
            target: match &self.object_id {
                Some(id) => Target::Update(id.clone()),
                None => Target::Create,
            },
            body: self.body.clone(),
        }
    }

    /// Decides the writes, given every installation `lookup` found.
    pub fn decide(&self, found: &[Object]) -> Result<Plan, ParseError> {
        let body = &self.body;
        let token = body.get("deviceToken");
        let iid = self.installation_id.as_ref().map(|s| json!(s));
        let mut object_id_match = None;
        let mut installation_id_match = None;
        let mut token_matches = Vec::new();
        for o in found {
            if self.object_id.as_deref() == Some(o.object_id()) {
                object_id_match = Some(o);
            }
            if iid.is_some() && same(o.get("installationId"), iid.as_ref()) {
                installation_id_match = Some(o);
            }
            if same(o.get("deviceToken"), token) {
                token_matches.push(o);
            }
        }

        if self.object_id.is_some() {
            let current = object_id_match.ok_or_else(|| {
                ParseError::new(code::OBJECT_NOT_FOUND, "Object not found for update.")
            })?;
            let changed = |key: &str| {
                truthy(body.get(key))
                    && truthy(current.get(key))
                    && !same(body.get(key), current.get(key))
            };
            let immutable = |key: &str| {
                ParseError::new(
                    code::CHANGED_IMMUTABLE_FIELD,
                    format!("{key} may not be changed in this operation"),
                )
            };
            if changed("installationId") {
                return Err(immutable("installationId"));
            }
            if changed("deviceToken")
                && !truthy(body.get("installationId"))
                && !truthy(current.get("installationId"))
            {
                return Err(immutable("deviceToken"));
            }
            if truthy(body.get("deviceType"))
                && !same(body.get("deviceType"), current.get("deviceType"))
            {
                return Err(immutable("deviceType"));
            }
        }

        let id_match = installation_id_match.or(object_id_match);
        if self.object_id.is_none() && !truthy(body.get("deviceType")) && id_match.is_none() {
            return Err(ParseError::new(
                code::MISSING_REQUIRED_FIELD,
                "deviceType must be specified in this operation",
            ));
        }

        let mut plan = self.plain();
        // Other installations holding the request's device token are stale registrations of
        // the same device: `keep` says which of them survive.
        let duplicates = |keep: &dyn Fn(&Object) -> bool| -> Vec<String> {
            if !truthy(token) {
                return vec![];
            }
            let app = body.get("appIdentifier").filter(|a| truthy(Some(a)));
            token_matches
                .iter()
                .filter(|o| app.is_none() || same(o.get("appIdentifier"), app))
                .filter(|o| !keep(o))
                .map(|o| o.object_id().to_string())
                .collect()
        };
        match id_match {
            None => match token_matches.as_slice() {
                [] => {}
                [only]
                    if !truthy(only.get("installationId")) || self.installation_id.is_none() =>
                {
                    plan.target = Target::Update(only.object_id().to_string());
                }
                _ if !truthy(body.get("installationId")) => {
                    return Err(ParseError::new(
                        code::INVALID_INSTALLATION_ID,
                        "Must specify installationId when deviceToken matches multiple Installation objects",
                    ))
                }
                _ => {
                    plan.deletes = duplicates(&|o| same(o.get("installationId"), iid.as_ref()));
                }
            },
            Some(matched) => match token_matches.as_slice() {
                [only] if !truthy(only.get("installationId")) => {
                    // A registration that had only the token (imported from another push
                    // provider, say) absorbs the one found by id. Parse Server would also
                    // delete it when both are the same object, and then fail the update.
                    if only.object_id() != matched.object_id() {
                        plan.deletes = vec![matched.object_id().to_string()];
                    }
                    plan.target = Target::Update(only.object_id().to_string());
                }
                _ => {
                    if truthy(token) && !same(matched.get("deviceToken"), token) {
                        let given_id = body.get("installationId").filter(|v| truthy(Some(v)));
                        let given_object = body.get("objectId").and_then(Value::as_str);
                        if given_id.is_some() {
                            plan.deletes = duplicates(&|o| same(o.get("installationId"), given_id));
                        } else if given_object == Some(matched.object_id()) {
                            plan.deletes = duplicates(&|o| o.object_id() == matched.object_id());
                        }
                    }
                    plan.target = Target::Update(matched.object_id().to_string());
                }
            },
        }
        if plan.target == Target::Create {
            // A client that named itself only by its header is stored under that id, so that
            // its next save finds this installation.
            if let (None, Some(id)) = (string_field(body, "installationId"), &self.installation_id)
            {
                plan.body.insert("installationId".into(), json!(id));
            }
        } else {
            plan.body.remove("objectId");
            plan.body.remove("createdAt");
        }
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn channels_follow_the_guide() {
        for ok in ["", "Giants", "a_b-c9"] {
            assert!(is_valid_channel(ok), "{ok}");
        }
        for bad in ["9lives", "_x", "a b", "a.b", "é"] {
            assert!(!is_valid_channel(bad), "{bad}");
        }
        let code = |body: Value| {
            normalize(None, map(body), Some("h"), false)
                .err()
                .map(|e| e.code)
        };
        assert_eq!(code(json!({"channels": ["", "Mets"]})), None);
        assert_eq!(code(json!({"channels": ["bad name"]})), Some(112));
        assert_eq!(code(json!({"channels": [7]})), Some(112));
        assert_eq!(
            code(json!({"channels": {"__op": "AddUnique", "objects": ["ok", "1bad"]}})),
            Some(112)
        );
        assert_eq!(
            code(json!({"channels": {"__op": "Remove", "objects": ["1whatever"]}})),
            None
        );
    }
    const IID: &str = "12345678-abcd-abcd-abcd-123456789abc";

    fn map(v: Value) -> Map {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    fn obj(v: Value) -> Object {
        Object { fields: map(v) }
    }

    fn create(body: Value) -> Request {
        normalize(None, map(body), None, false).unwrap()
    }

    fn update(id: &str, body: Value) -> Request {
        normalize(Some(id), map(body), None, false).unwrap()
    }

    #[test]
    fn ids_are_lowercased_and_the_header_stands_in_for_clients() {
        let r = create(json!({"installationId": "ABC", "deviceToken": TOKEN, "deviceType": "ios"}));
        assert_eq!(r.body["installationId"], json!("abc"));
        assert_eq!(r.body["deviceToken"], json!(TOKEN.to_lowercase()));
        assert_eq!(r.installation_id.as_deref(), Some("abc"));
        // Tokens of other lengths (GCM registration ids) keep their case.
        let r = create(json!({"deviceToken": "APA91b", "deviceType": "android"}));
        assert_eq!(r.body["deviceToken"], json!("APA91b"));

        let r = normalize(None, map(json!({"deviceType": "ios"})), Some("HDR"), false).unwrap();
        assert_eq!(r.installation_id.as_deref(), Some("hdr"));
        let r = normalize(None, map(json!({"deviceType": "ios"})), Some("HDR"), true).unwrap();
        assert_eq!(r.installation_id, None);
    }

    #[test]
    fn a_create_must_name_an_installation() {
        let e = normalize(None, map(json!({"deviceType": "ios"})), None, false).unwrap_err();
        assert_eq!(e.code, 135);
        assert!(e.error.starts_with("at least one ID field"));
        // An update may name none.
        assert!(normalize(Some("x"), Map::new(), None, false).is_ok());
        let e = create_err(json!({"installationId": 5}));
        assert_eq!(e.code, 111);
    }

    fn create_err(body: Value) -> ParseError {
        normalize(None, map(body), None, false).unwrap_err()
    }

    #[test]
    fn a_new_installation_needs_a_device_type() {
        let r = create(json!({"installationId": IID}));
        let e = r.decide(&[]).unwrap_err();
        assert_eq!(
            (e.code, e.error.as_str()),
            (135, "deviceType must be specified in this operation")
        );
        let plan = create(json!({"installationId": IID, "deviceType": "ios"}))
            .decide(&[])
            .unwrap();
        assert_eq!(plan.target, Target::Create);
        assert!(plan.deletes.is_empty());
    }

    #[test]
    fn a_header_id_is_stored_on_the_new_installation() {
        let r = normalize(None, map(json!({"deviceType": "ios"})), Some("ABC"), false).unwrap();
        let plan = r.decide(&[]).unwrap();
        assert_eq!(plan.body["installationId"], json!("abc"));
    }

    #[test]
    fn a_create_with_a_known_installation_id_updates_it() {
        let existing = obj(json!({"objectId": "A", "installationId": IID, "deviceType": "ios"}));
        let r = create(json!({"installationId": IID, "foo": "bar"}));
        assert!(r.lookup().is_some());
        let plan = r.decide(&[existing]).unwrap();
        assert_eq!(plan.target, Target::Update("A".into()));
        assert!(plan.deletes.is_empty());
    }

    #[test]
    fn a_single_token_match_is_updated() {
        let t = TOKEN.to_lowercase();
        let existing = obj(json!({"objectId": "T", "deviceToken": t, "deviceType": "ios"}));
        let plan =
            create(json!({"deviceToken": TOKEN, "deviceType": "ios", "installationId": IID}))
                .decide(&[existing])
                .unwrap();
        assert_eq!(plan.target, Target::Update("T".into()));
    }

    #[test]
    fn several_token_matches_need_an_installation_id() {
        let t = TOKEN.to_lowercase();
        let found = [
            obj(json!({"objectId": "A", "deviceToken": t, "installationId": "a"})),
            obj(json!({"objectId": "B", "deviceToken": t, "installationId": "b"})),
        ];
        let e = create(json!({"deviceToken": t, "deviceType": "ios"}))
            .decide(&found)
            .unwrap_err();
        assert_eq!(e.code, 132);
        // With a new installation id, the other registrations of the token go.
        let plan = create(json!({"deviceToken": t, "deviceType": "ios", "installationId": "c"}))
            .decide(&found)
            .unwrap();
        assert_eq!(plan.target, Target::Create);
        assert_eq!(plan.deletes, ["A", "B"]);
        // Only those of the same app, when the request names its app.
        let mut found_apps = found.clone();
        found_apps[0]
            .fields
            .insert("appIdentifier".into(), json!("x"));
        let plan = create(json!({"deviceToken": t, "deviceType": "ios", "installationId": "c", "appIdentifier": "x"}))
            .decide(&found_apps)
            .unwrap();
        assert_eq!(plan.deletes, ["A"]);
    }

    #[test]
    fn an_id_match_merges_into_a_token_only_registration() {
        let t = TOKEN.to_lowercase();
        let found = [
            obj(json!({"objectId": "I", "installationId": IID, "deviceType": "ios"})),
            obj(json!({"objectId": "T", "deviceToken": t, "deviceType": "ios"})),
        ];
        let plan = create(json!({"deviceToken": t, "installationId": IID, "deviceType": "ios"}))
            .decide(&found)
            .unwrap();
        assert_eq!(plan.deletes, ["I"]);
        assert_eq!(plan.target, Target::Update("T".into()));
    }

    #[test]
    fn a_new_token_on_a_known_installation_removes_its_other_holders() {
        let t = TOKEN.to_lowercase();
        let found = [
            obj(
                json!({"objectId": "A", "installationId": "a", "deviceToken": t, "deviceType": "ios"}),
            ),
            obj(json!({"objectId": "B", "installationId": "b", "deviceType": "ios"})),
        ];
        let plan = update("B", json!({"installationId": "b", "deviceToken": t}))
            .decide(&found)
            .unwrap();
        assert_eq!(plan.deletes, ["A"]);
        assert_eq!(plan.target, Target::Update("B".into()));
        // Without an installation id in the body nothing says which to keep: no deletes.
        let plan = update("B", json!({"deviceToken": t}))
            .decide(&found)
            .unwrap();
        assert!(plan.deletes.is_empty());
        assert_eq!(plan.target, Target::Update("B".into()));
    }

    #[test]
    fn updates_check_the_immutable_fields() {
        let current = obj(json!({"objectId": "A", "installationId": "a", "deviceType": "ios"}));
        let e = update("A", json!({"installationId": "other"}))
            .decide(std::slice::from_ref(&current))
            .unwrap_err();
        assert_eq!(
            (e.code, e.error.as_str()),
            (136, "installationId may not be changed in this operation")
        );
        let e = update("A", json!({"deviceType": "android"}))
            .decide(std::slice::from_ref(&current))
            .unwrap_err();
        assert_eq!(e.error, "deviceType may not be changed in this operation");
        let token_only = obj(json!({"objectId": "T", "deviceToken": "x", "deviceType": "ios"}));
        let e = update("T", json!({"deviceToken": "y"}))
            .decide(&[token_only])
            .unwrap_err();
        assert_eq!(e.error, "deviceToken may not be changed in this operation");
        let e = update("missing", json!({"deviceType": "ios"}))
            .decide(&[])
            .unwrap_err();
        assert_eq!(
            (e.code, e.error.as_str()),
            (101, "Object not found for update.")
        );
    }

    #[test]
    fn an_update_without_identity_is_ordinary() {
        let r = update("A", json!({"badge": 3}));
        assert_eq!(r.lookup(), None);
        assert_eq!(r.plain().target, Target::Update("A".into()));
    }

    #[test]
    fn an_object_lacking_both_ids_is_not_deleted_into_itself() {
        let x = obj(json!({"objectId": "X", "deviceType": "ios"}));
        let plan = update("X", json!({"deviceType": "ios"}))
            .decide(&[x])
            .unwrap();
        assert!(plan.deletes.is_empty());
        assert_eq!(plan.target, Target::Update("X".into()));
    }
}
