//! `twitter`: the user's OAuth 1.0a access token (`auth_token`, `auth_token_secret`) must read
//! back, from `GET /1.1/account/verify_credentials.json`, the id the client claims.
//!
//! Twitter has no bearer token for users: every request is signed (RFC 5849, HMAC-SHA1) with the
//! app's consumer secret and the user's token secret, so only a server that knows the consumer
//! secret can ask, and a token without its secret proves nothing. The signing is the small pure
//! function `signature`, checked against Twitter's documented example.

use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::distr::{Alphanumeric, SampleString};
use serde_json::Value;
use sha1::Sha1;

use super::data_str;
use crate::http::{base_url, loose_eq, send_json, str_option};
use crate::{AuthAdapter, AuthError};

const INVALID: &str = "Twitter auth is invalid for this user.";
const VERIFY_PATH: &str = "1.1/account/verify_credentials.json";

/// Options: `consumer_key` and `consumer_secret` (the app's), `baseURL` (default
/// `https://api.twitter.com`). As in Parse Server, the options may instead be an array of such
/// objects, one per app: the one whose `consumer_key` equals the `authData`'s is used.
pub struct Twitter {
    apps: Vec<App>,
    /// Whether the options were an array, so the app is picked by the data's `consumer_key`;
    /// with a single app the data's `consumer_key` is ignored, as in Parse Server.
    by_consumer_key: bool,
    client: reqwest::Client,
}

/// One app's credentials and where to ask; the secret is never printed.
struct App {
    consumer_key: String,
    consumer_secret: String,
    /// The full `verify_credentials` URL, also the signature's base URI (RFC 5849 §3.4.1.2: it
    /// has no query, and the parser has lowercased the scheme and host and dropped a default
    /// port).
    url: String,
}

impl std::fmt::Debug for Twitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Twitter")
            .field(
                "consumer_keys",
                &self
                    .apps
                    .iter()
                    .map(|a| a.consumer_key.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("by_consumer_key", &self.by_consumer_key)
            .finish()
    }
}

impl Twitter {
    /// One app. Both keys are required here: Parse Server would sign with the text `undefined`
    /// and refuse every login, a misconfiguration better found at startup.
    pub fn new(options: &model::Map, client: reqwest::Client) -> Result<Self, AuthError> {
        Ok(Twitter {
            apps: vec![App::new(options)?],
            by_consumer_key: false,
            client,
        })
    }

