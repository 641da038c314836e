//! `yunyi demo`: seeds a demo hospital network into an empty database, once.
//!
//! Idempotent and safe with several processes: the seed runs in one transaction that first
//! claims the `demo.seeded` setting with `ON CONFLICT DO NOTHING`; whoever does not get the
//! claim seeds nothing. A half-seeded database cannot exist because the transaction is atomic.

mod care;
mod consultations;
mod education;
mod formulary;
mod groups;
mod notifications;
mod picture;
mod prescriptions;
mod surveillance;
mod teleconsult;
mod training;

use std::fmt;

use crate::app::AppState;
use crate::clock::now_ms;
use crate::db::{Db, Tx};
use crate::directory::model::{NewDepartment, NewHospital, Title};
use crate::directory::{self, store as directory_store};
use crate::error::{AppError, AppResult};
use crate::identity::model::{IdCardNumber, Phone};
use crate::identity::{password, service as identity_service, store as identity_store};

/// Bumped when the demo data set changes shape; recorded in `app_setting`.
pub const DEMO_VERSION: &str = "1";

/// What the demo contains, printed by `yunyi demo`.
#[derive(Debug, Clone)]
pub struct DemoSummary {
    pub newly_seeded: bool,
    pub hospitals: i64,
    pub accounts: i64,
}

/// The password of every demo account. Demo mode only: `serve` seeds no accounts.
pub const DEMO_PASSWORD: &str = "yunyi-demo";

impl fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.newly_seeded {
            "seeded"
        } else {
            "already present, kept as it is"
        };
        writeln!(
            f,
            "  demo data: {what} ({} hospitals with their departments, {} accounts)",
            self.hospitals, self.accounts
        )?;
        writeln!(
            f,
            "  demo logins (the password of every one is {DEMO_PASSWORD}):"
        )?;
        writeln!(
            f,
            "    admin (platform admin), hospital-admin, doctor1 … doctor20, nurse1, nurse2, pharmacist1,"
        )?;
        writeln!(
            f,
            "    officer1 (infection control), regulator1, patient1 … patient5"
        )?;
        writeln!(
            f,
            "    patients may also sign in with their phones 13800000001 … 13800000005"
        )?;
        write!(
            f,
            "  text messages (sign-in codes) appear at /dev/inbox instead of being sent"
        )
    }
}

struct DemoHospital {
    hospital: NewHospital,
    departments: Vec<NewDepartment>,
}

fn dept(std_code: &str, name: &str, name_en: &str, online: bool) -> NewDepartment {
    NewDepartment {
        std_code: std_code.to_owned(),
        name: name.to_owned(),
        name_en: Some(name_en.to_owned()),
        offers_online: online,
    }
}

/// A tertiary hospital in Guangzhou supporting a county hospital in Jingzhou, as in the
/// Guangdong–Jingzhou support the product brief describes.
fn demo_hospitals() -> Vec<DemoHospital> {
    vec![
        DemoHospital {
            hospital: NewHospital {
                code: "DEMO-GZ-001".to_owned(),
                name: "云医示范医院".to_owned(),
                name_en: Some("Yunyi Demonstration Hospital".to_owned()),
                level: "三级甲等".to_owned(),
                region_code: "440106".to_owned(),
                address: "广东省广州市天河区示范路 1 号".to_owned(),
            },
            departments: vec![
                dept("03.01", "呼吸内科", "Respiratory Medicine", true),
                dept("03.04", "心血管内科", "Cardiology", true),
                dept("03.07", "内分泌科", "Endocrinology", true),
                dept("05", "妇产科", "Obstetrics and Gynaecology", true),
                dept("07", "儿科", "Paediatrics", true),
                dept("15", "心理咨询科", "Psychological Counselling", true),
                dept(
                    "16",
                    "感染科（发热门诊）",
                    "Infectious Diseases (Fever Clinic)",
                    true,
                ),
                dept("20", "急诊医学科", "Emergency Medicine", false),
            ],
        },
        DemoHospital {
            hospital: NewHospital {
                code: "DEMO-JZ-001".to_owned(),
                name: "公安县示范人民医院".to_owned(),
                name_en: Some("Gong'an County Demonstration People's Hospital".to_owned()),
                level: "二级甲等".to_owned(),
                region_code: "421022".to_owned(),
                address: "湖北省荆州市公安县示范大道 8 号".to_owned(),
            },
            departments: vec![
                dept("02", "全科医疗科", "General Practice", true),
                dept("03", "内科", "Internal Medicine", true),
                dept("07", "儿科", "Paediatrics", true),
                dept("01", "预防保健科", "Preventive Care", false),
            ],
        },
    ]
}

