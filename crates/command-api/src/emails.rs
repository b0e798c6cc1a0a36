//! Email verification and password resets, as Parse Server's `UserController` does them: a
//! one-time token per link, mailed to the user and kept only as its SHA-256 (with its expiry)
//! in server-only fields, so the log never carries a token that opens anything. Every change —
//! a token issued, an email verified, a password reset — is an update event of the user made
//! through the same submit path as any other write; the server acts with the master key's
//! rights, as Parse Server does (the link's holder proved possession of the token). Mails go
//! out once the event is applied, in the background, as Parse Server sends them (fire and
//! forget): a failed delivery is logged, never shown to the client.

use api::{
    encode_component, ApiError, AppConfig, Auth, ParseRequest, ParseResponse, RequestContext,
};
use events::{Write, WriteKind};
use mail::Mail;
use model::query::{Cond, Filter, Query};
use model::user::{
    LinkRefused, LinkToken, EMAIL_KEY, HASHED_PASSWORD, SESSION_CLASS, USERNAME_KEY, USER_CLASS,
};
use model::{code, Map, Object, ParseError};
use serde_json::{json, Value};

use crate::objects::{prepare_delete, Planned, Prepared};
use crate::CommandApi;

/// A link's token: 32 random alphanumerics (about 190 bits; Parse Server's are 25).
fn new_link_token() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), 32)
}

fn eq(path: &str, value: Value) -> Filter {
    Filter::Field {
        path: path.to_string(),
        cond: Cond::Eq(value),
    }
}

/// When a token issued now stops working.
fn expiry(validity: Option<std::time::Duration>) -> Option<model::time::Timestamp> {
    validity
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .map(|d| chrono::Utc::now() + d)
}

/// An update of a user by the server itself.
fn user_update(object_id: &str, ops: Map, internal: Map) -> Prepared {
    Prepared {
        new_fields: !ops.is_empty(),
        write: Write {
            kind: WriteKind::Update,
            class: USER_CLASS.into(),
            object_id: object_id.to_string(),
            ops,
            internal,
        },
    }
}

/// The request's context with the server's own rights (for writes no client could make).
fn as_server(ctx: &RequestContext) -> RequestContext {
    let mut ctx = ctx.clone();
    ctx.auth = Auth::Master;
    ctx
}

fn str_field<'a>(user: &'a Object, key: &str) -> Option<&'a str> {
    user.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The `email` of `/verificationEmailRequest` and `/requestPasswordReset`: 204 when missing (or
/// empty, or any value JavaScript calls false), 125 when not a string.
fn email_param(req: &ParseRequest) -> Result<String, ApiError> {
    match req.body.get("email") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => {}
        Some(Value::String(s)) if s.is_empty() => {}
        Some(Value::Number(n)) if n.as_f64() == Some(0.0) => {}
        Some(Value::String(s)) => return Ok(s.clone()),
        Some(_) => {
            return Err(ParseError::new(
                code::INVALID_EMAIL_ADDRESS,
                "you must provide a valid email string",
            )
            .into())
        }
    }
    Err(ParseError::new(code::EMAIL_MISSING, "you must provide an email").into())
}

/// `${publicServerURL}/apps/${appId}/${page}?token=…&username=…`, what a mail links to.
fn link(public_url: &str, app_id: &str, page: &str, token: &str, username: &str) -> String {
    format!(
        "{public_url}/apps/{}/{page}?token={}&username={}",
        encode_component(app_id),
        encode_component(token),
        encode_component(username)
    )
}

/// What a mail needs of the configuration: Parse Server's check, its error (code 1) otherwise.
fn mail_settings(app: &AppConfig, mailer_present: bool) -> Result<(&str, &str), ApiError> {
    match (mailer_present, &app.emails.app_name, app.emails.public_url()) {
        (true, Some(name), Some(url)) => Ok((name, url)),
        _ => Err(ParseError::new(
            code::INTERNAL_SERVER_ERROR,
            "An appName, publicServerURL, and emailAdapter are required for password reset and email verification functionality.",
        )
        .into()),
    }
}

/// A new verification of `email`: the fields it sets (`emailVerified: false`), the server-only
/// fields (the token's hash and expiry), and the mail (none when mails cannot be sent).
pub(crate) struct Verification {
    pub ops: Map,
    pub internal: Map,
    pub mail: Option<Mail>,
}

impl Verification {
    /// Adds the verification to a user write: its fields, its server-only fields, its mail.
    pub(crate) fn add_to(self, body: &mut Map, internal: &mut Map, mails: &mut Vec<Mail>) {
        body.extend(self.ops);
        internal.extend(self.internal);
        mails.extend(self.mail);
    }
}

