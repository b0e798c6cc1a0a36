//! Linked accounts (`authData`): before a user signs up, logs in or links with
//! `{"authData": {"<provider>": {"id": "…", …}}}`, the provider's data must be checked with the
//! provider itself. This crate holds one adapter per provider (each asks the provider over
//! HTTPS, as Parse Server's auth adapters do) and [`AuthProviders`], the registry built from
//! the server's `auth` configuration that picks the adapter for a provider name.
//!
//! It only answers "is this provider data genuine?"; finding the user that holds an
//! `authData.<provider>.id`, refusing one held by another user (208) and storing the data are
//! the server's job.
//!
//! # Configuration
//!
//! A JSON object shaped like Parse Server's `auth` option, one key per provider name:
//!
//! ```json
//! {
//!   "facebook":  { "appIds": ["1234"], "appSecret": "…" },
//!   "github":    {},
//!   "google":    { "clientId": "….apps.googleusercontent.com" },
//!   "apple":     { "clientId": "com.example.app" },
//!   "twitter":   { "consumer_key": "…", "consumer_secret": "…" },
//!   "myoauth":   { "oauth2": true, "tokenIntrospectionEndpointUrl": "https://…/introspect",
//!                  "useridField": "sub", "authorizationHeader": "Basic …" },
//!   "otheroauth":{ "module": "oauth2", "tokenIntrospectionEndpointUrl": "https://…" },
//!   "anonymous": { "enabled": false }
//! }
//! ```
//!
//! - A built-in provider (`anonymous`, `apple`, `facebook`, `github`, `google`, `oauth2`,
//!   `twitter`) is enabled by naming it; any other name needs `"oauth2": true` or
//!   `"module": "<built-in>"`. Unlike Parse Server, built-ins that are not named stay disabled:
//!   Google or Apple without a `clientId` would accept id tokens minted for any app.
//! - `anonymous` is enabled unless configured with `"enabled": false`.
//! - `"enabled": false` disables any provider: its data is refused with 252.
//! - Every provider URL can be overridden, which is how tests point adapters at a local fake:
//!   `baseURL` (facebook's Graph API, github's and twitter's REST APIs), `jwksURL` (apple,
//!   facebook Limited Login, google signing keys) and `tokenIntrospectionEndpointUrl` (oauth2).
//!   Each adapter's options are listed on its type in [`adapters`].
//! - `twitter` checks `{"id", "auth_token", "auth_token_secret"}` with a request signed with
//!   OAuth 1.0a (HMAC-SHA1, RFC 5849), so it needs the app's `consumer_key` and
//!   `consumer_secret`. As in Parse Server its options may also be an array of such objects, one
//!   per app, picked by the data's `consumer_key` (data without a known one is refused with 101).
//!
//! # Errors
//!
//! [`AuthError`] converts into the [`model::ParseError`] Parse Server answers: 252
//! `This authentication method is unsupported.` for an unknown or disabled provider, 101 with the
//! adapter's message (e.g. `Facebook auth is invalid for this user.`) when the provider rejects
//! the data, 141 when the provider cannot be asked.

pub mod adapters;
mod error;
mod http;
mod jwt;
mod registry;

pub use error::AuthError;
pub use registry::AuthProviders;

use async_trait::async_trait;
use serde_json::Value;

/// Checks one provider's part of `authData` (`authData.<provider>`) with the provider.
#[async_trait]
pub trait AuthAdapter: Send + Sync {
    /// `Ok` when the provider vouches for the data (the token is valid and belongs to `id`).
    async fn validate(&self, provider_data: &model::Map) -> Result<(), AuthError>;
}

/// Whether a provider's data carries a usable `id` (a non-empty string or a non-zero number,
/// JavaScript truthiness as in Parse Server): what identifies the linked account.
pub fn has_id(provider_data: &model::Map) -> bool {
    match provider_data.get("id") {
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::Bool(b)) => *b,
        Some(Value::Array(_)) | Some(Value::Object(_)) => true,
        None | Some(Value::Null) => false,
    }
}

/// Parse Server's signup rule for a whole `authData` object: it can be acted on when some
/// provider has an `id`, or is `null` (an unlink). Without that, a request with neither
/// username and password, nor the master key, nor a target user is refused with 252.
pub fn can_handle(auth_data: &model::Map) -> bool {
    auth_data.values().any(|data| match data {
        Value::Null => true,
        Value::Object(map) => has_id(map),
        _ => false,
    })
}
