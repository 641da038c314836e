//! `group-chat`: K open WebSockets on the demo's patient group (its members' sockets, several
//! per account: the demo group has four members besides its host), then P messages a second
//! from the host for S seconds, each timed from the send to its arrival on *every* listening
//! socket — the fan-out of one message to K online members.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::SinkExt;
use futures_util::stream::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::client::{Api, expect};
use crate::ws::Seen;

#[derive(clap::Args)]
pub struct Options {
    /// The server, run with `yunyi demo` (its hypertension group and members are used).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    target: String,
    /// Listening WebSocket connections (online members).
    #[arg(long, default_value_t = 500)]
    connections: usize,
    /// Messages a second from the host.
    #[arg(long, default_value_t = 10)]
    rate: u64,
    /// Seconds of sending.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// The server's process id, to read its resident memory (Linux) with the sockets open.
    #[arg(long)]
    server_pid: Option<u32>,
    /// The host, who sends (staff messages are not screened, so numbers pass as they are).
    #[arg(long, default_value = "doctor4")]
    host: String,
    /// The members whose sockets listen, in turn.
    #[arg(
        long,
        default_value = "patient1,patient2,patient3,nurse1",
        value_delimiter = ','
    )]
    members: Vec<String>,
    #[arg(long, default_value = "yunyi-demo", env = "YUNYI_LOAD_PASSWORD")]
    password: String,
}

pub async fn run(o: Options) -> anyhow::Result<bool> {
    if o.connections == 0 || o.rate == 0 || o.duration == 0 || o.members.is_empty() {
        bail!("--connections, --rate and --duration must be at least 1, with one member");
    }
    let api = Api::new(&o.target, 16)?;
    let host = api.token(&o.host, &o.password).await?;
    let groups = expect(
        api.get(Some(&host), "/api/v1/groups").await?,
        200,
        "the groups",
    )?;
    let group = groups["items"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["my_role"] == "host"))
        .and_then(|g| g["id"].as_i64())
        .context("the host leads no group; run the server with `yunyi demo`")?;
    let mut tokens = Vec::new();
    for m in &o.members {
        tokens.push(api.token(m, &o.password).await?);
    }
    // Listen from the group's current last message on.
    let latest = expect(
        api.get(Some(&host), &format!("/api/v1/groups/{group}/messages"))
            .await?,
        200,
        "the group's messages",
    )?;
    let after = latest["items"]
        .as_array()
        .and_then(|m| m.last())
        .and_then(|m| m["seq"].as_i64())
        .unwrap_or(0);

    let before = o.server_pid.map(crate::ws::rss_kib).transpose()?;
    let clock = Instant::now();
    let seen = Arc::new(Seen::default());
    let opened = Instant::now();
    let mut keep = Vec::with_capacity(o.connections);
    for n in 0..o.connections {
        let token = &tokens[n % tokens.len()];
        let path = format!("/api/v1/groups/{group}/ws?after={after}");
        let socket = crate::ws::open(&o.target, &path, token)
            .await
            .with_context(|| format!("opening WebSocket {} of {}", n + 1, o.connections))?;
        let (writer, mut reader) = socket.split();
        keep.push(writer);
        let seen = seen.clone();
        tokio::spawn(async move {
            while let Some(Ok(frame)) = reader.next().await {
                let Message::Text(text) = frame else { continue };
                let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else {
                    continue;
                };
                if v["type"] != "message" {
                    continue;
                }
                let sent = v["body"]
                    .as_str()
                    .and_then(|b| b.strip_prefix("load "))
                    .and_then(|b| b.parse::<u64>().ok());
                if let Some(sent) = sent {
                    let now = u64::try_from(clock.elapsed().as_micros()).unwrap_or(u64::MAX);
                    seen.record(now.saturating_sub(sent)).await;
                }
            }
        });
    }
    eprintln!(
        "{} connections open in {:.1} s",
        o.connections,
        opened.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let with_sockets = o.server_pid.map(crate::ws::rss_kib).transpose()?;

    let sender = crate::ws::open(
        &o.target,
        &format!("/api/v1/groups/{group}/ws?after={after}"),
        &host,
    )
    .await?;
    let (mut sender, mut acks) = sender.split();
    // The host's own frames (acks, its messages) are read and dropped.
    tokio::spawn(async move { while acks.next().await.is_some() {} });
    eprintln!("sending {} messages/s for {} s …", o.rate, o.duration);
    let total = o.rate * o.duration;
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / o.rate));
    let sending = Instant::now();
    for _ in 0..total {
        ticker.tick().await;
        let at = u64::try_from(clock.elapsed().as_micros()).unwrap_or(u64::MAX);
        let frame = json!({"type": "message", "text": format!("load {at}")}).to_string();
        sender
            .send(Message::text(frame))
            .await
            .context("sending a message")?;
    }
    let send_secs = sending.elapsed().as_secs_f64();
    let expected = total * o.connections as u64;
    for _ in 0..100 {
        if seen.delivered.load(Ordering::Relaxed) >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let delivered = seen.delivered.load(Ordering::Relaxed);
    let mut latencies = seen.latencies_us.lock().await.clone();
    latencies.sort_unstable();
    let pct = |p: f64| crate::percentile_ms(&latencies, p);
    let round = |x: f64| (x * 100.0).round() / 100.0;
    let per_socket_kib = match (before, with_sockets) {
        (Some(b), Some(a)) => Some(a.saturating_sub(b) as f64 / o.connections as f64),
        _ => None,
    };
    println!(
        "{} listening sockets; {total} messages in {send_secs:.1} s; delivered {delivered} of {expected}",
        o.connections
    );
    println!(
        "fan-out delivery p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    let figures = json!({
        "scenario": "group-chat",
        "connections": o.connections,
        "rate_per_s": o.rate,
        "sent": total,
        "expected_deliveries": expected,
        "delivered": delivered,
        "lost": expected.saturating_sub(delivered),
        "p50_ms": round(pct(0.5)),
        "p99_ms": round(pct(0.99)),
        "max_ms": round(pct(1.0)),
        "server_kib_per_socket": per_socket_kib.map(round),
    });
    println!("{figures}");
    drop(keep);
    Ok(delivered >= expected)
}
