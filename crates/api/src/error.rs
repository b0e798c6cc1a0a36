//! `ApiError` and its one mapping to Parse's HTTP answers.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use model::ParseError;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// Unknown app id, or keys that do not match: Parse Server's bare 403.
    #[error("unauthorized")]
    Unauthorized,
    /// A master-key-only route without the master key: Parse Server's bare 403.
    #[error("unauthorized: master key is required")]
    MasterKeyRequired,
    #[error("request entity too large")]
    TooLarge,
    #[error("cannot route {0}")]
    NoRoute(String),
    /// A failure of ours; logged, and reported as Parse Server does (500, code 1).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn internal(e: impl std::fmt::Display) -> Self {
        ApiError::Internal(e.to_string())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Parse(e) => {
                StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST)
            }
            ApiError::Unauthorized | ApiError::MasterKeyRequired => StatusCode::FORBIDDEN,
            ApiError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NoRoute(_) => StatusCode::NOT_FOUND,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON body Parse Server sends for this error.
    pub fn body(&self) -> serde_json::Value {
        match self {
            ApiError::Parse(e) => json!({"code": e.code, "error": e.error}),
            ApiError::Unauthorized | ApiError::MasterKeyRequired | ApiError::TooLarge => {
                json!({"error": self.to_string()})
            }
            ApiError::NoRoute(what) => {
                json!({"code": model::code::INVALID_JSON, "error": format!("cannot route {what}")})
            }
            ApiError::Internal(_) => {
                json!({"code": model::code::INTERNAL_SERVER_ERROR, "error": "Internal server error."})
            }
        }
    }

    /// The error as a batch entry or an outcome: always a Parse error.
    pub fn as_parse_error(&self) -> ParseError {
        match self {
            ApiError::Parse(e) => e.clone(),
            ApiError::Unauthorized | ApiError::MasterKeyRequired => {
                ParseError::new(model::code::OPERATION_FORBIDDEN, self.to_string())
            }
            ApiError::TooLarge => ParseError::new(model::code::OBJECT_TOO_LARGE, self.to_string()),
            ApiError::NoRoute(what) => ParseError::invalid_json(format!("cannot route {what}")),
            ApiError::Internal(_) => ParseError::internal("Internal server error."),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(msg) = &self {
            tracing::error!(error = %msg, "internal error");
        }
        (self.status(), axum::Json(self.body())).into_response()
    }
}
