//! The pages under `/apps/` that links in mails open, as Parse Server's `PublicAPIRouter`
//! answers them: no keys (a browser opens them), redirects (302) between them, a form to choose
//! a new password, and a few fixed pages. The HTML is our own and plain; every value from the
//! request that a page shows is escaped. Without `publicServerURL` the pages that act answer
//! 404 `Not found.`, as in Parse Server; the fixed pages are always served.

use api::{encode_component, ApiError, ParseRequest, ParseResponse, PublicPage};
use axum::http::StatusCode;
use model::{code, ParseError};
use serde_json::{json, Value};

use crate::CommandApi;

/// Text made safe inside HTML, attributes included.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A query string of `pairs`, each value encoded as `encodeURIComponent` does.
fn query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>body{{font-family:sans-serif;max-width:32em;\
         margin:4em auto;padding:0 1em;color:#222}}label,input,button{{display:block;\
         margin:.5em 0}}.error{{color:#b00}}</style>\n</head>\n<body>\n<h1>{title}</h1>\n{body}\n\
         </body>\n</html>\n"
    )
}

fn not_found() -> ParseResponse {
    ParseResponse::html(StatusCode::NOT_FOUND, "Not found.".into())
}

/// A request parameter as a non-empty string (query string first, then the form).
fn param<'a>(req: &'a ParseRequest, key: &str) -> Option<&'a str> {
    req.params
        .get(key)
        .or_else(|| req.body.get(key))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// The fixed pages, each with what it may show of its query string (escaped).
fn static_page(req: &ParseRequest, name: &str) -> ParseResponse {
    let username = param(req, "username").map(escape);
    let html = match name {
        "invalid_link.html" => page("Invalid Link", "<p>This link is no longer valid.</p>"),
        "invalid_verification_link.html" => {
            // A form to get a new link: it posts to `<appId>/resend_verification_email`,
            // relative to this page, so it works whatever the mount.
            let form = match (param(req, "username"), param(req, "appId")) {
                (Some(user), Some(app)) => format!(
                    "<form method=\"POST\" action=\"{}/resend_verification_email\">\n\
                     <input type=\"hidden\" name=\"username\" value=\"{}\">\n\
                     <button type=\"submit\">Resend the link</button>\n</form>",
                    escape(&encode_component(app)),
                    escape(user)
                ),
                _ => String::new(),
            };
            page(
                "Invalid Link",
                &format!("<p>This verification link is no longer valid.</p>\n{form}"),
            )
        }
        "link_send_success.html" => page(
            "Link Sent",
            "<p>A new verification link has been sent. Check your email.</p>",
        ),
        "link_send_fail.html" => page(
            "Link Not Sent",
            "<p>No link could be sent: the account does not exist or is already verified.</p>",
        ),
        "password_reset_success.html" => page(
            "Password Reset",
            &match username {
                Some(u) => format!("<p>The password of {u} has been changed.</p>"),
                None => "<p>Your password has been changed.</p>".into(),
            },
        ),
        "verify_email_success.html" => page(
            "Email Verified",
            &match username {
                Some(u) => format!("<p>Thank you, {u}: your email address is verified.</p>"),
                None => "<p>Thank you: your email address is verified.</p>".into(),
            },
        ),
        _ => return not_found(),
    };
    ParseResponse::html(StatusCode::OK, html)
}

/// The new-password form (Parse Server's `choose_password`), posting to
/// `<publicServerURL>/apps/<appId>/request_password_reset`.
fn choose_password(req: &ParseRequest, public_url: &str) -> ParseResponse {
    let app = &req.ctx.app;
    let title = match &app.emails.app_name {
        Some(name) => format!("Reset Your Password for {}", escape(name)),
        None => "Reset Your Password".into(),
    };
    let error = param(req, "error")
        .map(|e| format!("<p class=\"error\">{}</p>\n", escape(e)))
        .unwrap_or_default();
    let username = param(req, "username").unwrap_or_default();
    let body = format!(
        "{error}<form id=\"form\" method=\"POST\" action=\"{action}\">\n\
         <p>New password for {user}</p>\n\
         <input type=\"hidden\" name=\"username\" value=\"{user}\">\n\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">\n\
         <label>New password <input type=\"password\" name=\"new_password\" id=\"password\" \
         required autocomplete=\"new-password\"></label>\n\
         <label>Confirm new password <input type=\"password\" name=\"confirm_new_password\" \
         id=\"confirm\" required autocomplete=\"new-password\"></label>\n\
         <button type=\"submit\">Change Password</button>\n</form>\n\
         <script>document.getElementById('form').onsubmit=function(){{\
         var ok=document.getElementById('password').value===document.getElementById('confirm').value;\
         if(!ok){{alert('The passwords do not match.');}}return ok;}};</script>",
        action = escape(&format!(
            "{public_url}/apps/{}/request_password_reset",
            encode_component(&app.app_id)
        )),
        user = escape(username),
        token = escape(param(req, "token").unwrap_or_default()),
    );
    ParseResponse::html(StatusCode::OK, page(&title, &body))
}

