//! `yunyi-load`: load programs that drive a running Yunyi server through its real HTTP API.
//!
//! `booking-rush` (放号抢号): prepares a doctor's schedule with M slots released now and N
//! patients with their own tokens, all through the API; then C concurrent clients press "book"
//! at once, each retrying on 409 with another free slot as a person would. It reports
//! throughput, latency and errors, checks through the API that no slot was sold twice and that
//! every 201 is stored, and prints one JSON object as its last line.
//!
//! `chat`: K open consultation WebSockets, idle (server memory per connection) and then P
//! messages a second, timed from a patient's send to the doctor's socket; last line JSON.
//!
//! `group-chat`: K sockets on the demo's patient group and P messages a second from its host,
//! each timed to its arrival on every socket (the fan-out to online members); last line JSON.
//!
//! `disk-full`: the fault test of a full data disk (see `disk.rs` and `scripts/faults`).

mod chat;
mod client;
mod disk;
mod group_chat;
mod idcard;
mod rush;
mod ws;

/// The `p` quantile (0 < p ≤ 1, nearest rank) of latencies sorted ascending, in microseconds,
/// as milliseconds; 0 when there are none.
fn percentile_ms(sorted_us: &[u64], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let i = ((sorted_us.len() as f64 * p).ceil() as usize).clamp(1, sorted_us.len()) - 1;
    sorted_us.get(i).copied().unwrap_or(0) as f64 / 1000.0
}

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "yunyi-load",
    version,
    about = "Load programs for a running Yunyi server"
)]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Thousands of patients rush a doctor's slots the moment they are released.
    BookingRush(rush::Options),
    /// Open consultation chats: idle WebSockets, then messages timed from send to delivery.
    Chat(chat::Options),
    /// A patient group's chat: one message fanned out to many online members, timed.
    GroupChat(group_chat::Options),
    /// Uploads and sign-ins before, while and after the server's data disk is full.
    DiskFull(disk::Options),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.scenario {
        Scenario::BookingRush(options) => rush::run(options).await,
        Scenario::Chat(options) => chat::run(options).await,
        Scenario::GroupChat(options) => group_chat::run(options).await,
        Scenario::DiskFull(options) => disk::run(options).await,
    };
    match outcome {
        Ok(true) => std::process::ExitCode::SUCCESS,
        // The figures are printed; a failed invariant (oversold, lost) fails the run.
        Ok(false) => std::process::ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
