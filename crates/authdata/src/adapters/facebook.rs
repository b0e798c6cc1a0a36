//! `facebook`: a Graph API access token must belong to the claimed user (and, with `appIds`, to
//! one of the app's ids); a Limited Login `token` is an id token checked against Facebook's keys.

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use super::data_str;
use crate::http::{base_url, loose_eq, send_json, str_option};
use crate::jwt::{self, Expect, Jwks};
use crate::{AuthAdapter, AuthError};

const INVALID: &str = "Facebook auth is invalid for this user.";
const ISSUER: &str = "https://www.facebook.com";

/// Options: `appIds` (the app ids an access token must have been issued to; absent = not
/// checked), `appSecret` (sends `appsecret_proof`), `clientId` (Limited Login audience),
/// `cacheMaxAge` (ms), `baseURL` (Graph API, default `https://graph.facebook.com`), `jwksURL`
/// (default `https://www.facebook.com/.well-known/oauth/openid/jwks/`).
pub struct Facebook {
    base: String,
    app_ids: Option<Value>,
    app_secret: Option<String>,
    client_ids: Vec<String>,
    jwks: Jwks,
    client: reqwest::Client,
}

impl Facebook {
    pub fn new(options: &model::Map, client: reqwest::Client) -> Result<Self, AuthError> {
        let jwks_url = str_option(options, "jwksURL")?
            .unwrap_or("https://www.facebook.com/.well-known/oauth/openid/jwks/");
        Ok(Facebook {
            base: base_url(options, "https://graph.facebook.com")?,
            // Kept as given: a malformed list is answered per request, as Parse Server does.
            app_ids: options.get("appIds").filter(|v| !v.is_null()).cloned(),
            app_secret: str_option(options, "appSecret")?.map(str::to_string),
            client_ids: jwt::client_ids(options)?,
            jwks: Jwks::new(
                jwks_url.to_string(),
                jwt::cache_max_age(options)?,
                client.clone(),
            ),
            client,
        })
    }

    /// GET `<graph>/<path>` with the token, plus the proof that the server knows the app
    /// secret when one is configured (Facebook can require it).
    async fn graph(
        &self,
        path: &str,
        fields: Option<&str>,
        token: &str,
    ) -> Result<Value, AuthError> {
        let mut query = Vec::new();
        if let Some(fields) = fields {
            query.push(("fields", fields.to_string()));
        }
        query.push(("access_token", token.to_string()));
        if let Some(secret) = &self.app_secret {
            query.push(("appsecret_proof", appsecret_proof(secret, token)?));
        }
        let url = format!("{}{path}", self.base);
        send_json(self.client.get(url).query(&query)).await
    }

    async fn check_app_id(&self, app_ids: &Value, token: &str) -> Result<(), AuthError> {
        let Some(app_ids) = app_ids.as_array() else {
            return Err(AuthError::rejected("appIds must be an array."));
        };
        if app_ids.is_empty() {
            return Err(AuthError::rejected("Facebook auth is not configured."));
        }
        let app = self.graph("app", None, token).await?;
        match app.get("id") {
            Some(id) if app_ids.contains(id) => Ok(()),
            _ => Err(AuthError::rejected(INVALID)),
        }
    }
}

fn appsecret_proof(secret: &str, token: &str) -> Result<String, AuthError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|e| AuthError::config(format!("facebook appSecret: {e}")))?;
    mac.update(token.as_bytes());
    Ok(mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[async_trait]
impl AuthAdapter for Facebook {
    async fn validate(&self, provider_data: &model::Map) -> Result<(), AuthError> {
        if let Some(token) = data_str(provider_data, "token") {
            let expect = Expect {
                issuers: &[ISSUER],
                issuer_label: "OpenID provider",
                audiences: &self.client_ids,
                subject: provider_data.get("id"),
            };
            return self.jwks.verify(token, &expect).await.map(drop);
        }
        let token = data_str(provider_data, "access_token").unwrap_or_default();
        if let Some(app_ids) = &self.app_ids {
            self.check_app_id(app_ids, token).await?;
        }
        let me = self.graph("me", Some("id"), token).await?;
        if loose_eq(me.get("id"), provider_data.get("id")) {
            Ok(())
        } else {
            Err(AuthError::rejected(INVALID))
        }
    }
}
