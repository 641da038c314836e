//! `chat`: K open consultation WebSockets (a patient's and the doctor's side of K/2 accepted
//! consultations), first idle — with the server's resident memory per connection when
//! `--server-pid` is given — then P messages a second from patients for S seconds, each
//! timed from the patient's send to its arrival on the doctor's socket.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::SinkExt;
use futures_util::stream::{SplitSink, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::client::{Api, expect};
use crate::ws::Seen;

#[derive(clap::Args)]
pub struct Options {
    /// The server, e.g. http://127.0.0.1:8080 (run with `yunyi demo` for the accounts used).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    target: String,
    /// Open WebSocket connections (two per consultation).
    #[arg(long, default_value_t = 1000)]
    connections: usize,
    /// Messages a second while active, over all consultations.
    #[arg(long, default_value_t = 200)]
    rate: u64,
    /// Seconds of sending.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// The server's process id, to read its resident memory (Linux) idle and with the sockets.
    #[arg(long)]
    server_pid: Option<u32>,
    #[arg(long, default_value = "patient1")]
    patient: String,
    #[arg(long, default_value = "doctor5")]
    doctor: String,
    /// The platform administrator who opens the run's service.
    #[arg(long, default_value = "admin")]
    admin: String,
    #[arg(long, default_value = "yunyi-demo", env = "YUNYI_LOAD_PASSWORD")]
    password: String,
}

type Writer = SplitSink<crate::ws::Socket, Message>;

pub async fn run(o: Options) -> anyhow::Result<bool> {
    if o.connections < 2 || o.rate == 0 || o.duration == 0 {
        bail!("--connections must be at least 2; --rate and --duration at least 1");
    }
    let conversations = o.connections / 2;
    let api = Api::new(&o.target, 16)?;
    let patient = api.token(&o.patient, &o.password).await?;
    let doctor = api.token(&o.doctor, &o.password).await?;
    expect(
        api.post(
            Some(&doctor),
            "/api/v1/auth/step-up",
            &json!({"method": "password", "proof": o.password}),
        )
        .await?,
        204,
        "the doctor's identity check",
    )?;
    let me = expect(
        api.get(Some(&doctor), "/api/v1/me").await?,
        200,
        "the doctor",
    )?;
    let doctor_id = me["account_id"].as_i64().context("doctor account id")?;
    let detail = expect(
        api.get(None, &format!("/api/v1/doctors/{doctor_id}"))
            .await?,
        200,
        "the doctor's services",
    )?;
    let hospital = detail["services"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["kind"] == "text_consult"))
        .and_then(|s| s["hospital_id"].as_i64())
        .context("the doctor offers no text consultation; run the server with `yunyi demo`")?;
    // A service of the run's own, without the daily quota a real service has (the demo's
    // allows 30 requests a day, far fewer than a load run opens).
    let admin = api.token(&o.admin, &o.password).await?;
    let run = chrono::Utc::now().timestamp_millis();
    let service = crate::client::open_service(
        &api,
        &admin,
        (hospital, doctor_id),
        &format!("聊天压测 chat load test {run}"),
        15,
    )
    .await?;

    eprintln!("preparing {conversations} accepted consultations …");
    let started = Instant::now();
    let mut ids = Vec::with_capacity(conversations);
    for chunk in (0..conversations).collect::<Vec<_>>().chunks(16) {
        let made = futures_util::future::join_all(chunk.iter().map(|_| {
            let (api, patient, doctor) = (api.clone(), patient.clone(), doctor.clone());
            async move {
                let created = expect(
                    api.post(
                        Some(&patient),
                        "/api/v1/consultations",
                        &json!({"service_id": service, "intake": {"chief_complaint": "负载测试 load test"}}),
                    )
                    .await?,
                    201,
                    "requesting a consultation",
                )?;
                let id = created["id"].as_i64().context("consultation id")?;
                // The fee first: doctors take paid requests only.
                if created["fee"]["status"] == "pending" {
                    let order = created["fee"]["order_id"].as_i64().context("fee order")?;
                    api.pay_in_sandbox(&patient, order).await?;
                }
                expect(
                    api.post(Some(&doctor), &format!("/api/v1/consultations/{id}/accept"), &json!({}))
                        .await?,
                    200,
                    "accepting",
                )?;
                anyhow::Ok(id)
            }
        }))
        .await;
        for id in made {
            ids.push(id?);
        }
    }
    eprintln!("prepared in {:.1} s", started.elapsed().as_secs_f64());

    let idle_before = o.server_pid.map(crate::ws::rss_kib).transpose()?;
    let clock = Instant::now();
    let seen = Arc::new(Seen::default());
    let mut writers: Vec<Writer> = Vec::with_capacity(conversations);
    let mut listeners: Vec<Writer> = Vec::with_capacity(conversations);
    let opened = Instant::now();
    for (n, id) in ids.iter().enumerate() {
        for (token, is_doctor) in [(&patient, false), (&doctor, true)] {
            let socket = crate::ws::open(
                &o.target,
                &format!("/api/v1/consultations/{id}/ws?after=0"),
                token,
            )
            .await
            .with_context(|| format!("opening WebSocket {} of {}", 2 * n + 1, o.connections))?;
            let (writer, mut reader) = socket.split();
            let seen = seen.clone();
            tokio::spawn(async move {
                while let Some(Ok(frame)) = reader.next().await {
                    if !is_doctor {
                        continue;
                    }
                    let Message::Text(text) = frame else { continue };
                    let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else {
                        continue;
                    };
                    if v["type"] != "message" {
                        continue;
                    }
                    if let Some(sent) = v["body"].as_str().and_then(|b| b.parse::<u64>().ok()) {
                        let now = u64::try_from(clock.elapsed().as_micros()).unwrap_or(u64::MAX);
                        seen.record(now.saturating_sub(sent)).await;
                    }
                }
            });
            if is_doctor {
                // The doctor's side only listens; its writer lives as long as the run.
                listeners.push(writer);
            } else {
                writers.push(writer);
            }
        }
    }
    eprintln!(
        "{} connections open in {:.1} s",
        o.connections,
        opened.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle_after = o.server_pid.map(crate::ws::rss_kib).transpose()?;
    let per_connection_kib = match (idle_before, idle_after) {
        (Some(b), Some(a)) => Some((a.saturating_sub(b)) as f64 / o.connections as f64),
        _ => None,
    };

    eprintln!("sending {} messages/s for {} s …", o.rate, o.duration);
    let total = o.rate * o.duration;
    let tick = Duration::from_millis(10);
    let per_tick = (o.rate as f64 / 100.0).max(0.0);
    let mut sent = 0u64;
    let mut owed = 0.0f64;
    let mut next = 0usize;
    let mut ticker = tokio::time::interval(tick);
    let sending = Instant::now();
    while sent < total {
        ticker.tick().await;
        owed += per_tick;
        while owed >= 1.0 && sent < total {
            owed -= 1.0;
            let at = u64::try_from(clock.elapsed().as_micros()).unwrap_or(u64::MAX);
            let frame = json!({"type": "message", "text": at.to_string()}).to_string();
            let count = writers.len();
            let writer = &mut writers[next % count];
            next += 1;
            writer
                .send(Message::text(frame))
                .await
                .context("sending a message")?;
            sent += 1;
        }
    }
    let send_secs = sending.elapsed().as_secs_f64();
    // Stragglers.
    for _ in 0..50 {
        if seen.delivered.load(Ordering::Relaxed) >= sent {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let delivered = seen.delivered.load(Ordering::Relaxed);
    let mut latencies = seen.latencies_us.lock().await.clone();
    latencies.sort_unstable();
    let pct = |p: f64| crate::percentile_ms(&latencies, p);
    let round = |x: f64| (x * 100.0).round() / 100.0;
    println!(
        "{} connections; {sent} messages in {send_secs:.1} s ({:.0}/s); delivered {delivered}",
        o.connections,
        sent as f64 / send_secs
    );
    println!(
        "delivery p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    if let Some(kib) = per_connection_kib {
        println!("server memory: {kib:.1} KiB per idle connection");
    }
    let figures = json!({
        "scenario": "chat",
        "connections": o.connections,
        "rate_per_s": o.rate,
        "sent": sent,
        "sent_per_s": round(sent as f64 / send_secs),
        "delivered": delivered,
        "lost": sent.saturating_sub(delivered),
        "p50_ms": round(pct(0.5)),
        "p99_ms": round(pct(0.99)),
        "max_ms": round(pct(1.0)),
        "server_kib_per_idle_connection": per_connection_kib.map(round),
    });
    println!("{figures}");
    drop(listeners);
    Ok(delivered >= sent)
}
