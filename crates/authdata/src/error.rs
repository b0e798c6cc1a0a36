//! `AuthError`: why a provider's data was refused, and the Parse error a client sees for it.

use model::{code, ParseError};

/// Everything that can go wrong between a client's `authData` and a provider's verdict.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The provider is unknown, disabled, or its data is not an object with an `id`.
    #[error("This authentication method is unsupported.")]
    Unsupported,
    /// The provider (or the token it signed) says the data does not belong to this user;
    /// the message is the adapter's, as Parse Server words it.
    #[error("{0}")]
    Rejected(String),
    /// The provider could not be asked: unreachable, timed out, or answered something that is
    /// not JSON. Parse Server lets these through as "script failed" (141) with the cause.
    #[error("{0}")]
    Unavailable(String),
    /// The `auth` configuration is wrong; found when the registry is built, so a server
    /// refuses to start instead of refusing every login.
    #[error("auth configuration: {0}")]
    Config(String),
}

impl AuthError {
    pub(crate) fn rejected(message: impl Into<String>) -> Self {
        AuthError::Rejected(message.into())
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        AuthError::Config(message.into())
    }
}

impl From<AuthError> for ParseError {
    fn from(err: AuthError) -> Self {
        let code = match &err {
            AuthError::Unsupported => code::UNSUPPORTED_SERVICE,
            AuthError::Rejected(_) => code::OBJECT_NOT_FOUND,
            AuthError::Unavailable(_) => code::SCRIPT_FAILED,
            AuthError::Config(_) => code::INTERNAL_SERVER_ERROR,
        };
        ParseError::new(code, err.to_string())
    }
}
