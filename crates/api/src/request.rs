//! Turning an HTTP request into a `ParseRequest`: the body parsed as JSON whatever its content
//! type, `_method` tunnelling, keys from headers, basic auth or the tunnelled body, and the
//! key check that decides who the caller is.

use std::sync::Arc;

use axum::http::{HeaderMap, Method};
use base64::Engine;
use model::{code, Map, ParseError};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

use crate::{ApiError, AppConfig, Route};

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    Master,
    /// App keys only, no user.
    Public,
    /// A user, by a valid session token.
    User(Arc<UserAuth>),
}

/// A logged-in caller: the session's user and the roles they hold (inherited ones included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAuth {
    pub user_id: String,
    /// The `_Session` object the token belongs to.
    pub session_id: String,
    pub roles: Vec<String>,
    /// A session made by `POST /sessions`: it may not touch users, sessions or roles.
    pub restricted: bool,
    /// The user signed up anonymously (`authData.anonymous`): file uploads treat them apart.
    pub anonymous: bool,
}

impl Auth {
    pub fn is_master(&self) -> bool {
        matches!(self, Auth::Master)
    }

    pub fn user(&self) -> Option<&UserAuth> {
        match self {
            Auth::User(u) => Some(u),
            _ => None,
        }
    }

    pub fn user_id(&self) -> Option<&str> {
        self.user().map(|u| u.user_id.as_str())
    }

    /// The caller as class-level permissions and ACLs see it.
    pub fn caller(&self) -> model::clp::Caller {
        match self {
            Auth::Master => model::clp::Caller::Master,
            Auth::Public => model::clp::Caller::anonymous(),
            Auth::User(u) => model::clp::Caller::user(&u.user_id, u.roles.clone()),
        }
    }

    /// The ACL entries whose objects the caller may read; `None` for the master key (all).
    pub fn readers(&self) -> Option<Vec<String>> {
        match self {
            Auth::Master => None,
            Auth::Public => Some(model::acl::groups(None, &[])),
            Auth::User(u) => Some(model::acl::groups(Some(&u.user_id), &u.roles)),
        }
    }

    /// Whether the caller may do `perm` (`read`, `write`) on an object with this ACL.
    pub fn may(&self, acl: Option<&Value>, perm: &str) -> bool {
        match self.readers() {
            None => true,
            Some(groups) => model::acl::allows(acl, perm, &groups),
        }
    }

    /// For master-key-only routes: Parse Server's bare 403 otherwise.
    pub fn require_master(&self) -> Result<(), crate::ApiError> {
        if self.is_master() {
            Ok(())
        } else {
            Err(crate::ApiError::MasterKeyRequired)
        }
    }
}

/// What every handler knows about the request besides its route and body.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub app: Arc<AppConfig>,
    pub auth: Auth,
    pub installation_id: Option<String>,
    pub client_version: Option<String>,
    pub request_id: Option<String>,
    /// `scheme://host` + the mount the request came in on, for `Location` headers.
    pub server_url: String,
    /// The mount the request came in on (`/parse`, `/1`, …); batch paths must start with it.
    pub mount: String,
    /// The `Range` header, for file downloads.
    pub range: Option<String>,
    /// The session token the request carries (header or tunnelled body), resolved into
    /// `auth` by the handler that owns the session store.
    pub session_token: Option<String>,
    /// `X-Requested-With: XMLHttpRequest`: a page's script asks, and wants JSON, not a redirect.
    pub xhr: bool,
}

impl RequestContext {
    /// Where a stored file is served: `<server>/files/<appId>/<name>`, the name URL-encoded.
    pub fn file_url(&self, name: &str) -> String {
        format!(
            "{}/files/{}/{}",
            self.server_url,
            utf8_percent_encode(&self.app.app_id, COMPONENT),
            utf8_percent_encode(name, COMPONENT)
        )
    }
}

