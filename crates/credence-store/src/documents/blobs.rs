//! [`BlobStore`] adapters: the `blobs` table of the store's database, and a directory
//! ([`FsBlobStore`]).

use std::io::Write as _;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use credence_domain::documents::BlobKey;
use credence_domain::ports::{BlobStore, StoreError};
use diesel::prelude::*;

use crate::Store;
use crate::customers::to_db_time;
use crate::database::AnyConnection;
use crate::error::Failure;
use crate::schema::blobs;

/// The database [`BlobStore`] (see [`Store::blobs`]): one row per key, committed (so as
/// durable as the database's other writes) when `put` returns.
#[derive(Debug, Clone)]
pub(crate) struct DatabaseBlobs {
    store: Store,
}

impl Store {
    /// Bytes kept in this store's database (table `blobs`).
    #[must_use]
    pub fn blobs(&self) -> Arc<dyn BlobStore> {
        Arc::new(DatabaseBlobs {
            store: self.clone(),
        })
    }
}

/// Inserts or replaces a key's bytes in one statement (`ON CONFLICT` is not in the common
/// subset, so each arm runs on its own connection type; the statement is the same).
fn upsert(
    conn: &mut AnyConnection,
    key: &str,
    bytes: &[u8],
    now: chrono::NaiveDateTime,
) -> Result<(), Failure> {
    let row = (
        blobs::key.eq(key),
        blobs::bytes.eq(bytes),
        blobs::created_at.eq(now),
    );
    let changes = (blobs::bytes.eq(bytes), blobs::created_at.eq(now));
    match conn {
        AnyConnection::Sqlite(c) => diesel::insert_into(blobs::table)
            .values(row)
            .on_conflict(blobs::key)
            .do_update()
            .set(changes)
            .execute(c)?,
        AnyConnection::Postgresql(c) => diesel::insert_into(blobs::table)
            .values(row)
            .on_conflict(blobs::key)
            .do_update()
            .set(changes)
            .execute(c)?,
    };
    Ok(())
}

#[async_trait]
impl BlobStore for DatabaseBlobs {
    async fn put(&self, key: &BlobKey, bytes: &[u8]) -> Result<(), StoreError> {
        let key = key.as_str().to_owned();
        let bytes = bytes.to_vec();
        let now = self.store.db_now();
        Ok(self
            .store
            .database()
            .write(move |conn| upsert(conn, &key, &bytes, now))
            .await?)
    }

    async fn get(&self, key: &BlobKey) -> Result<Option<Vec<u8>>, StoreError> {
        let key = key.as_str().to_owned();
        Ok(self
            .store
            .database()
            .read(move |conn| {
                Ok(blobs::table
                    .find(key)
                    .select(blobs::bytes)
                    .first::<Vec<u8>>(conn)
                    .optional()?)
            })
            .await?)
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), StoreError> {
        let key = key.as_str().to_owned();
        Ok(self
            .store
            .database()
            .write(move |conn| {
                diesel::delete(blobs::table.find(&key)).execute(conn)?;
                Ok(())
            })
            .await?)
    }

    async fn list<'a>(
        &self,
        after: Option<&'a BlobKey>,
        written_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<BlobKey>, StoreError> {
        // Keys are never empty, so "after the empty string" is "from the first key".
        let after = after.map_or_else(String::new, |k| k.as_str().to_owned());
        // Whole seconds, like `created_at`; truncating only makes the cut-off earlier.
        let written_before = to_db_time(written_before);
        Ok(self
            .store
            .database()
            .read(move |conn| {
                Ok(blobs::table
                    .filter(blobs::key.gt(after))
                    .filter(blobs::created_at.lt(written_before))
                    .order(blobs::key)
                    .limit(i64::from(limit))
                    .select(blobs::key)
                    .load::<String>(conn)?
                    .into_iter()
                    .map(BlobKey::from_trusted)
                    .collect())
            })
            .await?)
    }
}

/// A [`BlobStore`] in a directory: each key is a file under `root` (keys are relative paths,
/// see [`BlobKey`]). `put` writes a temporary file in the target's directory, syncs it and
/// renames it over the target, then syncs the directory, so a crash leaves the old bytes or
/// the new ones under a key, never part of them.
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
}

impl FsBlobStore {
    /// A store under `root` (created on the first `put`).
    #[must_use]
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The file of a key; keys that would leave `root` are refused.
    fn path(&self, key: &BlobKey) -> std::io::Result<PathBuf> {
        let relative = Path::new(key.as_str());
        let safe = !key.as_str().is_empty()
            && !key.as_str().contains('\\')
            && relative
                .components()
                .all(|c| matches!(c, Component::Normal(_)));
        if safe {
            Ok(self.root.join(relative))
        } else {
            Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("unsafe blob key {:?}", key.as_str()),
            ))
        }
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map_or_else(|| "blob".into(), |n| n.to_string_lossy().into_owned());
    let temp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let written = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written?;
    // The rename itself is durable once the directory is.
    std::fs::File::open(dir)?.sync_all()
}

/// Whether a file name is one of `write_atomically`'s temporary files (`.{name}.{id}.tmp`),
/// never a key: no key has a part starting with a dot.
fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp")
}

/// Every stored key under `root` (none when it does not exist yet) whose file was last
/// written before `written_before`, in no particular order.
fn keys_written_before(root: &Path, written_before: SystemTime) -> std::io::Result<Vec<String>> {
    let mut keys = Vec::new();
    let mut dirs = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = dirs.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            // Names that are not UTF-8 were not written by this adapter.
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let key = format!("{prefix}{name}");
            let kind = entry.file_type()?;
            if kind.is_dir() {
                dirs.push((entry.path(), format!("{key}/")));
            } else if kind.is_file()
                && !is_temporary(&name)
                && entry.metadata()?.modified()? < written_before
            {
                keys.push(key);
            }
        }
    }
    Ok(keys)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Unexpected(Box::new(e)))?
        .map_err(|e| StoreError::Unexpected(Box::new(e)))
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn put(&self, key: &BlobKey, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self
            .path(key)
            .map_err(|e| StoreError::Unexpected(Box::new(e)))?;
        let bytes = bytes.to_vec();
        blocking(move || write_atomically(&path, &bytes)).await
    }

    async fn get(&self, key: &BlobKey) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self
            .path(key)
            .map_err(|e| StoreError::Unexpected(Box::new(e)))?;
        blocking(move || match std::fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        })
        .await
    }

    async fn delete(&self, key: &BlobKey) -> Result<(), StoreError> {
        let path = self
            .path(key)
            .map_err(|e| StoreError::Unexpected(Box::new(e)))?;
        blocking(move || match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        })
        .await
    }

    /// Walks the whole directory and sorts the names in memory on every call: fine for the
    /// sweep's one page per tick over the number of files a directory store holds.
    async fn list<'a>(
        &self,
        after: Option<&'a BlobKey>,
        written_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<BlobKey>, StoreError> {
        let root = self.root.clone();
        let after = after.map(|k| k.as_str().to_owned());
        let written_before = SystemTime::from(written_before);
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        blocking(move || {
            let mut keys = keys_written_before(&root, written_before)?;
            keys.sort_unstable();
            Ok(keys
                .into_iter()
                .filter(|k| after.as_ref().is_none_or(|a| k > a))
                .take(limit)
                .map(BlobKey::from_trusted)
                .collect())
        })
        .await
    }
}
