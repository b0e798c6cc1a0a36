//! `github`: the access token must read back, from `GET /user`, the id the client claims.

use async_trait::async_trait;

use super::data_str;
use crate::http::{base_url, loose_eq, send_json};
use crate::{AuthAdapter, AuthError};

const INVALID: &str = "Github auth is invalid for this user.";

/// Options: `baseURL` (default `https://api.github.com`).
#[derive(Debug)]
pub struct Github {
    base: String,
    client: reqwest::Client,
}

impl Github {
    pub fn new(options: &model::Map, client: reqwest::Client) -> Result<Self, AuthError> {
        Ok(Github {
            base: base_url(options, "https://api.github.com")?,
            client,
        })
    }
}

#[async_trait]
impl AuthAdapter for Github {
    async fn validate(&self, provider_data: &model::Map) -> Result<(), AuthError> {
        let token = data_str(provider_data, "access_token").unwrap_or_default();
        let request = self
            .client
            .get(format!("{}user", self.base))
            .header(reqwest::header::AUTHORIZATION, format!("bearer {token}"));
        let user = send_json(request).await?;
        if loose_eq(user.get("id"), provider_data.get("id")) {
            Ok(())
        } else {
            Err(AuthError::rejected(INVALID))
        }
    }
}
