//! Command-line options and environment variables, named as Parse Server names them where it
//! has the option, so an existing Parse Server configuration carries over.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use api::AppConfig;
use clap::{Args, Parser, Subcommand};
use rand::distr::{Alphanumeric, SampleString};

#[derive(Parser, Debug)]
#[command(
    name = "chronicle",
    version,
    about = "A Parse-compatible backend in which every write is an event"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run everything in one process: SQLite event log, in-memory read model, the whole API.
    Serve(Box<ServeArgs>),
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// The application id clients send as X-Parse-Application-Id.
    #[arg(long = "appId", env = "PARSE_SERVER_APPLICATION_ID")]
    pub app_id: Option<String>,
    /// The master key, which bypasses every permission.
    #[arg(long = "masterKey", env = "PARSE_SERVER_MASTER_KEY")]
    pub master_key: Option<String>,
    /// REST API key; when any client key is set, clients must send one that matches.
    #[arg(long = "restAPIKey", env = "PARSE_SERVER_REST_API_KEY")]
    pub rest_api_key: Option<String>,
    #[arg(long = "javascriptKey", env = "PARSE_SERVER_JAVASCRIPT_KEY")]
    pub javascript_key: Option<String>,
    #[arg(long = "clientKey", env = "PARSE_SERVER_CLIENT_KEY")]
    pub client_key: Option<String>,
    #[arg(long = "dotNetKey", env = "PARSE_SERVER_DOT_NET_KEY")]
    pub dot_net_key: Option<String>,
    #[arg(long, env = "PORT", default_value_t = 1337)]
    pub port: u16,
    #[arg(long, env = "PARSE_SERVER_HOST", default_value = "0.0.0.0")]
    pub host: String,
    /// Where the API is mounted, besides /1 and /parse which always work.
    #[arg(
        long = "mountPath",
        env = "PARSE_SERVER_MOUNT_PATH",
        default_value = "/parse"
    )]
    pub mount_path: String,
    /// Where the event log (and generated keys) are kept.
    #[arg(long = "dataDir", env = "CHRONICLE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Largest request body, e.g. `20mb`, `512kb`.
    #[arg(
        long = "maxUploadSize",
        env = "PARSE_SERVER_MAX_UPLOAD_SIZE",
        default_value = "20mb"
    )]
    pub max_upload_size: String,
    /// Cap on a find's `limit`; none by default.
    #[arg(long = "maxLimit", env = "PARSE_SERVER_MAX_LIMIT")]
    pub max_limit: Option<usize>,
    /// Let clients without the master key create classes by writing to them.
    #[arg(long = "allowClientClassCreation", env = "PARSE_SERVER_ALLOW_CLIENT_CLASS_CREATION",
          default_value_t = false, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub allow_client_class_creation: bool,
    /// The most sub-requests one /batch may carry.
    #[arg(
        long = "maxBatchSize",
        env = "CHRONICLE_MAX_BATCH_SIZE",
        default_value_t = 1000
    )]
    pub max_batch_size: usize,
    /// How long a write waits for projection before answering with an error, in milliseconds.
    #[arg(
        long = "projectionTimeoutMs",
        env = "CHRONICLE_PROJECTION_TIMEOUT_MS",
        default_value_t = 30_000
    )]
    pub projection_timeout_ms: u64,
}

impl Default for ServeArgs {
    fn default() -> Self {
        let cli = Cli::parse_from(["chronicle", "serve"]);
        match cli.command {
            Some(Command::Serve(args)) => *args,
            None => unreachable!("serve was given"),
        }
    }
}

/// `20mb`, `512kb`, `1gb` or a plain byte count.
pub fn parse_size(s: &str) -> anyhow::Result<usize> {
    let s = s.trim().to_ascii_lowercase();
    let (num, mult) = [("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10), ("b", 1)]
        .iter()
        .find_map(|(suffix, m)| s.strip_suffix(suffix).map(|n| (n.trim().to_string(), *m)))
        .unwrap_or((s.clone(), 1));
    let n: f64 = num.parse().with_context(|| format!("invalid size {s}"))?;
    if n <= 0.0 {
        bail!("size must be positive: {s}");
    }
    Ok((n * mult as f64) as usize)
}

fn random_key() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 32)
}

impl ServeArgs {
    /// The app's configuration. Keys not given are generated once, kept in the data directory
    /// (so the log's app stays reachable across restarts) and printed.
    pub fn app_config(&self) -> anyhow::Result<AppConfig> {
        let (app_id, master_key) = match (&self.app_id, &self.master_key) {
            (Some(a), Some(m)) => (a.clone(), m.clone()),
            _ => {
                let path = self.data_dir.join("keys.json");
                let saved: Option<serde_json::Value> = std::fs::read(&path)
                    .ok()
                    .and_then(|b| serde_json::from_slice(&b).ok());
                let get = |k: &str| {
                    saved
                        .as_ref()
                        .and_then(|v| v[k].as_str().map(str::to_string))
                };
                let app_id = self
                    .app_id
                    .clone()
                    .or_else(|| get("appId"))
                    .unwrap_or_else(random_key);
                let master_key = self
                    .master_key
                    .clone()
                    .or_else(|| get("masterKey"))
                    .unwrap_or_else(random_key);
                let json = serde_json::json!({"appId": app_id, "masterKey": master_key});
                std::fs::write(&path, serde_json::to_vec_pretty(&json)?)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
                }
                println!("No keys given; using these (kept in {}):", path.display());
                println!("  appId:     {app_id}");
                println!("  masterKey: {master_key}");
                (app_id, master_key)
            }
        };
        let mut app = AppConfig::new(&app_id, &master_key);
        app.rest_api_key = self.rest_api_key.clone();
        app.javascript_key = self.javascript_key.clone();
        app.client_key = self.client_key.clone();
        app.dot_net_key = self.dot_net_key.clone();
        app.mount_path = self.mount_path.clone();
        app.max_body_bytes = parse_size(&self.max_upload_size)?;
        app.max_limit = self.max_limit;
        app.allow_client_class_creation = self.allow_client_class_creation;
        app.max_batch = self.max_batch_size;
        app.projection_timeout = Duration::from_millis(self.projection_timeout_ms);
        Ok(app)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("20mb").unwrap(), 20 << 20);
        assert_eq!(parse_size("512KB").unwrap(), 512 << 10);
        assert_eq!(parse_size("100").unwrap(), 100);
        assert!(parse_size("x").is_err());
    }
}
