//! The data directory's disk fills up (`scripts/faults disk`, against a node whose data
//! directory is on a small file system). A patient uploads diagnosis records (a file in the
//! blob store and a row in the database) and signs in (a session row) before, while and after
//! the disk is full: while it is full every such write either works (SQLite may still have
//! room in its write-ahead log) or answers 503 `storage-full` — never a 500, never a hang —
//! public reads go on (reads of patient data need their audit event written, so they may be
//! refused the same way), and once the space is back the writes work again. The script then
//! checks the audit chain.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use rand::RngCore as _;

use crate::client::Api;

#[derive(clap::Args, Debug, Clone)]
pub struct Options {
    /// The server, started with `yunyi demo` on a data directory of a small file system.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    target: String,
    /// A file to create on that file system until it is full (removed afterwards).
    #[arg(long)]
    fill: PathBuf,
    /// The demo patient who uploads.
    #[arg(long, default_value = "patient1")]
    patient: String,
    #[arg(long, default_value = "yunyi-demo", env = "YUNYI_LOAD_PASSWORD")]
    password: String,
}

/// A PDF-looking record of `size` random bytes (records are stored as sent; a PDF is not
/// re-encoded), different every time so the blob store must write it.
fn record(size: usize) -> Vec<u8> {
    let mut bytes = b"%PDF-1.4\n".to_vec();
    let mut noise = vec![0u8; size];
    rand::rng().fill_bytes(&mut noise);
    bytes.extend_from_slice(&noise);
    bytes
}

const RECORD_PATH: &str = "/api/v1/prior-records?kind=outpatient_record&hospital_name=%E5%8E%BF%E4%BA%BA%E6%B0%91%E5%8C%BB%E9%99%A2&diagnosed_on=2026-11-02&condition=%E9%AB%98%E8%A1%80%E5%8E%8B";

/// One upload: its status and the error code when there is one.
async fn upload(api: &Api, token: &str) -> anyhow::Result<(u16, String)> {
    let reply = api
        .send_bytes(
            reqwest::Method::POST,
            token,
            RECORD_PATH,
            "application/pdf",
            record(256 * 1024),
        )
        .await?;
    Ok((
        reply.status,
        reply.body["code"].as_str().unwrap_or_default().to_owned(),
    ))
}

/// Fills the file system holding `path` by writing to it until the disk refuses; returns how
/// many bytes that took.
fn fill(path: &PathBuf) -> anyhow::Result<u64> {
    let mut file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let chunk = vec![0u8; 1 << 20];
    let mut written = 0u64;
    loop {
        match file.write(&chunk) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
            Err(e) => return Err(e).context("filling the disk"),
        }
    }
    // Whatever is left below a chunk, byte by byte in small writes.
    let small = vec![0u8; 4096];
    while let Ok(n) = file.write(&small) {
        if n == 0 {
            break;
        }
        written += n as u64;
    }
    let _ = file.flush();
    Ok(written)
}

pub async fn run(o: Options) -> anyhow::Result<bool> {
    let api = Api::new(&o.target, 4)?;
    let token = api.token(&o.patient, &o.password).await?;
    let (status, _) = upload(&api, &token).await?;
    if status != 201 {
        bail!("uploading a record before the disk is full: {status}");
    }
    println!("before: a record uploads (201)");

    let filled = fill(&o.fill)?;
    println!(
        "disk filled: {} MiB written until the file system refused",
        filled >> 20
    );
    let mut refused = 0;
    let mut worked = 0;
    let mut other = Vec::new();
    for _ in 0..5 {
        match upload(&api, &token).await? {
            (201, _) => worked += 1,
            (503, code) if code == "storage-full" => refused += 1,
            (status, code) => other.push(format!("{status} {code}")),
        }
    }
    let mut sign_ins = (0, 0);
    for _ in 0..5 {
        match api.token(&o.patient, &o.password).await {
            Ok(_) => sign_ins.0 += 1,
            Err(e) if e.to_string().contains("503") => sign_ins.1 += 1,
            Err(e) => other.push(format!("sign-in: {e}")),
        }
    }
    // Reading one's own record writes its audit event: with no room for that, the read is
    // refused (503) rather than done unaudited. A public read writes nothing.
    let me = api.get(Some(&token), "/api/v1/me").await?;
    let read = me.status;
    if !(read == 200 || (read == 503 && me.body["code"] == "storage-full")) {
        other.push(format!("reading /api/v1/me: {read} {}", me.body["code"]));
    }
    let hospitals = api.get(None, "/api/v1/hospitals").await?.status;
    println!(
        "while full: uploads {refused} refused with 503 storage-full, {worked} stored; \
         sign-ins {} worked, {} refused with 503; reads answer {read} and {hospitals}",
        sign_ins.0, sign_ins.1
    );

    std::fs::remove_file(&o.fill).with_context(|| format!("removing {}", o.fill.display()))?;
    let (after, _) = upload(&api, &token).await?;
    let signed_in = api.token(&o.patient, &o.password).await.is_ok();
    println!("space back: a record uploads ({after}); sign-in works: {signed_in}");

    let mut failures = Vec::new();
    if !other.is_empty() {
        failures.push(format!(
            "answers other than success or 503 storage-full while the disk was full: {other:?}"
        ));
    }
    if refused == 0 {
        failures.push("no upload was refused although the disk was full".to_owned());
    }
    if hospitals != 200 {
        failures.push(format!(
            "a public read answered {hospitals} while the disk was full"
        ));
    }
    if after != 201 || !signed_in {
        failures.push("writes did not work again once the space was back".to_owned());
    }
    for f in &failures {
        eprintln!("error: {f}");
    }
    Ok(failures.is_empty())
}
