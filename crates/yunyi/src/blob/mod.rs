//! Large files (doctor photos, chat images, uploaded records; DICOM studies later) live in a
//! blob store behind [`BlobStore`], never in the database. The built-in store is a local folder
//! (`DATA_DIR/blobs`, this module); several nodes share either that folder on shared storage or
//! an S3-compatible object store ([`s3`]: MinIO, Ceph RGW, Aliyun OSS, AWS S3), chosen by the
//! `blob_url` setting.
//!
//! Blobs are content-addressed: the key is the SHA-256 of the bytes. Storing the same file
//! twice stores it once, a key can never point at other content, and a read verifies the
//! bytes against the key, so silent corruption on disk is an error rather than a wrong image.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use sha2::{Digest, Sha256};

use crate::jobs::BoxFuture;

pub mod s3;
mod sigv4;

pub use s3::{S3BlobStore, S3Location};

/// Some bytes of a blob, and the whole blob's length.
pub type Part = (Vec<u8>, u64);

pub trait BlobStore: Send + Sync + 'static {
    /// Stores the bytes; returns their key.
    fn put<'a>(&'a self, bytes: &'a [u8]) -> BoxFuture<'a, anyhow::Result<String>>;
    /// The bytes under `key`, or `None` when there is no such blob.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, anyhow::Result<Option<Vec<u8>>>>;
    /// Bytes `start..=end` of the blob (the end clamped to its last byte) and its whole length,
    /// or `None` when there is no such blob. For a video played from the middle: a part
    /// cannot be checked against the key, so this skips the verification `get` does.
    fn get_range<'a>(
        &'a self,
        key: &'a str,
        start: u64,
        end: u64,
    ) -> BoxFuture<'a, anyhow::Result<Option<Part>>> {
        Box::pin(async move {
            Ok(self
                .get(key)
                .await?
                .map(|bytes| part_of(&bytes, start, end)))
        })
    }
}

/// Bytes `start..=end` of a whole blob (the end clamped to its last byte), and its length.
pub fn part_of(bytes: &[u8], start: u64, end: u64) -> Part {
    let total = bytes.len() as u64;
    let from = usize::try_from(start.min(total)).unwrap_or(usize::MAX);
    let to = usize::try_from(end.saturating_add(1).min(total)).unwrap_or(usize::MAX);
    (
        bytes.get(from..to.max(from)).unwrap_or_default().to_vec(),
        total,
    )
}

pub fn key_of(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Whether `key` has the form of a blob key (64 hex digits): anything else is never looked up,
/// so a key cannot name a path or another object.
pub fn is_key(key: &str) -> bool {
    key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A folder of files named by their SHA-256, fanned out by the first two bytes of the hash.
#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    root: PathBuf,
}

impl LocalBlobStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Where the blob `key` lives in the folder (tests look there too).
    pub fn path_for(&self, key: &str) -> anyhow::Result<PathBuf> {
        if !is_key(key) {
            bail!("not a blob key");
        }
        Ok(self.root.join(&key[..2]).join(&key[2..4]).join(key))
    }
}

async fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().context("blob path has no folder")?;
    tokio::fs::create_dir_all(dir)
        .await
        .with_context(|| format!("creating {}", dir.display()))?;
    // Write to a unique temporary name, then rename: a reader never sees half a file, and two
    // writers of the same content cannot corrupt each other.
    let tmp = dir.join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
    tokio::fs::write(&tmp, bytes)
        .await
        .with_context(|| format!("writing {}", tmp.display()))?;
    let file = tokio::fs::File::open(&tmp).await?;
    file.sync_all().await?;
    tokio::fs::rename(&tmp, path)
        .await
        .with_context(|| format!("storing {}", path.display()))?;
    Ok(())
}

impl BlobStore for LocalBlobStore {
    fn put<'a>(&'a self, bytes: &'a [u8]) -> BoxFuture<'a, anyhow::Result<String>> {
        Box::pin(async move {
            let key = key_of(bytes);
            let path = self.path_for(&key)?;
            if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
                write_atomically(&path, bytes).await?;
            }
            Ok(key)
        })
    }

    /// Reads only the part asked for: a lecture's video is not read whole for each range.
    fn get_range<'a>(
        &'a self,
        key: &'a str,
        start: u64,
        end: u64,
    ) -> BoxFuture<'a, anyhow::Result<Option<Part>>> {
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        Box::pin(async move {
            let Ok(path) = self.path_for(key) else {
                return Ok(None);
            };
            let mut file = match tokio::fs::File::open(&path).await {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(e).with_context(|| format!("opening blob {key}")),
            };
            let total = file.metadata().await?.len();
            let from = start.min(total);
            let to = end.saturating_add(1).min(total).max(from);
            file.seek(std::io::SeekFrom::Start(from)).await?;
            let mut bytes = vec![0; (to - from) as usize];
            file.read_exact(&mut bytes)
                .await
                .with_context(|| format!("reading blob {key}"))?;
            Ok(Some((bytes, total)))
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, anyhow::Result<Option<Vec<u8>>>> {
        Box::pin(async move {
            let Ok(path) = self.path_for(key) else {
                return Ok(None);
            };
            match tokio::fs::read(&path).await {
                Ok(bytes) if key_of(&bytes) == key => Ok(Some(bytes)),
                Ok(_) => bail!("blob {key} is corrupt: its content no longer matches its hash"),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e).with_context(|| format!("reading blob {key}")),
            }
        })
    }
}

/// Image types accepted for photos, recognised by their first bytes, never by the name or the
/// `Content-Type` the client claims.
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else if bytes.len() >= 12
        && bytes.starts_with(b"RIFF")
        && bytes.get(8..12) == Some(b"WEBP".as_slice())
    {
        Some("image/webp")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stores_by_content_and_detects_corruption() {
        let dir =
            std::env::temp_dir().join(format!("yunyi-blobs-{}", uuid::Uuid::new_v4().simple()));
        let store = LocalBlobStore::new(&dir);
        let key = store.put(b"hello").await.unwrap_or_default();
        assert_eq!(key, key_of(b"hello"));
        assert_eq!(
            store.put(b"hello").await.ok(),
            Some(key.clone()),
            "same content, same key"
        );
        assert_eq!(
            store.get(&key).await.ok().flatten(),
            Some(b"hello".to_vec())
        );
        assert_eq!(store.get(&key_of(b"other")).await.ok().flatten(), None);
        assert_eq!(
            store.get("../../etc/passwd").await.ok().flatten(),
            None,
            "keys are hashes, never paths"
        );
        let path = store.path_for(&key).unwrap_or_default();
        std::fs::write(&path, b"tampered").ok();
        assert!(store.get(&key).await.is_err());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn images_are_recognised_by_their_bytes() {
        assert_eq!(sniff_image(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(
            sniff_image(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0]),
            Some("image/png")
        );
        assert_eq!(sniff_image(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_image(b"<svg onload=alert(1)>"), None);
        assert_eq!(sniff_image(b"GIF89a"), None);
    }
}
