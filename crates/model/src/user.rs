//! The rules of Parse's user and session classes that need no I/O: what a sign-up must carry,
//! the server-only fields (`_hashed_password`, the lowercased username and email that make
//! uniqueness case-insensitive, the hash of a session token, the hashed one-time tokens of
//! email verification and password-reset links), which fields must be unique, and what a reader
//! may see of a user.

use serde_json::{json, Value};

use crate::error::{code, ParseError};
use crate::{Map, Object};

pub const USER_CLASS: &str = "_User";
pub const SESSION_CLASS: &str = "_Session";
pub const ROLE_CLASS: &str = "_Role";
/// The classes a restricted session may read but not write.
pub const AUTH_CLASSES: &[&str] = &[USER_CLASS, SESSION_CLASS, ROLE_CLASS];

/// The bcrypt hash of the user's password.
pub const HASHED_PASSWORD: &str = "_hashed_password";
/// The username, lowercased: unique, so two users never differ only by case.
pub const USERNAME_KEY: &str = "_auth_username";
/// The email, lowercased: unique like the username.
pub const EMAIL_KEY: &str = "_auth_email";
/// The SHA-256 of a session's token: sessions are found by it, the token itself is never kept.
pub const TOKEN_HASH: &str = "_session_token";

/// Per linked provider, `_auth_data_<provider>` holds the account id: unique, so one account is
/// linked to one user, and what a log-in with `authData` looks the user up by.
pub const AUTH_DATA_PREFIX: &str = "_auth_data_";

/// The server-only keys an `authData` body implies: the id per provider (`null` for a provider
/// being unlinked).
pub fn auth_data_keys(auth_data: &Map) -> Map {
    auth_data
        .iter()
        .map(|(provider, data)| {
            let id = match data.get("id") {
                Some(Value::String(s)) => json!(s),
                Some(Value::Number(n)) => json!(n.to_string()),
                _ => Value::Null,
            };
            (format!("{AUTH_DATA_PREFIX}{provider}"), id)
        })
        .collect()
}

/// The SHA-256 of the token of the user's email verification link (Parse Server keeps the token
/// itself; a hash keeps the log free of usable secrets).
pub const EMAIL_VERIFY_TOKEN: &str = "_email_verify_token";
/// When that link stops working (ISO string); absent: never.
pub const EMAIL_VERIFY_TOKEN_EXPIRES_AT: &str = "_email_verify_token_expires_at";
/// The SHA-256 of the token of the user's password-reset link.
pub const PERISHABLE_TOKEN: &str = "_perishable_token";
/// When that link stops working (ISO string); absent: never.
pub const PERISHABLE_TOKEN_EXPIRES_AT: &str = "_perishable_token_expires_at";

/// The two kinds of one-time links mailed to users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkToken {
    VerifyEmail,
    ResetPassword,
}

/// Why a link's token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefused {
    /// No such token for that user (never issued, already used, or replaced by a newer one).
    Invalid,
    Expired,
}

impl LinkToken {
    /// The server-only fields holding the token's hash and its expiry.
    pub fn fields(self) -> (&'static str, &'static str) {
        match self {
            LinkToken::VerifyEmail => (EMAIL_VERIFY_TOKEN, EMAIL_VERIFY_TOKEN_EXPIRES_AT),
            LinkToken::ResetPassword => (PERISHABLE_TOKEN, PERISHABLE_TOKEN_EXPIRES_AT),
        }
    }

    /// Whether `token` opens this kind of link of `user` at `now`.
    pub fn check(
        self,
        user: &Object,
        token: &str,
        now: &crate::time::Timestamp,
    ) -> Result<(), LinkRefused> {
        let (hash_field, expiry_field) = self.fields();
        if token.is_empty()
            || user.get(hash_field).and_then(Value::as_str) != Some(&token_hash(token))
        {
            return Err(LinkRefused::Invalid);
        }
        match user.get(expiry_field).and_then(Value::as_str) {
            None => Ok(()),
            Some(at) => match crate::time::parse_iso(at) {
                Some(at) if at > *now => Ok(()),
                _ => Err(LinkRefused::Expired),
            },
        }
    }

