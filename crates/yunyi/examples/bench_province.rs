//! A province's data and its common reads (issue #25 item 6; a program, not a test; figures go
//! to docs/PERFORMANCE.md).
//!
//! Generates into an empty PostgreSQL database, through the schema the server migrates: 100
//! hospitals × 10 departments, 50,000 doctors (profile, practice site, consult privilege, a
//! scheduled video service with its schedule and a text service), 10,000,000 patients (person
//! with a valid, encrypted identity number and an account with an encrypted phone, written by
//! `COPY`), 50,000,000 completed appointments in slots of capacity 5 (two a day per doctor;
//! the 14 days ahead are open), 2,000,000 text consultations with their intake, care link and
//! 10 messages each (20,000,000 messages), and 3 waiting requests per doctor. Everything but
//! the people is written by `INSERT … SELECT` from `generate_series` inside the database, a
//! range of doctors per statement.
//!
//! Then it starts the real server on that database and times, from **one client** over HTTP,
//! the reads a province's users make most: a doctor reading a patient's FHIR `Patient` (care
//! link checked, audited), the public doctor search (three filter shapes), a patient's own
//! appointments, a doctor's consultation queue (after the identity check), one doctor's open
//! slots for 14 days. It prints p50/p99/max per read and one JSON line.
//!
//! The database and the data dir (its keys decrypt the generated numbers) are kept: a second
//! run with the same size skips to the reads.
//!
//!   YUNYI_BENCH_DATABASE_URL=postgres://…/province BENCH_DATA_DIR=/var/tmp/province \
//!     cargo run --release -p yunyi --example bench_province
//!   BENCH_SCALE=0.01 …   # a hundredth of every count but the hospitals
//!   BENCH_SIZE=tiny …    # 2 hospitals, 20 doctors, 2,000 patients: CI's check that it runs
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark program: a panic is a failed run"
)]

mod common;

use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate, NaiveTime};
use common::{DEPARTMENTS, GIVEN, SURNAMES};
use serde_json::{Value, json};
use sqlx::PgPool;
use yunyi::config::Config;
use yunyi::identity::model::{IdCardNumber, Phone, check_character};
use yunyi::time::{cst_ms, cst_today};

/// Appointments per slot (a half-day's numbers of one period) and slots a day per doctor.
const CAPACITY: i64 = 5;
const SLOTS_A_DAY: i64 = 2;
const AHEAD_DAYS: i64 = 14;
const MESSAGES_PER_CONSULTATION: i64 = 10;
const WAITING_PER_DOCTOR: i64 = 3;
/// Districts of Guangdong (GB/T 2260): patients' registered regions and hospitals' sites.
const REGIONS: [&str; 20] = [
    "440103", "440104", "440105", "440106", "440111", "440112", "440113", "440114", "440115",
    "440117", "440118", "440303", "440304", "440305", "440306", "440307", "440402", "440604",
    "440605", "441302",
];
const PASSWORD: &str = "bench-province";
/// Rows per `COPY` statement (one transaction each) and doctors per `INSERT … SELECT`.
/// Tables loaded in bulk, whose secondary indexes are built after their rows.
const BULK_TABLES: [&str; 8] = [
    "person",
    "account",
    "slot",
    "appointment",
    "consultation",
    "consultation_intake",
    "care_link",
    "consultation_message",
];
const PEOPLE_PER_COPY: i64 = 500_000;
const DOCTORS_PER_STATEMENT: i64 = 1_000;

#[derive(Clone, Copy, Debug, PartialEq)]
struct Size {
    hospitals: i64,
    doctors: i64,
    patients: i64,
    appointments: i64,
    messages: i64,
    /// Requests timed per read.
    samples: usize,
}

