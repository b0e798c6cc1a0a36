//! Users and sessions. A sign-up is the user's create and its first session's create in one
//! transaction; a log-in is a session's create (replacing the session the same installation
//! had); a log-out deletes the session. Passwords are hashed with bcrypt before anything is
//! logged, session tokens are handed to the client once and kept only as SHA-256 hashes. User
//! updates and deletes are the user's own (or the master key's); a password change ends the
//! user's other sessions. With `verifyUserEmails`, a sign-up or email change starts a
//! verification (`emails`), and `preventLoginWithUnverifiedEmail` keeps unverified users out.

use std::sync::Arc;

use api::{ApiError, Auth, ParseRequest, ParseResponse, RequestContext, Route, UserAuth};
use events::{Write, WriteKind};
use model::query::{Cond, Filter, Query};
use model::user::{
    self, LinkToken, EMAIL_KEY, HASHED_PASSWORD, SESSION_CLASS, TOKEN_HASH, USERNAME_KEY,
    USER_CLASS,
};
use model::write::{self, WriteKind as BodyKind};
use model::{code, time, ClassSchema, Map, Object, ParseError};
use serde_json::{json, Value};

use crate::objects::{
    check_clp, check_create_clp, check_update_clp, ops_json, prepare_delete, Planned, Prepared,
};
use crate::CommandApi;
use model::clp::Op;

/// bcrypt's cost, as Parse Server's bcryptjs uses.
const BCRYPT_COST: u32 = 10;

/// A revocable session token as Parse Server makes them: `r:` and 32 hex digits.
fn new_token() -> String {
    let bytes: [u8; 16] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("r:{hex}")
}

fn new_id() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), 10)
}

fn eq(path: &str, value: Value) -> Filter {
    Filter::Field {
        path: path.to_string(),
        cond: Cond::Eq(value),
    }
}

fn str_param<'a>(req: &'a ParseRequest, key: &str) -> Option<&'a Value> {
    req.body.get(key).or_else(|| req.params.get(key))
}

fn bad_credentials() -> ApiError {
    ParseError::new(code::OBJECT_NOT_FOUND, "Invalid username/password.").into()
}

pub(crate) async fn hash_password(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || bcrypt::hash(password, BCRYPT_COST))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
}

async fn password_matches(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
        .await
        .unwrap_or(false)
}

/// The caller as a user, for writes made on that user's behalf (their own session, say).
fn acting_as(ctx: &RequestContext, user_id: &str) -> RequestContext {
    let mut ctx = ctx.clone();
    if !ctx.auth.is_master() {
        ctx.auth = Auth::User(Arc::new(UserAuth {
            user_id: user_id.to_string(),
            session_id: String::new(),
            roles: ctx.auth.user().map(|u| u.roles.clone()).unwrap_or_default(),
            restricted: false,
            anonymous: false,
        }));
    }
    ctx
}