/// `s` as JavaScript's `encodeURIComponent` writes it (for links in mails and redirects).
pub fn encode_component(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

fn is_xhr(headers: &HeaderMap) -> bool {
    header(headers, "x-requested-with").is_some_and(|v| v.eq_ignore_ascii_case("XMLHttpRequest"))
}

/// What JavaScript's `encodeURIComponent` leaves alone: alphanumerics and `-_.!~*'()`.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// A file upload's bytes, and the content type the client gave them.
#[derive(Debug, Clone)]
pub struct Upload {
    pub data: bytes::Bytes,
    pub content_type: Option<String>,
}

/// A normalised request.
#[derive(Debug, Clone)]
pub struct ParseRequest {
    pub method: Method,
    pub route: Route,
    /// Query-string parameters merged with, for reads, the tunnelled body's.
    pub params: Map,
    pub body: Map,
    pub ctx: RequestContext,
    /// `POST /files/<name>`: the file.
    pub upload: Option<Upload>,
}

/// Client keys as sent, each in its own slot: a key only counts in the slot it belongs to.
#[derive(Default, Debug)]
pub struct ClientKeys {
    pub rest: Option<String>,
    pub javascript: Option<String>,
    pub client: Option<String>,
    pub dot_net: Option<String>,
}

/// The keys a request presents, from wherever it put them.
#[derive(Default, Debug)]
struct Keys {
    app_id: Option<String>,
    master: Option<String>,
    client: ClientKeys,
    session_token: Option<String>,
    installation_id: Option<String>,
    client_version: Option<String>,
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn take_str(body: &mut Map, key: &str) -> Option<String> {
    match body.remove(key) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    }
}

/// Keys the JS SDK puts in the body; removed from it when the request is tunnelled.
const TUNNELLED: &[&str] = &[
    "_ApplicationId",
    "_JavaScriptKey",
    "_ClientKey",
    "_RESTAPIKey",
    "_MasterKey",
    "_SessionToken",
    "_InstallationId",
    "_ClientVersion",
    "_ContentType",
    "_RevocableSession",
    "_context",
    "_noBody",
];

fn keys_from_headers(headers: &HeaderMap, apps: &AppConfig) -> Keys {
    let mut keys = Keys {
        app_id: header(headers, "x-parse-application-id"),
        master: header(headers, "x-parse-master-key"),
        session_token: header(headers, "x-parse-session-token"),
        installation_id: header(headers, "x-parse-installation-id"),
        client_version: header(headers, "x-parse-client-version"),
        ..Default::default()
    };
    keys.client = ClientKeys {
        rest: header(headers, "x-parse-rest-api-key"),
        javascript: header(headers, "x-parse-javascript-key"),
        client: header(headers, "x-parse-client-key"),
        dot_net: header(headers, "x-parse-windows-key"),
    };
    // `Authorization: Basic base64(appId:masterKey)` or `base64(appId:javascript-key=KEY)`.
    let basic = header(headers, "authorization")
        .and_then(|a| a.strip_prefix("Basic ").map(str::to_string))
        .and_then(|b| {
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok());
    if let Some((app, secret)) = basic.as_deref().and_then(|s| s.split_once(':')) {
        if app == apps.app_id {
            keys.app_id = Some(app.to_string());
            match secret.strip_prefix("javascript-key=") {
                Some(js) => keys.client.javascript = Some(js.to_string()),
                None => keys.master = Some(secret.to_string()),
            }
        }
    }
    keys
}

/// Parses the body as JSON whatever its content type; an empty body is `{}`.
pub(crate) fn parse_body(bytes: &[u8]) -> Result<Map, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ParseError::invalid_json("request body must be a JSON object").into()),
        Err(_) => Err(ParseError::invalid_json("Invalid JSON").into()),
    }
}

