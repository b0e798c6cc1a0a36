//! `ParseError`: a Parse error code and message, and the HTTP status Parse Server answers with.

use serde::{Deserialize, Serialize};

/// Parse error codes from the REST guide's table (and the few Parse Server adds).
pub mod code {
    pub const OTHER_CAUSE: i32 = -1;
    pub const INTERNAL_SERVER_ERROR: i32 = 1;
    pub const SERVICE_UNAVAILABLE: i32 = 2;
    pub const CONNECTION_FAILED: i32 = 100;
    pub const OBJECT_NOT_FOUND: i32 = 101;
    pub const INVALID_QUERY: i32 = 102;
    pub const INVALID_CLASS_NAME: i32 = 103;
    pub const MISSING_OBJECT_ID: i32 = 104;
    pub const INVALID_KEY_NAME: i32 = 105;
    pub const INVALID_POINTER: i32 = 106;
    pub const INVALID_JSON: i32 = 107;
    pub const COMMAND_UNAVAILABLE: i32 = 108;
    pub const NOT_INITIALIZED: i32 = 109;
    pub const INCORRECT_TYPE: i32 = 111;
    pub const INVALID_CHANNEL_NAME: i32 = 112;
    pub const PUSH_MISCONFIGURED: i32 = 115;
    pub const OBJECT_TOO_LARGE: i32 = 116;
    pub const INVALID_LIMIT: i32 = 117;
    pub const INVALID_SKIP: i32 = 118;
    pub const OPERATION_FORBIDDEN: i32 = 119;
    pub const CACHE_MISS: i32 = 120;
    pub const INVALID_NESTED_KEY: i32 = 121;
    pub const INVALID_FILE_NAME: i32 = 122;
    pub const INVALID_ACL: i32 = 123;
    pub const TIMEOUT: i32 = 124;
    pub const INVALID_EMAIL_ADDRESS: i32 = 125;
    pub const MISSING_CONTENT_TYPE: i32 = 126;
    pub const MISSING_CONTENT_LENGTH: i32 = 127;
    pub const INVALID_CONTENT_LENGTH: i32 = 128;
    pub const FILE_TOO_LARGE: i32 = 129;
    pub const FILE_SAVE_ERROR: i32 = 130;
    /// The guide's FileDeleteError; Parse Server and the SDKs use 153 instead.
    pub const FILE_DELETE_ERROR_LEGACY: i32 = 131;
    pub const INVALID_INSTALLATION_ID: i32 = 132;
    pub const INVALID_DEVICE_TYPE: i32 = 133;
    pub const INVALID_CHANNELS_ARRAY: i32 = 134;
    pub const MISSING_REQUIRED_FIELD: i32 = 135;
    pub const CHANGED_IMMUTABLE_FIELD: i32 = 136;
    pub const DUPLICATE_VALUE: i32 = 137;
    pub const INVALID_EXPIRATION: i32 = 138;
    pub const INVALID_ROLE_NAME: i32 = 139;
    pub const EXCEEDED_QUOTA: i32 = 140;
    pub const SCRIPT_FAILED: i32 = 141;
    pub const VALIDATION_ERROR: i32 = 142;
    pub const WEBHOOK_ERROR: i32 = 143;
    pub const INVALID_IMAGE_DATA: i32 = 150;
    pub const UNSAVED_FILE: i32 = 151;
    pub const INVALID_PUSH_TIME: i32 = 152;
    /// What Parse Server answers when a file cannot be deleted (`Parse.Error.FILE_DELETE_ERROR`).
    pub const FILE_DELETE_ERROR: i32 = 153;
    pub const HOSTING_ERROR: i32 = 158;
    pub const DUPLICATE_REQUEST: i32 = 159;
    pub const INVALID_EVENT_NAME: i32 = 160;
    pub const INVALID_VALUE: i32 = 162;
    pub const USERNAME_MISSING: i32 = 200;
    pub const PASSWORD_MISSING: i32 = 201;
    pub const USERNAME_TAKEN: i32 = 202;
    pub const EMAIL_TAKEN: i32 = 203;
    pub const EMAIL_MISSING: i32 = 204;
    pub const EMAIL_NOT_FOUND: i32 = 205;
    pub const SESSION_MISSING: i32 = 206;
    pub const MUST_CREATE_USER_THROUGH_SIGNUP: i32 = 207;
    pub const ACCOUNT_ALREADY_LINKED: i32 = 208;
    pub const INVALID_SESSION_TOKEN: i32 = 209;
    pub const LINKED_ID_MISSING: i32 = 250;
    pub const INVALID_LINKED_SESSION: i32 = 251;
    pub const UNSUPPORTED_SERVICE: i32 = 252;
    pub const INVALID_AUTH_DATA: i32 = 253;
    pub const INVALID_SCHEMA_OPERATION: i32 = 255;
    pub const APP_NAME_INVALID: i32 = 256;
}

/// An error as Parse reports it: `{"code": N, "error": "message"}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("Parse error {code}: {error}")]
pub struct ParseError {
    pub code: i32,
    pub error: String,
}

impl ParseError {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        ParseError {
            code,
            error: message.into(),
        }
    }

    /// Parse Server answers every Parse error with 400, except "object not found" (404) and
    /// "internal server error" (500); the SDKs read only the body's `code`.
    pub fn http_status(&self) -> u16 {
        match self.code {
            code::OBJECT_NOT_FOUND => 404,
            code::INTERNAL_SERVER_ERROR => 500,
            code::FILE_TOO_LARGE => 413,
            _ => 400,
        }
    }

    pub fn not_found() -> Self {
        Self::new(code::OBJECT_NOT_FOUND, "Object not found.")
    }

    pub fn invalid_json(message: impl Into<String>) -> Self {
        Self::new(code::INVALID_JSON, message)
    }

    pub fn incorrect_type(message: impl Into<String>) -> Self {
        Self::new(code::INCORRECT_TYPE, message)
    }

    pub fn invalid_key(message: impl Into<String>) -> Self {
        Self::new(code::INVALID_KEY_NAME, message)
    }

    pub fn invalid_query(message: impl Into<String>) -> Self {
        Self::new(code::INVALID_QUERY, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(code::INTERNAL_SERVER_ERROR, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_parse_server() {
        assert_eq!(ParseError::not_found().http_status(), 404);
        assert_eq!(ParseError::internal("x").http_status(), 500);
        assert_eq!(ParseError::invalid_json("x").http_status(), 400);
        let body = serde_json::to_value(ParseError::new(111, "bad")).unwrap();
        assert_eq!(body, serde_json::json!({"code": 111, "error": "bad"}));
    }
}
