//! The Parse routes, parsed from a method and a path below the mount. One parser serves the
//! HTTP dispatcher and `/batch`, so a sub-request goes where the same request alone would.

use axum::http::Method;
use model::installation::CLASS as INSTALLATION;
use model::names::validate_class_name;
use model::{code, ParseError};

use crate::ApiError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Health,
    /// `GET /classes/<class>`
    Find {
        class: String,
    },
    /// `POST /classes/<class>`
    Create {
        class: String,
    },
    /// `GET /classes/<class>/<id>`
    Get {
        class: String,
        object_id: String,
    },
    /// `PUT /classes/<class>/<id>`
    Update {
        class: String,
        object_id: String,
    },
    /// `DELETE /classes/<class>/<id>`
    Delete {
        class: String,
        object_id: String,
    },
    /// `POST /batch`
    Batch,
    /// `GET /config`
    GetConfig,
    /// `PUT /config` (master key)
    UpdateConfig,
    /// `POST /events/<name>`: an analytics event.
    Track {
        name: String,
    },
    /// `GET /events/<name>` (master key): its hourly counts.
    GetTracked {
        name: String,
    },
    /// `GET /serverInfo` (master key)
    ServerInfo,
    /// `GET /schemas` (master key)
    GetSchemas,
    /// `GET /schemas/<class>` (master key)
    GetSchema {
        class: String,
    },
    /// `POST /schemas[/<class>]` (master key): a new class (named by the body without a path class).
    CreateSchema {
        class: Option<String>,
    },
    /// `PUT /schemas/<class>` (master key)
    UpdateSchema {
        class: String,
    },
    /// `DELETE /schemas/<class>` (master key): the class deleted, if it has no objects.
    DeleteSchema {
        class: String,
    },
    /// `GET /users/me`: the session's user.
    Me,
    /// `GET`/`POST /login`
    Login,
    /// `POST /logout`
    Logout,
    /// `GET`/`POST /verifyPassword`: a user's credentials checked, no session made.
    VerifyPassword,
    /// `POST /loginAs` (master key): a session for any user.
    LoginAs,
    /// `GET /sessions/me`
    SessionMe,
    /// `PUT /sessions/me`: a restricted session paired with the caller's installation.
    PairSession,
    /// `POST /files/<name>`: a file upload (raw body, or the JS SDK's JSON with `base64`).
    UploadFile {
        name: String,
    },
    /// `GET /files/<appId>/<name>`: the file's bytes; no keys needed, as in Parse Server.
    GetFile {
        app_id: String,
        name: String,
    },
    /// `GET /files/<appId>/metadata/<name>`: what is known about the file besides its bytes.
    FileMetadata {
        app_id: String,
        name: String,
    },
    /// `DELETE /files/<name>` (master key)
    DeleteFile {
        name: String,
    },
    /// `DELETE /purge/<class>` (master key): every object of the class deleted.
    Purge {
        class: String,
    },
    /// `POST /verificationEmailRequest`: a new verification mail for an unverified email.
    VerificationEmailRequest,
    /// `POST /requestPasswordReset`: a password-reset mail.
    RequestPasswordReset,
    /// The pages under `/apps/` that links in mails open (no keys: a browser opens them).
    Page(PublicPage),
}

/// Parse Server's public pages (its `PublicAPIRouter`), under the API's mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicPage {
    /// `GET /apps/<appId>/verify_email?token=…&username=…`
    VerifyEmail { app_id: String },
    /// `POST /apps/<appId>/resend_verification_email` (form `username`)
    ResendVerification { app_id: String },
    /// `GET /apps/choose_password?id=<appId>&token=…&username=…`: the new-password form.
    ChoosePassword,
    /// `GET /apps/<appId>/request_password_reset?token=…&username=…`: the link of a reset mail.
    ResetLink { app_id: String },
    /// `POST /apps/<appId>/request_password_reset` (form `username`, `token`, `new_password`)
    ResetPassword { app_id: String },
    /// `GET /apps/<name>.html`: the fixed pages the others redirect to.
    Static { name: String },
}

