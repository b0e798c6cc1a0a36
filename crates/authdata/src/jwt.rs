//! OpenID id tokens (Google, Apple, Facebook Limited Login): RS256 signatures checked against
//! the provider's published keys (JWKS), then the claims Parse Server checks.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use parking_lot::Mutex;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use rsa::{BigUint, RsaPublicKey};
use serde_json::Value;
use sha2::Sha256;

use crate::http::send_json;
use crate::AuthError;

/// How soon an unknown key id may refetch the keys: providers publish a new key before signing
/// with it, so a minute-old copy misses none in practice.
const MIN_REFETCH: Duration = Duration::from_secs(60);

/// What an id token must satisfy besides its signature.
pub(crate) struct Expect<'a> {
    /// Accepted `iss` values.
    pub issuers: &'a [&'a str],
    /// How the issuer is named in the error: Google's adapter says "provider", Apple's and
    /// Facebook's "OpenID provider".
    pub issuer_label: &'a str,
    /// Accepted audiences (the app's client ids); empty means the audience is not checked.
    pub audiences: &'a [String],
    /// The user id the client claims, to be matched against `sub`.
    pub subject: Option<&'a Value>,
}

/// The provider's signing keys, kept for `max_age` so that logins do not each fetch them; an
/// unknown key id refetches at once, since providers rotate keys.
pub(crate) struct Jwks {
    url: String,
    max_age: Duration,
    client: reqwest::Client,
    cached: Mutex<Option<(Instant, HashMap<String, RsaPublicKey>)>>,
}

impl Jwks {
    pub(crate) fn new(url: String, max_age: Duration, client: reqwest::Client) -> Self {
        Jwks {
            url,
            max_age,
            client,
            cached: Mutex::new(None),
        }
    }

    async fn key(&self, kid: &str) -> Result<RsaPublicKey, AuthError> {
        if let Some((fetched, keys)) = &*self.cached.lock() {
            let age = fetched.elapsed();
            if age < self.max_age {
                if let Some(key) = keys.get(kid) {
                    return Ok(key.clone());
                }
                // Any client can send any key id: refetching for each would let them make
                // the server hammer the provider.
                if age < MIN_REFETCH {
                    return Err(unknown_key(kid));
                }
            }
        }
        let body = send_json(self.client.get(&self.url)).await?;
        let keys = parse_jwks(&body);
        let found = keys.get(kid).cloned();
        *self.cached.lock() = Some((Instant::now(), keys));
        found.ok_or_else(|| unknown_key(kid))
    }

    /// Checks `token` and answers its claims.
    pub(crate) async fn verify(
        &self,
        token: &str,
        expect: &Expect<'_>,
    ) -> Result<Value, AuthError> {
        let not_jwt = || AuthError::rejected("provided token does not decode as JWT");
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(not_jwt());
        };
        let header = decode_json(header).ok_or_else(not_jwt)?;
        let claims = decode_json(payload).ok_or_else(not_jwt)?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| not_jwt())?;

        // Only RS256: these providers sign with it, and trusting the header's `alg` blindly
        // is how HMAC-with-the-public-key forgeries get in.
        if header.get("alg").and_then(Value::as_str) != Some("RS256") {
            return Err(AuthError::rejected("invalid algorithm"));
        }
        let kid = header.get("kid").and_then(Value::as_str).unwrap_or("");
        let key = self.key(kid).await?;
        let signature =
            Signature::try_from(signature.as_slice()).map_err(|_| invalid_signature())?;
        let signed = &token[..header_and_payload_len(token)];
        VerifyingKey::<Sha256>::new(key)
            .verify(signed.as_bytes(), &signature)
            .map_err(|_| invalid_signature())?;

        check_times(&claims)?;
        check_audience(&claims, expect.audiences)?;
        let iss = claims.get("iss").and_then(Value::as_str).unwrap_or("");
        if !expect.issuers.contains(&iss) {
            return Err(AuthError::rejected(format!(
                "id token not issued by correct {} - expected: {} | from: {iss}",
                expect.issuer_label,
                expect.issuers.join(" or ")
            )));
        }
        let sub = claims.get("sub").and_then(Value::as_str);
        if sub.is_none() || sub != expect.subject.and_then(Value::as_str) {
            return Err(AuthError::rejected("auth data is invalid for this user."));
        }
        Ok(claims)
    }
}