    /// The server-only fields of a new token (its hash, and its expiry if it has one).
    pub fn issue(self, token: &str, expires_at: Option<&crate::time::Timestamp>) -> Map {
        let (hash_field, expiry_field) = self.fields();
        let mut internal = Map::new();
        internal.insert(hash_field.into(), json!(token_hash(token)));
        internal.insert(
            expiry_field.into(),
            expires_at.map_or(Value::Null, |t| json!(crate::time::to_iso(t))),
        );
        internal
    }

    /// The server-only fields that withdraw the token (`null` removes).
    pub fn withdraw(self) -> Map {
        let (hash_field, expiry_field) = self.fields();
        let mut internal = Map::new();
        internal.insert(hash_field.into(), Value::Null);
        internal.insert(expiry_field.into(), Value::Null);
        internal
    }
}

/// Whether a field is the server's own: never read back, never written by a client.
pub fn is_internal(field: &str) -> bool {
    field.starts_with('_')
}

/// The checks of a sign-up body Parse Server makes before anything else (username and password
/// present and strings, a plausible email, no self-verified email).
pub fn check_signup(body: &Map, master: bool) -> Result<(), ParseError> {
    match body.get("username") {
        Some(Value::String(s)) if !s.is_empty() => {}
        _ => {
            return Err(ParseError::new(
                code::USERNAME_MISSING,
                "bad or missing username",
            ))
        }
    }
    match body.get("password") {
        Some(Value::String(s)) if !s.is_empty() => {}
        _ => {
            return Err(ParseError::new(
                code::PASSWORD_MISSING,
                "password is required",
            ))
        }
    }
    check_user_fields(body, master)
}

/// The checks of any write of a user's own fields: the email's format, and that only the
/// master key sets `emailVerified`.
pub fn check_user_fields(body: &Map, master: bool) -> Result<(), ParseError> {
    if let Some(email) = body.get("email") {
        let ok = match email {
            Value::String(e) => e
                .split_once('@')
                .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty()),
            Value::Object(op) => op.get("__op") == Some(&json!("Delete")),
            Value::Null => true,
            _ => false,
        };
        if !ok {
            return Err(ParseError::new(
                code::INVALID_EMAIL_ADDRESS,
                "Email address format is invalid.",
            ));
        }
    }
    if body.contains_key("emailVerified") && !master {
        return Err(ParseError::new(
            code::OPERATION_FORBIDDEN,
            "Clients aren't allowed to manually update email verification.",
        ));
    }
    for key in ["username", "password"] {
        match body.get(key) {
            None | Some(Value::String(_)) => {}
            Some(_) => {
                return Err(ParseError::incorrect_type(format!(
                    "{key} must be a string"
                )))
            }
        }
    }
    Ok(())
}

/// The server-only fields a user body implies: the lowercased username and email (for
/// case-insensitive uniqueness). The password hash is added by the caller, which hashes.
pub fn identity_keys(body: &Map) -> Map {
    let mut internal = Map::new();
    if let Some(Value::String(u)) = body.get("username") {
        internal.insert(USERNAME_KEY.into(), json!(u.to_lowercase()));
    }
    match body.get("email") {
        Some(Value::String(e)) => {
            internal.insert(EMAIL_KEY.into(), json!(e.to_lowercase()));
        }
        Some(Value::Null) | Some(Value::Object(_)) => {
            internal.insert(EMAIL_KEY.into(), Value::Null);
        }
        _ => {}
    }
    internal
}

