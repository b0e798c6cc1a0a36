//! Files in PostgreSQL (the distributed stack's default): one row per file in
//! `<root>.files(app, name, data)`, so every process of the stack serves every file without a
//! shared volume.

use async_trait::async_trait;
use bytes::Bytes;
use sqlx::PgPool;

use crate::{check_name, FileError, FileStore};

pub struct PgFileStore {
    pool: PgPool,
    table: String,
}

impl PgFileStore {
    /// Uses `pool` and keeps files in `<root>.files`, created if missing. `root` is the read
    /// model's root schema, already checked to be a plain lowercase name.
    pub async fn connect(pool: PgPool, root: &str) -> Result<PgFileStore, FileError> {
        let table = format!("\"{root}\".files");
        let mut tx = pool.begin().await?;
        // Processes starting together would race on the catalog; the read model's migration
        // lock makes them take turns.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('chronicle.migrate'))")
            .execute(&mut *tx)
            .await?;
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS \"{root}\""))
            .execute(&mut *tx)
            .await?;
        sqlx::query(&format!(
            "CREATE TABLE IF NOT EXISTS {table} (app text NOT NULL, name text NOT NULL, \
             data bytea NOT NULL, PRIMARY KEY (app, name))"
        ))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(PgFileStore { pool, table })
    }
}

#[async_trait]
impl FileStore for PgFileStore {
    async fn put(&self, app: &str, name: &str, data: Bytes) -> Result<(), FileError> {
        check_name(name)?;
        sqlx::query(&format!(
            "INSERT INTO {} (app, name, data) VALUES ($1, $2, $3) \
             ON CONFLICT (app, name) DO UPDATE SET data = EXCLUDED.data",
            self.table
        ))
        .bind(app)
        .bind(name)
        .bind(data.as_ref())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn get(&self, app: &str, name: &str) -> Result<Option<Bytes>, FileError> {
        check_name(name)?;
        let data: Option<Vec<u8>> = sqlx::query_scalar(&format!(
            "SELECT data FROM {} WHERE app = $1 AND name = $2",
            self.table
        ))
        .bind(app)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(data.map(Bytes::from))
    }

    async fn delete(&self, app: &str, name: &str) -> Result<bool, FileError> {
        check_name(name)?;
        let done = sqlx::query(&format!(
            "DELETE FROM {} WHERE app = $1 AND name = $2",
            self.table
        ))
        .bind(app)
        .bind(name)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}
