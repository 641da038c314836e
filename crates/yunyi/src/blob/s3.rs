//! The blob store in an S3-compatible object store, for several nodes that share no disk:
//! MinIO or Ceph RGW inside a hospital's network, Aliyun OSS or AWS S3 outside it.
//!
//! Objects are named `PREFIX/KEY` in one bucket, path-style (`http://host/bucket/key`, which
//! every S3-compatible store serves), with requests signed by AWS Signature Version 4
//! (`sigv4.rs`). Blobs stay content-addressed as in the local store: a `put` of bytes already
//! stored sends a HEAD and no body, and a `get` checks the bytes against their key, so an
//! object changed behind Yunyi's back is an error, not a wrong image.

use std::time::Duration;

use anyhow::{Context as _, bail};
use sha2::{Digest, Sha256};

use super::sigv4::{self, EMPTY_SHA256};
use super::{BlobStore, Part, is_key, key_of};
use crate::config::Secret;
use crate::jobs::BoxFuture;

/// Where the blobs are: parsed from `blob_url` (`s3+https://host/bucket/prefix?region=…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// `http` or `https`.
    pub scheme: String,
    /// `host` or `host:port`.
    pub host: String,
    pub bucket: String,
    /// Folder inside the bucket, without slashes at either end; may be empty.
    pub prefix: String,
    pub region: String,
}

/// Region sent when the URL names none: MinIO's and Ceph's default.
pub const DEFAULT_REGION: &str = "us-east-1";

impl S3Location {
    /// Parses `s3+http://host:port/bucket[/prefix][?region=…]` or the same with `s3+https`.
    /// The error says what is wrong in words an operator can act on.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let example = "use e.g. s3+https://oss-cn-hangzhou.aliyuncs.com/yunyi-blobs?region=cn-hangzhou \
                       or s3+http://127.0.0.1:9000/yunyi";
        let (scheme, rest) = if let Some(rest) = raw.strip_prefix("s3+https://") {
            ("https", rest)
        } else if let Some(rest) = raw.strip_prefix("s3+http://") {
            ("http", rest)
        } else {
            return Err(format!(
                "must start with s3+https:// or s3+http://; {example}"
            ));
        };
        let url = url::Url::parse(&format!("{scheme}://{rest}"))
            .map_err(|e| format!("cannot be parsed ({e}); {example}"))?;
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) if !h.is_empty() => format!("{h}:{p}"),
            (Some(h), None) if !h.is_empty() => h.to_owned(),
            _ => return Err(format!("names no host; {example}")),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(
                "must not carry credentials: set YUNYI_S3_ACCESS_KEY_ID and YUNYI_S3_SECRET_ACCESS_KEY"
                    .to_owned(),
            );
        }
        let mut segments = url.path().split('/').filter(|s| !s.is_empty());
        let bucket = segments
            .next()
            .ok_or_else(|| format!("names no bucket; {example}"))?
            .to_owned();
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !valid_bucket {
            return Err(format!(
                "bucket '{bucket}' is not a valid bucket name (3 to 63 lower-case letters, digits, '-' or '.')"
            ));
        }
        let prefix = segments.collect::<Vec<_>>().join("/");
        let mut region = DEFAULT_REGION.to_owned();
        for (name, value) in url.query_pairs() {
            match name.as_ref() {
                "region" if !value.is_empty() => region = value.into_owned(),
                other => return Err(format!("has an unknown parameter '{other}'; {example}")),
            }
        }
        Ok(Self {
            scheme: scheme.to_owned(),
            host,
            bucket,
            prefix,
            region,
        })
    }
}

/// The key pair of the account that may read and write the bucket.
#[derive(Debug, Clone)]
pub struct S3Credentials {
    pub access_key_id: String,
    pub secret_access_key: Secret,
}

#[derive(Debug, Clone)]
pub struct S3BlobStore {
    location: S3Location,
    credentials: S3Credentials,
    client: reqwest::Client,
}