/// The username a verification link names: the body's, else the stored user's.
fn username_of(body: &Map, current: Option<&Object>) -> String {
    body.get("username")
        .or_else(|| current.and_then(|c| c.get("username")))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// An ACL that always lets `id` read and write (Parse Server forces the user's own entry in).
fn own_acl(given: Option<&Value>, id: &str) -> Value {
    let mut acl = match given {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    acl.insert(id.to_string(), json!({"read": true, "write": true}));
    Value::Object(acl)
}

impl CommandApi {
    fn user_schema(&self) -> ClassSchema {
        ClassSchema::new(USER_CLASS)
    }

    async fn stored_user_schema(&self, ctx: &RequestContext) -> Result<ClassSchema, ApiError> {
        Ok(self
            .reads
            .store()
            .schema(&ctx.app.app_id, USER_CLASS)
            .await
            .map_err(ApiError::internal)?
            .unwrap_or_else(|| self.user_schema()))
    }

    /// A new session of `user_id`: the write and the token (the client's only copy).
    fn new_session(
        ctx: &RequestContext,
        user_id: &str,
        action: &str,
        provider: &str,
    ) -> (Prepared, String) {
        let token = new_token();
        let expires = chrono::Utc::now()
            + chrono::Duration::from_std(ctx.app.session_length)
                .unwrap_or(chrono::Duration::days(365));
        let mut body = Map::new();
        body.insert("user".into(), model::value::pointer(USER_CLASS, user_id));
        body.insert(
            "createdWith".into(),
            json!({"action": action, "authProvider": provider}),
        );
        body.insert("restricted".into(), json!(false));
        body.insert(
            "expiresAt".into(),
            json!({"__type": "Date", "iso": time::to_iso(&expires)}),
        );
        if let Some(iid) = &ctx.installation_id {
            body.insert("installationId".into(), json!(iid));
        }
        body.insert("ACL".into(), own_acl(None, user_id));
        let mut internal = Map::new();
        internal.insert(TOKEN_HASH.into(), json!(user::token_hash(&token)));
        let write = Write {
            kind: WriteKind::Create,
            class: SESSION_CLASS.into(),
            object_id: new_id(),
            ops: body,
            internal,
        };
        (
            Prepared {
                write,
                new_fields: true,
            },
            token,
        )
    }

    /// The sessions of `user_id` (all, or those of one installation).
    pub(crate) async fn sessions_of(
        &self,
        ctx: &RequestContext,
        user_id: &str,
        installation: Option<&str>,
    ) -> Result<Vec<Object>, ApiError> {
        let mut filters = vec![eq("user", model::value::pointer(USER_CLASS, user_id))];
        if let Some(iid) = installation {
            filters.push(eq("installationId", json!(iid)));
        }
        let query = Query {
            filter: Filter::And(filters),
            limit: usize::MAX,
            ..Query::default()
        };
        self.reads
            .store()
            .find(&ctx.app.app_id, SESSION_CLASS, &query)
            .await
            .map_err(ApiError::internal)
    }

    /// Another user holding this username or email: answered before anything is logged (the
    /// projector decides for good).
    async fn check_identity_free(
        &self,
        ctx: &RequestContext,
        internal: &Map,
        user_id: &str,
    ) -> Result<(), ApiError> {
        let candidate = Object {
            fields: {
                let mut f = internal.clone();
                f.insert("objectId".into(), json!(user_id));
                f
            },
        };
        let mut others = Vec::new();
        for (key, _, _) in user::unique_keys(USER_CLASS, &candidate) {
            if let Some(v) = internal.get(&key).filter(|v| !v.is_null()) {
                let query = Query {
                    filter: eq(&key, v.clone()),
                    limit: 2,
                    ..Query::default()
                };
                others.extend(
                    self.reads
                        .store()
                        .find(&ctx.app.app_id, USER_CLASS, &query)
                        .await
                        .map_err(ApiError::internal)?,
                );
            }
        }
        match user::unique_violation(USER_CLASS, &candidate, &others) {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    /// `POST /users` (and `/classes/_User`): the user and a first session, together.
    pub(crate) async fn prepare_signup(&self, req: &ParseRequest) -> Result<Planned, ApiError> {
        write::parse_body(&req.body, BodyKind::Create)?;
        user::check_signup(&req.body, req.ctx.auth.is_master())?;
        let mut body = req.body.clone();
        let password = match body.remove("password") {
            Some(Value::String(p)) => p,
            _ => {
                return Err(ParseError::new(code::PASSWORD_MISSING, "password is required").into())
            }
        };
        self.new_user(req, body, Some(password), "signup", "password")
            .await
    }

    /// A new user made of `body` (no password in it) and its first session; the session token
    /// is in the answer's extra fields.
    async fn new_user(
        &self,
        req: &ParseRequest,
        mut body: Map,
        password: Option<String>,
        action: &str,
        provider: &str,
    ) -> Result<Planned, ApiError> {
        let ctx = &req.ctx;
        let id = new_id();
        body.insert("ACL".into(), own_acl(body.get("ACL"), &id));
        let mut internal = user::identity_keys(&body);
        if let Some(Value::Object(auth_data)) = body.get("authData") {
            internal.extend(user::auth_data_keys(auth_data));
        }
        self.check_identity_free(ctx, &internal, &id).await?;
        if let Some(password) = password {
            internal.insert(
                HASHED_PASSWORD.into(),
                json!(hash_password(password).await?),
            );
        }
        // With email verification, a new user with an email starts unverified, with a link.
        let emails = &ctx.app.emails;
        let mut mails = Vec::new();
        if let (true, Some(Value::String(email))) =
            (emails.verify_user_emails, body.get("email").cloned())
        {
            let username = username_of(&body, None);
            self.new_verification(&ctx.app, &username, &email).add_to(
                &mut body,
                &mut internal,
                &mut mails,
            );
        }
        let schema = self.stored_user_schema(ctx).await?;
        let now = time::to_iso(&chrono::Utc::now());
        let ops = write::parse_body(&body, BodyKind::Create)?;
        let new_fields = !write::create(&schema, &id, &now, &ops)?
            .new_fields
            .is_empty();
        check_create_clp(req, &schema, new_fields)?;
        let user_write = Prepared {
            write: Write {
                kind: WriteKind::Create,
                class: USER_CLASS.into(),
                object_id: id.clone(),
                ops: ops_json(&ops),
                internal,
            },
            new_fields,
        };
        let mut writes = vec![user_write];
        let mut extra = Map::new();
        // A user who may not log in before verifying gets no session from signing up either.
        if !emails.login_needs_verified_email() {
            let (session, token) = Self::new_session(ctx, &id, action, provider);
            writes.push(session);
            extra.insert("sessionToken".into(), json!(token));
        }
        Ok(Planned {
            extra,
            mails,
            ..Planned::many(writes, 0)
        })
    }

    /// `POST /users` with `authData`: the user who linked one of these accounts logs in (200);
    /// else a user signs up with them (201, with a generated username when none is given).
    /// The providers vouch for the data first.
    pub(crate) async fn sign_up_or_log_in_with_auth_data(
        &self,
        req: &ParseRequest,
    ) -> Result<ParseResponse, ApiError> {
        let ctx = &req.ctx;
        write::parse_body(&req.body, BodyKind::Create)?;
        let mut body = req.body.clone();
        let auth_data = match body.get("authData") {
            Some(Value::Object(a)) => a.clone(),
            _ => Map::new(),
        };
        let linked: Map = auth_data
            .iter()
            .filter(|(_, d)| !d.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if linked.is_empty() || !authdata::can_handle(&auth_data) {
            return Err(ParseError::new(
                code::UNSUPPORTED_SERVICE,
                "This authentication method is unsupported.",
            )
            .into());
        }
        self.auth_providers.validate_auth_data(&linked).await?;
        body.insert("authData".into(), Value::Object(linked.clone()));
        let providers: Vec<&str> = linked.keys().map(String::as_str).collect();
        let providers = providers.join(",");
        let lookups: Vec<Filter> = user::auth_data_keys(&linked)
            .into_iter()
            .filter(|(_, id)| !id.is_null())
            .map(|(k, id)| eq(&k, id))
            .collect();
        let query = Query {
            filter: Filter::Or(lookups),
            limit: 1,
            ..Query::default()
        };
        let existing = self
            .reads
            .store()
            .find(&ctx.app.app_id, USER_CLASS, &query)
            .await
            .map_err(ApiError::internal)?
            .into_iter()
            .next();
        let Some(mut existing) = existing else {
            user::check_user_fields(&body, ctx.auth.is_master())?;
            let password = match body.remove("password") {
                Some(Value::String(p)) if !p.is_empty() => Some(p),
                _ => None,
            };
            let generated =
                !matches!(body.get("username"), Some(Value::String(u)) if !u.is_empty());
            if generated {
                use rand::distr::{Alphanumeric, SampleString};
                let name = Alphanumeric.sample_string(&mut rand::rng(), 25);
                body.insert("username".into(), json!(name));
            }
            let username = body.get("username").cloned();
            let mut planned = self
                .new_user(req, body, password, "login", &providers)
                .await?;
            if generated {
                planned
                    .extra
                    .insert("username".into(), username.unwrap_or(Value::Null));
            }
            return self.submit_planned(ctx, planned).await;
        };
        // A log-in: refresh the provider data that changed (a new token), open a session.
        let id = existing.object_id().to_string();
        let as_user = acting_as(ctx, &id);
        let mut ops = Map::new();
        for (provider, data) in &linked {
            if existing.get("authData").and_then(|a| a.get(provider)) != Some(data) {
                ops.insert(format!("authData.{provider}"), data.clone());
            }
        }
        let mut writes = Vec::new();
        if !ops.is_empty() {
            let mut stored = existing
                .get("authData")
                .cloned()
                .unwrap_or_else(|| json!({}));
            for (provider, data) in &linked {
                stored[provider] = data.clone();
            }
            existing.fields.insert("authData".into(), stored);
            writes.push(Prepared {
                write: Write {
                    kind: WriteKind::Update,
                    class: USER_CLASS.into(),
                    object_id: id.clone(),
                    ops,
                    internal: Map::new(),
                },
                new_fields: false,
            });
        }
        self.open_session(&as_user, existing, writes, &providers)
            .await
    }

    /// Logs `user` in: `before` (writes that go with the log-in) and a new session, together;
    /// the answer is the user as they see themselves, with the new token.
    async fn open_session(
        &self,
        ctx: &RequestContext,
        user: Object,
        mut writes: Vec<Prepared>,
        provider: &str,
    ) -> Result<ParseResponse, ApiError> {
        let (session, token) = Self::new_session(ctx, user.object_id(), "login", provider);
        writes.push(session);
        let answer = writes.len() - 1;
        let planned = Planned::many(writes, answer);
        self.submit_planned(ctx, planned).await?;
        Ok(ParseResponse::ok(Self::own_user(user, Some(&token))))
    }

    /// Updates of a user: only the user itself or the master key; a new password is hashed and
    /// ends the user's sessions (a client gets a new one back).
    pub(crate) async fn prepare_user_update(
        &self,
        req: &ParseRequest,
        object_id: &str,
    ) -> Result<Planned, ApiError> {
        let ctx = &req.ctx;
        let master = ctx.auth.is_master();
        write::parse_body(&req.body, BodyKind::Update)?;
        let Some(caller) = ctx
            .auth
            .user_id()
            .map(str::to_string)
            .or(master.then(String::new))
        else {
            return Err(ParseError::new(
                code::SESSION_MISSING,
                format!("Cannot modify user {object_id}."),
            )
            .into());
        };
        let current = self.current(req, USER_CLASS, object_id).await?;
        if !master && caller != object_id && !ctx.auth.may(current.get("ACL"), "write") {
            return Err(ParseError::new(code::SESSION_MISSING, "Insufficient auth.").into());
        }
        user::check_user_fields(&req.body, master)?;
        let mut body = req.body.clone();
        let password = body.remove("password");
        if !master && body.contains_key("ACL") {
            body.insert("ACL".into(), own_acl(body.get("ACL"), object_id));
        }
        let mut internal = user::identity_keys(&body);
        if let Some(auth_data) = body.remove("authData") {
            // Linking (`{provider: data}`) and unlinking (`{provider: null}`), provider by
            // provider: the other linked accounts stay.
            let Value::Object(auth_data) = auth_data else {
                return Err(ParseError::incorrect_type("authData must be an object").into());
            };
            let linked: Map = auth_data
                .iter()
                .filter(|(_, d)| !d.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            self.auth_providers.validate_auth_data(&linked).await?;
            for (provider, data) in &auth_data {
                let op = if data.is_null() {
                    json!({"__op": "Delete"})
                } else {
                    data.clone()
                };
                body.insert(format!("authData.{provider}"), op);
            }
            internal.extend(user::auth_data_keys(&auth_data));
        }
        self.check_identity_free(ctx, &internal, object_id).await?;
        let mut writes = Vec::new();
        let mut extra = Map::new();
        let mut mails = Vec::new();
        // A new password or email withdraws a pending reset link (as in Parse Server).
        if password.is_some() || body.contains_key("email") {
            internal.extend(LinkToken::ResetPassword.withdraw());
        }
        // A changed email is unverified again, with a new link mailed to it.
        if let (true, Some(Value::String(email))) = (
            ctx.app.emails.verify_user_emails,
            body.get("email").cloned(),
        ) {
            if current.get("email") != Some(&json!(email)) {
                let username = username_of(&body, Some(&current));
                self.new_verification(&ctx.app, &username, &email).add_to(
                    &mut body,
                    &mut internal,
                    &mut mails,
                );
            }
        }
        if let Some(p) = password {
            let Value::String(p) = p else {
                return Err(ParseError::incorrect_type("password must be a string").into());
            };
            if p.is_empty() {
                return Err(ParseError::new(code::PASSWORD_MISSING, "password is required").into());
            }
            internal.insert(HASHED_PASSWORD.into(), json!(hash_password(p).await?));
            for s in self.sessions_of(ctx, object_id, None).await? {
                writes.push(prepare_delete(SESSION_CLASS, s.object_id()));
            }
            if !master {
                let (session, token) = Self::new_session(ctx, object_id, "update", "password");
                writes.push(session);
                extra.insert("sessionToken".into(), json!(token));
            }
        }
        let schema = self.stored_user_schema(ctx).await?;
        let now = time::to_iso(&chrono::Utc::now());
        let ops = write::parse_body(&body, BodyKind::Update)?;
        let new_fields = !write::update(&schema, &current, &now, &ops)?
            .new_fields
            .is_empty();
        check_update_clp(req, &schema, new_fields, &current)?;
        let update = Prepared {
            write: Write {
                kind: WriteKind::Update,
                class: USER_CLASS.into(),
                object_id: object_id.to_string(),
                ops: ops_json(&ops),
                internal,
            },
            new_fields: true,
        };
        writes.insert(0, update);
        Ok(Planned {
            extra,
            mails,
            ..Planned::many(writes, 0)
        })
    }

    /// Deletes a user (its own or the master key's doing) with its sessions.
    pub(crate) async fn prepare_user_delete(
        &self,
        req: &ParseRequest,
        object_id: &str,
    ) -> Result<Planned, ApiError> {
        let ctx = &req.ctx;
        let master = ctx.auth.is_master();
        if !master && ctx.auth.user_id().is_none() {
            return Err(
                ParseError::new(code::SESSION_MISSING, "Insufficient auth to delete user").into(),
            );
        }
        let current = self.current(req, USER_CLASS, object_id).await?;
        if !master
            && ctx.auth.user_id() != Some(object_id)
            && !ctx.auth.may(current.get("ACL"), "write")
        {
            return Err(ParseError::new(code::SESSION_MISSING, "Insufficient auth.").into());
        }
        check_clp(
            req,
            &self.stored_user_schema(ctx).await?,
            Op::Delete,
            Some(&current),
        )?;
        let mut writes = vec![prepare_delete(USER_CLASS, object_id)];
        for s in self.sessions_of(ctx, object_id, None).await? {
            writes.push(prepare_delete(SESSION_CLASS, s.object_id()));
        }
        Ok(Planned::many(writes, 0))
    }

    /// The user a username (or email) and password name; 101 for anything wrong, as Parse
    /// Server answers, so that an attacker learns nothing of which part was.
    async fn check_credentials(&self, req: &ParseRequest) -> Result<Object, ApiError> {
        let username = str_param(req, "username");
        let email = str_param(req, "email");
        let password = str_param(req, "password");
        // The lowercased username, when the client logs in by it: it may also be an email.
        let (filter, by_name) = match (username, email) {
            (Some(Value::String(u)), _) if !u.is_empty() => {
                let u = json!(u.to_lowercase());
                (
                    Filter::Or(vec![eq(USERNAME_KEY, u.clone()), eq(EMAIL_KEY, u.clone())]),
                    Some(u),
                )
            }
            (_, Some(Value::String(e))) if !e.is_empty() => {
                (eq(EMAIL_KEY, json!(e.to_lowercase())), None)
            }
            (None, None) => {
                return Err(
                    ParseError::new(code::USERNAME_MISSING, "username/email is required.").into(),
                )
            }
            _ => return Err(bad_credentials()),
        };
        let password = match password {
            Some(Value::String(p)) if !p.is_empty() => p.clone(),
            None => {
                return Err(ParseError::new(code::PASSWORD_MISSING, "password is required.").into())
            }
            _ => return Err(bad_credentials()),
        };
        let query = Query {
            filter,
            limit: 2,
            ..Query::default()
        };
        let found = self
            .reads
            .store()
            .find(&req.ctx.app.app_id, USER_CLASS, &query)
            .await
            .map_err(ApiError::internal)?;
        // A username that is someone's email and someone else's username names the first.
        let user = found
            .iter()
            .find(|u| by_name.is_some() && u.get(USERNAME_KEY) == by_name.as_ref())
            .or(found.first())
            .cloned()
            .ok_or_else(bad_credentials)?;
        let hash = user
            .get(HASHED_PASSWORD)
            .and_then(Value::as_str)
            .ok_or_else(bad_credentials)?
            .to_string();
        if !password_matches(password, hash).await {
            return Err(bad_credentials());
        }
        if !req.ctx.auth.is_master() && user.get("ACL") == Some(&json!({})) {
            return Err(bad_credentials());
        }
        // The master key may log a user in regardless, if it asks to.
        let ignore_verification = req.ctx.auth.is_master()
            && match str_param(req, "ignoreEmailVerification") {
                Some(Value::Bool(b)) => *b,
                Some(Value::String(s)) => s == "true",
                _ => false,
            };
        if req.ctx.app.emails.login_needs_verified_email()
            && user.get("emailVerified") != Some(&json!(true))
            && !ignore_verification
        {
            return Err(
                ParseError::new(code::EMAIL_NOT_FOUND, "User email is not verified.").into(),
            );
        }
        Ok(user)
    }

    /// A user as they see themselves, with a session token.
    fn own_user(mut user: Object, token: Option<&str>) -> Value {
        user::present_user(&mut user.fields, true);
        if let Some(t) = token {
            user.fields.insert("sessionToken".into(), json!(t));
        }
        Value::Object(user.fields)
    }

    /// `GET`/`POST /login`: a new session; the one this installation had goes.
    pub(crate) async fn log_in(&self, req: &ParseRequest) -> Result<ParseResponse, ApiError> {
        let user = self.check_credentials(req).await?;
        let id = user.object_id().to_string();
        let ctx = acting_as(&req.ctx, &id);
        let mut replaced = Vec::new();
        if let Some(iid) = &ctx.installation_id {
            for s in self.sessions_of(&ctx, &id, Some(iid)).await? {
                replaced.push(prepare_delete(SESSION_CLASS, s.object_id()));
            }
        }
        self.open_session(&ctx, user, replaced, "password").await
    }

    /// `GET`/`POST /verifyPassword`: the user, if the password is right; no session.
    pub(crate) async fn verify_password(
        &self,
        req: &ParseRequest,
    ) -> Result<ParseResponse, ApiError> {
        let user = self.check_credentials(req).await?;
        Ok(ParseResponse::ok(Self::own_user(user, None)))
    }

    /// `POST /loginAs` (master key): a session for the user named by `userId`.
    pub(crate) async fn login_as(&self, req: &ParseRequest) -> Result<ParseResponse, ApiError> {
        req.ctx.auth.require_master()?;
        let id = match str_param(req, "userId") {
            Some(Value::String(id)) if !id.is_empty() => id.clone(),
            _ => {
                return Err(ParseError::invalid_json(
                    "userId must not be empty, null, or undefined",
                )
                .into())
            }
        };
        let user = self
            .reads
            .store()
            .get(&req.ctx.app.app_id, USER_CLASS, &id)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| ParseError::new(code::OBJECT_NOT_FOUND, "user not found"))?;
        self.open_session(&req.ctx, user, Vec::new(), "masterkey")
            .await
    }

    /// `POST /logout`: the session goes.
    pub(crate) async fn log_out(&self, req: &ParseRequest) -> Result<ParseResponse, ApiError> {
        let token = req
            .ctx
            .session_token
            .as_deref()
            .ok_or_else(crate::users::invalid_token)?;
        let session = self.reads.session(&req.ctx, token).await?;
        let ctx = acting_as(&req.ctx, &session.user_id);
        self.submit_planned(
            &ctx,
            Planned::one(prepare_delete(SESSION_CLASS, &session.session_id)),
        )
        .await?;
        self.reads
            .forget_session(&req.ctx.app.app_id, &session.session_id);
        Ok(ParseResponse::ok(json!({})))
    }

    /// `GET /users/me`: the session's user, with the token.
    pub(crate) async fn me(&self, req: &ParseRequest) -> Result<ParseResponse, ApiError> {
        let token = req.ctx.session_token.as_deref().ok_or_else(invalid_token)?;
        let session = self.reads.session(&req.ctx, token).await?;
        let user = self
            .reads
            .store()
            .get(&req.ctx.app.app_id, USER_CLASS, &session.user_id)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(invalid_token)?;
        Ok(ParseResponse::ok(Self::own_user(user, Some(token))))
    }

    /// `GET /sessions/me`: the session the token belongs to.
    pub(crate) async fn session_me(&self, req: &ParseRequest) -> Result<ParseResponse, ApiError> {
        let token = req.ctx.session_token.as_deref().ok_or_else(invalid_token)?;
        let session = self.reads.session(&req.ctx, token).await?;
        let mut found = self
            .reads
            .store()
            .get(&req.ctx.app.app_id, SESSION_CLASS, &session.session_id)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(invalid_token)?;
        user::strip_internal(&mut found.fields);
        // The token is the client's own; the server keeps only its hash.
        found.fields.insert("sessionToken".into(), json!(token));
        Ok(ParseResponse::ok(Value::Object(found.fields)))
    }

    /// `POST /sessions`: a restricted session of the caller's user (for a device it hands the
    /// token to), with the body's own fields.
    pub(crate) async fn prepare_restricted_session(
        &self,
        req: &ParseRequest,
    ) -> Result<Planned, ApiError> {
        let user = req.ctx.auth.user().ok_or_else(|| {
            ApiError::from(ParseError::new(
                code::INVALID_SESSION_TOKEN,
                "Session token required.",
            ))
        })?;
        write::parse_body(&req.body, BodyKind::Create)?;
        let (mut session, token) = Self::new_session(&req.ctx, &user.user_id, "create", "");
        let ops = &mut session.write.ops;
        for (k, v) in &req.body {
            if !matches!(
                k.as_str(),
                "user" | "restricted" | "createdWith" | "expiresAt" | "sessionToken" | "ACL"
            ) {
                ops.insert(k.clone(), v.clone());
            }
        }
        ops.insert("restricted".into(), json!(true));
        ops.insert("createdWith".into(), json!({"action": "create"}));
        ops.remove("installationId");
        let mut extra = Map::new();
        extra.insert("sessionToken".into(), json!(token));
        extra.insert("createdWith".into(), json!({"action": "create"}));
        extra.insert("restricted".into(), json!(true));
        Ok(Planned {
            extra,
            ..Planned::one(session)
        })
    }

    /// `PUT /sessions/me`: a restricted session takes the caller's installation id.
    pub(crate) async fn pair_session(&self, req: &ParseRequest) -> Result<ParseResponse, ApiError> {
        let token = req.ctx.session_token.as_deref().ok_or_else(invalid_token)?;
        let session = self.reads.session(&req.ctx, token).await?;
        if !session.restricted {
            return Err(ParseError::new(
                code::OPERATION_FORBIDDEN,
                "Only restricted sessions are paired with an installation this way.",
            )
            .into());
        }
        let mut ops = Map::new();
        if let Some(iid) = &req.ctx.installation_id {
            ops.insert("installationId".into(), json!(iid));
        }
        let write = Write {
            kind: WriteKind::Update,
            class: SESSION_CLASS.into(),
            object_id: session.session_id.clone(),
            ops,
            internal: Map::new(),
        };
        let ctx = acting_as(&req.ctx, &session.user_id);
        let answer = self
            .submit_planned(
                &ctx,
                Planned::one(Prepared {
                    write,
                    new_fields: false,
                }),
            )
            .await?;
        self.reads
            .forget_session(&req.ctx.app.app_id, &session.session_id);
        Ok(answer)
    }

    /// Routes a `_User` write to its rules.
    pub(crate) async fn prepare_user(&self, req: &ParseRequest) -> Result<Planned, ApiError> {
        match &req.route {
            Route::Create { .. } => self.prepare_signup(req).await,
            Route::Update { object_id, .. } => self.prepare_user_update(req, object_id).await,
            Route::Delete { object_id, .. } => self.prepare_user_delete(req, object_id).await,
            other => Err(ApiError::NoRoute(format!("{} {other:?}", req.method))),
        }
    }
}

pub(crate) fn invalid_token() -> ApiError {
    ParseError::new(code::INVALID_SESSION_TOKEN, "Invalid session token").into()
}