impl Route {
    /// Whether the route only reads (served by query-api too).
    pub fn is_read(&self) -> bool {
        matches!(
            self,
            Route::Health
                | Route::Find { .. }
                | Route::Get { .. }
                | Route::GetConfig
                | Route::GetTracked { .. }
                | Route::ServerInfo
                | Route::GetSchemas
                | Route::GetSchema { .. }
                | Route::GetFile { .. }
                | Route::FileMetadata { .. }
                | Route::Me
                | Route::SessionMe
                | Route::VerifyPassword
        )
    }

    /// Routes served without the app's keys (file downloads and the `/apps/` pages, which
    /// browsers open by URL).
    pub fn is_keyless(&self) -> bool {
        matches!(
            self,
            Route::GetFile { .. } | Route::FileMetadata { .. } | Route::Page(_)
        )
    }

    pub fn parse(method: &Method, path: &str) -> Result<Route, ApiError> {
        // Segments are percent-decoded: `/classes/Foo%20Bar` names the class `Foo Bar`.
        let decoded: Vec<String> = path
            .trim_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect();
        let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
        let no_route = || ApiError::NoRoute(format!("{method} {path}"));
        let class = |c: &str| -> Result<String, ApiError> {
            validate_class_name(c)?;
            Ok(c.to_string())
        };
        Ok(match (method.as_str(), segments.as_slice()) {
            ("GET", ["health"]) => Route::Health,
            ("GET", ["classes", c]) => Route::Find { class: class(c)? },
            ("POST", ["classes", c]) => Route::Create { class: class(c)? },
            ("GET", ["classes", c, id]) => Route::Get {
                class: class(c)?,
                object_id: id.to_string(),
            },
            ("PUT", ["classes", c, id]) => Route::Update {
                class: class(c)?,
                object_id: id.to_string(),
            },
            ("DELETE", ["classes", c, id]) => Route::Delete {
                class: class(c)?,
                object_id: id.to_string(),
            },
            // Parse Server's `/installations` routes are its class routes on `_Installation`.
            ("GET", ["installations"]) => Route::Find {
                class: INSTALLATION.into(),
            },
            ("POST", ["installations"]) => Route::Create {
                class: INSTALLATION.into(),
            },
            ("GET", ["installations", id]) => Route::Get {
                class: INSTALLATION.into(),
                object_id: id.to_string(),
            },
            ("PUT", ["installations", id]) => Route::Update {
                class: INSTALLATION.into(),
                object_id: id.to_string(),
            },
            ("DELETE", ["installations", id]) => Route::Delete {
                class: INSTALLATION.into(),
                object_id: id.to_string(),
            },
            // Parse Server's `/users`, `/sessions` and `/roles` are its class routes on
            // `_User`, `_Session` and `_Role`, besides a few of their own.
            ("GET", ["users", "me"]) => Route::Me,
            ("GET", ["sessions", "me"]) => Route::SessionMe,
            ("PUT", ["sessions", "me"]) => Route::PairSession,
            ("GET" | "POST", ["login"]) => Route::Login,
            ("POST", ["logout"]) => Route::Logout,
            ("GET" | "POST", ["verifyPassword"]) => Route::VerifyPassword,
            ("POST", ["loginAs"]) => Route::LoginAs,
            ("POST", ["verificationEmailRequest"]) => Route::VerificationEmailRequest,
            ("POST", ["requestPasswordReset"]) => Route::RequestPasswordReset,
            ("GET", ["apps", "choose_password"]) => Route::Page(PublicPage::ChoosePassword),
            ("GET", ["apps", name]) if name.ends_with(".html") => Route::Page(PublicPage::Static {
                name: name.to_string(),
            }),
            ("GET", ["apps", app, "verify_email"]) => Route::Page(PublicPage::VerifyEmail {
                app_id: app.to_string(),
            }),
            ("POST", ["apps", app, "resend_verification_email"]) => {
                Route::Page(PublicPage::ResendVerification {
                    app_id: app.to_string(),
                })
            }
            ("GET", ["apps", app, "request_password_reset"]) => {
                Route::Page(PublicPage::ResetLink {
                    app_id: app.to_string(),
                })
            }
            ("POST", ["apps", app, "request_password_reset"]) => {
                Route::Page(PublicPage::ResetPassword {
                    app_id: app.to_string(),
                })
            }
            (m, [collection @ ("users" | "sessions" | "roles"), rest @ ..]) if rest.len() <= 1 => {
                let class = match *collection {
                    "users" => "_User",
                    "sessions" => "_Session",
                    _ => "_Role",
                }
                .to_string();
                match (m, rest) {
                    ("GET", []) => Route::Find { class },
                    ("POST", []) => Route::Create { class },
                    ("GET", [id]) => Route::Get {
                        class,
                        object_id: id.to_string(),
                    },
                    ("PUT", [id]) => Route::Update {
                        class,
                        object_id: id.to_string(),
                    },
                    ("DELETE", [id]) => Route::Delete {
                        class,
                        object_id: id.to_string(),
                    },
                    _ => return Err(no_route()),
                }
            }
            ("POST", ["batch"]) => Route::Batch,
            ("GET", ["config"]) => Route::GetConfig,
            ("PUT", ["config"]) => Route::UpdateConfig,
            ("POST", ["events", name]) => Route::Track {
                name: name.to_string(),
            },
            ("GET", ["events", name]) => Route::GetTracked {
                name: name.to_string(),
            },
            ("GET", ["serverInfo"]) => Route::ServerInfo,
            ("DELETE", ["purge", c]) => Route::Purge { class: class(c)? },
            ("POST", ["files"]) => {
                return Err(
                    ParseError::new(code::INVALID_FILE_NAME, "Filename not provided.").into(),
                )
            }
            ("POST", ["files", name]) => Route::UploadFile {
                name: name.to_string(),
            },
            ("DELETE", ["files", name]) => Route::DeleteFile {
                name: name.to_string(),
            },
            ("GET", ["files", app, name]) => Route::GetFile {
                app_id: app.to_string(),
                name: name.to_string(),
            },
            ("GET", ["files", app, "metadata", name]) => Route::FileMetadata {
                app_id: app.to_string(),
                name: name.to_string(),
            },
            ("GET", ["schemas"]) => Route::GetSchemas,
            ("GET", ["schemas", c]) => Route::GetSchema { class: class(c)? },
            ("POST", ["schemas"]) => Route::CreateSchema { class: None },
            ("POST", ["schemas", c]) => Route::CreateSchema {
                class: Some(class(c)?),
            },
            ("PUT", ["schemas", c]) => Route::UpdateSchema { class: class(c)? },
            ("DELETE", ["schemas", c]) => Route::DeleteSchema { class: class(c)? },
            _ => return Err(no_route()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_object_routes() {
        assert_eq!(
            Route::parse(&Method::GET, "/classes/GameScore/abc").unwrap(),
            Route::Get {
                class: "GameScore".into(),
                object_id: "abc".into()
            }
        );
        assert_eq!(Route::parse(&Method::POST, "/batch").unwrap(), Route::Batch);
        assert!(matches!(
            Route::parse(&Method::PATCH, "/classes/A"),
            Err(ApiError::NoRoute(_))
        ));
        assert_eq!(
            Route::parse(&Method::PUT, "/installations/abc").unwrap(),
            Route::Update {
                class: "_Installation".into(),
                object_id: "abc".into()
            }
        );
        assert_eq!(
            Route::parse(&Method::GET, "/installations").unwrap(),
            Route::Find {
                class: "_Installation".into()
            }
        );
        assert_eq!(
            Route::parse(&Method::GET, "/apps/test/verify_email").unwrap(),
            Route::Page(PublicPage::VerifyEmail {
                app_id: "test".into()
            })
        );
        assert_eq!(
            Route::parse(&Method::GET, "/apps/choose_password").unwrap(),
            Route::Page(PublicPage::ChoosePassword)
        );
        assert!(Route::parse(&Method::GET, "/apps/invalid_link.html")
            .unwrap()
            .is_keyless());
        match Route::parse(&Method::GET, "/classes/1bad") {
            Err(ApiError::Parse(e)) => assert_eq!(e.code, 103),
            other => panic!("{other:?}"),
        }
    }
}
