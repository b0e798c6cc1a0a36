//! The registry and every adapter against a local fake provider (Facebook, GitHub, Twitter, JWKS
//! and an OAuth2 introspection endpoint on one axum server): accepted data, refused data,
//! unreachable and garbled providers, and which providers are enabled.

use std::collections::{HashMap, HashSet};
use std::sync::{LazyLock, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use authdata::{can_handle, has_id, AuthError, AuthProviders};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use model::{code, Map, ParseError};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use sha1::Sha1;
use sha2::Sha256;

/// A key made for these tests only; the fake provider publishes its public half.
const TEST_KEY: &str = include_str!("fixtures/test-key.pem");
const FB_SECRET: &str = "fb-app-secret";

fn key() -> RsaPrivateKey {
    RsaPrivateKey::from_pkcs1_pem(TEST_KEY).expect("test key")
}

fn proof(token: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(FB_SECRET.as_bytes()).expect("hmac key");
    mac.update(token.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Facebook's Graph API answers: token `fb-good` is user `fb1` of app `app1`, `fb-other-app`
/// is user `fb1` of app `app2`; a wrong `appsecret_proof` is refused like a bad token.
async fn fb(path: &'static str, q: HashMap<String, String>) -> (StatusCode, Json<Value>) {
    let token = q.get("access_token").cloned().unwrap_or_default();
    let bad = (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": {"message": "Invalid OAuth access token.", "code": 190}})),
    );
    if q.get("appsecret_proof")
        .is_some_and(|p| *p != proof(&token))
    {
        return bad;
    }
    match (path, token.as_str()) {
        ("me", "fb-good" | "fb-other-app") if q.get("fields").map(String::as_str) == Some("id") => {
            (StatusCode::OK, Json(json!({"id": "fb1"})))
        }
        ("app", "fb-good") => (StatusCode::OK, Json(json!({"id": "app1"}))),
        ("app", "fb-other-app") => (StatusCode::OK, Json(json!({"id": "app2"}))),
        _ => bad,
    }
}

async fn gh_user(headers: HeaderMap) -> (StatusCode, Json<Value>) {
    match headers.get("authorization").and_then(|v| v.to_str().ok()) {
        Some("bearer gh-good") => (StatusCode::OK, Json(json!({"id": 42, "login": "octo"}))),
        _ => (
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "Bad credentials"})),
        ),
    }
}

/// Twitter's apps (consumer key, consumer secret), its one user's access token and secret, and
/// that user's id (beyond 2^53, as real Twitter ids are).
const TW_APPS: &[(&str, &str)] = &[("tw-app1", "tw-secret1"), ("tw-app2", "tw-secret2")];
const TW_TOKEN: &str = "tw-token";
const TW_TOKEN_SECRET: &str = "tw-token-secret";
const TW_ID: &str = "1234567890123456789";

/// RFC 5849 §3.6: everything but `A-Z a-z 0-9 - . _ ~` is percent-encoded.
const OAUTH_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn oauth_encode(text: &str) -> String {
    utf8_percent_encode(text, OAUTH_ENCODE).to_string()
}

/// The fields of an `Authorization: OAuth k="v", …` header, decoded.
fn oauth_header(header: &str) -> Option<HashMap<String, String>> {
    header
        .strip_prefix("OAuth ")?
        .split(", ")
        .map(|field| {
            let (name, value) = field.split_once('=')?;
            let value = value.strip_prefix('"')?.strip_suffix('"')?;
            let value = percent_decode_str(value).decode_utf8().ok()?;
            Some((name.to_string(), value.into_owned()))
        })
        .collect()
}

/// Nonces already seen, as Twitter refuses a replayed request.
static TW_NONCES: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Default::default);