impl S3BlobStore {
    pub fn new(location: S3Location, credentials: S3Credentials) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            .build()
            .context("building the S3 client")?;
        Ok(Self {
            location,
            credentials,
            client,
        })
    }

    /// Sends one signed request for the object under `key`.
    async fn send(
        &self,
        method: reqwest::Method,
        key: &str,
        body: Option<&[u8]>,
    ) -> anyhow::Result<reqwest::Response> {
        self.send_with(method, key, body, None).await
    }

    /// As [`Self::send`], with a `Range` header (left unsigned, as S3 allows: it changes
    /// which bytes come back, not who may read them).
    async fn send_with(
        &self,
        method: reqwest::Method,
        key: &str,
        body: Option<&[u8]>,
        range: Option<String>,
    ) -> anyhow::Result<reqwest::Response> {
        let l = &self.location;
        let path = sigv4::encode_path(&[&l.bucket, &l.prefix, key]);
        let payload_sha256 = match body {
            Some(bytes) => hex::encode(Sha256::digest(bytes)),
            None => EMPTY_SHA256.to_owned(),
        };
        let signed = sigv4::sign(
            &sigv4::Request {
                method: method.as_str(),
                host: &l.host,
                path: &path,
                headers: &[],
                payload_sha256: &payload_sha256,
            },
            &l.region,
            &self.credentials.access_key_id,
            &self.credentials.secret_access_key.0,
            chrono::Utc::now(),
        );
        let url = format!("{}://{}{path}", l.scheme, l.host);
        let mut request = self
            .client
            .request(method.clone(), &url)
            .header("x-amz-date", &signed.amz_date)
            .header("x-amz-content-sha256", &payload_sha256)
            .header(reqwest::header::AUTHORIZATION, &signed.authorization);
        if let Some(bytes) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .body(bytes.to_vec());
        }
        if let Some(range) = range {
            request = request.header(reqwest::header::RANGE, range);
        }
        request
            .send()
            .await
            .with_context(|| format!("{method} {url}: the object store did not answer"))
    }
}

/// An error for an answer the store should not have given, with the start of its body (S3
/// errors are short XML documents naming the problem, e.g. `SignatureDoesNotMatch`).
async fn unexpected(what: &str, key: &str, response: reqwest::Response) -> anyhow::Error {
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let body: String = body.chars().take(300).collect();
    anyhow::anyhow!("object store: {what} blob {key} answered {status}: {body}")
}