/// Claims a part of the demo inside `tx`: true for the one caller that should seed it.
async fn claim(tx: &mut Tx, part: &str) -> AppResult<bool> {
    Ok(identity_store::insert_setting_once(tx, part, DEMO_VERSION, now_ms()).await?)
}

/// Seeds each part of the demo that this database has never had. Safe to call on every
/// start; each part is one transaction, so it is there whole or not at all.
pub async fn seed(state: &AppState) -> AppResult<DemoSummary> {
    let db = &state.db;
    let mut tx = db.begin().await?;
    let directory_new = claim(&mut tx, "demo.seeded").await?;
    if directory_new {
        for demo in demo_hospitals() {
            directory::service::create_hospital(
                &mut tx,
                &demo.hospital,
                &demo.departments,
                state.now_ms(),
            )
            .await?;
        }
    }
    tx.commit().await?;

    let mut tx = db.begin().await?;
    let accounts_new = claim(&mut tx, "demo.accounts").await?;
    if accounts_new {
        seed_accounts(state, &mut tx).await?;
    }
    tx.commit().await?;

    let mut tx = db.begin().await?;
    let practice_new = claim(&mut tx, "demo.practice").await?;
    if practice_new {
        seed_practice(db, &mut tx).await?;
    }
    tx.commit().await?;

    let mut tx = db.begin().await?;
    let records_new = claim(&mut tx, "demo.records").await?;
    if records_new {
        seed_records(db, &mut tx).await?;
    }
    tx.commit().await?;

    let mut tx = db.begin().await?;
    let consultations_new = claim(&mut tx, "demo.consultations").await?;
    if consultations_new {
        consultations::seed(state, &mut tx).await?;
    }
    tx.commit().await?;

    let gz = hospital_id(db, "DEMO-GZ-001").await?;
    let jz = hospital_id(db, "DEMO-JZ-001").await?;
    let mut tx = db.begin().await?;
    let formulary_new = claim(&mut tx, "demo.formulary").await?;
    if formulary_new {
        formulary::seed(&mut tx, &[gz, jz]).await?;
    }
    tx.commit().await?;
    let mut tx = db.begin().await?;
    if claim(&mut tx, "demo.pharmacies").await? {
        formulary::seed_pharmacies(db, &mut tx, &[gz, jz]).await?;
    }
    tx.commit().await?;
    let mut tx = db.begin().await?;
    if claim(&mut tx, "demo.prescriptions").await? {
        prescriptions::seed(state, &mut tx).await?;
    }
    tx.commit().await?;
    // Surveillance: the rules first (screening reads them committed), then the flagged case,
    // then the counts and a scan that raises the alert.
    let mut tx = db.begin().await?;
    if claim(&mut tx, "demo.screening_rules").await? {
        surveillance::seed_rules(state, &mut tx, gz).await?;
    }
    tx.commit().await?;
    state.screening_rules.forget(&gz);
    let mut tx = db.begin().await?;
    let surveillance_new = claim(&mut tx, "demo.surveillance").await?;
    if surveillance_new {
        surveillance::seed_case(state, &mut tx).await?;
        surveillance::seed_counts(&mut tx).await?;
    }
    tx.commit().await?;
    if surveillance_new {
        crate::surveillance::scan::run(state, crate::time::cst_today(state.now_ms())).await?;
    }
    // Health education: after the alert, which its two outbreak articles are pushed from.
    let mut tx = db.begin().await?;
    let education_new = claim(&mut tx, "demo.education").await?;
    tx.commit().await?;
    if education_new {
        education::seed(state).await?;
    }
    // The patient group: after the consultations, which link patient1 to the hospital.
    let mut tx = db.begin().await?;
    let groups_new = claim(&mut tx, "demo.groups").await?;
    tx.commit().await?;
    if groups_new {
        groups::seed(state).await?;
    }
    // Remote consultations: after the accounts, practice and family links they rest on.
    let mut tx = db.begin().await?;
    let teleconsult_new = claim(&mut tx, "demo.teleconsult").await?;
    tx.commit().await?;
    if teleconsult_new {
        teleconsult::seed_care(state).await?;
    }

    Ok(DemoSummary {
        newly_seeded: directory_new
            || accounts_new
            || practice_new
            || records_new
            || consultations_new
            || formulary_new,
        hospitals: directory_store::count_hospitals(db).await?,
        accounts: identity_store::count_accounts(db).await?,
    })
}