/// The fields of `class` that no two objects may share, with the error Parse Server gives.
pub fn unique_fields(class: &str) -> &'static [(&'static str, i32, &'static str)] {
    match class {
        USER_CLASS => &[
            (
                USERNAME_KEY,
                code::USERNAME_TAKEN,
                "Account already exists for this username.",
            ),
            (
                EMAIL_KEY,
                code::EMAIL_TAKEN,
                "Account already exists for this email address.",
            ),
        ],
        ROLE_CLASS => &[(
            "name",
            code::DUPLICATE_VALUE,
            "A duplicate value for a field with unique values was provided",
        )],
        _ => &[],
    }
}

/// The unique fields `object` holds: its class's, and for a user each linked account.
pub fn unique_keys(class: &str, object: &Object) -> Vec<(String, i32, &'static str)> {
    let mut keys: Vec<(String, i32, &'static str)> = unique_fields(class)
        .iter()
        .map(|(f, c, m)| (f.to_string(), *c, *m))
        .collect();
    if class == USER_CLASS {
        for k in object
            .fields
            .keys()
            .filter(|k| k.starts_with(AUTH_DATA_PREFIX))
        {
            keys.push((
                k.clone(),
                code::ACCOUNT_ALREADY_LINKED,
                "this auth is already used",
            ));
        }
    }
    keys
}

/// The first unique field of `object` that one of `others` (the same class) also holds.
pub fn unique_violation<'a>(
    class: &str,
    object: &Object,
    others: impl IntoIterator<Item = &'a Object>,
) -> Option<ParseError> {
    let others: Vec<&Object> = others
        .into_iter()
        .filter(|o| o.object_id() != object.object_id())
        .collect();
    unique_keys(class, object)
        .into_iter()
        .find_map(|(field, code, message)| {
            let mine = object.get(&field).filter(|v| !v.is_null())?;
            others
                .iter()
                .any(|o| o.get(&field) == Some(mine))
                .then(|| ParseError::new(code, message))
        })
}

/// A user as `viewer` may see it: no server-only fields, never the password; the email and
/// linked accounts only for the user itself and the master key.
pub fn present_user(fields: &mut Map, own: bool) {
    fields.retain(|k, _| !is_internal(k) && k != "password" && k != "sessionToken");
    if !own {
        fields.remove("email");
        fields.remove("authData");
    }
}

/// An object of any class as clients see it: without the server's own fields.
pub fn strip_internal(fields: &mut Map) {
    fields.retain(|k, _| !is_internal(k));
}

/// Checks a role's create (`name` and `ACL` required, the name made of letters, digits, `_`,
/// `-` and spaces) or update (the name cannot change).
pub fn check_role(body: &Map, current: Option<&Object>) -> Result<(), ParseError> {
    let name = body.get("name");
    match current {
        None => {
            let Some(Value::String(name)) = name else {
                return Err(ParseError::incorrect_type("name is required."));
            };
            let valid = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ' '));
            if !valid {
                return Err(ParseError::new(
                    code::INVALID_ROLE_NAME,
                    "A role's name can only contain alphanumeric characters, _, -, and spaces.",
                ));
            }
            if !matches!(body.get("ACL"), Some(Value::Object(_))) {
                return Err(ParseError::incorrect_type("ACL is required."));
            }
        }
        Some(current) => {
            if name.is_some() && name != current.get("name") {
                return Err(ParseError::new(
                    code::CHANGED_IMMUTABLE_FIELD,
                    "A role's name can only be set before it has been saved.",
                ));
            }
        }
    }
    Ok(())
}

