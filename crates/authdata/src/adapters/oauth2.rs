//! `oauth2`: any OAuth 2.0 provider with a token introspection endpoint (RFC 7662); used for a
//! provider name of one's own with `"oauth2": true` (Parse Server) or `"module": "oauth2"`.

use async_trait::async_trait;
use serde_json::Value;

use super::data_str;
use crate::http::{send_json, str_option};
use crate::{AuthAdapter, AuthError};

const INVALID_ACCESS: &str = "OAuth2 access token is invalid for this user.";
const INVALID_ACCESS_APPID: &str = "OAuth2: the access_token's appID is empty or is not in the list of permitted appIDs in the auth configuration.";
const MISSING_APPIDS: &str =
    "OAuth2 configuration is missing the client app IDs (\"appIds\" config parameter).";
const MISSING_URL: &str = "OAuth2 token introspection endpoint URL is missing from configuration!";

/// Options: `tokenIntrospectionEndpointUrl` (required), `useridField` (introspection field that
/// must equal the client's `id`), `appidField` + `appIds` (field that must hold one of the app
/// ids), `authorizationHeader` (raw `Authorization` value sent to the endpoint).
#[derive(Debug)]
pub struct OAuth2 {
    endpoint: String,
    userid_field: Option<String>,
    appid_field: Option<String>,
    app_ids: Vec<Value>,
    authorization: Option<String>,
    client: reqwest::Client,
}

impl OAuth2 {
    pub fn new(options: &model::Map, client: reqwest::Client) -> Result<Self, AuthError> {
        let Some(endpoint) = str_option(options, "tokenIntrospectionEndpointUrl")? else {
            return Err(AuthError::config(MISSING_URL));
        };
        let app_ids = match options.get("appIds") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(ids)) => ids.clone(),
            Some(_) => return Err(AuthError::config("\"appIds\" must be an array")),
        };
        Ok(OAuth2 {
            endpoint: endpoint.to_string(),
            userid_field: str_option(options, "useridField")?.map(str::to_string),
            appid_field: str_option(options, "appidField")?.map(str::to_string),
            app_ids,
            authorization: str_option(options, "authorizationHeader")?.map(str::to_string),
            client,
        })
    }

    fn check_app_id(&self, field: &str, info: &Value) -> Result<(), AuthError> {
        let permitted = |v: &Value| self.app_ids.contains(v);
        let ok = match info.get(field) {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) if s.is_empty() => false,
            Some(Value::Array(list)) => list.iter().any(permitted),
            Some(v) => permitted(v),
        };
        if ok {
            Ok(())
        } else {
            Err(AuthError::rejected(INVALID_ACCESS_APPID))
        }
    }
}

#[async_trait]
impl AuthAdapter for OAuth2 {
    async fn validate(&self, provider_data: &model::Map) -> Result<(), AuthError> {
        // Checked before calling out, as Parse Server's validateAppId does; unlike Parse Server
        // (which skips the app id check entirely when `appIds` is absent) a configured
        // `appidField` always demands a permitted app id.
        if self.appid_field.is_some() && self.app_ids.is_empty() {
            return Err(AuthError::rejected(MISSING_APPIDS));
        }
        let token = data_str(provider_data, "access_token").unwrap_or_default();
        let mut request = self.client.post(&self.endpoint).form(&[("token", token)]);
        if let Some(authorization) = &self.authorization {
            request = request.header(reqwest::header::AUTHORIZATION, authorization);
        }
        let info = send_json(request).await?;
        if !is_truthy(info.get("active")) {
            return Err(AuthError::rejected(INVALID_ACCESS));
        }
        if let Some(field) = &self.appid_field {
            self.check_app_id(field, &info)?;
        }
        if let Some(field) = &self.userid_field {
            // Strict equality here, as in Parse Server: the endpoint's field is compared as is.
            if provider_data.get("id").is_none() || provider_data.get("id") != info.get(field) {
                return Err(AuthError::rejected(INVALID_ACCESS));
            }
        }
        Ok(())
    }
}

/// RFC 7662 says `active` is a boolean; JavaScript truthiness is what Parse Server tests.
fn is_truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}