/// Diagnoses from the demo hospital's own offline records (as its HIS would provide): patient1
/// has hypertension and patient3 type 2 diabetes, so their follow-up visits (复诊) qualify.
async fn seed_records(db: &Db, tx: &mut Tx) -> AppResult<()> {
    use crate::consult::{records, store::OfflineDiagnosis};
    let gz = hospital_id(db, "DEMO-GZ-001").await?;
    for (username, icd10, name, on) in [
        ("patient1", "I10", "原发性高血压", "2023-05-10"),
        ("patient3", "E11.9", "2型糖尿病", "2021-09-02"),
    ] {
        let person_id = identity_store::account_by_username(db, username)
            .await?
            .and_then(|a| a.person_id)
            .ok_or_else(|| bad_demo_data(&format!("{username} has no person record")))?;
        let diagnosis = OfflineDiagnosis {
            id: 0,
            person_id,
            hospital_id: gz,
            icd10: icd10.to_owned(),
            name: name.to_owned(),
            diagnosed_on: on.to_owned(),
        };
        records::record_offline_diagnosis(tx, &diagnosis, now_ms()).await?;
    }
    Ok(())
}

/// Weekly sessions of the demo's schedules: (weekdays, start, end). Mornings Monday to
/// Saturday, afternoons Monday to Friday, 15-minute online times.
const DEMO_SESSIONS: [(std::ops::RangeInclusive<i64>, &str, &str); 2] =
    [(1..=6, "08:30", "11:30"), (1..=5, "14:00", "16:30")];

/// Opens a schedule for every demo doctor's text consultation with the weekly sessions above
/// and the default release rules (14 days ahead, released 7 days before at 08:00), so the demo
/// shows free times, times not yet released, triage offers and booking. Only `yunyi demo` calls
/// it (the test suite's demo has no schedules; its tests open the ones they need). One
/// transaction: all of it or none. Returns the slots created (0 when already seeded).
/// patient1's inbox (see `notifications`): after the schedules, since it books a visit; and
/// the remote consultations, whose steps write to it.
pub async fn seed_inbox(state: &AppState) -> AppResult<()> {
    let mut tx = state.db.begin().await?;
    let new = claim(&mut tx, "demo.notifications").await?;
    tx.commit().await?;
    if new {
        notifications::seed(state).await?;
    }
    let mut tx = state.db.begin().await?;
    let new = claim(&mut tx, "demo.teleconsultations").await?;
    tx.commit().await?;
    if new {
        teleconsult::seed_consultations(state).await?;
    }
    let mut tx = state.db.begin().await?;
    let new = claim(&mut tx, "demo.training").await?;
    tx.commit().await?;
    if new {
        training::seed(state).await?;
    }
    let mut tx = state.db.begin().await?;
    let new = claim(&mut tx, "demo.care").await?;
    tx.commit().await?;
    if new {
        care::seed(state).await?;
    }
    let mut tx = state.db.begin().await?;
    let new = claim(&mut tx, "demo.care_plans").await?;
    tx.commit().await?;
    if new {
        care::seed_plans(state).await?;
    }
    let mut tx = state.db.begin().await?;
    let new = claim(&mut tx, "demo.care_reports").await?;
    tx.commit().await?;
    if new {
        care::seed_reports(state).await?;
    }
    Ok(())
}

