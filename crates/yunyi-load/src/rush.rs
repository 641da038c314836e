//! The booking rush: preparation through the API, the rush itself, and the check afterwards.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chrono::{Duration as Days, FixedOffset, Utc};
use rand::Rng as _;
use serde_json::json;

use crate::client::{Api, expect, session};
use crate::idcard::id_number;

#[derive(clap::Args, Debug, Clone)]
pub struct Options {
    /// The server, e.g. http://127.0.0.1:8080 (run with `yunyi demo` for the accounts used).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    target: String,
    /// Patients, each with an account and a token of their own.
    #[arg(long, default_value_t = 1000)]
    patients: usize,
    /// Concurrent clients pressing "book".
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// Slots released at once (capacity 1 each).
    #[arg(long, default_value_t = 5000)]
    slots: usize,
    /// The platform administrator who prepares the schedule.
    #[arg(long, default_value = "admin")]
    admin: String,
    #[arg(long, default_value = "yunyi-demo", env = "YUNYI_LOAD_PASSWORD")]
    password: String,
    /// Concurrent requests while preparing (registration hashes passwords: CPU-bound).
    #[arg(long, default_value_t = 8)]
    prepare_concurrency: usize,
    /// Open loop: start this many attempts a second whatever the answers' latency, each
    /// timed from when it was due (as wrk2 does), instead of `--clients` retrying at once.
    #[arg(long)]
    rate: Option<u64>,
    /// For fault tests: when the server is down or not ready at the check, keep trying this
    /// many seconds (while a script restarts it) before giving up.
    #[arg(long, default_value_t = 0)]
    verify_wait: u64,
}

/// A patient's own limit (the server's default) and per-doctor-per-day rule shape how many
/// bookings each can make.
const MAX_ACTIVE: usize = 5;

struct Patient {
    token: String,
}

#[derive(Clone)]
struct FreeSlot {
    id: i64,
    day: String,
}

