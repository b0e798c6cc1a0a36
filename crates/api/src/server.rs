//! The axum side: one fallback route that answers CORS pre-flights, reads the body under the
//! size limit, normalises the request and hands it to the process's `Handler`.

use std::sync::Arc;

use async_trait::async_trait;
use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};
use tracing::Instrument;

use crate::request::{keyless, normalize, split_upload, strip_mount, RawRequest};
use crate::{ApiError, AppConfig, ParseRequest, Route};

/// An upload over `maxUploadSize`: the SDKs' FileTooLarge, with the limit in the message.
fn too_large_upload(limit: usize) -> ApiError {
    model::ParseError::new(
        model::code::FILE_TOO_LARGE,
        format!("File size exceeds the maximum upload size of {limit} bytes (maxUploadSize)."),
    )
    .into()
}

/// A handler's answer: status, JSON body and, for creates, the new object's URL; or, for file
/// downloads, bytes.
#[derive(Debug, Clone)]
pub struct ParseResponse {
    pub status: StatusCode,
    pub body: Value,
    pub location: Option<String>,
    pub raw: Option<RawBody>,
}

/// A body that is not JSON: a file's bytes with their type and any extra headers.
#[derive(Debug, Clone)]
pub struct RawBody {
    pub content_type: String,
    pub data: bytes::Bytes,
    pub headers: Vec<(HeaderName, String)>,
}

impl ParseResponse {
    pub fn ok(body: Value) -> Self {
        ParseResponse {
            status: StatusCode::OK,
            body,
            location: None,
            raw: None,
        }
    }

    /// Bytes rather than JSON.
    pub fn raw(status: StatusCode, raw: RawBody) -> Self {
        ParseResponse {
            status,
            body: Value::Null,
            location: None,
            raw: Some(raw),
        }
    }

    /// A page.
    pub fn html(status: StatusCode, html: String) -> Self {
        Self::raw(
            status,
            RawBody {
                content_type: "text/html; charset=utf-8".into(),
                data: bytes::Bytes::from(html),
                headers: Vec::new(),
            },
        )
    }

    /// `302 Found` to `url` (what a page answers a browser).
    pub fn redirect(url: String) -> Self {
        let mut res = Self::raw(
            StatusCode::FOUND,
            RawBody {
                content_type: "text/plain; charset=utf-8".into(),
                data: bytes::Bytes::from(format!("Found. Redirecting to {url}")),
                headers: Vec::new(),
            },
        );
        res.location = Some(url);
        res
    }

    pub fn created(body: Value, location: String) -> Self {
        ParseResponse {
            status: StatusCode::CREATED,
            body,
            location: Some(location),
            raw: None,
        }
    }
}

impl IntoResponse for ParseResponse {
    fn into_response(self) -> Response {
        let mut res = match self.raw {
            Some(raw) => {
                let mut res = (self.status, raw.data).into_response();
                let h = res.headers_mut();
                if let Ok(v) = HeaderValue::from_str(&raw.content_type) {
                    h.insert(header::CONTENT_TYPE, v);
                }
                for (name, value) in raw.headers {
                    if let Ok(v) = HeaderValue::from_str(&value) {
                        h.insert(name, v);
                    }
                }
                res
            }
            None => (self.status, axum::Json(self.body)).into_response(),
        };
        if let Some(loc) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            res.headers_mut().insert(header::LOCATION, loc);
        }
        res
    }
}

/// What a process does with normalised requests.
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    async fn handle(&self, req: ParseRequest) -> Result<ParseResponse, ApiError>;
}

#[derive(Clone)]
struct Shared {
    app: Arc<AppConfig>,
    handler: Arc<dyn Handler>,
}

/// The whole HTTP surface of a process.
pub fn router(app: Arc<AppConfig>, handler: Arc<dyn Handler>) -> Router {
    Router::new()
        .fallback(dispatch)
        .with_state(Shared { app, handler })
}

const ALLOW_HEADERS: &str = "X-Parse-Master-Key, X-Parse-REST-API-Key, X-Parse-Javascript-Key, \
X-Parse-Application-Id, X-Parse-Client-Version, X-Parse-Session-Token, X-Requested-With, \
X-Parse-Revocable-Session, X-Parse-Request-Id, Content-Type, Pragma, Cache-Control";

/// Parse Server's CORS headers, on every answer.
fn add_cors(res: &mut Response) {
    let h = res.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET,PUT,POST,DELETE,OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOW_HEADERS),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("X-Parse-Job-Status-Id, X-Parse-Push-Status-Id"),
    );
    h.insert(
        HeaderName::from_static("x-powered-by"),
        HeaderValue::from_static("Chronicle"),
    );
}

async fn dispatch(State(shared): State<Shared>, req: Request) -> Response {
    let span = tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), status = tracing::field::Empty);
    let mut res = answer(shared, req).instrument(span.clone()).await;
    span.record("status", res.status().as_u16());
    add_cors(&mut res);
    res
}

async fn answer(shared: Shared, req: Request) -> Response {
    if req.method() == Method::OPTIONS {
        return (StatusCode::OK, "OK").into_response();
    }
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    if path == "/health" {
        return axum::Json(json!({"status": "ok"})).into_response();
    }
    let Some((mount, rest)) = strip_mount(&path, &shared.app) else {
        return ApiError::NoRoute(format!("{} {path}", parts.method)).into_response();
    };
    if rest == "/health" {
        return axum::Json(json!({"status": "ok"})).into_response();
    }
    // File routes read their bodies, and downloads and pages their keys, differently: find
    // them first.
    let route = match rest.starts_with("/files") || rest.starts_with("/apps/") {
        true => Route::parse(&parts.method, &rest),
        false => Err(ApiError::NoRoute(String::new())),
    };
    if let Some(route) = route.as_ref().ok().filter(|r| r.is_keyless()) {
        // A page's form is small; a download has no body worth reading.
        let bytes = match route {
            Route::Page(_) => match to_bytes(Body::new(body), shared.app.max_body_bytes).await {
                Ok(b) => b,
                Err(_) => return ApiError::TooLarge.into_response(),
            },
            _ => bytes::Bytes::new(),
        };
        let raw = RawRequest {
            method: parts.method.clone(),
            query: parts.uri.query(),
            headers: &parts.headers,
            body: &bytes,
        };
        let req = keyless(raw, &shared.app, mount, route.clone());
        return match shared.handler.handle(req).await {
            Ok(r) => r.into_response(),
            Err(e) => e.into_response(),
        };
    }
    let upload = match route {
        Ok(Route::UploadFile { .. }) => true,
        // `POST /files` names no file: refused before its body is read, as Parse Server does.
        Err(e @ ApiError::Parse(_)) => return e.into_response(),
        _ => false,
    };
    let limit = shared.app.max_body_bytes;
    let mut bytes = match to_bytes(Body::new(body), limit).await {
        Ok(b) => b,
        Err(_) if upload => return too_large_upload(limit).into_response(),
        Err(_) => return ApiError::TooLarge.into_response(),
    };
    let mut file = None;
    if upload {
        match split_upload(&parts.headers, &shared.app, &bytes) {
            Ok((json, f)) => {
                bytes = json;
                file = Some(f);
            }
            Err(e) => return e.into_response(),
        }
    }
    let raw = RawRequest {
        method: parts.method.clone(),
        query: parts.uri.query(),
        headers: &parts.headers,
        body: &bytes,
    };
    let result = match normalize(raw, &shared.app, mount, &rest) {
        Ok(mut req) => {
            req.upload = file;
            shared.handler.handle(req).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(r) => r.into_response(),
        Err(e) => e.into_response(),
    }
}
