//! The notifiable-disease report card (中华人民共和国传染病报告卡) for export: a positive
//! result makes its record (`disease_report`); the card is composed on export from that record,
//! the patient's identity (the full identity number: the card must name the person) and the
//! hospital. Only the hospital's infection officers export their hospital's cards; each card
//! exported is an audited read of that patient.

use chrono::Datelike;

use super::store;
use crate::app::AppState;
use crate::audit::{self, NewEvent};
use crate::error::{AppError, AppResult};
use crate::identity::Actor;
use crate::identity::model::Role;
use crate::time::{cst_display, cst_today};

/// The card's columns, in the card's order.
pub const COLUMNS: [&str; 17] = [
    "卡片编号",
    "患者姓名",
    "有效证件号",
    "性别",
    "出生日期",
    "实足年龄",
    "联系电话",
    "现住址国标码",
    "病例分类",
    "发病日期",
    "诊断日期",
    "疾病名称",
    "疾病类别",
    "报告单位",
    "报告人",
    "填卡日期",
    "备注",
];

fn classification_zh(c: &str) -> &'static str {
    match c {
        "confirmed" => "确诊病例",
        "clinical" => "临床诊断病例",
        "carrier" => "病原携带者",
        _ => "疑似病例",
    }
}

fn class_zh(c: &str) -> &'static str {
    match c {
        "A" => "甲类",
        "B" => "乙类",
        "C" => "丙类",
        _ => "其他法定管理以及重点监测传染病",
    }
}

/// A CSV field, quoted when it must be.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// The officer's hospital's report cards (newest first, at most 500) as CSV, UTF-8 with a BOM.
pub async fn cards_csv(state: &AppState, actor: &Actor) -> AppResult<String> {
    let me = actor.require()?;
    let hospital = match (me.role, me.hospital_id) {
        (Role::InfectionOfficer, Some(h)) => h,
        (role, _) => {
            return Err(AppError::Forbidden(format!(
                "a {role} does not export report cards; the hospital's infection officers do"
            )));
        }
    };
    let h = crate::directory::store::get_hospital(&state.db, hospital)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no hospital with id {hospital}")))?;
    let mut out = String::from("\u{feff}");
    out.push_str(&COLUMNS.join(","));
    out.push('\n');
    for r in store::reports(&state.db, hospital, 500).await? {
        let person = crate::identity::store::person(&state.db, r.person_id)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("report {} has no person", r.id)))?;
        let id_number = state
            .keys
            .decrypt(&person.id_number_enc)
            .map_err(AppError::Internal)?;
        let case = store::case(&state.db, r.case_id).await?;
        let phone = match case.and_then(|c| c.consultation_id) {
            Some(c) => super::cases::contact_phone(state, c)
                .await?
                .unwrap_or_default(),
            None => String::new(),
        };
        let reporter = crate::identity::store::account(&state.db, r.reporter_id)
            .await?
            .map(|a| a.display_name)
            .unwrap_or_default();
        let diagnosed = cst_today(r.diagnosed_at);
        let age = chrono::NaiveDate::parse_from_str(&person.birth_date, "%Y-%m-%d")
            .ok()
            .and_then(|born| diagnosed.years_since(born))
            .map(|y| y.to_string())
            .unwrap_or_default();
        let row = [
            format!("{}-{}-{:06}", h.code, diagnosed.year(), r.id),
            person.name.clone(),
            id_number,
            if person.sex == "male" { "男" } else { "女" }.to_owned(),
            person.birth_date.clone(),
            age,
            phone,
            r.region.clone(),
            classification_zh(&r.classification).to_owned(),
            r.onset_on.clone().unwrap_or_default(),
            cst_display(r.diagnosed_at),
            r.disease.clone(),
            class_zh(&r.disease_class).to_owned(),
            h.name.clone(),
            reporter,
            cst_today(r.created_at).to_string(),
            format!("病例 {}", r.case_id),
        ];
        out.push_str(&row.iter().map(|f| field(f)).collect::<Vec<_>>().join(","));
        out.push('\n');
        audit::record(
            &state.db,
            &NewEvent::new(actor.audit(), "disease_report.export", "disease_report")
                .object(r.id)
                .patient(r.person_id)
                .reason("notifiable disease report (传染病报告卡)"),
        )
        .await?;
    }
    Ok(out)
}