impl Size {
    fn from_env() -> Self {
        if std::env::var("BENCH_SIZE").as_deref() == Ok("tiny") {
            return Self {
                hospitals: 2,
                doctors: 20,
                patients: 2_000,
                appointments: 10_000,
                messages: 4_000,
                samples: 20,
            };
        }
        let scale: f64 = std::env::var("BENCH_SCALE")
            .ok()
            .map(|s| s.parse().expect("BENCH_SCALE: a number such as 0.01"))
            .unwrap_or(1.0);
        let n = |full: f64| ((full * scale).round() as i64).max(1);
        Self {
            hospitals: 100,
            doctors: n(50_000.0).max(100),
            patients: n(10_000_000.0).max(1_000),
            appointments: n(50_000_000.0),
            messages: n(20_000_000.0),
            samples: 1_000,
        }
    }

    fn label(&self) -> String {
        format!(
            "{} hospitals, {} doctors, {} patients, {} appointments, {} messages",
            self.hospitals, self.doctors, self.patients, self.appointments, self.messages
        )
    }

    /// Days of history each doctor's appointments fill (two slots of five a day).
    fn history_days(&self) -> i64 {
        let per_doctor = ceil_div(self.appointments, self.doctors);
        ceil_div(per_doctor, CAPACITY * SLOTS_A_DAY).max(1)
    }

    fn consultations(&self) -> i64 {
        (self.messages / MESSAGES_PER_CONSULTATION).max(1)
    }
}

fn ceil_div(a: i64, b: i64) -> i64 {
    (a + b - 1) / b
}

/// Doctor i's hospital and department (both numbered from 1, departments 10 per hospital).
const HOSPITAL_OF: &str = "(1 + (i - 1) % $H)";
const DEPARTMENT_OF: &str = "((((i - 1) % $H)) * 10 + 1 + ((i - 1) / $H) % 10)";

async fn run(pool: &PgPool, sql: &str, size: &Size) -> u64 {
    let sql = sql
        .replace("$HOSP", HOSPITAL_OF)
        .replace("$DEPT", DEPARTMENT_OF)
        .replace("$H", &size.hospitals.to_string())
        .replace("$D", &size.doctors.to_string())
        .replace("$P", &size.patients.to_string());
    sqlx::query(&sql)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{sql}"))
        .rows_affected()
}

/// Runs `sql` once per range of doctors, `$LO`/`$HI` bounding doctor ids.
async fn per_doctors(pool: &PgPool, what: &str, sql: &str, size: &Size) {
    let t = Instant::now();
    let mut rows = 0;
    let mut lo = 1;
    while lo <= size.doctors {
        let hi = (lo + DOCTORS_PER_STATEMENT - 1).min(size.doctors);
        rows += run(
            pool,
            &sql.replace("$LO", &lo.to_string())
                .replace("$HI", &hi.to_string()),
            size,
        )
        .await;
        lo = hi + 1;
    }
    println!(
        "  {what}: {rows} rows in {:.1} s",
        t.elapsed().as_secs_f64()
    );
}

/// Patient p's identity number: region, birth date and sequence all derived from p, so every
/// number is distinct and valid.
fn id_number(p: i64, today: NaiveDate) -> IdCardNumber {
    let regions = REGIONS.len() as i64;
    let region = REGIONS[(p % regions) as usize];
    let j = p / regions;
    // Born 1940-01-01 .. 2011-03: every patient is old enough to hold an account.
    let birth = NaiveDate::from_ymd_opt(1940, 1, 1)
        .unwrap()
        .checked_add_days(Days::new((j % 26_000) as u64))
        .unwrap();
    let body = format!(
        "{region}{}{:03}",
        birth.format("%Y%m%d"),
        (j / 26_000) % 1000
    );
    let digits: Vec<u32> = body.chars().filter_map(|c| c.to_digit(10)).collect();
    let check = check_character(&digits).unwrap();
    IdCardNumber::parse(&format!("{body}{check}"), today).unwrap()
}

fn name(n: i64) -> String {
    let s = SURNAMES[(n % 20) as usize];
    let g = GIVEN[((n / 20) % 20) as usize];
    format!("{s}{g}")
}