    /// Several apps (Parse Server's array form of the `twitter` options).
    pub fn from_list(list: &[Value], client: reqwest::Client) -> Result<Self, AuthError> {
        if list.is_empty() {
            // Parse Server would refuse every login with 101.
            return Err(AuthError::config("the list of apps is empty"));
        }
        let apps = list
            .iter()
            .map(|entry| match entry {
                Value::Object(options) => App::new(options),
                _ => Err(AuthError::config("each app in the list must be an object")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Twitter {
            apps,
            by_consumer_key: true,
            client,
        })
    }

    fn app(&self, provider_data: &model::Map) -> Result<&App, AuthError> {
        let app = if self.by_consumer_key {
            // Parse Server compares with `==`: a missing key matches no app.
            let key = data_str(provider_data, "consumer_key").filter(|k| !k.is_empty());
            key.and_then(|key| self.apps.iter().find(|app| app.consumer_key == key))
        } else {
            self.apps.first()
        };
        app.ok_or_else(|| AuthError::rejected(INVALID))
    }
}

impl App {
    fn new(options: &model::Map) -> Result<Self, AuthError> {
        let required = |key: &str| match str_option(options, key)? {
            Some(value) if !value.is_empty() => Ok(value.to_string()),
            _ => Err(AuthError::config(format!("\"{key}\" is required"))),
        };
        let consumer_key = required("consumer_key")?;
        let consumer_secret = required("consumer_secret")?;
        let base = base_url(options, "https://api.twitter.com")?;
        let url = reqwest::Url::parse(&format!("{base}{VERIFY_PATH}"))
            .map_err(|e| AuthError::config(format!("\"baseURL\" is not a URL: {e}")))?;
        // A query would have to be signed as parameters too; no provider URL needs one.
        if url.query().is_some() || url.fragment().is_some() {
            return Err(AuthError::config(
                "\"baseURL\" must not have a query or a fragment",
            ));
        }
        Ok(App {
            consumer_key,
            consumer_secret,
            url: url.to_string(),
        })
    }
}

#[async_trait]
impl AuthAdapter for Twitter {
    async fn validate(&self, provider_data: &model::Map) -> Result<(), AuthError> {
        let app = self.app(provider_data)?;
        // Without a token Twitter can only refuse; Parse Server asks anyway and gets the same 101.
        let Some(token) = data_str(provider_data, "auth_token").filter(|t| !t.is_empty()) else {
            return Err(AuthError::rejected(INVALID));
        };
        let token_secret = data_str(provider_data, "auth_token_secret").unwrap_or_default();
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default()
            .to_string();
        // 32 alphanumerics: unique per request, so a captured request cannot be replayed.
        let nonce = Alphanumeric.sample_string(&mut rand::rng(), 32);
        let mut params = oauth_params(&app.consumer_key, token, &nonce, &timestamp);
        let signed = signature("GET", &app.url, &params, &app.consumer_secret, token_secret)?;
        params.push(("oauth_signature", signed));
        let request = self
            .client
            .get(&app.url)
            .header(reqwest::header::AUTHORIZATION, authorization(&params));
        let user = send_json(request).await?;
        // `id_str`: Twitter ids exceed 2^53, so the numeric `id` may not survive JSON parsers.
        if loose_eq(user.get("id_str"), provider_data.get("id")) {
            Ok(())
        } else {
            Err(AuthError::rejected(INVALID))
        }
    }
}

/// The protocol parameters of a request signed with HMAC-SHA1 (RFC 5849 §3.1), without the
/// signature itself.
fn oauth_params(
    consumer_key: &str,
    token: &str,
    nonce: &str,
    timestamp: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("oauth_consumer_key", consumer_key.to_string()),
        ("oauth_nonce", nonce.to_string()),
        ("oauth_signature_method", "HMAC-SHA1".to_string()),
        ("oauth_timestamp", timestamp.to_string()),
        ("oauth_token", token.to_string()),
        ("oauth_version", "1.0".to_string()),
    ]
}

/// RFC 5849 §3.6 percent-encoding: every byte of the UTF-8 text except the unreserved
/// characters (`A-Z a-z 0-9 - . _ ~`) as `%XX` in upper case. Stricter than URL encoding
/// (spaces are `%20`, never `+`), and both sides must encode alike for signatures to match.
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The signature base string (RFC 5849 §3.4.1): the method, the base URI and the parameters,
/// each encoded and joined by `&`. The parameters (query, form body and `oauth_*` ones, without
/// `oauth_signature`) are encoded, then sorted by name and value.
fn base_string<V: AsRef<str>>(method: &str, url: &str, params: &[(&str, V)]) -> String {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .map(|(name, value)| (encode(name), encode(value.as_ref())))
        .collect();
    pairs.sort();
    let normalized = pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&");
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        encode(url),
        encode(&normalized)
    )
}

/// The HMAC-SHA1 signature (RFC 5849 §3.4.2), base64: the key is the encoded consumer secret
/// and the encoded token secret joined by `&`, the text is the [`base_string`].
pub(crate) fn signature<V: AsRef<str>>(
    method: &str,
    url: &str,
    params: &[(&str, V)],
    consumer_secret: &str,
    token_secret: &str,
) -> Result<String, AuthError> {
    let key = format!("{}&{}", encode(consumer_secret), encode(token_secret));
    // HMAC takes keys of any length; the error type exists for other MACs.
    let mut mac = Hmac::<Sha1>::new_from_slice(key.as_bytes())
        .map_err(|e| AuthError::Unavailable(format!("cannot sign the Twitter request: {e}")))?;
    mac.update(base_string(method, url, params).as_bytes());
    Ok(STANDARD.encode(mac.finalize().into_bytes()))
}