/// Splits `/parse/classes/X?…` into the mount it came in on and the route.
pub(crate) fn strip_mount(path: &str, app: &AppConfig) -> Option<(String, String)> {
    app.mounts().into_iter().find_map(|m| {
        let rest = path.strip_prefix(m.as_str())?;
        (rest.is_empty() || rest.starts_with('/')).then(|| (m.clone(), rest.to_string()))
    })
}

pub(crate) struct RawRequest<'a> {
    pub method: Method,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Normalises a request (see the module doc). Routes outside every mount never get here.
pub(crate) fn normalize(
    raw: RawRequest<'_>,
    app: &Arc<AppConfig>,
    mount: String,
    rest: &str,
) -> Result<ParseRequest, ApiError> {
    let mut body = parse_body(raw.body)?;
    let mut method = raw.method;
    if method == Method::POST {
        if let Some(m) = take_str(&mut body, "_method") {
            method = Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                .map_err(|_| ParseError::invalid_json(format!("invalid _method {m}")))?;
        }
    }
    let mut keys = keys_from_headers(raw.headers, app);
    if keys.app_id.as_deref() != Some(app.app_id.as_str()) {
        // The JS SDK's form: keys travel in the body, which then loses them.
        if body.get("_ApplicationId").and_then(Value::as_str) != Some(app.app_id.as_str()) {
            return Err(ApiError::Unauthorized);
        }
        // Parse Server: a master-key header on a tunnelled request must be that app's.
        if keys.master.as_ref().is_some_and(|m| *m != app.master_key) {
            return Err(ApiError::Unauthorized);
        }
        keys.app_id = take_str(&mut body, "_ApplicationId");
        if keys.master.is_none() {
            keys.master = take_str(&mut body, "_MasterKey");
        }
        let slots = [
            ("_JavaScriptKey", &mut keys.client.javascript),
            ("_ClientKey", &mut keys.client.client),
            ("_RESTAPIKey", &mut keys.client.rest),
        ];
        for (name, slot) in slots {
            if let Some(k) = take_str(&mut body, name) {
                *slot = Some(k);
            }
        }
        keys.session_token = keys
            .session_token
            .or_else(|| take_str(&mut body, "_SessionToken"));
        keys.installation_id = keys
            .installation_id
            .or_else(|| take_str(&mut body, "_InstallationId"));
        keys.client_version = keys
            .client_version
            .or_else(|| take_str(&mut body, "_ClientVersion"));
        if let Some(ctx) = body.get("_context") {
            let ok = match ctx {
                Value::Object(_) => true,
                Value::String(s) => {
                    matches!(serde_json::from_str::<Value>(s), Ok(Value::Object(_)))
                }
                _ => false,
            };
            if !ok {
                return Err(ParseError::invalid_json("Invalid object for context.").into());
            }
        }
        for k in TUNNELLED {
            body.remove(*k);
        }
    }
    // A master key that does not match is ignored, as in Parse Server: the request is then
    // judged by its client keys like any other.
    let auth = if keys.master.as_deref() == Some(app.master_key.as_str()) {
        Auth::Master
    } else if app.client_keys_required() && !app.client_key_matches(&keys.client) {
        return Err(ApiError::Unauthorized);
    } else {
        Auth::Public
    };
    if let Some(ctx) = header(raw.headers, "x-parse-cloud-context") {
        if !matches!(serde_json::from_str::<Value>(&ctx), Ok(Value::Object(_))) {
            return Err(ParseError::invalid_json("Invalid object for context.").into());
        }
    }
    let route = Route::parse(&method, rest)?;
    let mut params = raw
        .query
        .map(|q| form_params(q.as_bytes()))
        .unwrap_or_default();
    if method == Method::GET {
        // Tunnelled reads carry their parameters in the body.
        for (k, v) in std::mem::take(&mut body) {
            params.insert(k, v);
        }
    }
    let host = header(raw.headers, "host").unwrap_or_else(|| "localhost".to_string());
    let proto = header(raw.headers, "x-forwarded-proto").unwrap_or_else(|| "http".to_string());
    let ctx = RequestContext {
        app: app.clone(),
        auth,
        installation_id: keys.installation_id,
        client_version: keys.client_version,
        request_id: header(raw.headers, "x-parse-request-id"),
        server_url: format!("{proto}://{host}{mount}"),
        mount,
        range: header(raw.headers, "range"),
        session_token: keys.session_token,
        xhr: is_xhr(raw.headers),
    };
    Ok(ParseRequest {
        method,
        route,
        params,
        body,
        ctx,
        upload: None,
    })
}

