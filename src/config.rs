//! Command-line options and environment variables, named as Parse Server names them where it
//! has the option, so an existing Parse Server configuration carries over.

use std::path::{Path, PathBuf};
use std::sync::Arc;
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
#[allow(clippy::enum_variant_names)] // `command-api` is the process's name
pub enum Command {
    /// Everything in one process. Embedded (SQLite log, in-memory read model) unless
    /// --databaseURI and --kafkaBrokers select PostgreSQL and Kafka.
    Serve(Box<ServeArgs>),
    /// The whole API (writes, and reads because the JS SDK tunnels them through POST).
    #[command(name = "command-api")]
    CommandApi(Box<ServeArgs>),
    /// Read routes only, from PostgreSQL; scale reads by running more.
    #[command(name = "query-api")]
    QueryApi(Box<ServeArgs>),
    /// Folds the Kafka log into PostgreSQL; several share the partitions.
    Projector(Box<ProjectorArgs>),
    /// Rebuilds a read model from the log into a fresh PostgreSQL schema.
    Replay(Box<ReplayArgs>),
}

/// The app, its keys and its limits.
#[derive(Args, Debug, Clone)]
pub struct AppArgs {
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
    /// Where the API is mounted, besides /1 and /parse which always work.
    #[arg(
        long = "mountPath",
        env = "PARSE_SERVER_MOUNT_PATH",
        default_value = "/parse"
    )]
    pub mount_path: String,
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
    /// Whether clients with app keys only (no user) may upload files (Parse Server's
    /// `fileUpload.enableForPublic`).
    #[arg(long = "fileUpload.enableForPublic", env = "PARSE_SERVER_FILE_UPLOAD_ENABLE_FOR_PUBLIC",
          default_value_t = false, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub file_upload_public: bool,
    /// Whether anonymous users may upload files.
    #[arg(long = "fileUpload.enableForAnonymousUser", env = "PARSE_SERVER_FILE_UPLOAD_ENABLE_FOR_ANONYMOUS_USER",
          default_value_t = false, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub file_upload_anonymous: bool,
    /// Whether logged-in users may upload files.
    #[arg(long = "fileUpload.enableForAuthenticatedUser", env = "PARSE_SERVER_FILE_UPLOAD_ENABLE_FOR_AUTHENTICATED_USER",
          default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub file_upload_authenticated: bool,
    /// Allowed file extensions: patterns (JavaScript regex syntax, `*` for any), comma-separated;
    /// by default anything but html/htm. The master key is not bound by them.
    #[arg(long = "fileUpload.fileExtensions", env = "PARSE_SERVER_FILE_UPLOAD_FILE_EXTENSIONS",
          value_delimiter = ',', default_value = model::file::DEFAULT_FILE_EXTENSIONS)]
    pub file_extensions: Vec<String>,
    /// Store files under the name the client gave, without a random prefix.
    #[arg(long = "preserveFileName", env = "PARSE_SERVER_PRESERVE_FILE_NAME",
          default_value_t = false, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub preserve_file_name: bool,
    /// Linked-account providers (`authData`), as Parse Server's `auth` option: a JSON object,
    /// e.g. `{"github": {}, "facebook": {"appIds": ["…"]}}`.
    #[arg(long = "auth", env = "PARSE_SERVER_AUTH_PROVIDERS")]
    pub auth: Option<String>,
    /// Whether users may sign up anonymously (`authData.anonymous`).
    #[arg(long = "enableAnonymousUsers", env = "PARSE_SERVER_ENABLE_ANON_USERS",
          default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub enable_anonymous_users: bool,
    /// How long a session lasts, in seconds (a year by default).
    #[arg(
        long = "sessionLength",
        env = "PARSE_SERVER_SESSION_LENGTH",
        default_value_t = 31_536_000
    )]
    pub session_length: u64,
    /// The app's name, in mails and on the password-reset page.
    #[arg(long = "appName", env = "PARSE_SERVER_APP_NAME")]
    pub app_name: Option<String>,
    /// The API's address as users' browsers reach it, mount included
    /// (`https://example.com/parse`): mailed links point there.
    #[arg(long = "publicServerURL", env = "PARSE_PUBLIC_SERVER_URL")]
    pub public_server_url: Option<String>,
    /// Mail new users (and users changing their email) a link to verify their email; needs
    /// --appName, --publicServerURL and an email adapter.
    #[arg(long = "verifyUserEmails", env = "PARSE_SERVER_VERIFY_USER_EMAILS",
          default_value_t = false, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub verify_user_emails: bool,
    /// With --verifyUserEmails: users log in only once their email is verified.
    #[arg(long = "preventLoginWithUnverifiedEmail", env = "PARSE_SERVER_PREVENT_LOGIN_WITH_UNVERIFIED_EMAIL",
          default_value_t = false, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub prevent_login_with_unverified_email: bool,
    /// How long a verification link stays valid, in seconds; forever by default.
    #[arg(
        long = "emailVerifyTokenValidityDuration",
        env = "PARSE_SERVER_EMAIL_VERIFY_TOKEN_VALIDITY_DURATION"
    )]
    pub email_verify_token_validity: Option<u64>,
    /// How long a password-reset link stays valid, in seconds; forever by default.
    #[arg(
        long = "passwordPolicy.resetTokenValidityDuration",
        env = "PARSE_SERVER_PASSWORD_POLICY_RESET_TOKEN_VALIDITY_DURATION"
    )]
    pub reset_token_validity: Option<u64>,
    /// `/requestPasswordReset` answers `{}` for an unknown email (false: error 101).
    #[arg(long = "passwordPolicy.resetPasswordSuccessOnInvalidEmail", env = "PARSE_SERVER_PASSWORD_POLICY_RESET_PASSWORD_SUCCESS_ON_INVALID_EMAIL",
          default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub reset_password_success_on_invalid_email: bool,
    #[command(flatten)]
    pub email_adapter: EmailAdapterArgs,
    /// How long a write waits for projection before answering with an error, in milliseconds.
    #[arg(
        long = "projectionTimeoutMs",
        env = "CHRONICLE_PROJECTION_TIMEOUT_MS",
        default_value_t = 30_000
    )]
    pub projection_timeout_ms: u64,
}