/// `GET /1.1/account/verify_credentials.json`, as Twitter checks it: the signature is
/// recomputed from the request (method, URL, `oauth_*` fields) with the secrets Twitter knows
/// for the consumer key and the token, so a wrong secret anywhere is a 401.
async fn tw_verify(method: Method, uri: Uri, headers: HeaderMap) -> (StatusCode, Json<Value>) {
    let refused = (
        StatusCode::UNAUTHORIZED,
        Json(json!({"errors": [{"code": 32, "message": "Could not authenticate you."}]})),
    );
    let header = headers.get("authorization").and_then(|v| v.to_str().ok());
    let Some(fields) = header.and_then(oauth_header) else {
        return refused;
    };
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
    let fresh = field("oauth_timestamp")
        .parse::<u64>()
        .is_ok_and(|t| t.abs_diff(now()) <= 300);
    let secret = TW_APPS
        .iter()
        .find(|(key, _)| *key == field("oauth_consumer_key"))
        .map(|(_, secret)| *secret);
    let (Some(consumer_secret), true, "HMAC-SHA1", "1.0", TW_TOKEN) = (
        secret,
        fresh,
        field("oauth_signature_method"),
        field("oauth_version"),
        field("oauth_token"),
    ) else {
        return refused;
    };
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let mut params: Vec<(String, String)> = fields
        .iter()
        .filter(|(name, _)| *name != "oauth_signature")
        .map(|(name, value)| (oauth_encode(name), oauth_encode(value)))
        .collect();
    params.sort();
    let params = params
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&");
    let base = format!(
        "{}&{}&{}",
        method.as_str(),
        oauth_encode(&format!("http://{host}{}", uri.path())),
        oauth_encode(&params)
    );
    let key = format!(
        "{}&{}",
        oauth_encode(consumer_secret),
        oauth_encode(TW_TOKEN_SECRET)
    );
    let mut mac = Hmac::<Sha1>::new_from_slice(key.as_bytes()).expect("hmac key");
    mac.update(base.as_bytes());
    if field("oauth_signature") != STANDARD.encode(mac.finalize().into_bytes()) {
        return refused;
    }
    let replayed = !TW_NONCES
        .lock()
        .expect("nonces")
        .insert(field("oauth_nonce").to_string());
    if replayed || field("oauth_nonce").is_empty() {
        return refused;
    }
    (
        StatusCode::OK,
        Json(json!({"id": 1234567890123456789u64, "id_str": TW_ID, "screen_name": "jack"})),
    )
}

async fn jwks(State(jwks): State<Value>) -> Json<Value> {
    Json(jwks)
}

/// RFC 7662: `o-good` is active for user `u1` of client `app1`; the endpoint wants
/// `Authorization: Basic c2VjcmV0` when a request carries any Authorization at all.
async fn introspect(headers: HeaderMap, Form(form): Form<HashMap<String, String>>) -> Json<Value> {
    if let Some(auth) = headers.get("authorization") {
        if auth != "Basic c2VjcmV0" {
            return Json(json!({"error": "invalid_client"}));
        }
    }
    match form.get("token").map(String::as_str) {
        Some("o-good") => Json(json!({"active": true, "sub": "u1", "client_id": "app1"})),
        Some("o-multi") => Json(json!({"active": true, "sub": "u1", "aud": ["x", "app1"]})),
        _ => Json(json!({"active": false})),
    }
}

