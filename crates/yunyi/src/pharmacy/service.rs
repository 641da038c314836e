//! Formulary rules: who may change it (the hospital's administrators), importing a price list
//! or catalogue from CSV (all rows or none, every bad row named), and searching it.

use std::collections::HashSet;

use serde::Serialize;

use super::model::{CSV_COLUMNS, Drug, DrugInput, DrugValid};
use super::store::{self, DrugQuery};
use crate::app::AppState;
use crate::audit::{self, NewEvent};
use crate::db::Db;
use crate::error::{AppError, AppResult, FieldError};
use crate::identity::Actor;
use crate::paging::PageRequest;

/// Most rows one import takes: a large hospital's whole catalogue.
pub const MAX_IMPORT_ROWS: usize = 5_000;

/// What an import changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ImportSummary {
    pub created: usize,
    pub updated: usize,
}

/// Reads a formulary CSV: a header naming the columns (`model::CSV_COLUMNS`; `code`,
/// `generic_name` … in any order, unknown ones refused), then one drug per row. Every problem
/// is a field error named `rows[N].field`, N being the line in the file, so an administrator
/// can fix the file in one pass.
pub fn parse_csv(bytes: &[u8]) -> Result<Vec<DrugValid>, Vec<FieldError>> {
    // Spreadsheets save "CSV UTF-8" with a byte-order mark.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if std::str::from_utf8(bytes).is_err() {
        return Err(vec![FieldError::new(
            "file",
            "is not UTF-8 text: save it as \"CSV UTF-8\" (a GBK file reads as garbage)",
        )]);
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.trim().to_owned()).collect(),
        Err(e) => {
            return Err(vec![FieldError::new(
                "file",
                format!("cannot be read: {e}"),
            )]);
        }
    };
    let mut errors = Vec::new();
    for h in &headers {
        if !CSV_COLUMNS.contains(&h.as_str()) {
            errors.push(FieldError::new(
                "header",
                format!(
                    "unknown column '{h}'; the columns are {}",
                    CSV_COLUMNS.join(", ")
                ),
            ));
        }
    }
    for required in ["code", "generic_name", "price_yuan", "class"] {
        if !headers.iter().any(|h| h == required) {
            errors.push(FieldError::new(
                "header",
                format!("the column '{required}' is missing"),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut drugs = Vec::new();
    let mut codes = HashSet::new();
    for (i, record) in reader.records().enumerate() {
        // Line numbers as a spreadsheet shows them: the header is line 1.
        let line = i + 2;
        if i >= MAX_IMPORT_ROWS {
            errors.push(FieldError::new(
                "file",
                format!("has more than {MAX_IMPORT_ROWS} rows: split it"),
            ));
            break;
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(FieldError::new(format!("rows[{line}]"), e.to_string()));
                continue;
            }
        };
        let mut input = DrugInput::default();
        for (header, value) in headers.iter().zip(record.iter()) {
            let value = value.to_owned();
            match header.as_str() {
                "code" => input.code = value,
                "generic_name" => input.generic_name = value,
                "brand_name" => input.brand_name = value,
                "form" => input.form = value,
                "strength" => input.strength = value,
                "unit" => input.unit = value,
                "pack_size" => input.pack_size = value,
                "route" => input.route = value,
                "price_yuan" => input.price_yuan = value,
                "class" => input.class = value,
                "atc_code" => input.atc_code = value,
                "dose_unit" => input.dose_unit = value,
                "unit_strength" => input.unit_strength = value,
                "max_daily_dose" => input.max_daily_dose = value,
                "min_age_years" => input.min_age_years = value,
                "pregnancy" => input.pregnancy = value,
                "allergy_terms" => input.allergy_terms = value,
                "online" => input.online = value,
                // The header was checked above.
                _ => {}
            }
        }
        match input.validate() {
            Ok(drug) => {
                if !codes.insert(drug.code.clone()) {
                    errors.push(FieldError::new(
                        format!("rows[{line}].code"),
                        format!("{} appears twice in the file", drug.code),
                    ));
                }
                drugs.push(drug);
            }
            Err(row_errors) => errors.extend(row_errors.into_iter().map(|e| FieldError {
                field: format!("rows[{line}].{}", e.field),
                ..e
            })),
        }
    }
    if drugs.is_empty() && errors.is_empty() {
        errors.push(FieldError::new("file", "has no rows under its header"));
    }
    if errors.is_empty() {
        Ok(drugs)
    } else {
        Err(errors)
    }
}

/// Imports a formulary CSV into the hospital's formulary: all rows or, on any error, none.
pub async fn import_csv(
    state: &AppState,
    actor: &Actor,
    hospital_id: i64,
    bytes: &[u8],
) -> AppResult<ImportSummary> {
    crate::directory::service::require_admin_of(state, actor, hospital_id, "formulary.import")
        .await?;
    let drugs = parse_csv(bytes).map_err(AppError::Validation)?;
    let summary = store_drugs(&state.db, hospital_id, &drugs, state.now_ms()).await?;
    audit::record(
        &state.db,
        &NewEvent::new(actor.audit(), "formulary.import", "hospital")
            .object(hospital_id)
            .reason(format!(
                "{} drugs added, {} updated",
                summary.created, summary.updated
            )),
    )
    .await?;
    Ok(summary)
}

/// Stores validated drugs in one transaction (also the demo's way in).
pub async fn store_drugs(
    db: &Db,
    hospital_id: i64,
    drugs: &[DrugValid],
    now: i64,
) -> AppResult<ImportSummary> {
    let known: HashSet<String> = store::drug_codes(db, hospital_id)
        .await?
        .into_iter()
        .collect();
    let mut tx = db.begin().await?;
    let mut summary = ImportSummary {
        created: 0,
        updated: 0,
    };
    for drug in drugs {
        store::upsert_drug(&mut tx, hospital_id, drug, now).await?;
        if known.contains(&drug.code) {
            summary.updated += 1;
        } else {
            summary.created += 1;
        }
    }
    tx.commit().await?;
    Ok(summary)
}

/// Reads a formulary search's query string (`q`, `online`, paging); bad parameters named.
pub fn parse_drug_query(query: Option<&str>) -> AppResult<(PageRequest, DrugQuery)> {
    let page = PageRequest::from_query(query)?;
    let mut q = DrugQuery {
        after: page.after,
        limit: page.fetch_limit(),
        ..DrugQuery::default()
    };
    let mut errors = Vec::new();
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let v = value.trim();
        match key.as_ref() {
            "q" if !v.is_empty() => q.text = Some(v.chars().take(40).collect()),
            "online" => match v {
                "true" => q.online_only = true,
                "false" | "" => q.online_only = false,
                _ => errors.push(FieldError::new("online", "must be true or false")),
            },
            _ => {}
        }
    }
    if errors.is_empty() {
        Ok((page, q))
    } else {
        Err(AppError::Validation(errors))
    }
}

/// A page of a hospital's formulary. Public: drug prices are published (药品价格公示).
pub async fn search(db: &Db, hospital_id: i64, q: &DrugQuery) -> AppResult<Vec<Drug>> {
    if crate::directory::store::get_hospital(db, hospital_id)
        .await?
        .is_none()
    {
        return Err(AppError::NotFound(format!(
            "no hospital with id {hospital_id}"
        )));
    }
    Ok(store::drugs(db, hospital_id, q).await?)
}

/// Drugs by their code or ATC code, across hospitals (public, as prices are).
pub async fn drugs_by_code(db: &Db, code: &str, limit: i64) -> AppResult<Vec<Drug>> {
    Ok(store::drugs_by_code(db, code, limit).await?)
}

/// One drug as entered (public).
pub async fn drug_row(db: &Db, id: i64) -> AppResult<Option<Drug>> {
    Ok(store::drug(db, id).await?)
}

/// A hospital's pharmacies (where a prescription can be collected).
pub async fn pharmacies(db: &Db, hospital_id: i64) -> AppResult<Vec<store::Pharmacy>> {
    Ok(store::pharmacies(db, hospital_id).await?)
}

/// One drug with its stock per pharmacy.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DrugView {
    #[serde(flatten)]
    pub drug: Drug,
    /// The class in words (处方药, 麻醉药品 …).
    pub class_label: String,
    pub stock: Vec<StockView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StockView {
    pub pharmacy_id: i64,
    pub quantity: i64,
}

pub async fn drug(db: &Db, id: i64) -> AppResult<DrugView> {
    let drug = store::drug(db, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no drug with id {id}")))?;
    let stock = store::stock_of(db, id)
        .await?
        .into_iter()
        .map(|(pharmacy_id, quantity)| StockView {
            pharmacy_id,
            quantity,
        })
        .collect();
    Ok(DrugView {
        class_label: drug.class().label_zh().to_owned(),
        drug,
        stock,
    })
}

/// The highest price accepted for one dispensing unit: ¥100,000 (a guard against a slip of
/// the keyboard, far above any drug an internet hospital sells).
pub const MAX_PRICE_FEN: i64 = 10_000_000;

/// A hospital administrator sets a drug's price (yuan, as typed). Written prescriptions keep
/// the price they were signed with. Audited with the old and new price.
pub async fn set_price(
    state: &AppState,
    actor: &Actor,
    drug_id: i64,
    price_yuan: &str,
) -> AppResult<Drug> {
    let drug = super::store::drug(&state.db, drug_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no drug with id {drug_id}")))?;
    crate::directory::service::require_admin_of(state, actor, drug.hospital_id, "drug.price")
        .await?;
    let price = crate::money::parse_yuan(price_yuan)
        .filter(|p| (0..=MAX_PRICE_FEN).contains(p))
        .ok_or_else(|| {
            AppError::invalid(
                "price_yuan",
                "must be an amount in yuan such as 32.50 (at most 100000)",
            )
        })?;
    let mut tx = state.db.begin().await?;
    super::store::set_price(&mut tx, drug_id, price, state.now_ms()).await?;
    crate::audit::append(
        &mut tx,
        &NewEvent::new(actor.audit(), "drug.price", "drug")
            .object(drug_id)
            .reason(format!(
                "{} → {}",
                crate::money::yuan(drug.price_fen),
                crate::money::yuan(price)
            )),
    )
    .await?;
    tx.commit().await?;
    super::store::drug(&state.db, drug_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no drug with id {drug_id}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "code,generic_name,brand_name,form,strength,unit,pack_size,route,price_yuan,class,atc_code,dose_unit,unit_strength,max_daily_dose,min_age_years,pregnancy,allergy_terms,online";

    #[test]
    fn the_demo_formulary_reads_without_an_error() {
        let drugs = parse_csv(include_bytes!("../demo/formulary.csv")).unwrap();
        assert!(drugs.len() >= 100, "{}", drugs.len());
        let banned = drugs.iter().filter(|d| d.class.banned_online()).count();
        assert!(banned >= 8, "{banned}");
        assert!(drugs.iter().all(|d| d.online != d.class.banned_online()));
    }

    #[test]
    fn every_bad_row_is_named_by_its_line_and_nothing_is_taken() {
        let csv = format!(
            "\u{feff}{HEADER}\n\
             A1,氨氯地平片,,片剂,5mg×28片,盒,28,口服,32.5,处方药,C08CA01,mg,5,10,,,,\n\
             A2,吗啡片,,片剂,30mg,盒,10,口服,abc,麻醉药品,N02AA01,mg,30,,,,,是\n\
             A1,重复,,片剂,5mg,盒,28,口服,1,处方药,,mg,5,,,,,\n"
        );
        let errors = parse_csv(csv.as_bytes()).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["rows[3].price_yuan", "rows[3].online", "rows[4].code"],
            "{errors:?}"
        );
    }

    #[test]
    fn the_header_must_name_known_columns_and_the_text_be_utf8() {
        let errors = parse_csv(b"code,name,price_yuan\nA,B,1\n").unwrap_err();
        assert!(
            errors
                .iter()
                .any(|e| e.message.contains("unknown column 'name'"))
        );
        assert!(
            errors
                .iter()
                .any(|e| e.message.contains("'generic_name' is missing"))
        );
        // "氨氯地平" in GBK.
        let gbk: &[u8] = b"code,generic_name,price_yuan,class\nA,\xB0\xB1\xC2\xC8,1,Rx\n";
        let errors = parse_csv(gbk).unwrap_err();
        assert_eq!(errors[0].field, "file");
        assert!(errors[0].message.contains("UTF-8"));
        let errors = parse_csv(format!("{HEADER}\n").as_bytes()).unwrap_err();
        assert!(errors[0].message.contains("no rows"));
    }
}