impl CommandApi {
    /// Answers one of the `/apps/` pages.
    pub(crate) async fn page(
        &self,
        req: &ParseRequest,
        which: &PublicPage,
    ) -> Result<ParseResponse, ApiError> {
        let app = &req.ctx.app;
        // Pages of another app (Parse Server's `invalidRequest`).
        let app_id = match which {
            PublicPage::Static { name } => return Ok(static_page(req, name)),
            PublicPage::ChoosePassword => param(req, "id").unwrap_or_default(),
            PublicPage::VerifyEmail { app_id }
            | PublicPage::ResendVerification { app_id }
            | PublicPage::ResetLink { app_id }
            | PublicPage::ResetPassword { app_id } => app_id.as_str(),
        };
        if app_id != app.app_id {
            return Err(ApiError::Unauthorized);
        }
        let Some(public_url) = app.emails.public_url() else {
            return Ok(not_found());
        };
        let pages = format!("{public_url}/apps");
        let invalid_link = || ParseResponse::redirect(format!("{pages}/invalid_link.html"));
        let username = param(req, "username");
        let token = param(req, "token");
        match which {
            PublicPage::Static { .. } => Ok(static_page(req, "")),
            PublicPage::ChoosePassword => Ok(choose_password(req, public_url)),
            PublicPage::VerifyEmail { .. } => {
                let (Some(username), Some(token)) = (username, token) else {
                    return Ok(invalid_link());
                };
                Ok(match self.verify_email(&req.ctx, username, token).await {
                    Ok(()) => ParseResponse::redirect(format!(
                        "{pages}/verify_email_success.html?{}",
                        query(&[("username", username)])
                    )),
                    Err(ApiError::Internal(e)) => return Err(ApiError::Internal(e)),
                    Err(_) => ParseResponse::redirect(format!(
                        "{pages}/invalid_verification_link.html?{}",
                        query(&[("username", username), ("appId", &app.app_id)])
                    )),
                })
            }
            PublicPage::ResendVerification { .. } => {
                let Some(username) = username else {
                    return Ok(invalid_link());
                };
                let sent = match self.user_named(&app.app_id, username).await? {
                    Some(user) if user.get("emailVerified") != Some(&json!(true)) => {
                        self.resend_verification(&req.ctx, &user).await?
                    }
                    _ => false,
                };
                Ok(ParseResponse::redirect(match sent {
                    true => format!("{pages}/link_send_success.html"),
                    false => format!("{pages}/link_send_fail.html"),
                }))
            }
            PublicPage::ResetLink { .. } => {
                let (Some(username), Some(token)) = (username, token) else {
                    return Ok(invalid_link());
                };
                Ok(
                    match self.check_reset_link(&req.ctx, username, token).await {
                        Ok(_) => ParseResponse::redirect(format!(
                            "{pages}/choose_password?{}",
                            query(&[
                                ("token", token),
                                ("id", &app.app_id),
                                ("username", username),
                                ("app", app.emails.app_name.as_deref().unwrap_or_default()),
                            ])
                        )),
                        Err(_) => invalid_link(),
                    },
                )
            }
            PublicPage::ResetPassword { .. } => {
                let password = param(req, "new_password");
                let (Some(username), Some(token), Some(password)) = (username, token, password)
                else {
                    if !req.ctx.xhr {
                        return Ok(invalid_link());
                    }
                    // A script gets Parse Server's errors for what is missing.
                    let e = match (username, token) {
                        (None, _) => ParseError::new(code::USERNAME_MISSING, "Missing username"),
                        (_, None) => ParseError::new(code::OTHER_CAUSE, "Missing token"),
                        _ => ParseError::new(code::PASSWORD_MISSING, "Missing password"),
                    };
                    return Err(e.into());
                };
                let result = self
                    .reset_password(&req.ctx, username, token, password)
                    .await;
                match (result, req.ctx.xhr) {
                    (Ok(()), true) => Ok(ParseResponse::ok(json!("Password successfully reset"))),
                    (Err(e), true) => Err(ParseError::new(code::OTHER_CAUSE, e).into()),
                    (Ok(()), false) => Ok(ParseResponse::redirect(format!(
                        "{pages}/password_reset_success.html?{}",
                        query(&[("username", username)])
                    ))),
                    (Err(e), false) => Ok(ParseResponse::redirect(format!(
                        "{pages}/choose_password?{}",
                        query(&[
                            ("username", username),
                            ("token", token),
                            ("id", &app.app_id),
                            ("error", &e),
                            ("app", app.emails.app_name.as_deref().unwrap_or_default()),
                        ])
                    ))),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_encodes() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(
            query(&[("username", "a b"), ("error", "x&y=z")]),
            "username=a%20b&error=x%26y%3Dz"
        );
    }
}
