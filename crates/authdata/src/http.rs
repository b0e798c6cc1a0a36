//! Calls to providers: one shared client, answers read as JSON whatever their status.

use std::time::Duration;

use serde_json::Value;

use crate::AuthError;

/// How long a provider may take before the login fails; Parse Server waits forever, which would
/// hold a request (and a connection) for as long as the provider hangs.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, AuthError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .user_agent("chronicle")
        .build()
        .map_err(|e| AuthError::config(format!("cannot build the HTTP client: {e}")))
}

/// Sends the request and parses the body as JSON. The status is not looked at, as in Parse
/// Server: providers answer a bad token with an error object, which then fails the adapter's id
/// check and gives the adapter's own message.
pub(crate) async fn send_json(request: reqwest::RequestBuilder) -> Result<Value, AuthError> {
    // Errors name the URL, and some URLs carry the access token in their query.
    let response = request
        .send()
        .await
        .map_err(|e| AuthError::Unavailable(e.without_url().to_string()))?;
    let body = response
        .bytes()
        .await
        .map_err(|e| AuthError::Unavailable(e.without_url().to_string()))?;
    serde_json::from_slice(&body)
        .map_err(|e| AuthError::Unavailable(format!("the provider's answer is not JSON: {e}")))
}

/// Parse Server compares ids with JavaScript's `==`, so a numeric id from the provider matches
/// the same digits sent as a string. A missing id on either side never matches (in JavaScript
/// `undefined == undefined` would).
pub(crate) fn loose_eq(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a.and_then(id_text), b.and_then(id_text)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A string option, or a config error naming it.
pub(crate) fn str_option<'a>(
    options: &'a model::Map,
    key: &str,
) -> Result<Option<&'a str>, AuthError> {
    match options.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(AuthError::config(format!("\"{key}\" must be a string"))),
    }
}

/// A base URL with exactly one trailing slash, so paths can be appended.
pub(crate) fn base_url(options: &model::Map, default: &str) -> Result<String, AuthError> {
    let url = str_option(options, "baseURL")?.unwrap_or(default);
    Ok(format!("{}/", url.trim_end_matches('/')))
}