impl CommandApi {
    /// Sends `mails` in the background; a failure is logged (without the mail, which holds a
    /// token).
    pub(crate) fn send_mails(&self, mails: Vec<Mail>) {
        if mails.is_empty() {
            return;
        }
        let Some(mailer) = self.mailer.clone() else {
            tracing::warn!(count = mails.len(), "no email adapter; mails dropped");
            return;
        };
        for mail in mails {
            let mailer = mailer.clone();
            tokio::spawn(async move {
                if let Err(e) = mailer.send(mail).await {
                    tracing::warn!(error = %e, "a mail could not be sent");
                }
            });
        }
    }

    /// A verification of `email` for the user `username` (sign-up, email change, resend).
    pub(crate) fn new_verification(
        &self,
        app: &AppConfig,
        username: &str,
        email: &str,
    ) -> Verification {
        let token = new_link_token();
        let mut ops = Map::new();
        ops.insert("emailVerified".into(), json!(false));
        let expires = expiry(app.emails.email_verify_token_validity);
        let internal = LinkToken::VerifyEmail.issue(&token, expires.as_ref());
        let mail = mail_settings(app, self.mailer.is_some())
            .ok()
            .map(|(app_name, url)| Mail {
                to: email.to_string(),
                subject: format!("Please verify your e-mail for {app_name}"),
                text: format!(
                    "Hi,\n\nYou are being asked to confirm the e-mail address {email} with \
                     {app_name}\n\nClick here to confirm it:\n{}\n",
                    link(url, &app.app_id, "verify_email", &token, username)
                ),
            });
        Verification {
            ops,
            internal,
            mail,
        }
    }

    /// The one user `filter` names, as the server sees it (server-only fields included).
    async fn user_where(&self, app_id: &str, filter: Filter) -> Result<Option<Object>, ApiError> {
        let query = Query {
            filter,
            limit: 1,
            ..Query::default()
        };
        Ok(self
            .reads
            .store()
            .find(app_id, USER_CLASS, &query)
            .await
            .map_err(ApiError::internal)?
            .into_iter()
            .next())
    }

    /// The user a link's `username` names.
    pub(crate) async fn user_named(
        &self,
        app_id: &str,
        username: &str,
    ) -> Result<Option<Object>, ApiError> {
        self.user_where(app_id, eq(USERNAME_KEY, json!(username.to_lowercase())))
            .await
    }

    /// A new verification token and mail for an unverified user; false when the app does not
    /// verify emails (nothing is sent, as in Parse Server) or the user has no email.
    pub(crate) async fn resend_verification(
        &self,
        ctx: &RequestContext,
        user: &Object,
    ) -> Result<bool, ApiError> {
        let (true, Some(email)) = (ctx.app.emails.verify_user_emails, str_field(user, "email"))
        else {
            return Ok(false);
        };
        let username = str_field(user, "username").unwrap_or_default();
        let v = self.new_verification(&ctx.app, username, email);
        let planned = Planned {
            mails: v.mail.into_iter().collect(),
            ..Planned::one(user_update(user.object_id(), v.ops, v.internal))
        };
        self.submit_planned(&as_server(ctx), planned).await?;
        Ok(true)
    }

    /// `POST /verificationEmailRequest`: a new verification mail for the user with that email.
    pub(crate) async fn verification_email_request(
        &self,
        req: &ParseRequest,
    ) -> Result<ParseResponse, ApiError> {
        mail_settings(&req.ctx.app, self.mailer.is_some())?;
        let email = email_param(req)?;
        let user = self
            .user_where(
                &req.ctx.app.app_id,
                eq(EMAIL_KEY, json!(email.to_lowercase())),
            )
            .await?
            .ok_or_else(|| {
                ParseError::new(
                    code::EMAIL_NOT_FOUND,
                    format!("No user found with email {email}"),
                )
            })?;
        if user.get("emailVerified") == Some(&json!(true)) {
            return Err(ParseError::new(
                code::OTHER_CAUSE,
                format!("Email {email} is already verified."),
            )
            .into());
        }
        self.resend_verification(&req.ctx, &user).await?;
        Ok(ParseResponse::ok(json!({})))
    }

