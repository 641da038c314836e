//! AWS Signature Version 4, the request signing every S3-compatible store accepts (AWS S3,
//! MinIO, Ceph RGW, Aliyun OSS in its S3 mode). Pure: the caller gives the time.
//!
//! <https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html>

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// SHA-256 of an empty payload, sent with GET and HEAD.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// What one request is, as far as the signature is concerned.
pub struct Request<'a> {
    pub method: &'a str,
    /// `host` or `host:port` as the Host header carries it.
    pub host: &'a str,
    /// The path, already URI-encoded segment by segment (see [`encode_path`]).
    pub path: &'a str,
    /// Headers besides host, x-amz-date and x-amz-content-sha256 that are to be signed.
    pub headers: &'a [(&'a str, &'a str)],
    /// Hex SHA-256 of the body.
    pub payload_sha256: &'a str,
}

/// The headers a signed request must carry.
pub struct Signed {
    pub authorization: String,
    pub amz_date: String,
}

/// Signs `req` for S3 in `region` with the given key pair at time `now`.
pub fn sign(
    req: &Request<'_>,
    region: &str,
    access_key_id: &str,
    secret_access_key: &str,
    now: DateTime<Utc>,
) -> Signed {
    let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
    let day = now.format("%Y%m%d").to_string();
    let mut headers: Vec<(String, String)> = vec![
        ("host".to_owned(), req.host.trim().to_owned()),
        (
            "x-amz-content-sha256".to_owned(),
            req.payload_sha256.to_owned(),
        ),
        ("x-amz-date".to_owned(), amz_date.clone()),
    ];
    headers.extend(
        req.headers
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_owned())),
    );
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let signed_headers = headers
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(";");
    // No query strings: the blob store never sends one.
    let canonical_request = format!(
        "{}\n{}\n\n{canonical_headers}\n{signed_headers}\n{}",
        req.method, req.path, req.payload_sha256
    );
    let scope = format!("{day}/{region}/s3/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let mut key = hmac(
        format!("AWS4{secret_access_key}").as_bytes(),
        day.as_bytes(),
    );
    for part in [region, "s3", "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let signature = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    Signed {
        authorization: format!(
            "AWS4-HMAC-SHA256 Credential={access_key_id}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"
        ),
        amz_date,
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    match <HmacSha256 as Mac>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// A path with every segment URI-encoded as SigV4 requires (RFC 3986 unreserved characters
/// kept, everything else `%XX`), the slashes between segments kept.
pub fn encode_path(segments: &[&str]) -> String {
    let mut out = String::new();
    for segment in segments {
        for part in segment.split('/').filter(|p| !p.is_empty()) {
            out.push('/');
            for b in part.bytes() {
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                    out.push(b as char);
                } else {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of AWS's documentation: GET /test.txt with a Range header, bucket
    /// examplebucket, us-east-1, 2013-05-24, the documentation's example key pair.
    #[test]
    fn signs_the_documented_example() {
        let now = chrono::NaiveDate::from_ymd_opt(2013, 5, 24)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc())
            .unwrap_or_default();
        let signed = sign(
            &Request {
                method: "GET",
                host: "examplebucket.s3.amazonaws.com",
                path: "/test.txt",
                headers: &[("Range", "bytes=0-9")],
                payload_sha256: EMPTY_SHA256,
            },
            "us-east-1",
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            now,
        );
        assert_eq!(signed.amz_date, "20130524T000000Z");
        assert_eq!(
            signed.authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn encodes_path_segments() {
        assert_eq!(encode_path(&["bucket", "a b/ç"]), "/bucket/a%20b/%C3%A7");
        assert_eq!(encode_path(&["b", "", "k"]), "/b/k");
    }
}