fn hex(bytes: &[u8]) -> String {
    format!("\\x{}", ::hex::encode(bytes))
}

/// Persons and their accounts (ids 1..=P and D+1..=D+P), by `COPY` in CSV.
async fn people(state: &yunyi::AppState, pool: &PgPool, size: &Size, now: i64) {
    let today = cst_today(now);
    let t = Instant::now();
    let mut from = 1;
    while from <= size.patients {
        let to = (from + PEOPLE_PER_COPY - 1).min(size.patients);
        let mut persons = String::new();
        let mut accounts = String::new();
        for p in from..=to {
            let id = id_number(p, today);
            let name = name(p);
            persons.push_str(&format!(
                "{p},{name},{},{},{},{},{},{},{now}\n",
                hex(&state.keys.encrypt(id.as_str())),
                state.keys.lookup_hash("id_number", id.as_str()),
                id.masked(),
                id.birth_date(),
                id.sex().as_str(),
                id.region(),
            ));
            let phone = Phone::parse(&format!("13{p:09}")).unwrap();
            accounts.push_str(&format!(
                "{},patient,{name},{},{},{},{p},active,{now},{now}\n",
                size.doctors + p,
                hex(&state.keys.encrypt(phone.as_str())),
                state.keys.lookup_hash("phone", phone.as_str()),
                phone.masked(),
            ));
        }
        for (sql, data) in [
            (
                "COPY person (id, name, id_number_enc, id_number_hash, id_number_mask, birth_date, sex, region, created_at) FROM STDIN (FORMAT csv)",
                persons,
            ),
            (
                "COPY account (id, role, display_name, phone_enc, phone_hash, phone_mask, person_id, status, created_at, updated_at) FROM STDIN (FORMAT csv)",
                accounts,
            ),
        ] {
            let mut conn = pool.acquire().await.unwrap();
            let mut copy = conn.copy_in_raw(sql).await.unwrap();
            copy.send(data.as_bytes()).await.unwrap();
            copy.finish().await.unwrap();
        }
        println!(
            "  people: {to} of {} in {:.1} s",
            size.patients,
            t.elapsed().as_secs_f64()
        );
        from = to + 1;
    }
}