/// The SHA-256 of a session token, in hex: what is stored and looked up.
pub fn token_hash(token: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(v: Value) -> Map {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn signup_checks() {
        let code_of = |v: Value| check_signup(&map(v), false).err().map(|e| e.code);
        assert_eq!(code_of(json!({"username": "a", "password": "b"})), None);
        assert_eq!(code_of(json!({"password": "b"})), Some(200));
        assert_eq!(code_of(json!({"username": "", "password": "b"})), Some(200));
        assert_eq!(code_of(json!({"username": "a"})), Some(201));
        assert_eq!(
            code_of(json!({"username": "a", "password": "b", "email": "nope"})),
            Some(125)
        );
        assert_eq!(
            code_of(json!({"username": "a", "password": "b", "emailVerified": true})),
            Some(119)
        );
        assert!(check_signup(
            &map(json!({"username": "a", "password": "b", "emailVerified": true})),
            true
        )
        .is_ok());
    }

    #[test]
    fn uniqueness_ignores_case_and_self() {
        let user = |id: &str, name: &str| {
            let mut fields = map(json!({"objectId": id}));
            fields.extend(identity_keys(&map(json!({"username": name}))));
            Object { fields }
        };
        let a = user("a", "Alice");
        let b = user("b", "ALICE");
        assert_eq!(
            unique_violation(USER_CLASS, &b, [&a]).map(|e| e.code),
            Some(202)
        );
        assert!(unique_violation(USER_CLASS, &a, [&a]).is_none());
        assert!(unique_violation("Other", &b, [&a]).is_none());
    }

    #[test]
    fn roles() {
        let code_of = |v: Value| check_role(&map(v), None).err().map(|e| e.code);
        assert_eq!(code_of(json!({"name": "Admins", "ACL": {}})), None);
        assert_eq!(code_of(json!({"ACL": {}})), Some(111));
        assert_eq!(code_of(json!({"name": "a.b", "ACL": {}})), Some(139));
        assert_eq!(code_of(json!({"name": "ok"})), Some(111));
        let current = Object {
            fields: map(json!({"objectId": "r", "name": "Admins"})),
        };
        assert!(check_role(&map(json!({"name": "Admins"})), Some(&current)).is_ok());
        assert_eq!(
            check_role(&map(json!({"name": "Other"})), Some(&current)).map_err(|e| e.code),
            Err(136)
        );
    }

    #[test]
    fn link_tokens() {
        let now = crate::time::parse_iso("2030-01-01T00:00:00.000Z").unwrap();
        let later = now + chrono::Duration::hours(1);
        let mut fields = map(json!({"objectId": "u"}));
        fields.extend(LinkToken::ResetPassword.issue("tok", Some(&later)));
        let user = Object { fields };
        assert_ne!(user.get(PERISHABLE_TOKEN), Some(&json!("tok")));
        assert_eq!(LinkToken::ResetPassword.check(&user, "tok", &now), Ok(()));
        assert_eq!(
            LinkToken::ResetPassword.check(&user, "other", &now),
            Err(LinkRefused::Invalid)
        );
        assert_eq!(
            LinkToken::ResetPassword.check(&user, "", &now),
            Err(LinkRefused::Invalid)
        );
        assert_eq!(
            LinkToken::VerifyEmail.check(&user, "tok", &now),
            Err(LinkRefused::Invalid)
        );
        let after = later + chrono::Duration::seconds(1);
        assert_eq!(
            LinkToken::ResetPassword.check(&user, "tok", &after),
            Err(LinkRefused::Expired)
        );
        let mut fields = user.fields.clone();
        fields.extend(LinkToken::ResetPassword.withdraw());
        fields.retain(|_, v| !v.is_null());
        let user = Object { fields };
        assert_eq!(
            LinkToken::ResetPassword.check(&user, "tok", &now),
            Err(LinkRefused::Invalid)
        );
    }

    #[test]
    fn presenting() {
        let mut u =
            map(json!({"username": "a", "email": "a@b", "_hashed_password": "x", "authData": {}}));
        present_user(&mut u, false);
        assert_eq!(u, map(json!({"username": "a"})));
        let mut u = map(json!({"username": "a", "email": "a@b", "_auth_email": "a@b"}));
        present_user(&mut u, true);
        assert_eq!(u, map(json!({"username": "a", "email": "a@b"})));
        assert_eq!(token_hash("r:x").len(), 64);
    }
}
