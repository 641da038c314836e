//! Doctors in the directory: profiles, multi-site practice, privileges and their rules,
//! services, search, support links, and the FHIR directory resources.

use chrono::Datelike as _;
use reqwest::StatusCode;
use serde_json::{Value, json};
use yunyi::directory::model::PrivilegeKind;
use yunyi::directory::service as directory;

use crate::fhir::assert_valid;
use crate::helpers::{PW, TestApp};

struct Ctx {
    app: TestApp,
    admin: String,
    gz: i64,
    jz: i64,
}

async fn setup() -> Ctx {
    let app = TestApp::with_demo().await;
    let admin = app.token("hospital-admin", PW).await;
    let hospitals = app.get_json("/api/v1/hospitals").await.1;
    let gz = hospitals["items"][0]["id"].as_i64().unwrap();
    let jz = hospitals["items"][1]["id"].as_i64().unwrap();
    Ctx { app, admin, gz, jz }
}

fn this_year() -> i64 {
    i64::from(yunyi::time::today().year())
}

impl Ctx {
    async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self.app.post_as(Some(token), path, &body).await;
        let status = r.status();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A schedule (weekly plan, no sessions yet) for a service, made by the hospital's admin.
    async fn new_schedule(&self, service: Value) -> i64 {
        let (s, body) = self
            .post(
                &self.admin,
                "/api/v1/schedules",
                json!({"service_id": service}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        body["schedule_id"].as_i64().unwrap()
    }

    /// A new doctor at the Guangzhou hospital with a profile and practice site.
    async fn new_doctor(&self, username: &str, since: i64) -> i64 {
        self.new_named_doctor(username, "新医生", since).await
    }

    async fn new_named_doctor(&self, username: &str, name: &str, since: i64) -> i64 {
        let (s, body) = self
            .post(
                &self.admin,
                "/api/v1/staff",
                json!({"username": username, "display_name": name, "role": "doctor", "hospital_id": self.gz, "password": "initial-pass"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        let id = body["account_id"].as_i64().unwrap();
        let r = self
            .app
            .client
            .put(self.app.url(&format!("/api/v1/doctors/{id}/profile")))
            .bearer_auth(&self.admin)
            .json(&json!({"licence_no": format!("11044{id:010}"), "title": "attending", "specialties": ["哮喘"], "biography": "", "practice_since_year": since}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::NO_CONTENT,
            "{}",
            r.text().await.unwrap()
        );
        let (s, body) = self
            .post(
                &self.admin,
                &format!("/api/v1/doctors/{id}/sites"),
                json!({"hospital_id": self.gz, "registration_no": "REG-NEW"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        id
    }

    async fn grant(&self, doctor: i64, hospital: i64, kind: &str) -> (StatusCode, Value) {
        self.post(
            &self.admin,
            &format!("/api/v1/doctors/{doctor}/privileges"),
            json!({"hospital_id": hospital, "kind": kind}),
        )
        .await
    }
}

#[tokio::test]
async fn internet_diagnosis_needs_three_years_and_prescribing_needs_internet_diagnosis() {
    let c = setup().await;
    let junior = c.new_doctor("junior", this_year() - 2).await;
    assert_eq!(
        c.grant(junior, c.gz, "consult").await.0,
        StatusCode::NO_CONTENT
    );
    let (s, body) = c.grant(junior, c.gz, "internet_diagnosis").await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(body["code"], "practice-too-short", "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("3 years"),
        "{body}"
    );
    let (s, body) = c.grant(junior, c.gz, "prescribe").await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(body["code"], "privilege-missing", "{body}");

    let senior = c.new_doctor("senior", this_year() - 3).await;
    assert_eq!(
        c.grant(senior, c.gz, "internet_diagnosis").await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        c.grant(senior, c.gz, "prescribe").await.0,
        StatusCode::NO_CONTENT
    );
    directory::require_privilege(&c.app.state, senior, c.gz, PrivilegeKind::Prescribe)
        .await
        .unwrap();

    // Unknown kinds and missing fields are named.
    let (s, body) = c.grant(senior, c.gz, "surgery").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "kind");
    c.app.stop().await;
}

#[tokio::test]
async fn a_suspended_privilege_stops_what_it_allows_until_reinstated() {
    let c = setup().await;
    let doctor = c.new_doctor("suspendme", 2000).await;
    c.grant(doctor, c.gz, "consult").await;
    c.grant(doctor, c.gz, "internet_diagnosis").await;
    directory::require_privilege(&c.app.state, doctor, c.gz, PrivilegeKind::InternetDiagnosis)
        .await
        .unwrap();

    let path = format!("/api/v1/doctors/{doctor}/privileges/internet_diagnosis");
    let (s, body) = c
        .post(
            &c.admin,
            &path,
            json!({"hospital_id": c.gz, "status": "suspended"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a reason is required");
    assert_eq!(body["errors"][0]["field"], "reason");
    let (s, _) = c
        .post(
            &c.admin,
            &path,
            json!({"hospital_id": c.gz, "status": "suspended", "reason": "执业注册到期待续"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(
        directory::require_privilege(&c.app.state, doctor, c.gz, PrivilegeKind::InternetDiagnosis)
            .await
            .is_err()
    );
    // A follow-up service needs the privilege.
    let service = json!({"hospital_id": c.gz, "doctor_id": doctor, "kind": "follow_up", "name": "复诊", "price_fen": 2000});
    let (s, body) = c.post(&c.admin, "/api/v1/services", service.clone()).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "privilege-missing", "{body}");
    assert_eq!(body["type"], "urn:yunyi:problem:conflict", "{body}");
    // Reinstated: allowed again.
    let (s, _) = c
        .post(
            &c.admin,
            &path,
            json!({"hospital_id": c.gz, "status": "active"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        c.post(&c.admin, "/api/v1/services", service).await.0,
        StatusCode::CREATED
    );

    // Every change is in the audit trail.
    let events: Value = c
        .app
        .get_as(&c.admin, "/api/v1/audit-events?action=privilege.suspend")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(events["items"][0]["reason"], "执业注册到期待续");
    c.app.stop().await;
}

#[tokio::test]
async fn privileges_are_per_hospital_and_need_a_practice_site_there() {
    let c = setup().await;
    let doctor1 = c.app.state.db.clone();
    let d1 = yunyi::identity::store::account_by_username(&doctor1, "doctor1")
        .await
        .unwrap()
        .unwrap()
        .id;
    // doctor1 practises at both hospitals: internet diagnosis in Guangzhou only.
    directory::require_privilege(&c.app.state, d1, c.gz, PrivilegeKind::InternetDiagnosis)
        .await
        .unwrap();
    directory::require_privilege(&c.app.state, d1, c.jz, PrivilegeKind::Consult)
        .await
        .unwrap();
    assert!(
        directory::require_privilege(&c.app.state, d1, c.jz, PrivilegeKind::InternetDiagnosis)
            .await
            .is_err()
    );

    // The Guangzhou administrator cannot grant anything in Jingzhou…
    let (s, _) = c.grant(d1, c.jz, "internet_diagnosis").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // …and nobody can grant where the doctor does not practise.
    let root = c.app.token("admin", PW).await;
    let d2 = yunyi::identity::store::account_by_username(&doctor1, "doctor2")
        .await
        .unwrap()
        .unwrap()
        .id;
    let (s, body) = c
        .post(
            &root,
            &format!("/api/v1/doctors/{d2}/privileges"),
            json!({"hospital_id": c.jz, "kind": "consult"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "site-required", "{body}");
    // A suspended practice site also ends what it allowed: privileges need an active site.
    c.app.stop().await;
}

#[tokio::test]
async fn supported_hospitals_patients_are_served_by_supporting_doctors() {
    let c = setup().await;
    let db = c.app.state.db.clone();
    let id = |name: &'static str| {
        let db = db.clone();
        async move {
            yunyi::identity::store::account_by_username(&db, name)
                .await
                .unwrap()
                .unwrap()
                .id
        }
    };
    let (d2, d19) = (id("doctor2").await, id("doctor19").await);
    // Guangzhou supports Jingzhou: a Guangzhou doctor serves Jingzhou's patients…
    assert!(
        directory::serves_patients_of(&c.app.state, d2, c.jz)
            .await
            .unwrap()
    );
    assert!(
        directory::serves_patients_of(&c.app.state, d2, c.gz)
            .await
            .unwrap()
    );
    // …but not the other way round.
    assert!(
        !directory::serves_patients_of(&c.app.state, d19, c.gz)
            .await
            .unwrap()
    );
    // Only platform administrators link hospitals; self-support is refused.
    let (s, _) = c
        .post(
            &c.admin,
            &format!("/api/v1/hospitals/{}/supported", c.jz),
            json!({"supported_id": c.gz}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let root = c.app.token("admin", PW).await;
    let (s, _) = c
        .post(
            &root,
            &format!("/api/v1/hospitals/{}/supported", c.jz),
            json!({"supported_id": c.jz}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = c
        .post(
            &root,
            &format!("/api/v1/hospitals/{}/supported", c.jz),
            json!({"supported_id": c.gz}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(
        directory::serves_patients_of(&c.app.state, d19, c.gz)
            .await
            .unwrap()
    );
    c.app.stop().await;
}

#[tokio::test]
async fn services_are_validated_and_free_clinics_are_free() {
    let c = setup().await;
    let doctor = c.new_doctor("clinic", 2005).await;
    c.grant(doctor, c.gz, "consult").await;
    let (s, body) = c
        .post(
            &c.admin,
            "/api/v1/services",
            json!({"hospital_id": c.gz, "doctor_id": doctor, "kind": "free_clinic", "name": "义诊", "price_fen": 500, "daily_quota": 10}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = crate::helpers::error_fields(&body);
    assert_eq!(fields, ["price_fen", "daily_quota"]);
    let (s, body) = c
        .post(&c.admin, "/api/v1/services", json!({"hospital_id": c.gz, "doctor_id": doctor, "kind": "free_clinic", "name": "义诊"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, body) = c
        .post(&c.admin, "/api/v1/services", json!({"hospital_id": c.gz, "kind": "text_consult", "name": "", "price_fen": -1, "duration_min": 1}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = crate::helpers::error_fields(&body);
    assert_eq!(fields, ["doctor_id", "name", "price_fen", "duration_min"]);
    let patient = c.app.token("patient1", PW).await;
    let (s, _) = c
        .post(&patient, "/api/v1/services", json!({"hospital_id": c.gz, "doctor_id": doctor, "kind": "free_clinic", "name": "义诊"}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    c.app.stop().await;
}

#[tokio::test]
async fn doctor_search_filters_and_pages() {
    let c = setup().await;
    let all = |q: &str| {
        let app = &c.app;
        let q = q.to_owned();
        async move {
            let mut names = Vec::new();
            let mut path = format!("/api/v1/doctors?limit=4&{q}");
            loop {
                let (status, body) = app.get_json(&path).await;
                assert_eq!(status, StatusCode::OK, "{body}");
                names.extend(
                    body["items"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|d| d["name"].as_str().unwrap().to_owned()),
                );
                match body["next_after"].as_i64() {
                    Some(after) => path = format!("/api/v1/doctors?limit=4&after={after}&{q}"),
                    None => break names,
                }
            }
        }
    };
    assert_eq!(
        all("").await.len(),
        21,
        "20 doctors, doctor1 at two hospitals"
    );
    assert_eq!(
        all("service=free_clinic").await,
        ["林志明"],
        "doctor1, by name in the county campaign"
    );
    let diabetes = all("specialty=%E7%B3%96%E5%B0%BF%E7%97%85").await;
    assert_eq!(diabetes, ["郑敏", "孙浩"]);
    let jz = all(&format!("hospital={}", c.jz)).await;
    assert_eq!(jz.len(), 3, "{jz:?}");
    assert_eq!(all("q=%25").await.len(), 0, "a % in the query is a literal");
    let (status, body) = c
        .app
        .get_json("/api/v1/doctors?service=surgery&hospital=x")
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"].as_array().unwrap().len(), 2);

    let (_, first) = c.app.get_json("/api/v1/doctors?limit=1").await;
    let id = first["items"][0]["id"].as_i64().unwrap();
    let (status, detail) = c.app.get_json(&format!("/api/v1/doctors/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["profile"]["title"], "chief");
    assert!(detail["years_of_practice"].as_i64().unwrap() >= 3);
    assert!(!detail["services"].as_array().unwrap().is_empty());
    assert_eq!(
        c.app.get_json("/api/v1/doctors/999999").await.0,
        StatusCode::NOT_FOUND
    );
    c.app.stop().await;
}

#[tokio::test]
async fn directory_resources_are_valid_fhir() {
    let c = setup().await;
    let get = |path: String| {
        let app = &c.app;
        async move {
            let r = app.get(&path).await;
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            let body: Value = r.json().await.unwrap();
            assert_valid(&body);
            body
        }
    };
    let orgs = get("/fhir/Organization".into()).await;
    assert_eq!(orgs["total"], 2);
    let org = get(format!("/fhir/Organization/{}", c.gz)).await;
    assert_eq!(org["name"], "云医示范医院");
    let roles = get(format!("/fhir/PractitionerRole?organization={}", c.jz)).await;
    let entries = roles["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    for e in entries {
        assert_valid(&e["resource"]);
    }
    let practitioner_ref = entries[0]["resource"]["practitioner"]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    let practitioner = get(format!("/fhir/{practitioner_ref}")).await;
    assert_eq!(practitioner["resourceType"], "Practitioner");
    let practitioners = get("/fhir/Practitioner?name=%E6%9E%97".into()).await;
    assert_eq!(practitioners["total"], 1, "林志明");
    let services = get(format!(
        "/fhir/HealthcareService?organization={}&_count=100",
        c.gz
    ))
    .await;
    let entries = services["entry"].as_array().unwrap();
    assert!(entries.len() > 20);
    for e in entries {
        assert_valid(&e["resource"]);
    }
    let id = entries[0]["resource"]["id"].as_str().unwrap().to_owned();
    get(format!("/fhir/HealthcareService/{id}")).await;
    let r = c.app.get("/fhir/Practitioner/abc").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    c.app.stop().await;
}

fn weekday_zh(day: chrono::NaiveDate) -> &'static str {
    ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
        [day.weekday().num_days_from_monday() as usize]
}

/// A doctor's card in the search results says when they can next be seen there and the lowest
/// price of their paid services there, as the API's slots and services have them.
#[tokio::test]
async fn doctor_cards_show_the_next_free_time_and_the_lowest_price() {
    let c = setup().await;
    let (_, found) = c.app.get_json("/api/v1/doctors?limit=1").await;
    let card = &found["items"][0];
    let (doctor, hospital) = (card["id"].as_i64().unwrap(), card["hospital_id"].clone());
    let (_, detail) = c.app.get_json(&format!("/api/v1/doctors/{doctor}")).await;
    let lowest = detail["services"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["hospital_id"] == hospital && s["active"] == true)
        .filter_map(|s| s["price_fen"].as_i64())
        .filter(|fen| *fen > 0)
        .min()
        .expect("a demo doctor with a paid service");
    // Before any schedule: no free time in the next two weeks.
    let card = || async {
        let html = c
            .app
            .get_text(&format!("/doctors?hospital={hospital}"))
            .await;
        let start = html
            .find(&format!(r#"<a href="/doctors/{doctor}">"#))
            .unwrap_or_else(|| panic!("no card for doctor {doctor}: {html}"));
        let rest = &html[start..];
        rest[..rest.find("</li>").unwrap()].to_owned()
    };
    let facts = card().await;
    assert!(facts.contains("14 天内暂无号源"), "{facts}");
    // The hospital opens the doctor's text consultations tomorrow from 08:00.
    let service = detail["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "text_consult" && s["hospital_id"] == hospital)
        .unwrap()["id"]
        .clone();
    let schedule = c.new_schedule(service).await;
    let tomorrow = yunyi::time::today() + chrono::Duration::days(1);
    let (s, body) = c
        .post(
            &c.admin,
            &format!("/api/v1/schedules/{schedule}/sessions"),
            json!({"date": tomorrow.to_string(), "start": "08:00", "end": "09:00",
                   "release_at": chrono::Utc::now().to_rfc3339()}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let facts = card().await;
    let when = format!(
        "最近可约 {} {} 08:00",
        weekday_zh(tomorrow),
        tomorrow.format("%m-%d")
    );
    assert!(facts.contains(&when), "{when}: {facts}");
    let price = format!("¥{}.{:02} 起", lowest / 100, lowest % 100);
    assert!(facts.contains(&price), "{price}: {facts}");

    // A new doctor with no services and no schedule says so, with no price.
    c.new_doctor("card-doctor", this_year() - 3).await;
    let html = c
        .app
        .get_text("/doctors?q=%E6%96%B0%E5%8C%BB%E7%94%9F")
        .await;
    assert!(html.contains("14 天内暂无号源"), "{html}");
    assert!(!html.contains("price-from"), "{html}");
    c.app.stop().await;
}

#[tokio::test]
async fn a_search_finds_a_doctor_by_any_part_of_the_name_and_only_by_a_part() {
    let c = setup().await;
    let ouyang = c.new_named_doctor("name-1", "欧阳明华", 2001).await;
    let minghua = c.new_named_doctor("name-2", "明华", 2002).await;
    let li = c.new_named_doctor("name-3", "Li Na", 2003).await;
    let ours = [ouyang, minghua, li];
    let found = |part: &'static str| {
        let app = &c.app;
        async move {
            let path = format!(
                "/api/v1/doctors?limit=100&q={}",
                url::form_urlencoded::byte_serialize(part.as_bytes()).collect::<String>()
            );
            let (status, body) = app.get_json(&path).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let mut ids: Vec<i64> = body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["id"].as_i64().unwrap())
                .filter(|id| ours.contains(id))
                .collect();
            ids.sort_unstable();
            ids
        }
    };
    assert_eq!(found("欧阳").await, [ouyang]);
    assert_eq!(found("明华").await, [ouyang, minghua]);
    assert_eq!(found("华").await, [ouyang, minghua]);
    assert_eq!(found("阳明华").await, [ouyang]);
    assert_eq!(found("欧阳明华").await, [ouyang]);
    // Characters of the name, but not side by side: not a part of it.
    assert!(found("欧明").await.is_empty());
    assert_eq!(found("Li N").await, [li]);
    assert_eq!(found("i Na").await, [li]);
    // `%` and `_` are themselves, not wildcards.
    assert!(found("明%").await.is_empty());
    // Saving the profile again keeps the doctor findable, once.
    let r = c
        .app
        .client
        .put(c.app.url(&format!("/api/v1/doctors/{minghua}/profile")))
        .bearer_auth(&c.admin)
        .json(&json!({"licence_no": format!("11044{minghua:010}"), "title": "chief", "specialties": ["哮喘"], "biography": "", "practice_since_year": 2002}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(found("明华").await, [ouyang, minghua]);
    c.app.stop().await;
}

#[tokio::test]
async fn patients_find_doctors_and_read_their_profiles_on_the_pages() {
    let c = setup().await;
    let html = c
        .app
        .get("/doctors?service=free_clinic")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("找医生") && html.contains(r#"id="doctor-list""#));
    assert_eq!(html.matches(r#"<li class="card">"#).count(), 1, "{html}");
    let html = c
        .app
        .get("/doctors?q=%E4%B8%8D%E5%AD%98%E5%9C%A8")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(r#"id="no-doctors""#));
    let r = c.app.get("/doctors?service=bogus").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text().await.unwrap().contains("service"),
        "the page names the bad parameter"
    );

    let d1 = yunyi::identity::store::account_by_username(&c.app.db, "doctor1")
        .await
        .unwrap()
        .unwrap()
        .id;
    let html = c
        .app
        .get(&format!("/doctors/{d1}"))
        .await
        .text()
        .await
        .unwrap();
    for text in [
        "林志明",
        "主任医师",
        "互联网诊疗",
        "图文问诊",
        "¥60.00",
        "云医示范医院",
        "公安县",
    ] {
        assert!(html.contains(text), "profile lacks {text}");
    }
    let html = c
        .app
        .client
        .get(c.app.url(&format!("/doctors/{d1}")))
        .header("cookie", "yunyi_lang=en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Chief physician")
            && html.contains("Internet diagnosis")
            && html.contains("Text consultation")
    );
    assert_eq!(
        c.app.get("/doctors/abc").await.status(),
        StatusCode::NOT_FOUND
    );
    c.app.stop().await;
}

/// The smallest valid PNG: one transparent pixel.
pub(crate) const PIXEL_PNG: [u8; 67] = [
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

#[tokio::test]
async fn doctor_photos_go_to_the_blob_store_and_only_images_are_accepted() {
    let c = setup().await;
    let d1 = yunyi::identity::store::account_by_username(&c.app.db, "doctor1")
        .await
        .unwrap()
        .unwrap()
        .id;
    let put = |token: String, body: Vec<u8>| {
        let app = &c.app;
        async move {
            app.client
                .put(app.url(&format!("/api/v1/doctors/{d1}/photo")))
                .bearer_auth(token)
                .header("content-type", "image/png")
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(
        c.app.get(&format!("/doctors/{d1}/photo")).await.status(),
        StatusCode::NOT_FOUND
    );
    // An SVG (script-capable) claiming to be a PNG is refused by its bytes.
    assert_eq!(
        put(c.admin.clone(), b"<svg onload=alert(1)>".to_vec()).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    // Another doctor may not change it; the doctor and their hospital's admin may.
    let d2 = c.app.token("doctor2", PW).await;
    assert_eq!(put(d2, PIXEL_PNG.to_vec()).await, StatusCode::FORBIDDEN);
    let me = c.app.token("doctor1", PW).await;
    assert_eq!(put(me, PIXEL_PNG.to_vec()).await, StatusCode::NO_CONTENT);
    assert_eq!(
        put(c.admin.clone(), PIXEL_PNG.to_vec()).await,
        StatusCode::NO_CONTENT
    );

    let r = c.app.get(&format!("/doctors/{d1}/photo")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.bytes().await.unwrap().as_ref(), PIXEL_PNG.as_slice());
    // Stored once, by content, in the data directory's blob folder.
    let key = yunyi::blob::key_of(&PIXEL_PNG);
    let path = yunyi::blob::LocalBlobStore::new(c.app.test_db.data_dir().join("blobs"))
        .path_for(&key)
        .unwrap();
    assert!(path.exists(), "{}", path.display());
    let html = c
        .app
        .get(&format!("/doctors/{d1}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&format!("/doctors/{d1}/photo?v={}", &key[..12])),
        "{html}"
    );
    c.app.stop().await;
}

#[tokio::test]
async fn platform_admins_add_hospitals_and_hospital_admins_add_departments() {
    let c = setup().await;
    let root = c.app.token("admin", PW).await;
    let hospital = json!({
        "code": "NEW-001", "name": "新建示范医院", "level": "二级甲等", "region_code": "420100", "address": "武汉",
        "departments": [{"std_code": "07", "name": "儿科"}, {"std_code": "7", "name": ""}]
    });
    let (s, body) = c.post(&root, "/api/v1/hospitals", hospital.clone()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = crate::helpers::error_fields(&body);
    assert_eq!(fields, ["departments[1].std_code", "departments[1].name"]);
    let mut ok = hospital.clone();
    ok["departments"] = json!([{"std_code": "07", "name": "儿科"}]);
    assert_eq!(
        c.post(&c.admin, "/api/v1/hospitals", ok.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    let (s, body) = c.post(&root, "/api/v1/hospitals", ok.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let id = body["hospital_id"].as_i64().unwrap();
    assert_eq!(
        c.post(&root, "/api/v1/hospitals", ok).await.0,
        StatusCode::CONFLICT,
        "same code"
    );

    // Departments: the hospital's own administrators (not another hospital's).
    let (s, _) = c
        .post(
            &c.admin,
            &format!("/api/v1/hospitals/{id}/departments"),
            json!({"std_code": "03.01", "name": "呼吸内科"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = c
        .post(
            &c.admin,
            &format!("/api/v1/hospitals/{}/departments", c.gz),
            json!({"std_code": "10", "name": "眼科", "name_en": "Ophthalmology"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, body) = c
        .post(
            &c.admin,
            &format!("/api/v1/hospitals/{}/departments", c.gz),
            json!({"std_code": "10", "name": "眼科"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(body["errors"][0]["field"], "name");

    // Suspension needs a reason and shows in the directory.
    let path = format!("/api/v1/hospitals/{id}/status");
    assert_eq!(
        c.post(&root, &path, json!({"status": "suspended"})).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        c.post(
            &root,
            &path,
            json!({"status": "suspended", "reason": "执业许可证年检"})
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    let (_, detail) = c.app.get_json(&format!("/api/v1/hospitals/{id}")).await;
    assert_eq!(detail["status"], "suspended");
    c.app.stop().await;
}

#[tokio::test]
async fn free_clinic_campaigns_take_volunteers_who_serve_the_hospital() {
    let c = setup().await;
    let (_, campaigns) = c.app.get_json("/api/v1/campaigns").await;
    let demo = &campaigns["items"][0];
    assert_eq!(demo["hospital_id"], c.jz);
    assert_eq!(demo["doctors"].as_array().unwrap().len(), 3);

    let id = |name: &'static str| {
        let db = c.app.db.clone();
        async move {
            yunyi::identity::store::account_by_username(&db, name)
                .await
                .unwrap()
                .unwrap()
                .id
        }
    };
    let (d2, d19) = (id("doctor2").await, id("doctor19").await);
    let today = yunyi::time::today();
    let body = |doctors: Vec<i64>, hospital: i64| {
        json!({"hospital_id": hospital, "name": "社区义诊", "starts_on": today.to_string(),
               "ends_on": (today + chrono::Duration::days(2)).to_string(), "doctor_ids": doctors})
    };
    // A Guangzhou doctor may volunteer for Guangzhou; a county doctor may not serve Guangzhou.
    let (s, _) = c
        .post(&c.admin, "/api/v1/campaigns", body(vec![d2], c.gz))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, body_err) = c
        .post(&c.admin, "/api/v1/campaigns", body(vec![d2, d19], c.gz))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body_err["errors"][0]["field"], "doctor_ids");
    let mut backwards = body(vec![d2], c.gz);
    backwards["ends_on"] = json!("2000-01-01");
    assert_eq!(
        c.post(&c.admin, "/api/v1/campaigns", backwards).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let (_, campaigns) = c.app.get_json("/api/v1/campaigns").await;
    assert_eq!(campaigns["items"].as_array().unwrap().len(), 2);
    c.app.stop().await;
}

#[tokio::test]
async fn hospital_admins_manage_privileges_on_their_page() {
    let c = setup().await;
    let b = c.app.sign_in_browser("hospital-admin").await;
    let html = b.page("/admin/doctors").await;
    assert!(html.contains("医生执业权限") && html.contains("云医示范医院"));
    assert_eq!(
        html.matches(r#"class="privilege-row""#).count(),
        18 * 4,
        "18 doctors × 4 privileges"
    );
    let d3 = yunyi::identity::store::account_by_username(&c.app.db, "doctor3")
        .await
        .unwrap()
        .unwrap()
        .id;
    let base = |action: &str| {
        vec![
            ("doctor_id", d3.to_string()),
            ("hospital_id", c.gz.to_string()),
            ("kind", "teleconsult".to_owned()),
            ("action", action.to_owned()),
        ]
    };
    let html = b.submit("/admin/doctors/privileges", &base("grant")).await;
    assert!(html.contains(r#"id="form-notice""#), "{html}");
    let html = b
        .submit("/admin/doctors/privileges", &base("suspend"))
        .await;
    assert!(
        html.contains(r#"id="form-message""#) && html.contains("reason"),
        "a reason is required"
    );
    let mut with_reason = base("suspend");
    with_reason.push(("reason", "会诊资质复核".to_owned()));
    assert!(
        b.submit("/admin/doctors/privileges", &with_reason)
            .await
            .contains(r#"id="form-notice""#)
    );
    assert!(
        directory::require_privilege(&c.app.state, d3, c.gz, PrivilegeKind::Teleconsult)
            .await
            .is_err()
    );
    assert!(
        b.submit("/admin/doctors/privileges", &base("reinstate"))
            .await
            .contains(r#"id="form-notice""#)
    );
    directory::require_privilege(&c.app.state, d3, c.gz, PrivilegeKind::Teleconsult)
        .await
        .unwrap();

    let patient = c.app.token("patient1", PW).await;
    let r = c
        .app
        .client
        .get(c.app.url("/admin/doctors"))
        .bearer_auth(patient)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    c.app.stop().await;
}

#[tokio::test]
async fn hospital_admins_add_departments_services_and_campaigns_on_their_page() {
    let c = setup().await;
    let b = c.app.sign_in_browser("hospital-admin").await;
    let html = b.page("/admin/hospital").await;
    assert!(
        html.contains(r#"id="department-form""#)
            && html.contains(r#"id="service-form""#)
            && html.contains(r#"id="campaign-form""#)
    );

    let html = b
        .submit(
            "/admin/hospital/departments",
            &[
                ("hospital_id", c.gz.to_string()),
                ("std_code", "1".into()),
                ("name", "眼科".into()),
            ],
        )
        .await;
    assert!(
        html.contains(r#"id="form-message""#) && html.contains("std_code"),
        "{html}"
    );
    let html = b
        .submit(
            "/admin/hospital/departments",
            &[
                ("hospital_id", c.gz.to_string()),
                ("std_code", "10".into()),
                ("name", "眼科".into()),
                ("offers_online", "on".into()),
            ],
        )
        .await;
    assert!(html.contains(r#"id="form-notice""#) && html.contains("眼科"));

    let d2 = yunyi::identity::store::account_by_username(&c.app.db, "doctor2")
        .await
        .unwrap()
        .unwrap()
        .id;
    let html = b
        .submit(
            "/admin/hospital/services",
            &[
                ("hospital_id", c.gz.to_string()),
                ("doctor_id", d2.to_string()),
                ("kind", "text_consult".into()),
                ("name", "夜间图文".into()),
                ("price_yuan", "abc".into()),
            ],
        )
        .await;
    assert!(html.contains("price_yuan"), "{html}");
    let html = b
        .submit(
            "/admin/hospital/services",
            &[
                ("hospital_id", c.gz.to_string()),
                ("doctor_id", d2.to_string()),
                ("kind", "text_consult".into()),
                ("name", "夜间图文".into()),
                ("price_yuan", "25.5".into()),
            ],
        )
        .await;
    assert!(
        html.contains(r#"id="form-notice""#)
            && html.contains("夜间图文")
            && html.contains("¥25.50"),
        "{html}"
    );

    let today = yunyi::time::today();
    let html = b
        .submit(
            "/admin/hospital/campaigns",
            &[
                ("hospital_id", c.gz.to_string()),
                ("name", "社区健康义诊".into()),
                ("starts_on", today.to_string()),
                ("ends_on", (today + chrono::Duration::days(3)).to_string()),
                ("doctor_ids", d2.to_string()),
            ],
        )
        .await;
    assert!(html.contains(r#"id="form-notice""#), "{html}");
    let (_, campaigns) = c.app.get_json("/api/v1/campaigns").await;
    assert!(
        campaigns["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["name"] == "社区健康义诊" && x["doctors"][0] == d2)
    );
    c.app.stop().await;
}

#[tokio::test]
async fn hospital_admins_edit_doctor_profiles_and_sites_on_a_page() {
    let c = setup().await;
    let b = c.app.sign_in_browser("hospital-admin").await;
    let id = |name: &'static str| {
        let db = c.app.db.clone();
        async move {
            yunyi::identity::store::account_by_username(&db, name)
                .await
                .unwrap()
                .unwrap()
                .id
        }
    };
    let (d9, d19) = (id("doctor9").await, id("doctor19").await);
    let html = b.page(&format!("/admin/doctors/{d9}")).await;
    assert!(
        html.contains(r#"id="profile-form""#) && html.contains("110440000000009"),
        "{html}"
    );
    let profile = |year: &str| {
        vec![
            ("licence_no", "110440000000009".to_owned()),
            ("title", "attending".to_owned()),
            ("specialties", "产后随访、母乳喂养".to_owned()),
            ("biography", "".to_owned()),
            ("practice_since_year", year.to_owned()),
        ]
    };
    let html = b
        .submit(&format!("/admin/doctors/{d9}/profile"), &profile("abc"))
        .await;
    assert!(html.contains("practice_since_year"), "{html}");
    // Corrected: ten years of practice, so internet diagnosis may now be granted.
    let html = b
        .submit(&format!("/admin/doctors/{d9}/profile"), &profile("2015"))
        .await;
    assert!(
        html.contains(r#"id="form-notice""#) && html.contains("产后随访、母乳喂养"),
        "{html}"
    );
    assert_eq!(
        c.grant(d9, c.gz, "internet_diagnosis").await.0,
        StatusCode::NO_CONTENT
    );

    // Sites at another hospital are that hospital's administrators' decision.
    let html = b
        .submit(
            &format!("/admin/doctors/{d9}/sites"),
            &[
                ("hospital_id", c.jz.to_string()),
                ("department_id", String::new()),
                ("registration_no", "REG-X".into()),
            ],
        )
        .await;
    assert!(html.contains(r#"id="form-message""#), "{html}");
    // Another hospital's doctor is not on this administrator's pages.
    let r = b
        .client
        .get(c.app.url(&format!("/admin/doctors/{d19}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    c.app.stop().await;
}

#[tokio::test]
async fn platform_admins_manage_hospitals_on_a_page() {
    let c = setup().await;
    let b = c.app.sign_in_browser("admin").await;
    let html = b.page("/admin/hospitals").await;
    assert!(html.contains(r#"id="hospital-form""#) && html.contains("公安县示范人民医院"));
    let new = |region: &str| {
        vec![
            ("code", "PAGE-001".to_owned()),
            ("name", "页面新建医院".to_owned()),
            ("name_en", String::new()),
            ("level", "一级甲等".to_owned()),
            ("region_code", region.to_owned()),
            ("address", "荆州".to_owned()),
        ]
    };
    let html = b.submit("/admin/hospitals", &new("12")).await;
    assert!(html.contains("region_code"), "{html}");
    let html = b.submit("/admin/hospitals", &new("421002")).await;
    assert!(html.contains(r#"id="form-notice""#) && html.contains("页面新建医院"));
    let hospitals = c.app.get_json("/api/v1/hospitals").await.1;
    let new_id = hospitals["items"][2]["id"].as_i64().unwrap();
    let html = b
        .submit(
            "/admin/hospitals/actions",
            &[
                ("hospital_id", c.gz.to_string()),
                ("action", "support".into()),
                ("supported_id", new_id.to_string()),
            ],
        )
        .await;
    assert!(html.contains(r#"id="form-notice""#), "{html}");
    let d2 = yunyi::identity::store::account_by_username(&c.app.db, "doctor2")
        .await
        .unwrap()
        .unwrap()
        .id;
    assert!(
        directory::serves_patients_of(&c.app.state, d2, new_id)
            .await
            .unwrap()
    );
    let html = b
        .submit(
            "/admin/hospitals/actions",
            &[
                ("hospital_id", new_id.to_string()),
                ("action", "suspend".into()),
            ],
        )
        .await;
    assert!(html.contains(r#"id="form-message""#) && html.contains("reason"));
    let html = b
        .submit(
            "/admin/hospitals/actions",
            &[
                ("hospital_id", new_id.to_string()),
                ("action", "suspend".into()),
                ("reason", "停业整顿".into()),
            ],
        )
        .await;
    assert!(html.contains(r#"id="form-notice""#));
    assert_eq!(
        c.app
            .get_json(&format!("/api/v1/hospitals/{new_id}"))
            .await
            .1["status"],
        "suspended"
    );

    let hadmin = c.app.token("hospital-admin", PW).await;
    let r = c
        .app
        .client
        .get(c.app.url("/admin/hospitals"))
        .bearer_auth(hadmin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    c.app.stop().await;
}

#[tokio::test]
async fn available_today_means_an_online_service_and_an_active_consult_privilege() {
    let c = setup().await;
    let count = |q: &'static str| {
        let app = &c.app;
        async move {
            let (status, body) = app
                .get_json(&format!("/api/v1/doctors?limit=100&{q}"))
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body["items"].as_array().unwrap().len()
        }
    };
    // 21 cards; the two emergency doctors offer no online service (doctor1's county site
    // offers the free-clinic campaign's consultations).
    assert_eq!(count("available=today").await, 19);
    let d4 = yunyi::identity::store::account_by_username(&c.app.db, "doctor4")
        .await
        .unwrap()
        .unwrap()
        .id;
    let (s, _) = c
        .post(
            &c.admin,
            &format!("/api/v1/doctors/{d4}/privileges/consult"),
            json!({"hospital_id": c.gz, "status": "suspended", "reason": "停诊"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        count("available=today").await,
        18,
        "a suspended doctor is not available"
    );
    assert_eq!(
        c.app.get_json("/api/v1/doctors?available=today").await.0,
        StatusCode::OK
    );
    // An emergency doctor with no on-demand service becomes available through a free time
    // today in a schedule (a follow-up clinic).
    let er = yunyi::identity::store::account_by_username(&c.app.db, "doctor17")
        .await
        .unwrap()
        .unwrap()
        .id;
    let (_, detail) = c.app.get_json(&format!("/api/v1/doctors/{er}")).await;
    assert!(
        detail["services"].as_array().unwrap().is_empty(),
        "{detail}"
    );
    let (s, body) = c.grant(er, c.gz, "internet_diagnosis").await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    let (s, service) = c
        .post(
            &c.admin,
            "/api/v1/services",
            json!({"hospital_id": c.gz, "doctor_id": er, "kind": "follow_up", "name": "急诊复诊",
                   "price_fen": 2500, "duration_min": 15}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{service}");
    let service = service["service_id"]
        .as_i64()
        .or(service["id"].as_i64())
        .unwrap();
    let schedule = c.new_schedule(json!(service)).await;
    assert_eq!(count("available=today").await, 18, "no free time yet");
    // A free slot later today (written directly: a session today may not fit before midnight).
    let now = yunyi::clock::now_ms();
    let today = yunyi::time::today();
    let midnight = yunyi::time::cst_ms(today.succ_opt().unwrap(), chrono::NaiveTime::MIN).unwrap();
    let start = (now + 10 * 60_000).min(midnight - 1000);
    let sql = format!(
        "INSERT INTO slot (schedule_id, start_at, end_at, day, capacity, booked, held, release_at, released, mode, status, created_at) \
         VALUES ({schedule}, {start}, {}, '{today}', 1, 0, 0, {now}, TRUE, 'in_person', 'open', {now})",
        start + 15 * 60_000
    );
    c.app.db.execute(&sql, ()).await.map(|_| ()).unwrap();
    assert_eq!(
        count("available=today").await,
        19,
        "a free time today counts"
    );
    assert_eq!(
        c.app.get_json("/api/v1/doctors?available=tomorrow").await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    c.app.stop().await;
}