async fn generate(state: &yunyi::AppState, pool: &PgPool, size: &Size, now: i64) {
    let started = Instant::now();
    let today = cst_today(now);
    let history = size.history_days();
    let days = history + AHEAD_DAYS;
    let first_day = today.checked_sub_days(Days::new(history as u64)).unwrap();
    let midnight = cst_ms(first_day, NaiveTime::MIN).unwrap();
    println!("generating {} ({history} days of history) …", size.label());
    let regions: Vec<String> = REGIONS.iter().map(|r| format!("'{r}'")).collect();
    run(
        pool,
        &format!(
            "INSERT INTO hospital (id, code, name, level, region_code, address, status, created_at) \
             SELECT h, 'PROV-' || h, '省第' || h || '人民医院', '三级甲等', \
             (ARRAY[{}])[1 + h % 20], '广东省', 'active', {now} FROM generate_series(1, $H) h",
            regions.join(",")
        ),
        size,
    )
    .await;
    let names: Vec<String> = DEPARTMENTS
        .iter()
        .map(|(code, name)| format!("('{code}', '{name}')"))
        .collect();
    run(
        pool,
        &format!(
            "INSERT INTO department (id, hospital_id, name, std_code, offers_online, created_at) \
             SELECT (h - 1) * 10 + k, h, d.name, d.code, TRUE, {now} \
             FROM generate_series(1, $H) h, generate_series(1, 10) k \
             JOIN (SELECT row_number() OVER () AS k, code, name FROM (VALUES {}) v(code, name)) d USING (k)",
            names.join(",")
        ),
        size,
    )
    .await;
    let surnames: Vec<String> = SURNAMES.iter().map(|s| format!("'{s}'")).collect();
    let given: Vec<String> = GIVEN.iter().map(|s| format!("'{s}'")).collect();
    let doctor_name = format!(
        "(ARRAY[{}])[1 + i % 20] || (ARRAY[{}])[1 + (i / 20) % 20]",
        surnames.join(","),
        given.join(",")
    );
    // The big tables' secondary indexes are built once after their rows, from their own
    // definitions (faster than maintaining them row by row; the same indexes in the end).
    let mut indexes = Vec::new();
    for table in BULK_TABLES {
        let found: Vec<(String, String)> = sqlx::query_as(
            "SELECT i.indexname::text, i.indexdef FROM pg_indexes i \
             WHERE i.schemaname = current_schema() AND i.tablename = $1 \
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
        )
        .bind(table)
        .fetch_all(pool)
        .await
        .unwrap();
        for (name, _) in &found {
            run(pool, &format!("DROP INDEX {name}"), size).await;
        }
        indexes.extend(found);
    }
    per_doctors(
        pool,
        "doctors",
        &format!(
            "INSERT INTO account (id, username, role, display_name, hospital_id, status, created_at, updated_at) \
             SELECT i, 'pd' || i, 'doctor', {doctor_name}, $HOSP, 'active', {now}, {now} \
             FROM generate_series($LO, $HI) i"
        ),
        size,
    )
    .await;
    for (what, sql) in [
        (
            "profiles",
            format!(
                "INSERT INTO doctor_profile (account_id, licence_no, title, specialties, biography, practice_since_year, updated_at) \
                 SELECT i, 'P' || lpad(i::text, 14, '0'), \
                 (ARRAY['chief', 'associate_chief', 'attending', 'resident'])[1 + i % 4], \
                 (ARRAY['高血压', '糖尿病', '哮喘', '冠心病', '小儿发热', '湿疹'])[1 + i % 6], \
                 '擅长常见病、多发病的诊治。', 1985 + i % 35, {now} FROM generate_series($LO, $HI) i"
            ),
        ),
        (
            // As the migration fills it for doctors made before it: characters and pairs, ASCII
            // letters in lower case.
            "name index",
            "INSERT INTO doctor_name_gram (gram, account_id) \
             SELECT DISTINCT substr(translate(a.display_name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', \
             'abcdefghijklmnopqrstuvwxyz'), k, n), a.id FROM account a, \
             generate_series(1, 50) k, generate_series(1, 2) n \
             WHERE a.id BETWEEN $LO AND $HI AND k + n - 1 <= char_length(a.display_name)"
                .to_owned(),
        ),
        (
            "practice sites",
            format!(
                "INSERT INTO practice_site (id, account_id, hospital_id, department_id, registration_no, status, created_at) \
                 SELECT i, i, $HOSP, $DEPT, 'R' || i, 'active', {now} FROM generate_series($LO, $HI) i"
            ),
        ),
        (
            "privileges",
            format!(
                "INSERT INTO privilege (id, account_id, hospital_id, kind, status, changed_at) \
                 SELECT i, i, $HOSP, 'consult', 'active', {now} FROM generate_series($LO, $HI) i"
            ),
        ),
        (
            "services",
            format!(
                "INSERT INTO service (id, hospital_id, department_id, doctor_id, kind, name, price_fen, duration_min, reply_within_min, active, created_at) \
                 SELECT i + s * $D, $HOSP, $DEPT, i, \
                 CASE s WHEN 0 THEN 'video_consult' ELSE 'text_consult' END, \
                 CASE s WHEN 0 THEN '视频复诊' ELSE '图文咨询' END, \
                 CASE s WHEN 0 THEN 2500 ELSE 0 END, 15, CASE s WHEN 0 THEN NULL ELSE 1440 END, TRUE, {now} \
                 FROM generate_series($LO, $HI) i, generate_series(0, 1) s"
            ),
        ),
        (
            "schedules",
            format!(
                "INSERT INTO schedule (id, doctor_id, hospital_id, service_id, active, created_at) \
                 SELECT i, i, $HOSP, i, TRUE, {now} FROM generate_series($LO, $HI) i"
            ),
        ),
        (
            "slots",
            format!(
                "INSERT INTO slot (id, schedule_id, start_at, end_at, day, capacity, booked, held, release_at, released, mode, status, created_at) \
                 SELECT ((i - 1) * {days} + d) * {SLOTS_A_DAY} + s + 1, i, t, t + 1800000, \
                 to_char(DATE '{first_day}' + d::int, 'YYYY-MM-DD'), {CAPACITY}, \
                 CASE WHEN d < {history} THEN {CAPACITY} ELSE 0 END, 0, t - 7 * 86400000, TRUE, 'online', 'open', {now} \
                 FROM generate_series($LO, $HI) i, generate_series(0, {days} - 1) d, generate_series(0, {SLOTS_A_DAY} - 1) s, \
                 LATERAL (SELECT {midnight} + d::bigint * 86400000 + CASE s WHEN 0 THEN 30600000 ELSE 52200000 END AS t) x"
            ),
        ),
    ] {
        per_doctors(pool, what, &sql, size).await;
    }
    people(state, pool, size, now).await;
    // Patients are spread over the slots by a multiplicative hash of the slot and place.
    per_doctors(
        pool,
        "appointments",
        &format!(
            "INSERT INTO appointment (slot_id, person_id, booked_by, doctor_id, day, status, created_at) \
             SELECT s.id, x.p, $D + x.p, s.schedule_id, s.day, 'completed', s.start_at - 86400000 \
             FROM slot s, generate_series(0, {CAPACITY} - 1) k, \
             LATERAL (SELECT 1 + ((s.id * {CAPACITY} + k) * 2654435761) % $P AS p) x \
             WHERE s.schedule_id BETWEEN $LO AND $HI AND s.booked = {CAPACITY}"
        ),
        size,
    )
    .await;
    let consultations = size.consultations();
    let waiting = size.doctors * WAITING_PER_DOCTOR;
    let day_ms = 86_400_000;
    // Consultation j is doctor 1 + (j - 1) % D's: j = i + D·m.
    let rounds = ceil_div(consultations + waiting, size.doctors);
    // Consultations 1..=C are completed, spread over the history; C+1.. wait in the queue.
    per_doctors(
        pool,
        "consultations",
        &format!(
            "INSERT INTO consultation (id, person_id, requested_by, hospital_id, department_id, service_id, doctor_id, \
             kind, channel, status, reply_within_min, first_reply_at, expires_at, last_seq, created_at, updated_at, ended_at, end_reason) \
             SELECT j, x.p, $D + x.p, $HOSP, $DEPT, $D + i, i, 'consultation', 'text', \
             CASE WHEN j <= {consultations} THEN 'completed' ELSE 'requested' END, 1440, \
             CASE WHEN j <= {consultations} THEN x.at + 600000 END, x.at + {day_ms}, \
             CASE WHEN j <= {consultations} THEN {MESSAGES_PER_CONSULTATION} ELSE 0 END, x.at, x.at, \
             CASE WHEN j <= {consultations} THEN x.at + 3600000 END, CASE WHEN j <= {consultations} THEN 'doctor' END \
             FROM (SELECT i + $D * m AS j, i FROM generate_series($LO, $HI) i, generate_series(0, {rounds} - 1) m) c, \
             LATERAL (SELECT 1 + (j * 2654435761) % $P AS p, \
             CASE WHEN j <= {consultations} THEN {now} - (1 + j % {history}) * {day_ms}::bigint ELSE {now} - 60000 * (j % 60) END AS at) x \
             WHERE c.j <= {consultations} + {waiting}"
        ),
        size,
    )
    .await;
    let consultation_range = "(SELECT id, person_id, doctor_id, hospital_id, created_at, status FROM consultation WHERE doctor_id BETWEEN $LO AND $HI) c";
    for (what, sql) in [
        (
            "intakes",
            format!(
                "INSERT INTO consultation_intake (consultation_id, chief_complaint, symptoms, temperature_dc, outbreak_area_travel, \
                 confirmed_case_contact, cluster, allergies, medications, created_at) \
                 SELECT c.id, (ARRAY['咳嗽三天', '血压控制不好', '复查血糖', '皮疹瘙痒', '孩子发烧一天'])[1 + c.id % 5], \
                 '[]', CASE WHEN c.id % 5 = 4 THEN 385 END, FALSE, FALSE, FALSE, '[]', '[]', c.created_at FROM {consultation_range}"
            ),
        ),
        (
            "care links",
            format!(
                "INSERT INTO care_link (account_id, person_id, hospital_id, kind, active, source_id, created_at) \
                 SELECT c.doctor_id, c.person_id, c.hospital_id, 'consultation', TRUE, c.id::text, c.created_at FROM {consultation_range}"
            ),
        ),
        (
            "messages",
            format!(
                "INSERT INTO consultation_message (consultation_id, seq, sender_id, kind, body, created_at) \
                 SELECT c.id, n, CASE WHEN n % 2 = 1 THEN $D + c.person_id ELSE c.doctor_id END, 'text', \
                 CASE WHEN n % 2 = 1 THEN '医生您好，这几天的情况是这样的（第' || n || '条）。' \
                 ELSE '收到，请按时服药，注意休息，有变化随时联系（第' || n || '条）。' END, c.created_at + n * 60000 \
                 FROM {consultation_range}, generate_series(1, {MESSAGES_PER_CONSULTATION}) n WHERE c.status = 'completed'"
            ),
        ),
    ] {
        per_doctors(pool, what, &sql, size).await;
    }
    let t = Instant::now();
    for (_, definition) in &indexes {
        run(pool, definition, size).await;
    }
    println!(
        "  {} secondary indexes built in {:.1} s",
        indexes.len(),
        t.elapsed().as_secs_f64()
    );
    for table in [
        "hospital",
        "department",
        "account",
        "person",
        "practice_site",
        "privilege",
        "service",
        "schedule",
        "slot",
        "consultation",
    ] {
        run(
            pool,
            &format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            ),
            size,
        )
        .await;
    }
    let t = Instant::now();
    run(pool, "VACUUM ANALYZE", size).await;
    println!("  vacuum analyze: {:.1} s", t.elapsed().as_secs_f64());
    run(
        pool,
        &format!(
            "INSERT INTO app_setting (key, value, updated_at) VALUES ('bench.province', '{}', {now})",
            size.label()
        ),
        size,
    )
    .await;
    println!("generated in {:.1} s", started.elapsed().as_secs_f64());
}