/// Query-string or form parameters as strings (a repeated name keeps its last value).
fn form_params(bytes: &[u8]) -> Map {
    form_urlencoded::parse(bytes)
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect()
}

/// A request that needs no keys (a file download by URL, a page a mail links to): it acts with
/// no more than the app's public rights. Its parameters come from the query string, its body
/// from a form (`application/x-www-form-urlencoded`, what a page's form posts) or JSON.
pub(crate) fn keyless(
    raw: RawRequest<'_>,
    app: &Arc<AppConfig>,
    mount: String,
    route: Route,
) -> ParseRequest {
    let host = header(raw.headers, "host").unwrap_or_else(|| "localhost".to_string());
    let proto = header(raw.headers, "x-forwarded-proto").unwrap_or_else(|| "http".to_string());
    let json = header(raw.headers, "content-type").is_some_and(|t| t.contains("json"));
    let body = match json {
        true => parse_body(raw.body).unwrap_or_default(),
        false => form_params(raw.body),
    };
    ParseRequest {
        method: raw.method,
        route,
        params: raw
            .query
            .map(|q| form_params(q.as_bytes()))
            .unwrap_or_default(),
        body,
        ctx: RequestContext {
            app: app.clone(),
            auth: Auth::Public,
            installation_id: None,
            client_version: None,
            request_id: None,
            server_url: format!("{proto}://{host}{mount}"),
            mount,
            range: header(raw.headers, "range"),
            session_token: None,
            xhr: is_xhr(raw.headers),
        },
        upload: None,
    }
}

/// Splits an upload's body into the JSON the key check reads and the file. The JS SDK sends
/// `{"_ApplicationId", …, "base64", "_ContentType"}` as text when the headers carry no app
/// id; any other client sends the bytes themselves with its keys in headers.
pub(crate) fn split_upload(
    headers: &HeaderMap,
    app: &AppConfig,
    body: &bytes::Bytes,
) -> Result<(bytes::Bytes, Upload), ApiError> {
    let keys = keys_from_headers(headers, app);
    let raw_upload = || Upload {
        data: body.clone(),
        content_type: header(headers, "content-type"),
    };
    if keys.app_id.is_some() {
        return Ok((bytes::Bytes::new(), raw_upload()));
    }
    let Ok(Value::Object(mut json)) = serde_json::from_slice::<Value>(body) else {
        // No keys anywhere: the key check refuses it.
        return Ok((bytes::Bytes::new(), raw_upload()));
    };
    let content_type = match json.get("_ContentType") {
        Some(Value::String(t)) => Some(t.clone()),
        _ => None,
    };
    let encoded = take_str(&mut json, "base64").unwrap_or_default();
    json.remove("fileData");
    // A data URI carries its own type: `data:image/png;base64,…`.
    let (uri_type, encoded) = match encoded
        .strip_prefix("data:")
        .and_then(|r| r.split_once(','))
    {
        Some((meta, data)) => (
            meta.strip_suffix(";base64").map(str::to_string),
            data.to_string(),
        ),
        None => (None, encoded),
    };
    let data = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| ParseError::new(code::FILE_SAVE_ERROR, "Invalid file upload."))?;
    let rest = serde_json::to_vec(&Value::Object(json)).map_err(ApiError::internal)?;
    Ok((
        bytes::Bytes::from(rest),
        Upload {
            data: bytes::Bytes::from(data),
            content_type: content_type.or(uri_type),
        },
    ))
}