pub async fn seed_schedules(state: &AppState) -> AppResult<usize> {
    use crate::scheduling::{model::TemplateInput, plan, plan_store, store as slot_store};
    let db = &state.db;
    let services = directory_store::services(db, None, None, 1_000).await?;
    let now = state.now_ms();
    let mut tx = db.begin().await?;
    if !claim(&mut tx, "demo.schedules").await? {
        return Ok(0);
    }
    let mut created = 0;
    let mut doctors = std::collections::HashSet::new();
    for service in services.iter().filter(|s| s.kind == "text_consult") {
        let Some(doctor) = service.doctor_id else {
            continue;
        };
        if !doctors.insert((doctor, service.hospital_id)) {
            continue;
        }
        let id = slot_store::insert_schedule(&mut tx, doctor, service.hospital_id, service.id, now)
            .await?;
        for (weekdays, start, end) in DEMO_SESSIONS {
            for weekday in weekdays {
                let input = TemplateInput {
                    weekday: Some(weekday),
                    start: start.to_owned(),
                    end: end.to_owned(),
                    slot_minutes: Some(15),
                    capacity: Some(1),
                    mode: Some("online".to_owned()),
                    location: None,
                };
                let valid = input.validate().map_err(AppError::Validation)?;
                plan_store::insert_template(&mut tx, id, &valid, now).await?;
            }
        }
        let schedule = slot_store::schedule_in_tx(&mut tx, id)
            .await?
            .ok_or_else(|| bad_demo_data("a demo schedule vanished"))?;
        created += plan::extend_horizon(&mut tx, &schedule, now).await?;
    }
    tx.commit().await?;
    Ok(created)
}

const DOCTOR_NAMES: [&str; 20] = [
    "林志明",
    "陈晓燕",
    "黄建华",
    "周丽",
    "吴国强",
    "郑敏",
    "孙浩",
    "朱慧",
    "胡斌",
    "何静",
    "高峰",
    "罗雪",
    "梁伟",
    "宋婷",
    "谢军",
    "韩梅",
    "唐亮",
    "冯娟",
    "邓超",
    "曹琳",
];

/// (username, name, id number, phone); patient1 has a child under 6 and an elderly parent.
const PATIENTS: [(&str, &str, &str, &str); 5] = [
    ("patient1", "张伟", "440106198503120015", "13800000001"),
    ("patient2", "王芳", "440106199007080020", "13800000002"),
    ("patient3", "李强", "440106195001010074", "13800000003"),
    ("patient4", "刘洋", "440106198808080050", "13800000004"),
    ("patient5", "陈静", "421002197802150064", "13800000005"),
];

/// The demo acting as one of its accounts, through the same services a request would call.
pub(crate) fn actor_of(account: &identity_store::AccountRow) -> crate::identity::Actor {
    use crate::identity::actor::{Actor, SessionKind, SignedIn};
    Actor {
        signed_in: Some(SignedIn {
            account_id: account.id,
            role: account.role,
            username: account.username.clone(),
            display_name: account.display_name.clone(),
            person_id: account.person_id,
            hospital_id: account.hospital_id,
            session_id: 0,
            session_kind: SessionKind::Cookie,
            step_up_at: None,
            token_hash: String::new(),
            app: None,
            compartment: None,
        }),
        ..Actor::default()
    }
}

/// A demo account by its username.
pub(crate) async fn account(db: &Db, username: &str) -> AppResult<identity_store::AccountRow> {
    identity_store::account_by_username(db, username)
        .await?
        .ok_or_else(|| bad_demo_data(&format!("no demo account {username}")))
}

async fn hospital_id(db: &Db, code: &str) -> AppResult<i64> {
    directory_store::hospital_by_code(db, code)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("demo hospital {code} is missing")))
}

fn bad_demo_data(what: &str) -> AppError {
    AppError::Internal(anyhow::anyhow!("invalid demo data: {what}"))
}

async fn demo_person(state: &AppState, tx: &mut Tx, name: &str, id_number: &str) -> AppResult<i64> {
    let id = IdCardNumber::parse(id_number, crate::time::cst_today(state.now_ms()))
        .map_err(|e| bad_demo_data(&e))?;
    Ok(crate::identity::service::new_person(state, tx, name, &id).await?)
}

