//! Files on a local directory (the embedded stack's default, or a shared volume):
//! `<root>/<app key>/<name>`, written to a temporary file, synced and renamed into place, so a
//! crash never leaves half a file under a served name.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;
use tokio::io::AsyncWriteExt;

use crate::{app_key, check_name, FileError, FileStore};

pub struct DiskFileStore {
    root: PathBuf,
}

impl DiskFileStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DiskFileStore { root: root.into() }
    }

    fn path(&self, app: &str, name: &str) -> Result<PathBuf, FileError> {
        check_name(name)?;
        Ok(self.root.join(app_key(app)).join(name))
    }
}

async fn sync_dir(dir: &Path) -> Result<(), FileError> {
    // Directories cannot be opened for syncing on every platform; where they can, the rename
    // is only durable once the directory is synced.
    if let Ok(d) = tokio::fs::File::open(dir).await {
        d.sync_all().await.ok();
    }
    Ok(())
}

#[async_trait]
impl FileStore for DiskFileStore {
    async fn put(&self, app: &str, name: &str, data: Bytes) -> Result<(), FileError> {
        let path = self.path(app, name)?;
        let dir = path
            .parent()
            .ok_or_else(|| FileError::InvalidName(name.to_string()))?;
        tokio::fs::create_dir_all(dir).await?;
        let tmp = dir.join(format!(".upload-{}", uuid::Uuid::new_v4().simple()));
        let written = async {
            let mut f = tokio::fs::File::create(&tmp).await?;
            f.write_all(&data).await?;
            f.sync_all().await?;
            tokio::fs::rename(&tmp, &path).await
        }
        .await;
        if let Err(e) = written {
            tokio::fs::remove_file(&tmp).await.ok();
            return Err(e.into());
        }
        sync_dir(dir).await
    }

    async fn get(&self, app: &str, name: &str) -> Result<Option<Bytes>, FileError> {
        match tokio::fs::read(self.path(app, name)?).await {
            Ok(bytes) => Ok(Some(Bytes::from(bytes))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn delete(&self, app: &str, name: &str) -> Result<bool, FileError> {
        let path = self.path(app, name)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {
                if let Some(dir) = path.parent() {
                    sync_dir(dir).await?;
                }
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn round_trip_and_guards() {
        let dir = tempfile::tempdir().unwrap();
        let store = DiskFileStore::new(dir.path());
        let data = Bytes::from((0..=255u8).collect::<Vec<u8>>());
        store.put("app", "a_b.bin", data.clone()).await.unwrap();
        assert_eq!(store.get("app", "a_b.bin").await.unwrap(), Some(data));
        assert_eq!(store.get("other", "a_b.bin").await.unwrap(), None);
        assert!(store.delete("app", "a_b.bin").await.unwrap());
        assert!(!store.delete("app", "a_b.bin").await.unwrap());
        assert_eq!(store.get("app", "a_b.bin").await.unwrap(), None);
        for bad in ["../x", "..", "a/b", "a\\b", ""] {
            assert!(matches!(
                store.put("app", bad, Bytes::new()).await,
                Err(FileError::InvalidName(_))
            ));
        }
    }
}
