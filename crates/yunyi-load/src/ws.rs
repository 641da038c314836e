//! What the WebSocket load programs share: opening a socket with a bearer token, the server's
//! resident memory, and latencies as they arrive.

use anyhow::Context as _;
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens `path` (e.g. `/api/v1/groups/1/ws?after=0`) on the server at `target` (http…) with
/// a bearer token.
pub async fn open(target: &str, path: &str, token: &str) -> anyhow::Result<Socket> {
    let base = target.trim_end_matches('/').replacen("http", "ws", 1);
    let mut request = format!("{base}{path}")
        .into_client_request()
        .context("WebSocket request")?;
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().context("token header")?,
    );
    let (socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .with_context(|| format!("opening {path}"))?;
    Ok(socket)
}

/// The resident memory of process `pid` (Linux), in KiB.
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS in /proc status")
}

/// What the listening sockets saw: latencies in microseconds, and how many arrived.
#[derive(Default)]
pub struct Seen {
    pub latencies_us: Mutex<Vec<u64>>,
    pub delivered: std::sync::atomic::AtomicU64,
}

impl Seen {
    pub async fn record(&self, latency_us: u64) {
        self.latencies_us.lock().await.push(latency_us);
        self.delivered
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}
