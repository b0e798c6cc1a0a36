//! `google`: the client's `id_token` must be signed by Google, unexpired, issued by
//! accounts.google.com, for the claimed user (`sub`) and, with `clientId`, for this app.

use async_trait::async_trait;

use super::data_str;
use crate::http::str_option;
use crate::jwt::{self, Expect, Jwks};
use crate::{AuthAdapter, AuthError};

/// Options: `clientId` (one or several; absent = any audience, as in Parse Server),
/// `cacheMaxAge` (ms), `jwksURL` (default `https://www.googleapis.com/oauth2/v3/certs`).
pub struct Google {
    client_ids: Vec<String>,
    jwks: Jwks,
}

impl Google {
    pub fn new(options: &model::Map, client: reqwest::Client) -> Result<Self, AuthError> {
        let url =
            str_option(options, "jwksURL")?.unwrap_or("https://www.googleapis.com/oauth2/v3/certs");
        Ok(Google {
            client_ids: jwt::client_ids(options)?,
            jwks: Jwks::new(url.to_string(), jwt::cache_max_age(options)?, client),
        })
    }
}

#[async_trait]
impl AuthAdapter for Google {
    async fn validate(&self, provider_data: &model::Map) -> Result<(), AuthError> {
        let Some(token) = data_str(provider_data, "id_token").filter(|t| !t.is_empty()) else {
            return Err(AuthError::rejected("id token is invalid for this user."));
        };
        let expect = Expect {
            issuers: &["accounts.google.com", "https://accounts.google.com"],
            issuer_label: "provider",
            audiences: &self.client_ids,
            subject: provider_data.get("id"),
        };
        self.jwks.verify(token, &expect).await.map(drop)
    }
}