/// The SMTP email adapter (verification and password-reset mails).
#[derive(Args, Debug, Clone)]
pub struct EmailAdapterArgs {
    /// The SMTP server; without it no mail is sent.
    #[arg(
        long = "emailAdapter.smtpHost",
        env = "PARSE_SERVER_EMAIL_ADAPTER_SMTP_HOST"
    )]
    pub smtp_host: Option<String>,
    #[arg(
        long = "emailAdapter.smtpPort",
        env = "PARSE_SERVER_EMAIL_ADAPTER_SMTP_PORT",
        default_value_t = 587
    )]
    pub smtp_port: u16,
    /// `none` (plain text: a relay on this machine only), `starttls` or `tls` (implicit).
    #[arg(
        long = "emailAdapter.smtpSecurity",
        env = "PARSE_SERVER_EMAIL_ADAPTER_SMTP_SECURITY",
        default_value = "starttls"
    )]
    pub smtp_security: String,
    #[arg(
        long = "emailAdapter.smtpUsername",
        env = "PARSE_SERVER_EMAIL_ADAPTER_SMTP_USERNAME"
    )]
    pub smtp_username: Option<String>,
    #[arg(
        long = "emailAdapter.smtpPassword",
        env = "PARSE_SERVER_EMAIL_ADAPTER_SMTP_PASSWORD"
    )]
    pub smtp_password: Option<String>,
    /// The sender, `address` or `Name <address>`.
    #[arg(
        long = "emailAdapter.fromAddress",
        env = "PARSE_SERVER_EMAIL_ADAPTER_FROM_ADDRESS"
    )]
    pub from_address: Option<String>,
}

impl EmailAdapterArgs {
    /// The mailer the options describe, if any.
    pub fn mailer(&self) -> anyhow::Result<Option<Arc<dyn mail::Mailer>>> {
        let Some(host) = &self.smtp_host else {
            return Ok(None);
        };
        let from = self
            .from_address
            .clone()
            .context("--emailAdapter.fromAddress is required with --emailAdapter.smtpHost")?;
        let security = self
            .smtp_security
            .parse::<mail::Security>()
            .map_err(anyhow::Error::msg)?;
        let mailer = mail::SmtpMailer::new(mail::SmtpConfig {
            host: host.clone(),
            port: self.smtp_port,
            from,
            username: self.smtp_username.clone(),
            password: self.smtp_password.clone(),
            security,
            timeout: Duration::from_secs(30),
        })?;
        Ok(Some(Arc::new(mailer)))
    }
}