pub async fn run(o: Options) -> anyhow::Result<bool> {
    if o.patients == 0 || o.clients == 0 || o.slots == 0 || o.rate == Some(0) {
        bail!("--patients, --clients, --slots and --rate must be at least 1");
    }
    let api = Api::new(&o.target, o.clients.max(o.prepare_concurrency))?;
    eprintln!("preparing: a schedule with {} slots …", o.slots);
    let (doctor, slots) = prepare_schedule(&api, &o).await?;
    eprintln!(
        "preparing: {} patients (registration and sign-in hash passwords; this takes a while) …",
        o.patients
    );
    let started = Instant::now();
    let patients = prepare_patients(&api, &o).await?;
    eprintln!(
        "prepared in {:.1} s; rush: {} clients on {} slots of doctor {doctor}",
        started.elapsed().as_secs_f64(),
        o.clients,
        slots.len()
    );
    let outcome = match o.rate {
        Some(rate) => open_loop(&api, &o, rate, patients.clone(), slots.clone()).await,
        None => rush(&api, &o, patients.clone(), slots.clone()).await,
    };
    let check = verify(
        &api,
        &patients,
        &outcome.created,
        Duration::from_secs(o.verify_wait),
    )
    .await?;
    let secs = outcome.elapsed.as_secs_f64().max(1e-9);
    let mut latencies = outcome.latencies_us;
    latencies.sort_unstable();
    let pct = |p: f64| crate::percentile_ms(&latencies, p);
    let attempts = latencies.len();
    let booked = outcome.created.len();
    println!(
        "attempts {attempts} in {secs:.2} s: {:.0} attempts/s, {booked} booked ({:.0}/s)",
        attempts as f64 / secs,
        booked as f64 / secs
    );
    println!(
        "latency p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        pct(0.50),
        pct(0.95),
        pct(0.99),
        pct(1.0)
    );
    println!("statuses {:?}", outcome.statuses);
    if !outcome.codes.is_empty() {
        println!("refusals {:?}", outcome.codes);
    }
    if outcome.transport_errors > 0 {
        println!(
            "transport errors {} (no answer: the server was down)",
            outcome.transport_errors
        );
    }
    println!(
        "check: {} slots sold twice, {} of {booked} created appointments not stored, {} slots left free",
        check.oversold, check.lost, outcome.left_free
    );
    let figures = json!({
        "scenario": "booking-rush",
        "patients": o.patients,
        "clients": o.clients,
        "open_loop_rate": o.rate,
        "slots": slots.len(),
        "duration_s": round(secs),
        "attempts": attempts,
        "attempts_per_s": round(attempts as f64 / secs),
        "booked": booked,
        "booked_per_s": round(booked as f64 / secs),
        "p50_ms": round(pct(0.50)),
        "p95_ms": round(pct(0.95)),
        "p99_ms": round(pct(0.99)),
        "max_ms": round(pct(1.0)),
        "statuses": outcome.statuses,
        "transport_errors": outcome.transport_errors,
        "slots_left_free": outcome.left_free,
        "oversold": check.oversold,
        "lost": check.lost,
    });
    println!("{figures}");
    Ok(check.oversold == 0 && check.lost == 0)
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// A doctor who can take online consultations, a free service of theirs made for this run,
/// its schedule, and sessions of 5-minute slots from tomorrow on, released now.
async fn prepare_schedule(api: &Api, o: &Options) -> anyhow::Result<(i64, Vec<FreeSlot>)> {
    let admin = api.token(&o.admin, &o.password).await?;
    let cards = expect(
        api.get(None, "/api/v1/doctors?available=today&limit=1")
            .await?,
        200,
        "finding a doctor",
    )?;
    let card = cards["items"]
        .get(0)
        .context("the server lists no doctor available online; run it with `yunyi demo`")?;
    let doctor = card["id"].as_i64().context("doctor id")?;
    let hospital = card["hospital_id"].as_i64().context("hospital id")?;
    let run = Utc::now().timestamp_millis();
    let service = crate::client::open_service(
        api,
        &admin,
        (hospital, doctor),
        &format!("放号压测 load test {run}"),
        5,
    )
    .await?;
    let schedule = expect(
        api.post(
            Some(&admin),
            "/api/v1/schedules",
            &json!({"service_id": service}),
        )
        .await?,
        201,
        "creating the schedule",
    )?["schedule_id"]
        .as_i64()
        .context("schedule id")?;
    let cst = FixedOffset::east_opt(8 * 3600).context("offset")?;
    let tomorrow = Utc::now().with_timezone(&cst).date_naive() + Days::days(1);
    let release = Utc::now().to_rfc3339();
    // Two sessions a day: 00:00–12:00 and 12:00–23:55, 5-minute slots.
    let mut left = o.slots;
    let mut days = Vec::new();
    let mut day = tomorrow;
    while left > 0 {
        for (start_min, max) in [(0usize, 144usize), (720, 143)] {
            if left == 0 {
                break;
            }
            let n = left.min(max);
            let end_min = start_min + n * 5;
            let body = session(
                &day.to_string(),
                &format!("{:02}:{:02}", start_min / 60, start_min % 60),
                &format!("{:02}:{:02}", end_min / 60, end_min % 60),
                &release,
            );
            expect(
                api.post(
                    Some(&admin),
                    &format!("/api/v1/schedules/{schedule}/sessions"),
                    &body,
                )
                .await?,
                201,
                "opening a session",
            )?;
            left -= n;
        }
        days.push(day);
        day += Days::days(1);
    }
    let mut slots = Vec::new();
    for d in days {
        let listed = expect(
            api.get(
                None,
                &format!("/api/v1/doctors/{doctor}/slots?from={d}&days=1&service={service}"),
            )
            .await?,
            200,
            "listing slots",
        )?;
        for s in listed["items"].as_array().into_iter().flatten() {
            if s["service_id"].as_i64() == Some(service) && s["bookable"] == true {
                slots.push(FreeSlot {
                    id: s["id"].as_i64().context("slot id")?,
                    day: d.to_string(),
                });
            }
        }
    }
    if slots.len() != o.slots {
        bail!(
            "expected {} bookable slots, the server lists {}",
            o.slots,
            slots.len()
        );
    }
    Ok((doctor, slots))
}

/// Registers the patients and signs each in, `prepare_concurrency` at a time.
async fn prepare_patients(api: &Api, o: &Options) -> anyhow::Result<Vec<Arc<Patient>>> {
    let run = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0);
    let next = Arc::new(Mutex::new(0usize));
    let made = Arc::new(Mutex::new(Vec::with_capacity(o.patients)));
    let mut tasks = Vec::new();
    for _ in 0..o.prepare_concurrency.max(1) {
        let (api, next, made, total) = (api.clone(), next.clone(), made.clone(), o.patients);
        tasks.push(tokio::spawn(async move {
            loop {
                let i = {
                    let mut n = next.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
                    if *n >= total {
                        break;
                    }
                    *n += 1;
                    *n - 1
                };
                let patient = register(&api, run, i).await?;
                made.lock()
                    .map_err(|_| anyhow::anyhow!("poisoned"))?
                    .push(Arc::new(patient));
                if (i + 1) % 500 == 0 {
                    eprintln!("  {} patients", i + 1);
                }
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await.context("preparing patients")??;
    }
    let made = std::mem::take(&mut *made.lock().map_err(|_| anyhow::anyhow!("poisoned"))?);
    Ok(made)
}

/// One patient with a fresh phone and identity number; retried when a random number is taken.
async fn register(api: &Api, run: u64, i: usize) -> anyhow::Result<Patient> {
    const PASSWORD: &str = "load-test-pass-1";
    for attempt in 0..5u64 {
        let (phone, id) = {
            let mut rng = rand::rng();
            let seed = run.wrapping_mul(31).wrapping_add(i as u64 * 7 + attempt);
            let mut phone = format!("17{:09}", (seed ^ rng.random::<u64>()) % 1_000_000_000);
            // The sandbox real-name provider answers "does not match" for numbers ending in
            // 4444 and "unavailable" for 5555 (its test numbers): never draw those.
            if phone.ends_with("4444") || phone.ends_with("5555") {
                phone.replace_range(phone.len() - 1.., "0");
            }
            let birth = chrono::NaiveDate::from_ymd_opt(1950, 1, 1).unwrap_or_default()
                + Days::days(rng.random_range(0..20_000));
            let id = id_number(
                "440106",
                &birth.format("%Y%m%d").to_string(),
                rng.random_range(0..1000),
            );
            (phone, id)
        };
        let reply = api
            .post(
                None,
                "/api/v1/patients",
                &json!({"phone": phone, "password": PASSWORD, "name": "压测患者", "id_number": id}),
            )
            .await?;
        match reply.status {
            201 => {
                let token = api.token(&phone, PASSWORD).await?;
                return Ok(Patient { token });
            }
            409 => continue,
            s => bail!("registering a patient: {s} {}", reply.body),
        }
    }
    bail!("could not find a free phone and identity number in 5 tries")
}

struct Outcome {
    elapsed: Duration,
    latencies_us: Vec<u64>,
    statuses: BTreeMap<String, usize>,
    codes: BTreeMap<String, usize>,
    transport_errors: usize,
    /// (appointment id, slot id) of every 201.
    created: Vec<(i64, i64)>,
    left_free: usize,
}

/// C clients rush at once. Each serves its share of patients; a patient picks a slot they
/// believe free (on a day they have nothing booked with this doctor) and on 409 picks another,
/// forgetting the taken one, until they hold their share or nothing is left.
async fn rush(
    api: &Api,
    o: &Options,
    patients: Vec<Arc<Patient>>,
    slots: Vec<FreeSlot>,
) -> Outcome {
    let free = Arc::new(Mutex::new(slots));
    let wanted = o.slots.div_ceil(o.patients).min(MAX_ACTIVE);
    let start = Arc::new(tokio::sync::Barrier::new(o.clients));
    let began = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..o.clients {
        let mine: Vec<Arc<Patient>> = patients
            .iter()
            .skip(c)
            .step_by(o.clients)
            .cloned()
            .collect();
        let (api, free, start) = (api.clone(), free.clone(), start.clone());
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let mut log = ClientLog::default();
            for p in mine {
                book_for(&api, &p, wanted, &free, &mut log).await;
            }
            log
        }));
    }
    let mut all = ClientLog::default();
    for t in tasks {
        if let Ok(log) = t.await {
            all.latencies_us.extend(log.latencies_us);
            all.created.extend(log.created);
            all.transport_errors += log.transport_errors;
            for (k, v) in log.statuses {
                *all.statuses.entry(k).or_default() += v;
            }
            for (k, v) in log.codes {
                *all.codes.entry(k).or_default() += v;
            }
        }
    }
    let elapsed = began.elapsed();
    let left_free = free.lock().map(|f| f.len()).unwrap_or(0);
    Outcome {
        elapsed,
        latencies_us: all.latencies_us,
        statuses: all.statuses,
        codes: all.codes,
        transport_errors: all.transport_errors,
        created: all.created,
        left_free,
    }
}

/// A patient's days booked with this doctor in an open-loop run, and whether they want no more.
#[derive(Default)]
struct Booked {
    days: HashSet<String>,
    done: bool,
}

/// Attempts started at `rate` a second, each by the next patient who still wants a time, on a
/// slot they believe free; an answer's latency counts from when its attempt was due, so a
/// server that falls behind shows it (no coordinated omission). Ends when no slot is left, no
/// patient wants one, or after a minute.
async fn open_loop(
    api: &Api,
    o: &Options,
    rate: u64,
    patients: Vec<Arc<Patient>>,
    slots: Vec<FreeSlot>,
) -> Outcome {
    let free = Arc::new(Mutex::new(slots));
    let wanted = o.slots.div_ceil(o.patients).min(MAX_ACTIVE);
    let books: Vec<Arc<Mutex<Booked>>> = patients
        .iter()
        .map(|_| Arc::new(Mutex::new(Booked::default())))
        .collect();
    let log = Arc::new(Mutex::new(ClientLog::default()));
    let every = Duration::from_secs_f64(1.0 / rate as f64);
    let began = tokio::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let (mut due, mut next) = (0u32, 0usize);
    while began.elapsed() < Duration::from_secs(60) {
        if free.lock().map(|f| f.is_empty()).unwrap_or(true) {
            break;
        }
        // The next patient, in turn, who still wants a time.
        let Some(i) = (0..patients.len())
            .map(|k| (next + k) % patients.len())
            .find(|&i| {
                books[i]
                    .lock()
                    .is_ok_and(|b| !b.done && b.days.len() < wanted)
            })
        else {
            break;
        };
        next = i + 1;
        let avoid = books[i].lock().map(|b| b.days.clone()).unwrap_or_default();
        let Some(slot) = pick(&free, &avoid) else {
            if let Ok(mut b) = books[i].lock() {
                b.done = true;
            }
            continue;
        };
        let intended = began + every * due;
        due += 1;
        tokio::time::sleep_until(intended).await;
        let (api, patient, book, free, log) = (
            api.clone(),
            patients[i].clone(),
            books[i].clone(),
            free.clone(),
            log.clone(),
        );
        tasks.spawn(async move {
            let reply = api
                .post(
                    Some(&patient.token),
                    "/api/v1/appointments",
                    &json!({"slot_id": slot.id}),
                )
                .await;
            let us = u64::try_from(intended.elapsed().as_micros()).unwrap_or(u64::MAX);
            let (Ok(mut log), Ok(mut book)) = (log.lock(), book.lock()) else {
                return;
            };
            if tally(&mut log, us, reply, &slot, &free, &mut book.days) {
                book.done = true;
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let elapsed = began.elapsed();
    let left_free = free.lock().map(|f| f.len()).unwrap_or(0);
    let all = std::mem::take(&mut *log.lock().unwrap_or_else(|e| e.into_inner()));
    Outcome {
        elapsed,
        latencies_us: all.latencies_us,
        statuses: all.statuses,
        codes: all.codes,
        transport_errors: all.transport_errors,
        created: all.created,
        left_free,
    }
}

#[derive(Default)]
struct ClientLog {
    latencies_us: Vec<u64>,
    statuses: BTreeMap<String, usize>,
    /// Refusals by status and error code ("409 slot-taken").
    codes: BTreeMap<String, usize>,
    transport_errors: usize,
    created: Vec<(i64, i64)>,
}

fn pick(free: &Mutex<Vec<FreeSlot>>, avoid: &HashSet<String>) -> Option<FreeSlot> {
    let f = free.lock().ok()?;
    if f.is_empty() {
        return None;
    }
    let mut rng = rand::rng();
    for _ in 0..8 {
        let s = &f[rng.random_range(0..f.len())];
        if !avoid.contains(&s.day) {
            return Some(s.clone());
        }
    }
    f.iter().find(|s| !avoid.contains(&s.day)).cloned()
}

fn forget(free: &Mutex<Vec<FreeSlot>>, id: i64) {
    if let Ok(mut f) = free.lock() {
        if let Some(i) = f.iter().position(|s| s.id == id) {
            f.swap_remove(i);
        }
    }
}

async fn book_for(
    api: &Api,
    p: &Patient,
    wanted: usize,
    free: &Mutex<Vec<FreeSlot>>,
    log: &mut ClientLog,
) {
    let mut days = HashSet::new();
    let mut tries = 0;
    while days.len() < wanted && tries < 200 {
        tries += 1;
        let Some(slot) = pick(free, &days) else {
            return;
        };
        let t = Instant::now();
        let reply = api
            .post(
                Some(&p.token),
                "/api/v1/appointments",
                &json!({"slot_id": slot.id}),
            )
            .await;
        let us = u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX);
        if tally(log, us, reply, &slot, free, &mut days) {
            return;
        }
    }
}

/// Records one answer to "book `slot`" and acts on it as a person would: a booked time or
/// one refused as a second that day marks its day, a taken time is forgotten. True when the
/// patient holds the most upcoming appointments allowed and stops.
fn tally(
    log: &mut ClientLog,
    latency_us: u64,
    reply: anyhow::Result<crate::client::Reply>,
    slot: &FreeSlot,
    free: &Mutex<Vec<FreeSlot>>,
    days: &mut HashSet<String>,
) -> bool {
    log.latencies_us.push(latency_us);
    let Ok(reply) = reply else {
        log.transport_errors += 1;
        return false;
    };
    *log.statuses.entry(reply.status.to_string()).or_default() += 1;
    if reply.status >= 400 {
        let code = reply.body["code"].as_str().unwrap_or("-");
        *log.codes
            .entry(format!("{} {code}", reply.status))
            .or_default() += 1;
    }
    // The error code says why, as a client should read it (docs/ERRORS.md).
    match (reply.status, reply.body["code"].as_str().unwrap_or("")) {
        (201, _) => {
            forget(free, slot.id);
            days.insert(slot.day.clone());
            if let Some(id) = reply.body["id"].as_i64() {
                log.created.push((id, slot.id));
            }
        }
        (409, "duplicate-booking") => {
            days.insert(slot.day.clone());
        }
        (409, "booking-limit-reached") => return true,
        (409, _) => forget(free, slot.id),
        _ => {}
    }
    false
}

struct Check {
    oversold: usize,
    lost: usize,
}

/// Through the API: every patient's appointments; no slot may hold two booked ones, and every
/// 201 must be there, booked. A server that is down or not ready (a fault test restarting it)
/// is asked again until `wait` has passed.
async fn verify(
    api: &Api,
    patients: &[Arc<Patient>],
    created: &[(i64, i64)],
    wait: Duration,
) -> anyhow::Result<Check> {
    let mut stored: HashMap<i64, i64> = HashMap::new();
    let mut per_slot: HashMap<i64, usize> = HashMap::new();
    let give_up = Instant::now() + wait;
    for p in patients {
        let reply = loop {
            match api.get(Some(&p.token), "/api/v1/appointments").await {
                Ok(r) if r.status != 503 => break r,
                Ok(_) | Err(_) if Instant::now() < give_up => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Ok(r) => break r,
                Err(e) => return Err(e.context("reading appointments for the check")),
            }
        };
        let mine = expect(reply, 200, "reading appointments")?;
        for a in mine["items"].as_array().into_iter().flatten() {
            if a["status"] != "booked" {
                continue;
            }
            let (Some(id), Some(slot)) = (a["id"].as_i64(), a["slot_id"].as_i64()) else {
                continue;
            };
            stored.insert(id, slot);
            *per_slot.entry(slot).or_default() += 1;
        }
    }
    let oversold = per_slot.values().filter(|n| **n > 1).count();
    let lost = created
        .iter()
        .filter(|(id, slot)| stored.get(id) != Some(slot))
        .count();
    Ok(Check { oversold, lost })
}
