//! `AuthProviders`: the enabled providers by name, built once from the `auth` configuration.

use std::collections::BTreeMap;
use std::time::Duration;

use model::ParseError;
use serde_json::Value;

use crate::adapters::{
    anonymous::Anonymous, apple::Apple, facebook::Facebook, github::Github, google::Google,
    oauth2::OAuth2, twitter::Twitter,
};
use crate::http::{self, DEFAULT_TIMEOUT};
use crate::{AuthAdapter, AuthError};

const BUILT_IN: &[&str] = &[
    "anonymous",
    "apple",
    "facebook",
    "github",
    "google",
    "oauth2",
    "twitter",
];

/// The enabled providers. [`Default`] is Parse Server's configuration without an `auth`
/// option: anonymous users only.
pub struct AuthProviders {
    adapters: BTreeMap<String, Box<dyn AuthAdapter>>,
}

impl Default for AuthProviders {
    fn default() -> Self {
        let mut adapters: BTreeMap<String, Box<dyn AuthAdapter>> = BTreeMap::new();
        adapters.insert("anonymous".into(), Box::new(Anonymous));
        AuthProviders { adapters }
    }
}

impl std::fmt::Debug for AuthProviders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthProviders")
            .field("providers", &self.adapters.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl AuthProviders {
    /// Builds the registry from the `auth` configuration (see the crate documentation);
    /// `null` is the same as `{}`.
    pub fn from_config(config: &Value) -> Result<Self, AuthError> {
        Self::from_config_with_timeout(config, DEFAULT_TIMEOUT)
    }

    /// [`from_config`](Self::from_config) with the time a provider may take to answer.
    pub fn from_config_with_timeout(config: &Value, timeout: Duration) -> Result<Self, AuthError> {
        let empty = model::Map::new();
        let config = match config {
            Value::Null => &empty,
            Value::Object(map) => map,
            _ => return Err(AuthError::config("\"auth\" must be an object")),
        };
        let client = http::client(timeout)?;
        let mut registry = AuthProviders::default();
        for (name, options) in config {
            let adapter = match options {
                Value::Object(map) if map.get("enabled") == Some(&Value::Bool(false)) => {
                    registry.adapters.remove(name);
                    continue;
                }
                Value::Object(map) => build(name, map, client.clone()),
                // Parse Server's one array-shaped option: twitter's apps, picked per request by
                // the data's consumer_key.
                Value::Array(list) if name == "twitter" => Twitter::from_list(list, client.clone())
                    .map(|t| Box::new(t) as Box<dyn AuthAdapter>),
                _ => {
                    return Err(AuthError::config(format!(
                        "the options of \"{name}\" must be an object"
                    )))
                }
            }
            .map_err(|e| AuthError::config(format!("{name}: {}", config_message(e))))?;
            registry.adapters.insert(name.clone(), adapter);
        }
        Ok(registry)
    }

    /// The adapter of an enabled provider.
    pub fn get(&self, provider: &str) -> Option<&dyn AuthAdapter> {
        self.adapters.get(provider).map(|a| a.as_ref())
    }

    /// The enabled providers' names, sorted.
    pub fn providers(&self) -> impl Iterator<Item = &str> {
        self.adapters.keys().map(String::as_str)
    }

    /// Checks one provider's data; an unknown or disabled provider is 252.
    pub async fn validate(&self, provider: &str, data: &model::Map) -> Result<(), ParseError> {
        let adapter = self.get(provider).ok_or(AuthError::Unsupported)?;
        adapter.validate(data).await.map_err(|err| {
            tracing::info!(provider, error = %err, "authData refused");
            ParseError::from(err)
        })
    }

    /// Checks a whole `authData` object, provider by provider in name order (as Parse Server
    /// does, so that one refusal spares the calls to the others). `null` entries are unlinks and
    /// need no check; any other non-object entry is 252.
    pub async fn validate_auth_data(&self, auth_data: &model::Map) -> Result<(), ParseError> {
        let mut names: Vec<&String> = auth_data.keys().collect();
        names.sort();
        for name in names {
            match auth_data.get(name) {
                Some(Value::Null) | None => {}
                Some(Value::Object(data)) => self.validate(name, data).await?,
                Some(_) => return Err(AuthError::Unsupported.into()),
            }
        }
        Ok(())
    }
}

fn config_message(err: AuthError) -> String {
    match err {
        AuthError::Config(message) => message,
        other => other.to_string(),
    }
}

/// Picks the adapter: `"oauth2": true` (Parse Server's switch), then `"module"`, then the
/// provider's own name.
fn build(
    name: &str,
    options: &model::Map,
    client: reqwest::Client,
) -> Result<Box<dyn AuthAdapter>, AuthError> {
    let module = if options.get("oauth2") == Some(&Value::Bool(true)) {
        "oauth2"
    } else if let Some(module) = http::str_option(options, "module")? {
        module
    } else {
        name
    };
    Ok(match module {
        "anonymous" => Box::new(Anonymous),
        "apple" => Box::new(Apple::new(options, client)?),
        "facebook" => Box::new(Facebook::new(options, client)?),
        "github" => Box::new(Github::new(options, client)?),
        "google" => Box::new(Google::new(options, client)?),
        "oauth2" => Box::new(OAuth2::new(options, client)?),
        "twitter" => Box::new(Twitter::new(options, client)?),
        other => {
            return Err(AuthError::config(format!(
            "no built-in adapter \"{other}\" (built in: {}); use \"oauth2\": true or \"module\"",
            BUILT_IN.join(", ")
        )))
        }
    })
}