struct DemoAccount<'a> {
    username: &'a str,
    role: &'a str,
    name: &'a str,
    phone: Option<&'a str>,
    person_id: Option<i64>,
    hospital_id: Option<i64>,
}

async fn demo_account(
    state: &AppState,
    tx: &mut Tx,
    hash: &str,
    a: &DemoAccount<'_>,
) -> AppResult<i64> {
    let phone = a
        .phone
        .map(|p| Phone::parse(p).map_err(|e| bad_demo_data(&e)))
        .transpose()?;
    let row = identity_store::NewAccountRow {
        username: Some(a.username),
        role: a.role,
        display_name: a.name,
        password_hash: Some(hash),
        phone_enc: phone.as_ref().map(|p| state.keys.encrypt(p.as_str())),
        phone_hash: phone
            .as_ref()
            .map(|p| state.keys.lookup_hash("phone", p.as_str())),
        phone_mask: phone.as_ref().map(Phone::masked),
        person_id: a.person_id,
        hospital_id: a.hospital_id,
        created_by: None,
    };
    Ok(identity_store::insert_account(tx, &row, state.now_ms()).await?)
}

/// The demo's accounts, all with [`DEMO_PASSWORD`]. One hash serves them all: the password is
/// public, so distinct salts would protect nothing, and seeding stays fast.
async fn seed_accounts(state: &AppState, tx: &mut Tx) -> AppResult<()> {
    let hash = password::hash(DEMO_PASSWORD).await?;
    let gz = hospital_id(&state.db, "DEMO-GZ-001").await?;
    let jz = hospital_id(&state.db, "DEMO-JZ-001").await?;
    let staff = |username: &'static str,
                 role: &'static str,
                 name: &'static str,
                 hospital: Option<i64>,
                 phone: Option<&'static str>| DemoAccount {
        username,
        role,
        name,
        phone,
        person_id: None,
        hospital_id: hospital,
    };
    for a in [
        staff("admin", "platform_admin", "平台管理员", None, None),
        staff(
            "hospital-admin",
            "hospital_admin",
            "医院管理员",
            Some(gz),
            None,
        ),
        staff(
            "nurse1",
            "nurse",
            "护士 李娜",
            Some(gz),
            Some("13900000101"),
        ),
        staff(
            "pharmacist1",
            "pharmacist",
            "药师 王磊",
            Some(gz),
            Some("13900000102"),
        ),
        staff(
            "officer1",
            "infection_officer",
            "院感专员 赵敏",
            Some(gz),
            Some("13900000103"),
        ),
        staff(
            "nurse2",
            "nurse",
            "护士 陈静",
            Some(jz),
            Some("13900000104"),
        ),
        staff("regulator1", "regulator", "监管员 钱进", None, None),
    ] {
        demo_account(state, tx, &hash, &a).await?;
    }
    let mut doctor1 = None;
    for (i, name) in DOCTOR_NAMES.iter().enumerate() {
        let n = i + 1;
        let username = format!("doctor{n}");
        let phone = format!("139000000{n:02}");
        // The last two doctors serve the county hospital in Jingzhou.
        let hospital = if n > 18 { jz } else { gz };
        let id = demo_account(
            state,
            tx,
            &hash,
            &DemoAccount {
                username: &username,
                role: "doctor",
                name,
                phone: Some(&phone),
                person_id: None,
                hospital_id: Some(hospital),
            },
        )
        .await?;
        if n == 1 {
            doctor1 = Some(id);
        }
    }
    let mut patient1 = None;
    for (username, name, id_number, phone) in PATIENTS {
        let person_id = demo_person(state, tx, name, id_number).await?;
        let account_id = demo_account(
            state,
            tx,
            &hash,
            &DemoAccount {
                username,
                role: "patient",
                name,
                phone: Some(phone),
                person_id: Some(person_id),
                hospital_id: None,
            },
        )
        .await?;
        if username == "patient1" {
            patient1 = Some((account_id, person_id));
        }
    }
    let (Some(doctor1), Some((holder, person1))) = (doctor1, patient1) else {
        return Err(bad_demo_data("doctor1 or patient1 missing"));
    };
    let child = demo_person(state, tx, "张小雨", "440106202306010043").await?;
    identity_store::insert_family_link(tx, holder, child, "child", true, state.now_ms()).await?;
    let parent = demo_person(state, tx, "张建国", "440106195203150032").await?;
    identity_store::insert_family_link(tx, holder, parent, "parent", false, state.now_ms()).await?;
    // doctor1 is patient1's family doctor (线上家庭医生), so the demo can show a care link.
    identity_service::link_care(tx, doctor1, person1, gz, "care_team", None, now_ms()).await?;
    identity_service::link_care(tx, doctor1, child, gz, "care_team", None, now_ms()).await?;
    Ok(())
}

