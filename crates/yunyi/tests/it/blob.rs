//! The S3-compatible blob store against a real S3 protocol server: `s3s-fs` serves Amazon S3's
//! REST API over a folder and checks every request's Signature Version 4, so a wrong signature
//! is refused as MinIO or OSS would refuse it. (MinIO itself cannot be installed from the
//! registries this project builds from; docs/DEPLOY.md says what was tested against what.)

use std::net::SocketAddr;
use std::path::PathBuf;

use reqwest::StatusCode;
use yunyi::blob::s3::S3Credentials;
use yunyi::blob::{BlobStore, S3BlobStore, S3Location, key_of};
use yunyi::config::{BlobTarget, Secret};

use crate::helpers::{PW, TestApp, TestDb};

const ACCESS_KEY: &str = "yunyi-test";
const SECRET_KEY: &str = "s3cret-key-for-tests";
const BUCKET: &str = "hospital-blobs";

/// An S3 server on a loopback port, serving a temporary folder, until dropped.
struct S3Server {
    addr: SocketAddr,
    root: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl S3Server {
    async fn start() -> Self {
        let root = tempfile::tempdir().unwrap();
        // A bucket is a folder of the server's root.
        std::fs::create_dir(root.path().join(BUCKET)).unwrap();
        let service = {
            let fs = s3s_fs::FileSystem::new(root.path()).unwrap();
            let mut builder = s3s::service::S3ServiceBuilder::new(fs);
            builder.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
            builder.build()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let http =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            while let Ok((socket, _)) = listener.accept().await {
                let conn = http
                    .serve_connection(hyper_util::rt::TokioIo::new(socket), service.clone())
                    .into_owned();
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
        });
        Self { addr, root, task }
    }

    fn location(&self, prefix: &str) -> S3Location {
        S3Location::parse(&format!("s3+http://{}/{BUCKET}/{prefix}", self.addr)).unwrap()
    }

    /// Where the server keeps an object, to look at or tamper with it behind the store's back.
    fn object_path(&self, prefix: &str, key: &str) -> PathBuf {
        self.root.path().join(BUCKET).join(prefix).join(key)
    }
}

fn credentials(secret: &str) -> S3Credentials {
    S3Credentials {
        access_key_id: ACCESS_KEY.to_owned(),
        secret_access_key: Secret(secret.to_owned()),
    }
}

#[tokio::test]
async fn blobs_round_trip_through_an_s3_server_with_signed_requests() {
    let server = S3Server::start().await;
    let store = S3BlobStore::new(server.location("yunyi/blobs"), credentials(SECRET_KEY)).unwrap();
    let bytes = b"a chest X-ray, as far as this test knows".to_vec();
    let key = store.put(&bytes).await.unwrap();
    assert_eq!(key, key_of(&bytes));
    // Under the prefix, named by its hash.
    let on_disk = server.object_path("yunyi/blobs", &key);
    assert_eq!(std::fs::read(&on_disk).unwrap(), bytes);
    // The same content again: the same key, nothing new.
    assert_eq!(store.put(&bytes).await.unwrap(), key);
    assert_eq!(store.get(&key).await.unwrap(), Some(bytes.clone()));
    // Missing, and not a key at all (never sent to the store).
    assert_eq!(store.get(&key_of(b"never stored")).await.unwrap(), None);
    assert_eq!(store.get("../../etc/passwd").await.unwrap(), None);
    // A large blob (a CT series is many of these).
    let large: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let large_key = store.put(&large).await.unwrap();
    assert_eq!(store.get(&large_key).await.unwrap(), Some(large.clone()));
    // Parts of it, as a lecture is played from the middle: only the part, and the length.
    let part = store
        .get_range(&large_key, 1_000_000, 1_000_009)
        .await
        .unwrap();
    assert_eq!(
        part,
        Some((large[1_000_000..1_000_010].to_vec(), 3_000_000))
    );
    let tail = store
        .get_range(&large_key, 2_999_990, 9_999_999)
        .await
        .unwrap();
    assert_eq!(
        tail,
        Some((large[2_999_990..].to_vec(), 3_000_000)),
        "the end is clamped"
    );
    let past = store
        .get_range(&large_key, 3_000_000, 3_000_100)
        .await
        .unwrap();
    assert_eq!(
        past,
        Some((Vec::new(), 3_000_000)),
        "past the end: nothing, and the length"
    );
    assert_eq!(
        store
            .get_range(&key_of(b"never stored"), 0, 9)
            .await
            .unwrap(),
        None
    );

    // Changed behind Yunyi's back: an error, not the wrong bytes.
    std::fs::write(&on_disk, b"tampered").unwrap();
    let err = store.get(&key).await.unwrap_err();
    assert!(err.to_string().contains("corrupt"), "{err:#}");

    // A wrong secret: the server checks the signature and refuses, and the error says so.
    let wrong = S3BlobStore::new(
        server.location("yunyi/blobs"),
        credentials("not-the-secret"),
    )
    .unwrap();
    let err = wrong.get(&large_key).await.unwrap_err();
    assert!(err.to_string().contains("403"), "{err:#}");
    let err = wrong.put(b"anything").await.unwrap_err();
    assert!(err.to_string().contains("403"), "{err:#}");

    // No server at all: a clear error naming the URL, not a hang.
    let nobody = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed = nobody.local_addr().unwrap();
    drop(nobody);
    let location = S3Location::parse(&format!("s3+http://{closed}/{BUCKET}")).unwrap();
    let unreachable = S3BlobStore::new(location, credentials(SECRET_KEY)).unwrap();
    let err = unreachable.get(&key).await.unwrap_err();
    assert!(
        format!("{err:#}").contains("did not answer")
            && err.to_string().contains(&closed.to_string()),
        "{err:#}"
    );
}

/// The application with `blob_url` set keeps uploads in the object store, not in the data
/// directory: a doctor's photo goes in through the API and comes back through the page.
#[tokio::test]
async fn the_application_keeps_uploads_in_the_object_store() {
    let server = S3Server::start().await;
    let location = server.location("");
    let test_db = TestDb::with_demo().await;
    let app = TestApp::spawn_with(
        test_db,
        |config| {
            config.blobs = BlobTarget::S3 {
                location,
                credentials: credentials(SECRET_KEY),
            };
        },
        yunyi::app::job_registry(),
    )
    .await;
    let doctor = yunyi::identity::store::account_by_username(&app.db, "doctor1")
        .await
        .unwrap()
        .unwrap()
        .id;
    let token = app.token("doctor1", PW).await;
    let png = crate::practice::PIXEL_PNG.to_vec();
    let status = app
        .client
        .put(app.url(&format!("/api/v1/doctors/{doctor}/photo")))
        .bearer_auth(token)
        .header("content-type", "image/png")
        .body(png.clone())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::NO_CONTENT);
    let key = key_of(&png);
    assert!(server.object_path("", &key).exists());
    let local = yunyi::blob::LocalBlobStore::new(app.test_db.data_dir().join("blobs"))
        .path_for(&key)
        .unwrap();
    assert!(!local.exists(), "not in the local blob folder");
    let r = app.get(&format!("/doctors/{doctor}/photo")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.bytes().await.unwrap().as_ref(), png.as_slice());
    app.stop().await;
}
