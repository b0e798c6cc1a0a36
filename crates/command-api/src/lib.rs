//! The write routes: create, update and delete objects (installations under their own
//! rules), and `/batch`. A write is validated
//! against the read model, becomes an event, is appended to the log, and is answered only once
//! the projector has applied it (read-your-writes). Reads are handed to the linked query API.

mod analytics;
mod batch;
mod config;
mod emails;
mod files;
mod installations;
mod objects;
mod pages;
mod purge;
mod schemas;
mod submit;
mod users;

use std::sync::Arc;

use api::{ApiError, Handler, ParseRequest, ParseResponse, Route};
use async_trait::async_trait;
use authdata::AuthProviders;
use events::EventLog;
use query_api::QueryApi;
use readmodel::Outcomes;

pub struct CommandApi {
    reads: QueryApi,
    log: Arc<dyn EventLog>,
    outcomes: Arc<Outcomes>,
    /// Who vouches for linked accounts (`authData`).
    auth_providers: Arc<AuthProviders>,
    /// The email adapter (`emailAdapter`): verification and password-reset mails.
    mailer: Option<Arc<dyn mail::Mailer>>,
}

impl CommandApi {
    pub fn new(reads: QueryApi, log: Arc<dyn EventLog>, outcomes: Arc<Outcomes>) -> Self {
        CommandApi {
            reads,
            log,
            outcomes,
            auth_providers: Arc::new(AuthProviders::default()),
            mailer: None,
        }
    }

    /// The providers linked accounts are checked with (anonymous only by default).
    pub fn with_auth_providers(mut self, providers: AuthProviders) -> Self {
        self.auth_providers = Arc::new(providers);
        self
    }

    /// Sends the app's mails through `mailer`.
    pub fn with_mailer(mut self, mailer: Arc<dyn mail::Mailer>) -> Self {
        self.mailer = Some(mailer);
        self
    }
}

#[async_trait]
impl Handler for CommandApi {
    async fn handle(&self, mut req: ParseRequest) -> Result<ParseResponse, ApiError> {
        if !req.route.is_keyless() {
            self.reads.authenticate(&mut req).await?;
        }
        match &req.route {
            Route::Batch => self.batch(req).await,
            Route::UpdateConfig => self.update_config(&req).await,
            Route::Track { name } => self.track(&req, name).await,
            Route::Purge { class } => self.purge(&req, class).await,
            Route::CreateSchema { class } => self.write_schema(&req, class.as_deref(), true).await,
            Route::UpdateSchema { class } => self.write_schema(&req, Some(class), false).await,
            Route::DeleteSchema { class } => self.delete_schema(&req, class).await,
            Route::UploadFile { name } => self.upload(&req, name).await,
            Route::DeleteFile { name } => self.delete_file(&req, name).await,
            Route::Create { class }
                if class == model::user::USER_CLASS
                    && matches!(req.body.get("authData"), Some(serde_json::Value::Object(_))) =>
            {
                self.sign_up_or_log_in_with_auth_data(&req).await
            }
            Route::Login => self.log_in(&req).await,
            Route::Logout => self.log_out(&req).await,
            Route::LoginAs => self.login_as(&req).await,
            Route::Me => self.me(&req).await,
            Route::SessionMe => self.session_me(&req).await,
            Route::PairSession => self.pair_session(&req).await,
            Route::VerifyPassword => self.verify_password(&req).await,
            Route::VerificationEmailRequest => self.verification_email_request(&req).await,
            Route::RequestPasswordReset => self.request_password_reset(&req).await,
            Route::Page(page) => self.page(&req, page).await,
            route if route.is_read() => self.reads.handle(req).await,
            Route::Create { class } | Route::Update { class, .. }
                if class == model::installation::CLASS =>
            {
                self.save_installation(&req).await
            }
            _ => {
                let planned = self.prepare(&req).await?;
                self.submit_planned(&req.ctx, planned).await
            }
        }
    }
}