/// (std_code of the department, title, specialties, first year of independent practice).
/// doctor1 … doctor18 work at the Guangzhou hospital, doctor19 and doctor20 at the county hospital.
/// doctor9 and doctor14 have under three years of practice, so no internet diagnosis.
const DOCTORS: [(&str, Title, &str, i64); 20] = [
    ("03.01", Title::Chief, "慢阻肺,哮喘,肺部感染", 1996),
    ("03.01", Title::AssociateChief, "哮喘,咳嗽", 2006),
    ("03.01", Title::Attending, "肺炎,发热", 2015),
    ("03.04", Title::Chief, "高血压,冠心病", 1998),
    ("03.04", Title::Attending, "高血压,心律失常", 2014),
    ("03.07", Title::AssociateChief, "糖尿病,甲状腺疾病", 2008),
    ("03.07", Title::Attending, "糖尿病", 2016),
    ("05", Title::Chief, "产前检查,妇科炎症", 1999),
    ("05", Title::Resident, "产后随访", 2025),
    ("07", Title::AssociateChief, "小儿发热,小儿咳嗽", 2007),
    ("07", Title::Attending, "小儿腹泻,儿童保健", 2017),
    ("15", Title::AssociateChief, "焦虑,抑郁,睡眠障碍", 2010),
    ("15", Title::Attending, "心理疏导", 2019),
    ("16", Title::Resident, "发热筛查", 2024),
    ("16", Title::Chief, "传染病,发热待查", 1995),
    ("16", Title::Attending, "肝炎,结核", 2013),
    ("20", Title::AssociateChief, "急诊", 2009),
    ("20", Title::Attending, "急诊", 2018),
    ("02", Title::Attending, "全科,慢病管理", 2012),
    ("02", Title::Resident, "全科", 2022),
];

async fn account_id(db: &Db, username: &str) -> AppResult<i64> {
    identity_store::account_by_username(db, username)
        .await?
        .map(|a| a.id)
        .ok_or_else(|| bad_demo_data(&format!("no account {username}")))
}

async fn department_id(db: &Db, hospital_id: i64, std_code: &str) -> AppResult<i64> {
    directory_store::department_by_code(db, hospital_id, std_code)
        .await?
        .ok_or_else(|| {
            bad_demo_data(&format!(
                "no department {std_code} at hospital {hospital_id}"
            ))
        })
}

