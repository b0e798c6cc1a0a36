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

use crate::request::{normalize, strip_mount, RawRequest};
use crate::{ApiError, AppConfig, ParseRequest};

/// A handler's answer: status, JSON body and, for creates, the new object's URL.
#[derive(Debug, Clone)]
pub struct ParseResponse {
    pub status: StatusCode,
    pub body: Value,
    pub location: Option<String>,
}

impl ParseResponse {
    pub fn ok(body: Value) -> Self {
        ParseResponse {
            status: StatusCode::OK,
            body,
            location: None,
        }
    }

    pub fn created(body: Value, location: String) -> Self {
        ParseResponse {
            status: StatusCode::CREATED,
            body,
            location: Some(location),
        }
    }
}

impl IntoResponse for ParseResponse {
    fn into_response(self) -> Response {
        let mut res = (self.status, axum::Json(self.body)).into_response();
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
    let bytes = match to_bytes(Body::new(body), shared.app.max_body_bytes).await {
        Ok(b) => b,
        Err(_) => return ApiError::TooLarge.into_response(),
    };
    let raw = RawRequest {
        method: parts.method.clone(),
        query: parts.uri.query(),
        headers: &parts.headers,
        body: &bytes,
    };
    let result = match normalize(raw, &shared.app, mount, &rest) {
        Ok(req) => shared.handler.handle(req).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(r) => r.into_response(),
        Err(e) => e.into_response(),
    }
}