/// Where events and the read model live.
#[derive(Args, Debug, Clone)]
pub struct StackArgs {
    /// Where the embedded event log (and generated keys) are kept.
    #[arg(long = "dataDir", env = "CHRONICLE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Where uploaded files are kept. Default: `<dataDir>/files` on the embedded stack; in
    /// PostgreSQL (next to the read model) when --databaseURI is given.
    #[arg(long = "filesDirectory", env = "CHRONICLE_FILES_DIRECTORY")]
    pub files_directory: Option<PathBuf>,
    /// PostgreSQL read model, e.g. postgres://user:pass@host/db (Parse Server's option name).
    #[arg(long = "databaseURI", env = "PARSE_SERVER_DATABASE_URI")]
    pub database_uri: Option<String>,
    /// The PostgreSQL schema the read model lives under (and prefixes per-app schemas with).
    #[arg(
        long = "readModelSchema",
        env = "CHRONICLE_READ_MODEL_SCHEMA",
        default_value = "chronicle"
    )]
    pub read_model_schema: String,
    /// Kafka bootstrap servers; with them the event log is a Kafka topic. (`--kafka-brokers`
    /// is the same option, as the design brief spells it.)
    #[arg(
        long = "kafkaBrokers",
        alias = "kafka-brokers",
        env = "CHRONICLE_KAFKA_BROKERS"
    )]
    pub kafka_brokers: Option<String>,
    #[arg(
        long = "kafkaTopic",
        env = "CHRONICLE_KAFKA_TOPIC",
        default_value = "chronicle-events"
    )]
    pub kafka_topic: String,
    /// Partitions the topic is created with (an existing topic keeps its own).
    #[arg(
        long = "kafkaPartitions",
        env = "CHRONICLE_KAFKA_PARTITIONS",
        default_value_t = 8
    )]
    pub kafka_partitions: u32,
    #[arg(
        long = "kafkaReplication",
        env = "CHRONICLE_KAFKA_REPLICATION",
        default_value_t = 1
    )]
    pub kafka_replication: i32,
    /// Extra librdkafka settings, `key=value`, repeatable.
    #[arg(long = "kafkaOption")]
    pub kafka_options: Vec<String>,
    /// Connections each process uses for reads and projection commits (listeners have their
    /// own). The default, twice this machine's CPU count, suits PostgreSQL on the same machine:
    /// more concurrent statements than that only adds switching, fewer starves the projector's
    /// commits (both measured in docs/benchmarks.md).
    #[arg(
        long = "databasePoolSize",
        env = "CHRONICLE_DATABASE_POOL_SIZE",
        default_value_t = default_pool_size()
    )]
    pub database_pool_size: u32,
}

#[derive(Args, Debug, Clone)]
pub struct HttpArgs {
    #[arg(long, env = "PORT", default_value_t = 1337)]
    pub port: u16,
    #[arg(long, env = "PARSE_SERVER_HOST", default_value = "0.0.0.0")]
    pub host: String,
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    pub app: AppArgs,
    #[command(flatten)]
    pub stack: StackArgs,
    #[command(flatten)]
    pub http: HttpArgs,
}

#[derive(Args, Debug, Clone)]
pub struct ProjectorArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    /// Port of the projector's /health endpoint.
    #[arg(long, env = "PORT", default_value_t = 1339)]
    pub port: u16,
    #[arg(long, env = "PARSE_SERVER_HOST", default_value = "0.0.0.0")]
    pub host: String,
}

#[derive(Args, Debug, Clone)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    /// The fresh schema to build the read model under (must not hold a read model yet).
    #[arg(long = "into")]
    pub into: String,
}

