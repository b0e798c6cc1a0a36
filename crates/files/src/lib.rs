//! Where the bytes of uploaded files live. Files stay outside the event log (the log records a
//! `file.stored` event with the name, size, type and checksum); a `FileStore` keeps the bytes:
//! `DiskFileStore` on a local directory or volume, `PgFileStore` in PostgreSQL. Another store
//! (an S3-compatible bucket) is one more implementation of the trait.

mod disk;
mod postgres;

use async_trait::async_trait;
use bytes::Bytes;

pub use disk::DiskFileStore;
pub use postgres::PgFileStore;

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// A name a store cannot hold safely (the API validates names before; this is the store's
    /// own guard against path tricks).
    #[error("invalid file name {0:?}")]
    InvalidName(String),
    #[error("file storage error: {0}")]
    Io(#[from] std::io::Error),
    #[error("file database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// The bytes of an app's files, by stored name. Names are unique: the API prefixes each upload
/// with a random hex string, so a `put` never replaces another upload's file.
#[async_trait]
pub trait FileStore: Send + Sync + 'static {
    /// Stores `data` under `name`, durably, before returning.
    async fn put(&self, app: &str, name: &str, data: Bytes) -> Result<(), FileError>;
    /// The file's bytes, or `None` if there is no such file.
    async fn get(&self, app: &str, name: &str) -> Result<Option<Bytes>, FileError>;
    /// Deletes the file; `false` if there was none.
    async fn delete(&self, app: &str, name: &str) -> Result<bool, FileError>;
}

/// A directory name for an app that no app id can turn into a path trick.
pub(crate) fn app_key(app: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(app.as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Whether `name` is a single, ordinary path component.
pub(crate) fn check_name(name: &str) -> Result<(), FileError> {
    let bad = name.is_empty()
        || name == "."
        || name == ".."
        || name.contains(['/', '\\', '\0'])
        || name.len() > 255;
    if bad {
        Err(FileError::InvalidName(name.to_string()))
    } else {
        Ok(())
    }
}
