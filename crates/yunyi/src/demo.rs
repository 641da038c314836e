//! `yunyi demo`: seeds a demo hospital network into an empty database, once.
//!
//! Idempotent and safe with several processes: the seed runs in one transaction that first
//! claims the `demo.seeded` setting with `ON CONFLICT DO NOTHING`; whoever does not get the
//! claim seeds nothing. A half-seeded database cannot exist because the transaction is atomic.

use std::fmt;

use crate::clock::now_ms;
use crate::db::Db;
use crate::directory::model::{NewDepartment, NewHospital};
use crate::directory::{self, store as directory_store};
use crate::error::AppResult;
use crate::with_tx;

/// Bumped when the demo data set changes shape; recorded in `app_setting`.
pub const DEMO_VERSION: &str = "1";

/// What the demo contains, printed by `yunyi demo`.
#[derive(Debug, Clone)]
pub struct DemoSummary {
    pub newly_seeded: bool,
    pub hospitals: i64,
}

impl fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.newly_seeded {
            "seeded"
        } else {
            "already present, kept as it is"
        };
        writeln!(
            f,
            "  demo data: {what} ({} hospitals with their departments)",
            self.hospitals
        )?;
        write!(
            f,
            "  demo logins: none yet — sign-in arrives with the identity module; browse /hospitals"
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

/// A tertiary hospital in Guangzhou supporting a community health centre in Jingzhou, as in
/// the Guangdong–Jingzhou support the product brief describes.
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
                name: "荆州市示范社区卫生服务中心".to_owned(),
                name_en: Some("Jingzhou Demonstration Community Health Centre".to_owned()),
                level: "一级甲等".to_owned(),
                region_code: "421002".to_owned(),
                address: "湖北省荆州市沙市区示范街 8 号".to_owned(),
            },
            departments: vec![
                dept("02", "全科医疗科", "General Practice", true),
                dept("01", "预防保健科", "Preventive Care", false),
            ],
        },
    ]
}

/// Seeds the demo if this database has never been seeded. Safe to call on every start.
pub async fn seed(db: &Db) -> AppResult<DemoSummary> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    let claimed = with_tx!(&mut tx, |conn| {
        sqlx::query(
            "INSERT INTO app_setting (key, value, updated_at) VALUES ('demo.seeded', $1, $2) \
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(DEMO_VERSION)
        .bind(now)
        .execute(conn)
        .await
        .map(|r| r.rows_affected())
    })? == 1;
    if claimed {
        for demo in demo_hospitals() {
            directory::service::create_hospital(&mut tx, &demo.hospital, &demo.departments).await?;
        }
    }
    tx.commit().await?;
    let hospitals = directory_store::count_hospitals(db).await?;
    Ok(DemoSummary {
        newly_seeded: claimed,
        hospitals,
    })
}
