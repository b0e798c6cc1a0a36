//! One app's identity and keys, and the limits the HTTP layer enforces.

/// An app served by this process. Key names follow Parse Server's options.
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub app_id: String,
    pub master_key: String,
    pub rest_api_key: Option<String>,
    pub javascript_key: Option<String>,
    pub client_key: Option<String>,
    pub dot_net_key: Option<String>,
    /// Where the API is mounted besides `/1` and `/parse` (e.g. `/api`).
    pub mount_path: String,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// The most sub-requests one `/batch` may carry.
    pub max_batch: usize,
    /// Page size cap for finds (Parse Server's `maxLimit`); `None` for no cap.
    pub max_limit: Option<usize>,
    /// Whether clients without the master key may create classes by writing to them
    /// (Parse Server's `allowClientClassCreation`, off by default).
    pub allow_client_class_creation: bool,
    /// How long a write waits for its event to be projected before the client gets an error.
    pub projection_timeout: std::time::Duration,
    /// Who may upload files, and which extensions (Parse Server's `fileUpload`).
    pub upload_policy: model::file::UploadPolicy,
    /// Store files under the client's name, without a random prefix (`preserveFileName`).
    pub preserve_file_name: bool,
    /// How long a session lasts (`sessionLength`).
    pub session_length: std::time::Duration,
    /// Email verification and password resets.
    pub emails: UserEmails,
}

/// Parse Server's options for email verification and password resets (the mail adapter itself
/// belongs to the process that sends, command-api).
#[derive(Debug, Clone)]
pub struct UserEmails {
    /// The app's name in mails and pages (`appName`).
    pub app_name: Option<String>,
    /// The server's address as users' browsers reach it, mount included (`publicServerURL`):
    /// links in mails point there; without it the `/apps/` pages answer 404.
    pub public_server_url: Option<String>,
    /// Sign-ups and email changes get `emailVerified: false` and a verification mail.
    pub verify_user_emails: bool,
    /// With `verify_user_emails`, users log in only once verified (and sign-ups get no session).
    pub prevent_login_with_unverified_email: bool,
    /// How long a verification link stays valid; forever if `None`.
    pub email_verify_token_validity: Option<std::time::Duration>,
    /// How long a password-reset link stays valid; forever if `None`
    /// (`passwordPolicy.resetTokenValidityDuration`).
    pub reset_token_validity: Option<std::time::Duration>,
    /// `/requestPasswordReset` for an unknown email answers `{}` rather than 101, so that it
    /// tells nobody which addresses have accounts
    /// (`passwordPolicy.resetPasswordSuccessOnInvalidEmail`).
    pub reset_password_success_on_invalid_email: bool,
}

impl Default for UserEmails {
    fn default() -> Self {
        UserEmails {
            app_name: None,
            public_server_url: None,
            verify_user_emails: false,
            prevent_login_with_unverified_email: false,
            email_verify_token_validity: None,
            reset_token_validity: None,
            reset_password_success_on_invalid_email: true,
        }
    }
}

impl UserEmails {
    /// Whether log-in needs a verified email.
    pub fn login_needs_verified_email(&self) -> bool {
        self.verify_user_emails && self.prevent_login_with_unverified_email
    }

    /// `publicServerURL` without a trailing slash.
    pub fn public_url(&self) -> Option<&str> {
        self.public_server_url
            .as_deref()
            .map(|u| u.trim_end_matches('/'))
    }
}

impl AppConfig {
    pub fn new(app_id: &str, master_key: &str) -> Self {
        AppConfig {
            app_id: app_id.to_string(),
            master_key: master_key.to_string(),
            rest_api_key: None,
            javascript_key: None,
            client_key: None,
            dot_net_key: None,
            mount_path: "/parse".to_string(),
            max_body_bytes: 20 * 1024 * 1024,
            max_batch: 1000,
            max_limit: None,
            allow_client_class_creation: false,
            projection_timeout: std::time::Duration::from_secs(30),
            upload_policy: model::file::UploadPolicy::default(),
            preserve_file_name: false,
            session_length: std::time::Duration::from_secs(31_536_000),
            emails: UserEmails::default(),
        }
    }

    /// The paths the API answers under: `/1` (the guide's), `/parse` (the SDKs' default) and
    /// the configured one.
    pub fn mounts(&self) -> Vec<String> {
        let mut m = vec!["/1".to_string(), "/parse".to_string()];
        let own = self.mount_path.trim_end_matches('/').to_string();
        if !own.is_empty() && !m.contains(&own) {
            m.push(own);
        }
        m
    }

    /// Whether any client key is configured; if none is, the app id alone admits a client.
    pub fn client_keys_required(&self) -> bool {
        self.client_keys().next().is_some()
    }

    /// Whether a sent client key equals the configured key of its own kind.
    pub fn client_key_matches(&self, sent: &crate::request::ClientKeys) -> bool {
        let pairs = [
            (&self.rest_api_key, &sent.rest),
            (&self.javascript_key, &sent.javascript),
            (&self.client_key, &sent.client),
            (&self.dot_net_key, &sent.dot_net),
        ];
        pairs
            .iter()
            .any(|(want, got)| want.is_some() && want == got)
    }

    pub fn client_keys(&self) -> impl Iterator<Item = &str> {
        [
            &self.rest_api_key,
            &self.javascript_key,
            &self.client_key,
            &self.dot_net_key,
        ]
        .into_iter()
        .filter_map(|k| k.as_deref())
    }
}