/// Database size and the biggest tables, for PERFORMANCE.md.
async fn report_sizes(pool: &PgPool) {
    let total: String =
        sqlx::query_scalar("SELECT pg_size_pretty(pg_database_size(current_database()))")
            .fetch_one(pool)
            .await
            .unwrap();
    println!("database size: {total}");
    let tables: Vec<(String, i64, String)> = sqlx::query_as(
        "SELECT c.relname::text, c.reltuples::bigint, pg_size_pretty(pg_total_relation_size(c.oid)) \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND c.relkind = 'r' \
         ORDER BY pg_total_relation_size(c.oid) DESC LIMIT 10",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for (table, rows, bytes) in tables {
        println!("  {table}: ~{rows} rows, {bytes} with indexes");
    }
}

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn get(&self, token: Option<&str>, path: &str) -> Value {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    async fn token(&self, username: &str) -> String {
        let response = self
            .http
            .post(format!("{}/auth/token", self.base))
            .form(&[
                ("grant_type", "password"),
                ("username", username),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "sign-in of {username}");
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    async fn step_up(&self, token: &str) {
        let response = self
            .http
            .post(format!("{}/api/v1/auth/step-up", self.base))
            .bearer_auth(token)
            .json(&json!({"method": "password", "proof": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status().as_u16(),
            204,
            "the doctor's identity check"
        );
    }
}

struct Timing {
    read: &'static str,
    samples: Vec<Duration>,
}

impl Timing {
    fn line(&mut self) -> Value {
        self.samples.sort();
        let n = self.samples.len();
        let at = |p: f64| self.samples[((n as f64 - 1.0) * p).round() as usize];
        let ms = |d: Duration| (d.as_secs_f64() * 1e5).round() / 100.0;
        println!(
            "  {:<28} {n:>5} requests  p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms",
            self.read,
            ms(at(0.5)),
            ms(at(0.99)),
            ms(self.samples[n - 1])
        );
        json!({"read": self.read, "requests": n, "p50_ms": ms(at(0.5)), "p99_ms": ms(at(0.99)), "max_ms": ms(self.samples[n - 1])})
    }
}

/// Picks `n` ids spread evenly over 1..=total.
fn spread(total: i64, n: i64) -> Vec<i64> {
    let n = n.min(total).max(1);
    (0..n).map(|k| 1 + k * (total / n)).collect()
}

#[tokio::main]
async fn main() {
    let size = Size::from_env();
    let url = std::env::var("YUNYI_BENCH_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
        .unwrap_or_else(|| {
            eprintln!(
                "bench_province writes a province into PostgreSQL: set YUNYI_BENCH_DATABASE_URL to an empty database"
            );
            std::process::exit(2)
        });
    // The generated numbers are encrypted with this data dir's key: keep both together.
    let kept = std::env::var("BENCH_DATA_DIR")
        .ok()
        .filter(|d| !d.is_empty());
    let temporary = tempfile::tempdir().unwrap();
    let dir = kept.map_or_else(|| temporary.path().to_owned(), std::path::PathBuf::from);
    std::fs::create_dir_all(&dir).unwrap();
    let mut config = Config::for_data_dir(&dir, Some(&url)).unwrap();
    config.jobs.enabled = false;
    let app = yunyi::Application::build(config).await.unwrap();
    let state = app.state().clone();
    let yunyi::db::Db::Postgres(pool) = state.db.clone() else {
        unreachable!("a postgres URL opens PostgreSQL")
    };
    let now = state.now_ms();

    let generated: Option<String> =
        sqlx::query_scalar("SELECT value FROM app_setting WHERE key = 'bench.province'")
            .fetch_optional(&pool)
            .await
            .unwrap();
    match generated {
        Some(label) if label == size.label() => println!("reusing {label}"),
        Some(label) => panic!("this database holds another size ({label}); use an empty one"),
        None => {
            let hospitals: i64 = sqlx::query_scalar("SELECT count(*) FROM hospital")
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(hospitals, 0, "bench_province needs an empty database");
            generate(&state, &pool, &size, now).await;
        }
    }
    report_sizes(&pool).await;

    // The accounts the reads sign in as get a password (the others have none, like people
    // who sign in by SMS code).
    let doctors = spread(size.doctors, 20);
    let patients = spread(size.patients, 20);
    let hash = yunyi::identity::password::hash(PASSWORD).await.unwrap();
    let accounts: Vec<i64> = doctors
        .iter()
        .copied()
        .chain(patients.iter().map(|p| size.doctors + p))
        .collect();
    sqlx::query("UPDATE account SET password_hash = $1 WHERE id = ANY($2)")
        .bind(&hash)
        .bind(&accounts)
        .execute(&pool)
        .await
        .unwrap();

    let addr = app.local_addr();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(app.run_until(shutdown.clone()));
    let client = Client {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()
            .unwrap(),
        base: format!("http://{addr}"),
    };
    let mut doctor_tokens = Vec::new();
    for d in &doctors {
        let token = client.token(&format!("pd{d}")).await;
        client.step_up(&token).await;
        // The patients this doctor has seen, for the FHIR read.
        let seen: Vec<i64> = sqlx::query_scalar(
            "SELECT person_id FROM care_link WHERE account_id = $1 AND active ORDER BY id LIMIT 5",
        )
        .bind(d)
        .fetch_all(&pool)
        .await
        .unwrap();
        assert!(!seen.is_empty(), "doctor {d} has seen nobody");
        doctor_tokens.push((*d, token, seen));
    }
    let mut patient_tokens = Vec::new();
    for p in &patients {
        patient_tokens.push(client.token(&format!("13{p:09}")).await);
    }

    let n = size.samples;
    let mut timings = Vec::new();
    let mut time = |read: &'static str| {
        timings.push(Timing {
            read,
            samples: Vec::with_capacity(n),
        });
        timings.len() - 1
    };
    let (fhir, search_dept, search_name, search_site, mine, queue, slots) = (
        time("FHIR Patient read (doctor)"),
        time("doctor search: department"),
        time("doctor search: name"),
        time("doctor search: hospital+kind"),
        time("a patient's appointments"),
        time("a doctor's queue"),
        time("slot search (14 days)"),
    );
    let departments = size.hospitals * 10;
    let mut names_found = 0;
    for k in 0..n {
        let (doctor, token, seen) = &doctor_tokens[k % doctor_tokens.len()];
        let patient = &patient_tokens[k % patient_tokens.len()];
        let k = k as i64;
        let reads: [(usize, Option<&str>, String); 7] = [
            (
                fhir,
                Some(token),
                format!("/fhir/Patient/{}", seen[k as usize % seen.len()]),
            ),
            (
                search_dept,
                None,
                format!("/api/v1/doctors?department={}", 1 + (k * 7) % departments),
            ),
            (
                search_name,
                None,
                format!("/api/v1/doctors?q={}", name(k * 13)),
            ),
            (
                search_site,
                None,
                format!(
                    "/api/v1/doctors?hospital={}&service=video_consult",
                    1 + k % size.hospitals
                ),
            ),
            (mine, Some(patient), "/api/v1/appointments".to_owned()),
            (queue, Some(token), "/api/v1/consultations/queue".to_owned()),
            (
                slots,
                None,
                format!(
                    "/api/v1/doctors/{}/slots?days=14",
                    1 + (k * 37) % size.doctors
                ),
            ),
        ];
        for (which, token, path) in reads {
            let t = Instant::now();
            let body = client.get(token, &path).await;
            timings[which].samples.push(t.elapsed());
            if which == queue {
                assert!(
                    !body["items"].as_array().unwrap().is_empty(),
                    "doctor {doctor}'s queue is empty"
                );
            }
            if which == mine {
                assert!(body["items"].is_array(), "{path}: {body}");
            }
            if which == search_name {
                // Fast because it found nothing would be no figure: every doctor found holds
                // the name asked for, and at full size every name asked for is someone's.
                let found = body["items"].as_array().expect("a list of doctors");
                let asked = name(k * 13);
                assert!(
                    found
                        .iter()
                        .all(|d| d["name"].as_str().is_some_and(|n| n.contains(&asked))),
                    "{path}: {body}"
                );
                names_found += usize::from(!found.is_empty());
            }
        }
    }
    // Doctor i is named by i mod 400 (surname, given name): with 400 doctors or more every
    // name asked for belongs to someone.
    if size.doctors >= 400 {
        assert_eq!(names_found, n, "a name search found nobody");
    }
    shutdown.cancel();
    server.await.unwrap().unwrap();
    println!("one client, {n} requests per read ({}):", size.label());
    let lines: Vec<Value> = timings.iter_mut().map(Timing::line).collect();
    println!("{}", json!({"size": size.label(), "reads": lines}));
}