/// Doctors' profiles, practice sites, privileges and services, and the support link.
async fn seed_practice(db: &Db, tx: &mut Tx) -> AppResult<()> {
    use crate::directory::model::{DoctorProfileValid, PrivilegeKind, ServiceKind, ServiceValid};
    use crate::directory::store as d;
    let now = now_ms();
    let gz = hospital_id(db, "DEMO-GZ-001").await?;
    let jz = hospital_id(db, "DEMO-JZ-001").await?;
    d::insert_support(tx, gz, jz, now).await?;
    let this_year = i64::from(chrono::Datelike::year(&crate::time::today()));
    for (i, (dept_code, title, specialties, since)) in DOCTORS.iter().enumerate() {
        let n = i + 1;
        let doctor = account_id(db, &format!("doctor{n}")).await?;
        let hospital = if n > 18 { jz } else { gz };
        let department = department_id(db, hospital, dept_code).await?;
        let profile = DoctorProfileValid {
            licence_no: format!("1104400000{n:05}"),
            title: *title,
            specialties: specialties.split(',').map(str::to_owned).collect(),
            biography: format!(
                "从事临床工作 {} 年，擅长{}。",
                this_year - since,
                specialties.replace(',', "、")
            ),
            practice_since_year: *since,
        };
        d::upsert_profile(tx, doctor, &profile, now).await?;
        d::insert_site(
            tx,
            doctor,
            hospital,
            Some(department),
            &format!("REG-{hospital}-{n:03}"),
            now,
        )
        .await?;
        let mut held = vec![PrivilegeKind::Consult];
        let senior = this_year - since >= crate::directory::model::INTERNET_DIAGNOSIS_MIN_YEARS;
        if senior && dept_code != &"20" {
            held.extend([PrivilegeKind::InternetDiagnosis, PrivilegeKind::Prescribe]);
        }
        if matches!(title, Title::Chief | Title::AssociateChief) {
            held.push(PrivilegeKind::Teleconsult);
        }
        for kind in &held {
            d::put_privilege(
                tx,
                &d::PrivilegeChange {
                    account_id: doctor,
                    hospital_id: hospital,
                    kind: kind.as_str(),
                    status: "active",
                    reason: None,
                    changed_by: None,
                },
                now,
            )
            .await?;
        }
        // Services, priced by title; emergency doctors take no online consultations.
        if dept_code == &"20" {
            continue;
        }
        let base = match title {
            Title::Chief => 6000,
            Title::AssociateChief => 4000,
            Title::Attending => 2500,
            Title::Resident => 1500,
        };
        let mut offers = vec![
            (ServiceKind::TextConsult, "图文问诊", base, 15, Some(30)),
            (
                ServiceKind::VideoConsult,
                "视频问诊",
                base * 2,
                15,
                Some(10),
            ),
        ];
        if held.contains(&PrivilegeKind::InternetDiagnosis) {
            offers.push((ServiceKind::FollowUp, "慢病复诊续方", base, 15, Some(20)));
        }
        if dept_code == &"15" {
            offers.push((ServiceKind::Counselling, "心理疏导", base * 2, 30, Some(6)));
        }
        for (kind, name, price, minutes, quota) in offers {
            let service = ServiceValid {
                hospital_id: hospital,
                department_id: Some(department),
                doctor_id: Some(doctor),
                kind,
                name: name.to_owned(),
                price_fen: price,
                duration_min: minutes,
                daily_quota: quota,
                reply_within_min: None,
                auto_assign: false,
            };
            d::insert_service(tx, &service, now).await?;
        }
    }
    // doctor1 also practises at the supported county hospital (多点执业), consult only.
    let doctor1 = account_id(db, "doctor1").await?;
    let general = department_id(db, jz, "02").await?;
    d::insert_site(tx, doctor1, jz, Some(general), "REG-JZ-MULTI-001", now).await?;
    // A two-week free-clinic campaign at the county hospital, staffed by volunteers from
    // Guangzhou, as in the Guangdong–Jingzhou support.
    let today = crate::time::today();
    let campaign = d::insert_campaign(
        tx,
        jz,
        "冬季呼吸道疾病线上义诊",
        &today.to_string(),
        &(today + chrono::Duration::days(13)).to_string(),
        now,
    )
    .await?;
    for volunteer in ["doctor1", "doctor3", "doctor10"] {
        d::add_campaign_doctor(tx, campaign, account_id(db, volunteer).await?).await?;
    }
    d::put_privilege(
        tx,
        &d::PrivilegeChange {
            account_id: doctor1,
            hospital_id: jz,
            kind: PrivilegeKind::Consult.as_str(),
            status: "active",
            reason: None,
            changed_by: None,
        },
        now,
    )
    .await?;
    // The campaign's free consultations: doctor1 by name, and the campaign's queue that any
    // of its volunteers takes from.
    for (doctor, name) in [(Some(doctor1), "义诊咨询"), (None, "冬季呼吸道义诊")] {
        let service = ServiceValid {
            hospital_id: jz,
            department_id: Some(general),
            doctor_id: doctor,
            kind: ServiceKind::FreeClinic,
            name: name.to_owned(),
            price_fen: 0,
            duration_min: 15,
            daily_quota: None,
            reply_within_min: Some(30),
            auto_assign: false,
        };
        d::insert_service(tx, &service, now).await?;
    }
    Ok(())
}