fn unknown_key(kid: &str) -> AuthError {
    AuthError::rejected(format!("Unable to find matching key for Key ID: {kid}"))
}

fn invalid_signature() -> AuthError {
    AuthError::rejected("invalid signature")
}

fn header_and_payload_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(token.len())
}

fn decode_json(part: &str) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        v @ Value::Object(_) => Some(v),
        _ => None,
    }
}

/// RSA keys of a JWKS document by key id; keys of other types are skipped.
fn parse_jwks(body: &Value) -> HashMap<String, RsaPublicKey> {
    let mut keys = HashMap::new();
    let Some(list) = body.get("keys").and_then(Value::as_array) else {
        return keys;
    };
    for jwk in list {
        let field = |name: &str| jwk.get(name).and_then(Value::as_str);
        let (Some(kid), Some(n), Some(e)) = (field("kid"), field("n"), field("e")) else {
            continue;
        };
        if field("kty").is_some_and(|kty| kty != "RSA") {
            continue;
        }
        let (Ok(n), Ok(e)) = (URL_SAFE_NO_PAD.decode(n), URL_SAFE_NO_PAD.decode(e)) else {
            continue;
        };
        if let Ok(key) = RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e)) {
            keys.insert(kid.to_string(), key);
        }
    }
    keys
}

/// `exp` and `nbf`, with the messages of the `jsonwebtoken` package Parse Server uses.
fn check_times(claims: &Value) -> Result<(), AuthError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    if let Some(exp) = claims.get("exp") {
        let exp = exp
            .as_f64()
            .ok_or_else(|| AuthError::rejected("invalid exp value"))?;
        if now >= exp {
            return Err(AuthError::rejected("jwt expired"));
        }
    }
    if let Some(nbf) = claims.get("nbf") {
        let nbf = nbf
            .as_f64()
            .ok_or_else(|| AuthError::rejected("invalid nbf value"))?;
        if nbf > now {
            return Err(AuthError::rejected("jwt not active"));
        }
    }
    Ok(())
}

/// `aud` may be one string or several; one of them must be an expected client id.
fn check_audience(claims: &Value, audiences: &[String]) -> Result<(), AuthError> {
    if audiences.is_empty() {
        return Ok(());
    }
    let matches = |aud: &Value| {
        aud.as_str()
            .is_some_and(|a| audiences.iter().any(|x| x == a))
    };
    let ok = match claims.get("aud") {
        Some(Value::Array(list)) => list.iter().any(matches),
        Some(aud) => matches(aud),
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(AuthError::rejected(format!(
            "jwt audience invalid. expected: {}",
            audiences.join(" or ")
        )))
    }
}

/// `clientId` as Parse Server takes it: one client id or a list of them.
pub(crate) fn client_ids(options: &model::Map) -> Result<Vec<String>, AuthError> {
    match options.get("clientId") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(list)) => list
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| AuthError::config("\"clientId\" must hold strings"))
            })
            .collect(),
        Some(_) => Err(AuthError::config(
            "\"clientId\" must be a string or an array of strings",
        )),
    }
}

/// `cacheMaxAge` (milliseconds, as in Parse Server), one hour by default.
pub(crate) fn cache_max_age(options: &model::Map) -> Result<Duration, AuthError> {
    match options.get("cacheMaxAge") {
        None | Some(Value::Null) => Ok(Duration::from_secs(3600)),
        Some(v) => v
            .as_u64()
            .map(Duration::from_millis)
            .ok_or_else(|| AuthError::config("\"cacheMaxAge\" must be a number of milliseconds")),
    }
}
