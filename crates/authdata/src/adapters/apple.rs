//! `apple`: Sign in with Apple; the client's `token` must be an id token signed by Apple for
//! the claimed user and, with `clientId`, for this app (bundle or service id).

use async_trait::async_trait;

use super::data_str;
use crate::http::str_option;
use crate::jwt::{self, Expect, Jwks};
use crate::{AuthAdapter, AuthError};

/// Options: `clientId` (one or several), `cacheMaxAge` (ms), `jwksURL` (default
/// `https://appleid.apple.com/auth/keys`).
pub struct Apple {
    client_ids: Vec<String>,
    jwks: Jwks,
}

impl Apple {
    pub fn new(options: &model::Map, client: reqwest::Client) -> Result<Self, AuthError> {
        let url = str_option(options, "jwksURL")?.unwrap_or("https://appleid.apple.com/auth/keys");
        Ok(Apple {
            client_ids: jwt::client_ids(options)?,
            jwks: Jwks::new(url.to_string(), jwt::cache_max_age(options)?, client),
        })
    }
}

#[async_trait]
impl AuthAdapter for Apple {
    async fn validate(&self, provider_data: &model::Map) -> Result<(), AuthError> {
        let Some(token) = data_str(provider_data, "token").filter(|t| !t.is_empty()) else {
            return Err(AuthError::rejected("id token is invalid for this user."));
        };
        let expect = Expect {
            issuers: &["https://appleid.apple.com"],
            issuer_label: "OpenID provider",
            audiences: &self.client_ids,
            subject: provider_data.get("id"),
        };
        self.jwks.verify(token, &expect).await.map(drop)
    }
}
