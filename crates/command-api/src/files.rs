//! File uploads and deletions. An upload is checked against the upload policy, its bytes are
//! stored in the file store first, then a `file.stored` event (name, size, type, SHA-256, who)
//! is appended: an acknowledged upload is both stored and logged. A deletion (master key) is
//! logged, then the bytes are removed.

use api::{ApiError, ParseRequest, ParseResponse, RawBody};
use axum::http::StatusCode;
use events::{Event, EventKind, FileRecord};
use model::file::{stored_name, Uploader};
use model::{code, ParseError};
use serde_json::json;
use sha2::Digest;

use crate::submit::origin;
use crate::CommandApi;

/// Parse Server's 32 random hex digits before the client's name.
fn random_prefix() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl CommandApi {
    pub(crate) async fn upload(
        &self,
        req: &ParseRequest,
        name: &str,
    ) -> Result<ParseResponse, ApiError> {
        let upload = req
            .upload
            .as_ref()
            .ok_or_else(|| ParseError::new(code::FILE_SAVE_ERROR, "Invalid file upload."))?;
        let who = match &req.ctx.auth {
            api::Auth::Master => Uploader::Master,
            api::Auth::Public => Uploader::Public,
            api::Auth::User(u) => Uploader::User {
                anonymous: u.anonymous,
            },
        };
        let content_type = upload.content_type.as_deref();
        let app = &req.ctx.app;
        app.upload_policy
            .check(who, name, content_type, &upload.data)?;
        let prefix = (!app.preserve_file_name).then(random_prefix);
        let stored = stored_name(name, content_type, prefix.as_deref());
        let record = FileRecord {
            name: stored.clone(),
            size: Some(upload.data.len() as u64),
            content_type: Some(
                content_type
                    .map(str::to_string)
                    .unwrap_or_else(|| model::file::content_type_of(&stored)),
            ),
            sha256: Some(
                sha2::Sha256::digest(&upload.data)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect(),
            ),
        };
        let could_not_store = || {
            ApiError::from(ParseError::new(
                code::FILE_SAVE_ERROR,
                format!("Could not store file: {stored}."),
            ))
        };
        if let Err(e) = self
            .reads
            .files()
            .put(&app.app_id, &stored, upload.data.clone())
            .await
        {
            tracing::error!(error = %e, file = %stored, "cannot store a file");
            return Err(could_not_store());
        }
        let event = Event::file(origin(&req.ctx), EventKind::FileStored, record);
        if let Err(e) = self.log.append(vec![event]).await {
            // Not acknowledged, so not kept: the bytes would be a file nobody can name.
            tracing::error!(error = %e, file = %stored, "cannot log a file upload");
            self.reads.files().delete(&app.app_id, &stored).await.ok();
            return Err(could_not_store());
        }
        let url = req.ctx.file_url(&stored);
        Ok(ParseResponse::created(
            json!({"url": url, "name": stored}),
            url,
        ))
    }

    pub(crate) async fn delete_file(
        &self,
        req: &ParseRequest,
        name: &str,
    ) -> Result<ParseResponse, ApiError> {
        req.ctx.auth.require_master()?;
        let app = &req.ctx.app.app_id;
        let could_not_delete = || {
            ApiError::from(ParseError::new(
                code::FILE_DELETE_ERROR,
                "Could not delete file.",
            ))
        };
        let files = self.reads.files();
        match files.get(app, name).await {
            Ok(Some(_)) => {}
            _ => return Err(could_not_delete()),
        }
        let record = FileRecord {
            name: name.to_string(),
            ..Default::default()
        };
        let event = Event::file(origin(&req.ctx), EventKind::FileDeleted, record);
        self.log
            .append(vec![event])
            .await
            .map_err(ApiError::internal)?;
        if let Err(e) = files.delete(app, name).await {
            tracing::error!(error = %e, file = %name, "cannot delete a file's bytes");
            return Err(could_not_delete());
        }
        // Parse Server answers a deletion with an empty 200.
        Ok(ParseResponse::raw(
            StatusCode::OK,
            RawBody {
                content_type: "text/plain; charset=utf-8".into(),
                data: bytes::Bytes::new(),
                headers: vec![],
            },
        ))
    }
}