    /// `POST /requestPasswordReset`: a reset link mailed to the user with that email (or whose
    /// username it is, if they have no email). An unknown email answers `{}` all the same.
    pub(crate) async fn request_password_reset(
        &self,
        req: &ParseRequest,
    ) -> Result<ParseResponse, ApiError> {
        let app = &req.ctx.app;
        let (app_name, url) = mail_settings(app, self.mailer.is_some())?;
        let email = email_param(req)?.to_lowercase();
        let filter = Filter::Or(vec![
            eq(EMAIL_KEY, json!(email)),
            Filter::And(vec![
                eq(USERNAME_KEY, json!(email)),
                Filter::Field {
                    path: "email".into(),
                    cond: Cond::Exists(false),
                },
            ]),
        ]);
        let Some(user) = self.user_where(&app.app_id, filter).await? else {
            return match app.emails.reset_password_success_on_invalid_email {
                true => Ok(ParseResponse::ok(json!({}))),
                false => Err(ParseError::new(
                    code::OBJECT_NOT_FOUND,
                    "A user with that email does not exist.",
                )
                .into()),
            };
        };
        let token = new_link_token();
        let expires = expiry(app.emails.reset_token_validity);
        let internal = LinkToken::ResetPassword.issue(&token, expires.as_ref());
        let username = str_field(&user, "username").unwrap_or_default();
        let to = str_field(&user, "email").unwrap_or(username).to_string();
        let mail = Mail {
            to,
            subject: format!("Password Reset for {app_name}"),
            text: format!(
                "Hi,\n\nYou requested to reset your password for {app_name} (your username is \
                 '{username}').\n\nClick here to reset it:\n{}\n",
                link(url, &app.app_id, "request_password_reset", &token, username)
            ),
        };
        let planned = Planned {
            mails: vec![mail],
            ..Planned::one(user_update(user.object_id(), Map::new(), internal))
        };
        self.submit_planned(&as_server(&req.ctx), planned).await?;
        Ok(ParseResponse::ok(json!({})))
    }

    /// Opens a verification link: the user's email is verified and the token withdrawn. A user
    /// already verified is a success whatever the token (as in Parse Server).
    pub(crate) async fn verify_email(
        &self,
        ctx: &RequestContext,
        username: &str,
        token: &str,
    ) -> Result<(), ApiError> {
        let refused = || ApiError::from(ParseError::new(code::OTHER_CAUSE, "Invalid link."));
        if !ctx.app.emails.verify_user_emails {
            return Err(refused());
        }
        let user = self
            .user_named(&ctx.app.app_id, username)
            .await?
            .ok_or_else(refused)?;
        if user.get("emailVerified") == Some(&json!(true)) {
            return Ok(());
        }
        LinkToken::VerifyEmail
            .check(&user, token, &chrono::Utc::now())
            .map_err(|_| refused())?;
        let mut ops = Map::new();
        ops.insert("emailVerified".into(), json!(true));
        let write = user_update(user.object_id(), ops, LinkToken::VerifyEmail.withdraw());
        self.submit_planned(&as_server(ctx), Planned::one(write))
            .await?;
        Ok(())
    }

    /// The user whose reset link this is, if it still works; else Parse Server's message.
    pub(crate) async fn check_reset_link(
        &self,
        ctx: &RequestContext,
        username: &str,
        token: &str,
    ) -> Result<Object, String> {
        let invalid = "Failed to reset password: username / email / token is invalid";
        let user = match self.user_named(&ctx.app.app_id, username).await {
            Ok(Some(user)) => user,
            Ok(None) => return Err(invalid.into()),
            Err(e) => return Err(e.as_parse_error().error),
        };
        match LinkToken::ResetPassword.check(&user, token, &chrono::Utc::now()) {
            Ok(()) => Ok(user),
            Err(LinkRefused::Invalid) => Err(invalid.into()),
            Err(LinkRefused::Expired) => Err("The password reset link has expired".into()),
        }
    }

    /// Sets a new password through a reset link: one transaction that stores the new hash,
    /// withdraws the token and ends every session of the user. Errors are the message the
    /// page shows.
    pub(crate) async fn reset_password(
        &self,
        ctx: &RequestContext,
        username: &str,
        token: &str,
        password: &str,
    ) -> Result<(), String> {
        let user = self.check_reset_link(ctx, username, token).await?;
        let message = |e: ApiError| e.as_parse_error().error;
        let hash = crate::users::hash_password(password.to_string())
            .await
            .map_err(message)?;
        let mut internal = LinkToken::ResetPassword.withdraw();
        internal.insert(HASHED_PASSWORD.into(), json!(hash));
        let id = user.object_id().to_string();
        let sessions = self.sessions_of(ctx, &id, None).await.map_err(message)?;
        let mut writes = vec![user_update(&id, Map::new(), internal)];
        writes.extend(
            sessions
                .iter()
                .map(|s| prepare_delete(SESSION_CLASS, s.object_id())),
        );
        let planned = Planned::many(writes, 0);
        self.submit_planned(&as_server(ctx), planned)
            .await
            .map_err(message)?;
        for s in &sessions {
            self.reads.forget_session(&ctx.app.app_id, s.object_id());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_encode_like_encode_uri_component() {
        assert_eq!(
            link("http://h/parse", "my app", "verify_email", "Ab1", "a b&c@d"),
            "http://h/parse/apps/my%20app/verify_email?token=Ab1&username=a%20b%26c%40d"
        );
        let t = new_link_token();
        assert_eq!(t.len(), 32);
        assert!(t.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