impl BlobStore for S3BlobStore {
    fn put<'a>(&'a self, bytes: &'a [u8]) -> BoxFuture<'a, anyhow::Result<String>> {
        Box::pin(async move {
            let key = key_of(bytes);
            // Content-addressed: bytes already there need not travel again.
            let head = self.send(reqwest::Method::HEAD, &key, None).await?;
            if head.status().is_success() {
                return Ok(key);
            }
            if head.status() != reqwest::StatusCode::NOT_FOUND {
                return Err(unexpected("checking", &key, head).await);
            }
            let put = self.send(reqwest::Method::PUT, &key, Some(bytes)).await?;
            if !put.status().is_success() {
                return Err(unexpected("storing", &key, put).await);
            }
            Ok(key)
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, anyhow::Result<Option<Vec<u8>>>> {
        Box::pin(async move {
            if !is_key(key) {
                return Ok(None);
            }
            let response = self.send(reqwest::Method::GET, key, None).await?;
            if response.status() == reqwest::StatusCode::NOT_FOUND {
                return Ok(None);
            }
            if !response.status().is_success() {
                return Err(unexpected("reading", key, response).await);
            }
            let bytes = response
                .bytes()
                .await
                .with_context(|| format!("reading blob {key} from the object store"))?;
            if key_of(&bytes) != key {
                bail!("blob {key} is corrupt: its content no longer matches its hash");
            }
            Ok(Some(bytes.to_vec()))
        })
    }

    /// One ranged GET: only the part travels (a lecture played from its middle reads that
    /// part, not the whole video). The whole length comes from `Content-Range`.
    fn get_range<'a>(
        &'a self,
        key: &'a str,
        start: u64,
        end: u64,
    ) -> BoxFuture<'a, anyhow::Result<Option<Part>>> {
        Box::pin(async move {
            if !is_key(key) {
                return Ok(None);
            }
            let range = format!("bytes={start}-{}", end.max(start));
            let response = self
                .send_with(reqwest::Method::GET, key, None, Some(range))
                .await?;
            let status = response.status();
            if status == reqwest::StatusCode::NOT_FOUND {
                return Ok(None);
            }
            let total = response
                .headers()
                .get(reqwest::header::CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(total_of);
            match (status, total) {
                // Past the end: nothing of it, and how long it is (S3 need not say in its
                // refusal: then a HEAD does).
                (reqwest::StatusCode::RANGE_NOT_SATISFIABLE, Some(total)) => {
                    Ok(Some((Vec::new(), total)))
                }
                (reqwest::StatusCode::RANGE_NOT_SATISFIABLE, None) => {
                    let head = self.send(reqwest::Method::HEAD, key, None).await?;
                    if head.status() == reqwest::StatusCode::NOT_FOUND {
                        return Ok(None);
                    }
                    let length = head
                        .headers()
                        .get(reqwest::header::CONTENT_LENGTH)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok());
                    match length {
                        Some(total) if head.status().is_success() => Ok(Some((Vec::new(), total))),
                        _ => Err(unexpected("measuring", key, head).await),
                    }
                }
                (reqwest::StatusCode::PARTIAL_CONTENT, Some(total)) => {
                    let bytes = response.bytes().await.with_context(|| {
                        format!("reading part of blob {key} from the object store")
                    })?;
                    Ok(Some((bytes.to_vec(), total)))
                }
                // A store that ignores ranges sends the whole blob: cut the part from it.
                (reqwest::StatusCode::OK, _) => {
                    let bytes = response
                        .bytes()
                        .await
                        .with_context(|| format!("reading blob {key} from the object store"))?;
                    Ok(Some(super::part_of(&bytes, start, end)))
                }
                _ => Err(unexpected("reading part of", key, response).await),
            }
        })
    }
}

/// The whole length in a `Content-Range` header: `bytes 0-99/1234` or `bytes */1234`.
fn total_of(header: &str) -> Option<u64> {
    header.rsplit_once('/')?.1.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_whole_length_from_a_content_range() {
        assert_eq!(total_of("bytes 0-99/1234"), Some(1234));
        assert_eq!(total_of("bytes */1234"), Some(1234));
        assert_eq!(total_of("bytes 0-99/*"), None);
        assert_eq!(total_of("nonsense"), None);
    }

    #[test]
    fn parses_blob_urls() {
        let l =
            S3Location::parse("s3+http://127.0.0.1:9000/yunyi").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            l,
            S3Location {
                scheme: "http".into(),
                host: "127.0.0.1:9000".into(),
                bucket: "yunyi".into(),
                prefix: String::new(),
                region: DEFAULT_REGION.into(),
            }
        );
        let l = S3Location::parse(
            "s3+https://oss-cn-hangzhou.aliyuncs.com/hospital-a/yunyi/blobs/?region=cn-hangzhou",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(l.scheme, "https");
        assert_eq!(l.host, "oss-cn-hangzhou.aliyuncs.com");
        assert_eq!(l.prefix, "yunyi/blobs");
        assert_eq!(l.region, "cn-hangzhou");
        for (bad, says) in [
            ("https://host/bucket", "s3+https://"),
            ("s3+http://", "empty host"),
            ("s3+http://host", "no bucket"),
            ("s3+http://host/Bucket_A", "not a valid bucket"),
            ("s3+http://key:secret@host/bucket", "YUNYI_S3_ACCESS_KEY_ID"),
            ("s3+http://host/bucket?zone=x", "unknown parameter 'zone'"),
        ] {
            let err = S3Location::parse(bad).err().unwrap_or_default();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
