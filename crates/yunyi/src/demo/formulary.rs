//! The demo formulary: about a hundred common chronic-disease and acute drugs (from
//! `formulary.csv`, read by the same parser as an administrator's import) at both demo
//! hospitals, including narcotic, psychotropic, toxic, radioactive and high-risk drugs that
//! the rules keep off internet prescriptions; each hospital's pharmacies with stock; and a
//! small interaction table.

use crate::clock::now_ms;
use crate::db::Tx;
use crate::error::{AppError, AppResult};
use crate::pharmacy::checks::Interaction;
use crate::pharmacy::{service, store};

/// Pairs by ATC code or prefix, with what happens (demo data; hospitals add their own rows).
const INTERACTIONS: &[(&str, &str, &str, &str)] = &[
    (
        "C09AA",
        "C03DA",
        "major",
        "ACE抑制剂与保钾利尿剂合用：高钾血症风险，监测血钾",
    ),
    (
        "C09CA",
        "C03DA",
        "major",
        "ARB与保钾利尿剂合用：高钾血症风险，监测血钾",
    ),
    (
        "C09AA",
        "C09CA",
        "major",
        "ACE抑制剂与ARB联用：双重RAS阻断，低血压、高钾、肾损害风险",
    ),
    (
        "B01AA03",
        "B01AC06",
        "major",
        "华法林与阿司匹林合用：出血风险增加",
    ),
    (
        "B01AA03",
        "M01A",
        "major",
        "华法林与非甾体抗炎药合用：出血风险增加",
    ),
    (
        "B01AC06",
        "M01AE01",
        "moderate",
        "布洛芬可减弱阿司匹林的抗血小板作用",
    ),
    (
        "C10AA01",
        "J01FA09",
        "contraindicated",
        "辛伐他汀与克拉霉素禁止合用：横纹肌溶解风险",
    ),
    (
        "C10AA05",
        "J01FA09",
        "major",
        "阿托伐他汀与克拉霉素合用：肌病风险，限制他汀剂量",
    ),
    (
        "M04AC01",
        "J01FA09",
        "contraindicated",
        "秋水仙碱与克拉霉素禁止合用：秋水仙碱中毒风险",
    ),
    (
        "B01AC04",
        "A02BC01",
        "major",
        "奥美拉唑降低氯吡格雷的抗血小板作用，宜换用泮托拉唑",
    ),
    (
        "N06AB",
        "B01AC06",
        "moderate",
        "SSRI与阿司匹林合用：出血风险增加",
    ),
    (
        "C01AA05",
        "C03CA",
        "moderate",
        "袢利尿剂致低钾，增加地高辛毒性",
    ),
    (
        "H03AA01",
        "A12AX",
        "moderate",
        "钙剂减少左甲状腺素吸收，服药间隔4小时",
    ),
    (
        "J01MA",
        "A02AD",
        "moderate",
        "含铝镁抗酸药减少喹诺酮吸收，间隔2小时以上",
    ),
];

pub(super) async fn seed(tx: &mut Tx, hospitals: &[i64]) -> AppResult<()> {
    let drugs = service::parse_csv(include_bytes!("formulary.csv")).map_err(|errors| {
        AppError::Internal(anyhow::anyhow!("the demo formulary is invalid: {errors:?}"))
    })?;
    let now = now_ms();
    for &hospital in hospitals {
        for drug in &drugs {
            store::upsert_drug(tx, hospital, drug, now).await?;
        }
    }
    for (atc_a, atc_b, severity, note) in INTERACTIONS {
        let row = Interaction {
            atc_a: (*atc_a).to_owned(),
            atc_b: (*atc_b).to_owned(),
            severity: (*severity).to_owned(),
            note: (*note).to_owned(),
        };
        store::insert_interaction(tx, &row).await?;
    }
    Ok(())
}

/// Each hospital's pharmacies, stocked with every drug of its formulary: the internet
/// hospital's central pharmacy that sends medicine out, and the outpatient pharmacy for
/// pick-up.
pub(super) async fn seed_pharmacies(
    db: &crate::db::Db,
    tx: &mut Tx,
    hospitals: &[i64],
) -> AppResult<()> {
    let now = now_ms();
    for &hospital in hospitals {
        let address = crate::directory::store::get_hospital(db, hospital)
            .await?
            .map(|h| h.address)
            .unwrap_or_default();
        let central =
            store::insert_pharmacy(tx, hospital, "互联网医院中心药房", &address, now).await?;
        let outpatient = store::insert_pharmacy(tx, hospital, "门诊西药房", &address, now).await?;
        store::stock_every_drug(tx, central, hospital, 40).await?;
        store::stock_every_drug(tx, outpatient, hospital, 10).await?;
    }
    Ok(())
}
