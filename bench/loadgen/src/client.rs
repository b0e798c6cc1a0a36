//! HTTP plumbing: the loopback-only target URL, per-worker keep-alive clients, and request outcomes.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Client, RequestBuilder, StatusCode, Url};
use serde_json::Value;

/// The server under test: its Parse mount URL (e.g. `http://127.0.0.1:1337/parse`).
#[derive(Debug, Clone)]
pub struct Target {
    /// Mount URL without a trailing slash.
    base: String,
    /// Path part of the mount URL without a trailing slash (`/parse`, or empty for `/`).
    mount_path: String,
}

impl Target {
    /// Parses the mount URL and refuses anything that is not plain HTTP on a loopback address.
    pub fn parse(url: &str) -> Result<Self> {
        let parsed = Url::parse(url).with_context(|| format!("invalid --url {url:?}"))?;
        if parsed.scheme() != "http" {
            bail!("--url must use http:// (got {:?})", parsed.scheme());
        }
        let host = parsed.host_str().context("--url has no host")?;
        if !is_loopback_host(host) {
            bail!(
                "--url host {host:?} is not a loopback address; loadgen only targets this machine"
            );
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            bail!("--url must not have a query or fragment");
        }
        let mount_path = parsed.path().trim_end_matches('/').to_string();
        let base = url.trim_end_matches('/').to_string();
        Ok(Target { base, mount_path })
    }

    /// Full URL of a REST path such as `/classes/BenchObject`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Path as a `/batch` sub-request names it: the mount path followed by `path`.
    pub fn batch_path(&self, path: &str) -> String {
        format!("{}{}", self.mount_path, path)
    }

    pub fn base(&self) -> &str {
        &self.base
    }
}

fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The Parse headers every request carries.
pub fn parse_headers(
    app_id: &str,
    master_key: Option<&str>,
    rest_key: Option<&str>,
) -> Result<HeaderMap> {
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: &str| -> Result<()> {
        let value =
            HeaderValue::from_str(value).with_context(|| format!("invalid value for {name}"))?;
        headers.insert(HeaderName::from_static(name), value);
        Ok(())
    };
    put("x-parse-application-id", app_id)?;
    if let Some(key) = master_key {
        put("x-parse-master-key", key)?;
    }
    if let Some(key) = rest_key {
        put("x-parse-rest-api-key", key)?;
    }
    Ok(headers)
}

/// One client per worker: a single idle keep-alive connection, no proxy, Nagle off.
pub fn worker_client(headers: &HeaderMap, timeout: Duration) -> Result<Client> {
    Client::builder()
        .default_headers(headers.clone())
        .pool_max_idle_per_host(1)
        .tcp_nodelay(true)
        .no_proxy()
        .connect_timeout(timeout)
        .timeout(timeout)
        .build()
        .context("building HTTP client")
}

/// What became of one request.
#[derive(Debug)]
pub enum Outcome {
    /// The expected status arrived and the body was read.
    Ok,
    /// The server answered with another status; the start of its body is kept for the report.
    Status { status: u16, body: String },
    /// No complete answer: connect, timeout, or body error.
    Transport { kind: &'static str, message: String },
}

/// Sends a request and reads the whole body (so the connection can be reused).
pub async fn execute(request: RequestBuilder, expected: StatusCode) -> Outcome {
    match request.send().await {
        Ok(response) => {
            let status = response.status();
            match response.bytes().await {
                Ok(_) if status == expected => Outcome::Ok,
                Ok(body) => Outcome::Status {
                    status: status.as_u16(),
                    body: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
                },
                Err(err) => transport(&err),
            }
        }
        Err(err) => transport(&err),
    }
}

fn transport(err: &reqwest::Error) -> Outcome {
    let kind = if err.is_timeout() {
        "timeout"
    } else if err.is_connect() {
        "connect"
    } else if err.is_body() || err.is_decode() {
        "body"
    } else if err.is_request() {
        "request"
    } else {
        "other"
    };
    Outcome::Transport {
        kind,
        message: error_chain(err),
    }
}

/// An error with all its sources, on one line.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Sends a setup or check request, expects `expected`, and returns the JSON body.
pub async fn send_json(request: RequestBuilder, expected: StatusCode, what: &str) -> Result<Value> {
    let response = request
        .send()
        .await
        .map_err(|err| anyhow::anyhow!("{what}: {}", error_chain(&err)))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|err| anyhow::anyhow!("{what}: reading body: {}", error_chain(&err)))?;
    if status != expected {
        let snippet: String = String::from_utf8_lossy(&body).chars().take(300).collect();
        bail!("{what}: expected HTTP {expected}, got {status}: {snippet}");
    }
    serde_json::from_slice(&body).with_context(|| format!("{what}: response is not JSON"))
}

#[cfg(test)]
mod tests {
    use super::Target;

    #[test]
    fn accepts_loopback_only() {
        assert!(Target::parse("http://127.0.0.1:1337/parse").is_ok());
        assert!(Target::parse("http://127.3.2.1:1337/parse").is_ok());
        assert!(Target::parse("http://localhost:1337/parse").is_ok());
        assert!(Target::parse("http://[::1]:1337/parse").is_ok());
        assert!(Target::parse("http://10.0.0.1:1337/parse").is_err());
        assert!(Target::parse("http://example.com/parse").is_err());
        assert!(Target::parse("https://127.0.0.1/parse").is_err());
    }

    #[test]
    fn builds_urls_and_batch_paths() -> anyhow::Result<()> {
        let target = Target::parse("http://127.0.0.1:1337/parse/")?;
        assert_eq!(
            target.url("/classes/A"),
            "http://127.0.0.1:1337/parse/classes/A"
        );
        assert_eq!(target.batch_path("/classes/A"), "/parse/classes/A");
        let root = Target::parse("http://127.0.0.1:1337")?;
        assert_eq!(root.batch_path("/classes/A"), "/classes/A");
        assert_eq!(root.url("/classes/A"), "http://127.0.0.1:1337/classes/A");
        Ok(())
    }
}