/// The `Authorization` header (RFC 5849 §3.5.1): `OAuth name="value", …`, every name and value
/// encoded, sorted by name as Parse Server and Twitter's examples do.
fn authorization<V: AsRef<str>>(params: &[(&str, V)]) -> String {
    let mut fields: Vec<String> = params
        .iter()
        .map(|(name, value)| format!("{}=\"{}\"", encode(name), encode(value.as_ref())))
        .collect();
    fields.sort();
    format!("OAuth {}", fields.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Twitter's "Creating a signature" example: a POST with a query parameter and a form
    /// body parameter that needs encoding (spaces, `+`, `,`, `!`).
    #[test]
    fn reproduces_twitter_documented_signature() {
        let params = [
            (
                "status",
                "Hello Ladies + Gentlemen, a signed OAuth request!",
            ),
            ("include_entities", "true"),
            ("oauth_consumer_key", "xvz1evFS4wEEPTGEFPHBog"),
            ("oauth_nonce", "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", "1318622958"),
            (
                "oauth_token",
                "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
            ),
            ("oauth_version", "1.0"),
        ];
        let url = "https://api.twitter.com/1.1/statuses/update.json";
        assert_eq!(
            base_string("POST", url, &params),
            "POST&https%3A%2F%2Fapi.twitter.com%2F1.1%2Fstatuses%2Fupdate.json&\
             include_entities%3Dtrue%26oauth_consumer_key%3Dxvz1evFS4wEEPTGEFPHBog%26\
             oauth_nonce%3DkYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg%26\
             oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1318622958%26\
             oauth_token%3D370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb%26\
             oauth_version%3D1.0%26status%3DHello%2520Ladies%2520%252B%2520Gentlemen%252C%2520\
             a%2520signed%2520OAuth%2520request%2521"
        );
        let signed = signature(
            "POST",
            url,
            &params,
            "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
            "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
        );
        assert_eq!(signed.as_deref(), Ok("hCtSmYh+iHYCEqBWrE7C7hYmtUk="));
    }

    /// RFC 5849 §1.2: the GET of `photos?file=vacation.jpg&size=original` signed for Jane.
    #[test]
    fn reproduces_rfc_5849_example_signature() {
        let params = [
            ("file", "vacation.jpg"),
            ("size", "original"),
            ("oauth_consumer_key", "dpf43f3p2l4k3l03"),
            ("oauth_token", "nnch734d00sl2jdk"),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", "1191242096"),
            ("oauth_nonce", "kllo9940pd9333jh"),
            ("oauth_version", "1.0"),
        ];
        let signed = signature(
            "GET",
            "http://photos.example.net/photos",
            &params,
            "kd94hf93k423kf44",
            "pfkkdhi9sl3r4s00",
        );
        assert_eq!(signed.as_deref(), Ok("tR3+Ty81lMeYAr/Fid0kMTYa/WM="));
    }

    #[test]
    fn encodes_everything_but_unreserved_characters() {
        assert_eq!(encode("AZaz09-._~"), "AZaz09-._~");
        assert_eq!(
            encode("Ladies + Gentlemen, a/b=c&d!*'()"),
            "Ladies%20%2B%20Gentlemen%2C%20a%2Fb%3Dc%26d%21%2A%27%28%29"
        );
        assert_eq!(encode("é☃"), "%C3%A9%E2%98%83");
    }

    #[test]
    fn authorization_header_is_sorted_and_encoded() {
        let params = [
            ("oauth_token", "t"),
            ("oauth_signature", "a+b/c="),
            ("oauth_consumer_key", "k"),
        ];
        assert_eq!(
            authorization(&params),
            "OAuth oauth_consumer_key=\"k\", oauth_signature=\"a%2Bb%2Fc%3D\", oauth_token=\"t\""
        );
    }

    #[test]
    fn the_base_url_is_normalized_for_signing() {
        let options = serde_json::json!({
            "consumer_key": "k", "consumer_secret": "s", "baseURL": "HTTPS://API.Example.COM:443/tw/",
        });
        let Value::Object(options) = options else {
            panic!("options must be an object")
        };
        let app = App::new(&options).map(|app| app.url);
        assert_eq!(
            app.as_deref(),
            Ok("https://api.example.com/tw/1.1/account/verify_credentials.json")
        );
    }
}