impl Default for ServeArgs {
    fn default() -> Self {
        match Cli::parse_from(["chronicle", "serve"]).command {
            Some(Command::Serve(args)) => *args,
            _ => unreachable!("serve was given"),
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

/// Keys not given are generated once, kept in the data directory (so the log's app stays
/// reachable across restarts) and printed.
fn generated_keys(app: &AppArgs, data_dir: &Path) -> anyhow::Result<(String, String)> {
    let path = data_dir.join("keys.json");
    let saved: Option<serde_json::Value> = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let get = |k: &str| {
        saved
            .as_ref()
            .and_then(|v| v[k].as_str().map(str::to_string))
    };
    let app_id = app
        .app_id
        .clone()
        .or_else(|| get("appId"))
        .unwrap_or_else(random_key);
    let master_key = app
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
    Ok((app_id, master_key))
}

impl ServeArgs {
    /// The app's configuration; `generate` allows generating missing keys (embedded serve).
    pub fn app_config(&self, generate: bool) -> anyhow::Result<AppConfig> {
        let a = &self.app;
        let (app_id, master_key) = match (&a.app_id, &a.master_key) {
            (Some(id), Some(key)) => (id.clone(), key.clone()),
            _ if generate => generated_keys(a, &self.stack.data_dir)?,
            _ => bail!("--appId and --masterKey are required"),
        };
        let mut app = AppConfig::new(&app_id, &master_key);
        app.rest_api_key = a.rest_api_key.clone();
        app.javascript_key = a.javascript_key.clone();
        app.client_key = a.client_key.clone();
        app.dot_net_key = a.dot_net_key.clone();
        app.mount_path = a.mount_path.clone();
        app.max_body_bytes = parse_size(&a.max_upload_size)?;
        app.max_limit = a.max_limit;
        app.allow_client_class_creation = a.allow_client_class_creation;
        app.max_batch = a.max_batch_size;
        app.projection_timeout = Duration::from_millis(a.projection_timeout_ms);
        let patterns: Vec<&str> = a.file_extensions.iter().map(String::as_str).collect();
        app.upload_policy = model::file::UploadPolicy {
            enable_for_public: a.file_upload_public,
            enable_for_anonymous_user: a.file_upload_anonymous,
            enable_for_authenticated_user: a.file_upload_authenticated,
            file_extensions: model::file::UploadPolicy::extensions(&patterns)
                .map_err(anyhow::Error::msg)?,
        };
        app.preserve_file_name = a.preserve_file_name;
        app.session_length = Duration::from_secs(a.session_length);
        let seconds = |name: &str, v: Option<u64>| match v {
            Some(0) => bail!("{name} must be a value greater than 0"),
            v => Ok(v.map(Duration::from_secs)),
        };
        app.emails = api::UserEmails {
            app_name: a.app_name.clone(),
            public_server_url: a.public_server_url.clone(),
            verify_user_emails: a.verify_user_emails,
            prevent_login_with_unverified_email: a.prevent_login_with_unverified_email,
            email_verify_token_validity: seconds(
                "--emailVerifyTokenValidityDuration",
                a.email_verify_token_validity,
            )?,
            reset_token_validity: seconds(
                "--passwordPolicy.resetTokenValidityDuration",
                a.reset_token_validity,
            )?,
            reset_password_success_on_invalid_email: a.reset_password_success_on_invalid_email,
        };
        // Parse Server refuses to start when it could not send the mails it promises.
        if a.verify_user_emails {
            if a.email_adapter.smtp_host.is_none() {
                bail!("An emailAdapter is required for e-mail verification and password resets (--emailAdapter.smtpHost).");
            }
            if a.app_name.is_none() {
                bail!("An app name is required for e-mail verification and password resets (--appName).");
            }
            if a.public_server_url.is_none() {
                bail!("A public server url is required for e-mail verification and password resets (--publicServerURL).");
            }
        }
        Ok(app)
    }
}

impl ServeArgs {
    /// The linked-account providers `--auth` and `--enableAnonymousUsers` configure.
    pub fn auth_providers(&self) -> anyhow::Result<authdata::AuthProviders> {
        let mut config: serde_json::Value = match &self.app.auth {
            Some(text) => serde_json::from_str(text).context("--auth must be a JSON object")?,
            None => serde_json::json!({}),
        };
        if !self.app.enable_anonymous_users {
            if let Some(map) = config.as_object_mut() {
                map.insert("anonymous".into(), serde_json::json!({"enabled": false}));
            }
        }
        authdata::AuthProviders::from_config(&config).map_err(|e| anyhow::anyhow!("--auth: {e}"))
    }
}

impl StackArgs {
    pub fn kafka(&self) -> anyhow::Result<Option<events::KafkaConfig>> {
        let Some(brokers) = &self.kafka_brokers else {
            return Ok(None);
        };
        let options = self
            .kafka_options
            .iter()
            .map(|o| {
                o.split_once('=')
                    .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                    .with_context(|| format!("--kafkaOption wants key=value, got {o}"))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Some(events::KafkaConfig {
            brokers: brokers.clone(),
            topic: self.kafka_topic.clone(),
            partitions: self.kafka_partitions,
            replication: self.kafka_replication,
            options,
            handoff: false,
        }))
    }
}

fn default_pool_size() -> u32 {
    2 * std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(2)
        .max(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_brokers_is_also_spelled_with_dashes() {
        for spelling in ["--kafkaBrokers", "--kafka-brokers"] {
            let cli = Cli::try_parse_from([
                "chronicle",
                "serve",
                "--appId",
                "a",
                "--masterKey",
                "m",
                spelling,
                "k:9092",
            ])
            .unwrap();
            match cli.command {
                Some(Command::Serve(args)) => {
                    assert_eq!(args.stack.kafka_brokers.as_deref(), Some("k:9092"))
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("20mb").unwrap(), 20 << 20);
        assert_eq!(parse_size("512KB").unwrap(), 512 << 10);
        assert_eq!(parse_size("100").unwrap(), 100);
        assert!(parse_size("x").is_err());
    }
}