/// Starts the fake provider and answers its base URL.
async fn fake_provider() -> String {
    let public = key().to_public_key();
    let jwk = json!({"keys": [{
        "kty": "RSA", "alg": "RS256", "use": "sig", "kid": "k1",
        "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
    }]});
    let app = Router::new()
        .route(
            "/fb/me",
            get(|Query(q): Query<HashMap<String, String>>| fb("me", q)),
        )
        .route(
            "/fb/app",
            get(|Query(q): Query<HashMap<String, String>>| fb("app", q)),
        )
        .route("/gh/user", get(gh_user))
        .route("/tw/1.1/account/verify_credentials.json", get(tw_verify))
        .route("/jwks", get(jwks))
        .route("/introspect", post(introspect))
        .route(
            "/notjson/user",
            get(|| async { "<html>maintenance</html>" }),
        )
        .with_state(jwk);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

/// A URL where nothing listens: the port was bound and released.
async fn dead_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn jwt(header: Value, claims: Value) -> String {
    let enc = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let input = format!("{}.{}", enc(&header), enc(&claims));
    let signature = SigningKey::<Sha256>::new(key()).sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

fn google_token(claims: Value) -> String {
    let mut base = json!({
        "iss": "https://accounts.google.com", "sub": "g1", "aud": "client-1",
        "iat": now(), "exp": now() + 600,
    });
    if let (Some(base), Some(extra)) = (base.as_object_mut(), claims.as_object()) {
        base.extend(extra.clone());
    }
    jwt(json!({"alg": "RS256", "kid": "k1", "typ": "JWT"}), base)
}

fn data(v: Value) -> Map {
    match v {
        Value::Object(map) => map,
        _ => panic!("test data must be an object"),
    }
}

fn registry(config: Value) -> AuthProviders {
    AuthProviders::from_config(&config).expect("valid auth config")
}

async fn code_of(providers: &AuthProviders, provider: &str, d: Value) -> Result<(), ParseError> {
    providers.validate(provider, &data(d)).await
}

/// Asserts that `provider` accepts `d`.
async fn accepts(providers: &AuthProviders, provider: &str, d: Value) {
    let shown = d.to_string();
    let got = code_of(providers, provider, d).await;
    assert_eq!(got, Ok(()), "{provider}: {shown}");
}

/// Asserts that `provider` refuses `d` with this error.
async fn refuses(providers: &AuthProviders, provider: &str, d: Value, code: i32, message: &str) {
    let shown = d.to_string();
    let got = code_of(providers, provider, d).await;
    assert_eq!(
        got,
        Err(ParseError::new(code, message)),
        "{provider}: {shown}"
    );
}

/// A provider, authData for it, and the refusal expected (`None`: accepted).
type Case<'a> = (&'a str, Value, Option<(i32, &'a str)>);

/// Asserts what `providers` say of each (provider, authData): accepted (`None`), or refused
/// with this code and message.
async fn check(providers: &AuthProviders, cases: Vec<Case<'_>>) {
    for (provider, d, refusal) in cases {
        match refusal {
            None => accepts(providers, provider, d).await,
            Some((code, message)) => refuses(providers, provider, d, code, message).await,
        }
    }
}

fn refused(result: Result<(), ParseError>, code: i32, message: &str) {
    assert_eq!(result, Err(ParseError::new(code, message)));
}

const UNSUPPORTED: &str = "This authentication method is unsupported.";

#[tokio::test]
async fn anonymous_is_on_by_default_and_can_be_disabled() {
    let default = AuthProviders::default();
    assert_eq!(default.providers().collect::<Vec<_>>(), vec!["anonymous"]);
    check(
        &default,
        vec![
            ("anonymous", json!({"id": "3f1c"}), None),
            (
                "anonymous",
                json!({}),
                Some((code::UNSUPPORTED_SERVICE, UNSUPPORTED)),
            ),
        ],
    )
    .await;
    let from_null = registry(Value::Null);
    assert!(from_null.get("anonymous").is_some());

    let off = registry(json!({"anonymous": {"enabled": false}}));
    assert!(off.get("anonymous").is_none());
    refuses(
        &off,
        "anonymous",
        json!({"id": "3f1c"}),
        code::UNSUPPORTED_SERVICE,
        UNSUPPORTED,
    )
    .await;
}

#[tokio::test]
async fn unknown_unconfigured_and_disabled_providers_are_unsupported() {
    let base = fake_provider().await;
    let providers = registry(json!({
        "github": {"enabled": false, "baseURL": format!("{base}/gh")},
    }));
    for provider in ["github", "facebook", "google", "twitter", "myspace"] {
        refuses(
            &providers,
            provider,
            json!({"id": "42", "access_token": "gh-good"}),
            code::UNSUPPORTED_SERVICE,
            UNSUPPORTED,
        )
        .await;
    }
}

#[test]
fn bad_configurations_are_refused_when_the_registry_is_built() {
    for config in [
        json!({"myspace": {}}),
        json!({"myoauth": {"module": "ldap"}}),
        json!({"myoauth": {"oauth2": true}}),
        json!({"github": true}),
        json!({"google": {"clientId": 7}}),
        json!({"twitter": {}}),
        json!({"twitter": {"consumer_key": "k"}}),
        json!({"twitter": {"consumer_key": "k", "consumer_secret": "s", "baseURL": "not a url"}}),
        json!({"twitter": []}),
        json!({"twitter": [{"consumer_key": "k"}]}),
        json!({"twitter": ["k"]}),
        json!({"github": [{"consumer_key": "k", "consumer_secret": "s"}]}),
        json!([]),
    ] {
        let err = AuthProviders::from_config(&config).expect_err("invalid config");
        assert!(matches!(err, AuthError::Config(_)), "{config}: {err:?}");
        assert_eq!(ParseError::from(err).code, code::INTERNAL_SERVER_ERROR);
    }
}

#[tokio::test]
async fn github_checks_the_user_behind_the_token() {
    let base = fake_provider().await;
    let providers = registry(json!({"github": {"baseURL": format!("{base}/gh/")}}));
    let invalid = "Github auth is invalid for this user.";
    // GitHub ids are numbers; clients send them as strings or numbers.
    check(
        &providers,
        vec![
            (
                "github",
                json!({"id": "42", "access_token": "gh-good"}),
                None,
            ),
            ("github", json!({"id": 42, "access_token": "gh-good"}), None),
            (
                "github",
                json!({"id": "43", "access_token": "gh-good"}),
                Some((code::OBJECT_NOT_FOUND, invalid)),
            ),
            (
                "github",
                json!({"id": "42", "access_token": "stolen"}),
                Some((code::OBJECT_NOT_FOUND, invalid)),
            ),
            (
                "github",
                json!({"access_token": "gh-good"}),
                Some((code::OBJECT_NOT_FOUND, invalid)),
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn an_unreachable_or_garbled_provider_fails_the_login() {
    let base = fake_provider().await;
    let dead = dead_url().await;
    let down = registry(json!({"github": {"baseURL": dead}}));
    let err = code_of(
        &down,
        "github",
        json!({"id": "42", "access_token": "gh-good"}),
    )
    .await
    .expect_err("provider down");
    assert_eq!(err.code, code::SCRIPT_FAILED);

    let garbled = registry(json!({"github": {"baseURL": format!("{base}/notjson")}}));
    let err = code_of(
        &garbled,
        "github",
        json!({"id": "42", "access_token": "gh-good"}),
    )
    .await
    .expect_err("not JSON");
    assert_eq!(err.code, code::SCRIPT_FAILED);
}

#[tokio::test]
async fn facebook_checks_the_user_the_app_and_the_secret_proof() {
    let base = fake_provider().await;
    let invalid = "Facebook auth is invalid for this user.";
    let plain = registry(json!({"facebook": {"baseURL": format!("{base}/fb")}}));
    check(
        &plain,
        vec![
            (
                "facebook",
                json!({"id": "fb1", "access_token": "fb-good"}),
                None,
            ),
            // Without appIds the app is not checked.
            (
                "facebook",
                json!({"id": "fb1", "access_token": "fb-other-app"}),
                None,
            ),
            (
                "facebook",
                json!({"id": "fb2", "access_token": "fb-good"}),
                Some((code::OBJECT_NOT_FOUND, invalid)),
            ),
            (
                "facebook",
                json!({"id": "fb1", "access_token": "expired"}),
                Some((code::OBJECT_NOT_FOUND, invalid)),
            ),
        ],
    )
    .await;

    let with_app = registry(json!({"facebook": {
        "baseURL": format!("{base}/fb"), "appIds": ["app1"], "appSecret": FB_SECRET,
    }}));
    check(
        &with_app,
        vec![
            (
                "facebook",
                json!({"id": "fb1", "access_token": "fb-good"}),
                None,
            ),
            (
                "facebook",
                json!({"id": "fb1", "access_token": "fb-other-app"}),
                Some((code::OBJECT_NOT_FOUND, invalid)),
            ),
        ],
    )
    .await;

    let wrong_secret = registry(json!({"facebook": {
        "baseURL": format!("{base}/fb"), "appSecret": "not-the-secret",
    }}));
    refuses(
        &wrong_secret,
        "facebook",
        json!({"id": "fb1", "access_token": "fb-good"}),
        code::OBJECT_NOT_FOUND,
        invalid,
    )
    .await;

    let no_apps = registry(json!({"facebook": {"baseURL": format!("{base}/fb"), "appIds": []}}));
    refuses(
        &no_apps,
        "facebook",
        json!({"id": "fb1", "access_token": "fb-good"}),
        code::OBJECT_NOT_FOUND,
        "Facebook auth is not configured.",
    )
    .await;
    let not_list =
        registry(json!({"facebook": {"baseURL": format!("{base}/fb"), "appIds": "app1"}}));
    refuses(
        &not_list,
        "facebook",
        json!({"id": "fb1", "access_token": "fb-good"}),
        code::OBJECT_NOT_FOUND,
        "appIds must be an array.",
    )
    .await;
}

#[tokio::test]
async fn facebook_limited_login_token_is_checked_against_facebook_keys() {
    let base = fake_provider().await;
    let providers = registry(json!({"facebook": {
        "baseURL": dead_url().await, "jwksURL": format!("{base}/jwks"), "clientId": "fbapp",
        "appIds": ["app1"],
    }}));
    let header = json!({"alg": "RS256", "kid": "k1"});
    let claims =
        json!({"iss": "https://www.facebook.com", "sub": "fb1", "aud": "fbapp", "exp": now() + 60});
    let token = jwt(header.clone(), claims);
    // The Graph API (here unreachable) is not asked for a Limited Login token.
    accepts(&providers, "facebook", json!({"id": "fb1", "token": token})).await;
    let other_app = jwt(
        header,
        json!({"iss": "https://www.facebook.com", "sub": "fb1", "aud": "elsewhere", "exp": now() + 60}),
    );
    refuses(
        &providers,
        "facebook",
        json!({"id": "fb1", "token": other_app}),
        code::OBJECT_NOT_FOUND,
        "jwt audience invalid. expected: fbapp",
    )
    .await;
}

#[tokio::test]
async fn google_id_tokens_are_verified_like_parse_server() {
    let base = fake_provider().await;
    let providers = registry(json!({"google": {
        "jwksURL": format!("{base}/jwks"), "clientId": "client-1",
    }}));
    check(
        &providers,
        vec![
        ("google", json!({"id": "g1", "id_token": google_token(json!({}))}), None),
        // Google issues both spellings of its issuer.
        ("google", json!({"id": "g1", "id_token": google_token(json!({"iss": "accounts.google.com"}))}), None),
        ],
    )
    .await;
    let cases = [
        (
            json!({"id": "g2", "id_token": google_token(json!({}))}),
            "auth data is invalid for this user.",
        ),
        (
            json!({"id": "g1", "id_token": google_token(json!({"aud": "client-2"}))}),
            "jwt audience invalid. expected: client-1",
        ),
        (
            json!({"id": "g1", "id_token": google_token(json!({"exp": now() - 1}))}),
            "jwt expired",
        ),
        (
            json!({"id": "g1", "id_token": google_token(json!({"nbf": now() + 600}))}),
            "jwt not active",
        ),
        (
            json!({"id": "g1", "id_token": google_token(json!({"iss": "https://evil.example"}))}),
            "id token not issued by correct provider - expected: accounts.google.com or https://accounts.google.com | from: https://evil.example",
        ),
        (json!({"id": "g1"}), "id token is invalid for this user."),
        (
            json!({"id": "g1", "id_token": "not-a-jwt"}),
            "provided token does not decode as JWT",
        ),
        (
            json!({"id": "g1", "id_token": jwt(json!({"alg": "RS256", "kid": "k9"}), json!({"sub": "g1"}))}),
            "Unable to find matching key for Key ID: k9",
        ),
        (
            json!({"id": "g1", "id_token": jwt(json!({"alg": "HS256", "kid": "k1"}), json!({"sub": "g1"}))}),
            "invalid algorithm",
        ),
    ];
    for (d, message) in cases {
        refuses(&providers, "google", d, code::OBJECT_NOT_FOUND, message).await;
    }

    // A token whose claims were changed after signing.
    let token = google_token(json!({}));
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(
        json!({"iss": "https://accounts.google.com", "sub": "g2", "aud": "client-1", "exp": now() + 600})
            .to_string(),
    );
    refuses(
        &providers,
        "google",
        json!({"id": "g2", "id_token": parts.join(".")}),
        code::OBJECT_NOT_FOUND,
        "invalid signature",
    )
    .await;
}

#[tokio::test]
async fn apple_tokens_need_apple_issuer_and_matching_subject() {
    let base = fake_provider().await;
    let providers = registry(json!({"apple": {
        "jwksURL": format!("{base}/jwks"), "clientId": ["com.example.ios", "com.example.web"],
    }}));
    let token = jwt(
        json!({"alg": "RS256", "kid": "k1"}),
        json!({"iss": "https://appleid.apple.com", "sub": "a1", "aud": "com.example.web", "exp": now() + 60}),
    );
    check(
        &providers,
        vec![
            ("apple", json!({"id": "a1", "token": token.clone()}), None),
            (
                "apple",
                json!({"id": "a2", "token": token}),
                Some((
                    code::OBJECT_NOT_FOUND,
                    "auth data is invalid for this user.",
                )),
            ),
        ],
    )
    .await;
    let google_issued = google_token(json!({"sub": "a1", "aud": "com.example.ios"}));
    refuses(&providers, "apple", json!({"id": "a1", "token": google_issued}), code::OBJECT_NOT_FOUND, "id token not issued by correct OpenID provider - expected: https://appleid.apple.com | from: https://accounts.google.com").await;
}

#[tokio::test]
async fn oauth2_uses_the_introspection_endpoint() {
    let base = fake_provider().await;
    let url = format!("{base}/introspect");
    let invalid = "OAuth2 access token is invalid for this user.";
    let providers = registry(json!({
        "plain": {"oauth2": true, "tokenIntrospectionEndpointUrl": url},
        "byuser": {"module": "oauth2", "tokenIntrospectionEndpointUrl": url, "useridField": "sub"},
        "byapp": {"oauth2": true, "tokenIntrospectionEndpointUrl": url, "appidField": "client_id", "appIds": ["app1"]},
        "byaud": {"oauth2": true, "tokenIntrospectionEndpointUrl": url, "appidField": "aud", "appIds": ["app1"]},
        "otherapp": {"oauth2": true, "tokenIntrospectionEndpointUrl": url, "appidField": "client_id", "appIds": ["app9"]},
        "noappids": {"oauth2": true, "tokenIntrospectionEndpointUrl": url, "appidField": "client_id"},
        "authed": {"oauth2": true, "tokenIntrospectionEndpointUrl": url, "authorizationHeader": "Basic c2VjcmV0"},
        "badauth": {"oauth2": true, "tokenIntrospectionEndpointUrl": url, "authorizationHeader": "Basic bm9wZQ=="},
    }));
    let good = json!({"id": "u1", "access_token": "o-good"});
    for provider in ["plain", "byuser", "byapp", "authed"] {
        accepts(&providers, provider, good.clone()).await;
    }
    check(
        &providers,
        vec![
        ("byaud", json!({"id": "u1", "access_token": "o-multi"}), None),
        ("plain", json!({"id": "u1", "access_token": "revoked"}), Some((code::OBJECT_NOT_FOUND, invalid))),
        ("byuser", json!({"id": "u2", "access_token": "o-good"}), Some((code::OBJECT_NOT_FOUND, invalid))),
        ("badauth", good.clone(), Some((code::OBJECT_NOT_FOUND, invalid))),
        ("otherapp", good.clone(), Some((code::OBJECT_NOT_FOUND, "OAuth2: the access_token's appID is empty or is not in the list of permitted appIDs in the auth configuration."))),
        ("noappids", good, Some((code::OBJECT_NOT_FOUND, "OAuth2 configuration is missing the client app IDs (\"appIds\" config parameter)."))),
        ],
    )
    .await;
}

fn tw_data(id: Value, consumer_key: &str, token: &str, token_secret: &str) -> Value {
    json!({
        "id": id, "consumer_key": consumer_key,
        "auth_token": token, "auth_token_secret": token_secret,
    })
}

#[tokio::test]
async fn twitter_signs_the_request_and_checks_the_user() {
    let base = fake_provider().await;
    let invalid = "Twitter auth is invalid for this user.";
    let providers = registry(json!({"twitter": {
        "consumer_key": "tw-app1", "consumer_secret": "tw-secret1", "baseURL": format!("{base}/tw"),
    }}));
    let good = tw_data(json!(TW_ID), "tw-app1", TW_TOKEN, TW_TOKEN_SECRET);
    check(
        &providers,
        vec![
            ("twitter", good.clone(), None),
            // Each request has its own nonce, so the same data logs in twice.
            ("twitter", good, None),
            // Compared like Parse Server's `id_str == '' + id`: a numeric id matches its digits.
            (
                "twitter",
                tw_data(json!(1234567890123456789u64), "", TW_TOKEN, TW_TOKEN_SECRET),
                None,
            ),
        ],
    )
    .await;
    let refusals = [
        // Someone else's id with a genuine token.
        tw_data(json!("42"), "tw-app1", TW_TOKEN, TW_TOKEN_SECRET),
        // A token without its secret: the signature does not match, Twitter answers 401.
        tw_data(json!(TW_ID), "tw-app1", TW_TOKEN, "guessed"),
        tw_data(json!(TW_ID), "tw-app1", "revoked", TW_TOKEN_SECRET),
        json!({"id": TW_ID, "auth_token_secret": TW_TOKEN_SECRET}),
    ];
    for d in refusals {
        refuses(&providers, "twitter", d, code::OBJECT_NOT_FOUND, invalid).await;
    }

    // A server configured with the wrong consumer secret signs requests Twitter refuses.
    let wrong_secret = registry(json!({"twitter": {
        "consumer_key": "tw-app1", "consumer_secret": "tw-secret2", "baseURL": format!("{base}/tw"),
    }}));
    refuses(
        &wrong_secret,
        "twitter",
        tw_data(json!(TW_ID), "tw-app1", TW_TOKEN, TW_TOKEN_SECRET),
        code::OBJECT_NOT_FOUND,
        invalid,
    )
    .await;

    let down = registry(json!({"twitter": {
        "consumer_key": "tw-app1", "consumer_secret": "tw-secret1", "baseURL": dead_url().await,
    }}));
    let err = code_of(
        &down,
        "twitter",
        tw_data(json!(TW_ID), "tw-app1", TW_TOKEN, TW_TOKEN_SECRET),
    )
    .await
    .expect_err("provider down");
    assert_eq!(err.code, code::SCRIPT_FAILED);
}

#[tokio::test]
async fn twitter_apps_in_a_list_are_picked_by_the_consumer_key() {
    let base = fake_provider().await;
    let invalid = "Twitter auth is invalid for this user.";
    let tw = format!("{base}/tw");
    let providers = registry(json!({"twitter": [
        {"consumer_key": "tw-app1", "consumer_secret": "tw-secret1", "baseURL": tw},
        {"consumer_key": "tw-app2", "consumer_secret": "tw-secret2", "baseURL": tw},
    ]}));
    for app in ["tw-app1", "tw-app2"] {
        accepts(
            &providers,
            "twitter",
            tw_data(json!(TW_ID), app, TW_TOKEN, TW_TOKEN_SECRET),
        )
        .await;
    }
    // No consumer_key, or one the server does not know: refused before asking Twitter.
    for app in ["", "tw-app3"] {
        refuses(
            &providers,
            "twitter",
            tw_data(json!(TW_ID), app, TW_TOKEN, TW_TOKEN_SECRET),
            code::OBJECT_NOT_FOUND,
            invalid,
        )
        .await;
    }
}

#[tokio::test]
async fn whole_auth_data_objects() {
    let base = fake_provider().await;
    let providers = registry(json!({"github": {"baseURL": format!("{base}/gh")}}));
    let ok = data(json!({
        "github": {"id": "42", "access_token": "gh-good"},
        "facebook": null,
        "anonymous": {"id": "x"},
    }));
    assert_eq!(providers.validate_auth_data(&ok).await, Ok(()));
    let bad = data(json!({"github": {"id": "42", "access_token": "gh-good"}, "anonymous": "x"}));
    refused(
        providers.validate_auth_data(&bad).await,
        code::UNSUPPORTED_SERVICE,
        UNSUPPORTED,
    );
    let refused_one =
        data(json!({"github": {"id": "7", "access_token": "gh-good"}, "anonymous": {"id": "x"}}));
    refused(
        providers.validate_auth_data(&refused_one).await,
        code::OBJECT_NOT_FOUND,
        "Github auth is invalid for this user.",
    );
}

#[test]
fn the_id_rule() {
    assert!(has_id(&data(json!({"id": "a"}))));
    assert!(has_id(&data(json!({"id": 12}))));
    assert!(!has_id(&data(json!({"id": ""}))));
    assert!(!has_id(&data(json!({"id": null}))));
    assert!(!has_id(&data(json!({"access_token": "t"}))));
    assert!(can_handle(&data(json!({"facebook": {"id": "1"}}))));
    assert!(can_handle(&data(json!({"facebook": null}))));
    assert!(can_handle(&data(
        json!({"facebook": {"access_token": "t"}, "anonymous": {"id": "x"}})
    )));
    assert!(!can_handle(&data(
        json!({"facebook": {"access_token": "t"}})
    )));
    assert!(!can_handle(&data(json!({}))));
}
