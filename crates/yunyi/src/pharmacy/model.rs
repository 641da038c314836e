//! The formulary's types and their rules: regulatory classes (and which the law keeps off
//! internet prescriptions), a drug as entered or imported, validated field by field.

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

crate::text_enum! {
    /// Regulatory class of a drug (药品管理分类).
    pub enum DrugClass {
        /// 非处方药
        Otc = "otc",
        /// 处方药
        Prescription = "prescription",
        /// 麻醉药品
        Narcotic = "narcotic",
        /// 第一类精神药品
        PsychotropicI = "psychotropic_1",
        /// 第二类精神药品
        PsychotropicII = "psychotropic_2",
        /// 医疗用毒性药品
        Toxic = "toxic",
        /// 放射性药品
        Radioactive = "radioactive",
        /// 其他高风险药品 (e.g. high-alert drugs the hospital keeps off the internet)
        HighRisk = "high_risk",
    }
}

impl DrugClass {
    /// As a formulary file writes it: the stored name, the Chinese label or a common short form.
    pub fn from_input(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == raw || c.label_zh() == raw)
            .or(match raw {
                "OTC" | "非处方" => Some(DrugClass::Otc),
                "处方" | "Rx" => Some(DrugClass::Prescription),
                "麻醉" => Some(DrugClass::Narcotic),
                "精神一类" | "一类精神" => Some(DrugClass::PsychotropicI),
                "精神二类" | "二类精神" => Some(DrugClass::PsychotropicII),
                "毒性" | "毒麻" => Some(DrugClass::Toxic),
                "放射性" => Some(DrugClass::Radioactive),
                "高风险" | "高警示" => Some(DrugClass::HighRisk),
                _ => None,
            })
    }

    /// The Chinese name pharmacists use, as in a hospital's drug catalogue.
    pub fn label_zh(self) -> &'static str {
        match self {
            DrugClass::Otc => "非处方药",
            DrugClass::Prescription => "处方药",
            DrugClass::Narcotic => "麻醉药品",
            DrugClass::PsychotropicI => "第一类精神药品",
            DrugClass::PsychotropicII => "第二类精神药品",
            DrugClass::Toxic => "医疗用毒性药品",
            DrugClass::Radioactive => "放射性药品",
            DrugClass::HighRisk => "高风险药品",
        }
    }

    /// 互联网诊疗管理办法 (2018) art. 19: narcotic, psychotropic and other drugs under special
    /// control are not prescribed online.
    pub fn banned_online(self) -> bool {
        !matches!(self, DrugClass::Otc | DrugClass::Prescription)
    }
}

crate::text_enum! {
    /// What a drug means in pregnancy, as the formulary records it.
    pub enum Pregnancy {
        Safe = "safe",
        Caution = "caution",
        Contraindicated = "contraindicated",
    }
}

impl Pregnancy {
    /// As a formulary file writes it: empty means safe; English or Chinese.
    pub fn from_input(raw: &str) -> Option<Self> {
        match raw.trim() {
            "" | "safe" | "可用" => Some(Pregnancy::Safe),
            "caution" | "慎用" => Some(Pregnancy::Caution),
            "contraindicated" | "禁用" => Some(Pregnancy::Contraindicated),
            _ => None,
        }
    }
}

/// A drug as stored.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Drug {
    pub id: i64,
    pub hospital_id: i64,
    pub code: String,
    pub generic_name: String,
    pub brand_name: Option<String>,
    pub form: String,
    pub strength: String,
    pub unit: String,
    pub pack_size: i64,
    pub route: String,
    pub price_fen: i64,
    pub class: String,
    pub online: bool,
    pub atc_code: Option<String>,
    pub dose_unit: String,
    pub unit_strength: f64,
    pub max_daily_dose: Option<f64>,
    pub min_age_years: Option<i64>,
    pub pregnancy: String,
    pub allergy_terms: String,
    pub active: bool,
}

impl Drug {
    pub fn class(&self) -> DrugClass {
        // The column's CHECK constraint allows only known classes; unknown reads as banned.
        DrugClass::parse(&self.class).unwrap_or(DrugClass::HighRisk)
    }

    pub fn pregnancy(&self) -> Pregnancy {
        Pregnancy::parse(&self.pregnancy).unwrap_or(Pregnancy::Caution)
    }

    /// The words an allergy to this drug may be written as: its names and its terms.
    pub fn allergy_words(&self) -> Vec<&str> {
        let mut words = vec![self.generic_name.as_str()];
        if let Some(brand) = &self.brand_name {
            words.push(brand);
        }
        words.extend(
            self.allergy_terms
                .split([',', '，', '、'])
                .map(str::trim)
                .filter(|w| !w.is_empty()),
        );
        words
    }
}

/// A drug as an administrator enters it or a CSV row gives it: every field text, so that a
/// bad value becomes a field error rather than a parse failure of the whole row.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DrugInput {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub generic_name: String,
    #[serde(default)]
    pub brand_name: String,
    #[serde(default)]
    pub form: String,
    #[serde(default)]
    pub strength: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub pack_size: String,
    #[serde(default)]
    pub route: String,
    /// The price of one dispensing unit in yuan (元), as price lists give it.
    #[serde(default)]
    pub price_yuan: String,
    #[serde(default)]
    pub class: String,
    #[serde(default)]
    pub atc_code: String,
    #[serde(default)]
    pub dose_unit: String,
    #[serde(default)]
    pub unit_strength: String,
    #[serde(default)]
    pub max_daily_dose: String,
    #[serde(default)]
    pub min_age_years: String,
    #[serde(default)]
    pub pregnancy: String,
    #[serde(default)]
    pub allergy_terms: String,
    /// `yes`/`no` (是/否): whether the hospital prescribes it online; yes when absent for the
    /// classes that may be.
    #[serde(default)]
    pub online: String,
}

/// A drug that passed validation, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct DrugValid {
    pub code: String,
    pub generic_name: String,
    pub brand_name: Option<String>,
    pub form: String,
    pub strength: String,
    pub unit: String,
    pub pack_size: i64,
    pub route: String,
    pub price_fen: i64,
    pub class: DrugClass,
    pub online: bool,
    pub atc_code: Option<String>,
    pub dose_unit: String,
    pub unit_strength: f64,
    pub max_daily_dose: Option<f64>,
    pub min_age_years: Option<i64>,
    pub pregnancy: Pregnancy,
    pub allergy_terms: String,
}

/// The columns of a formulary CSV, in order (the header row must name them).
pub const CSV_COLUMNS: [&str; 18] = [
    "code",
    "generic_name",
    "brand_name",
    "form",
    "strength",
    "unit",
    "pack_size",
    "route",
    "price_yuan",
    "class",
    "atc_code",
    "dose_unit",
    "unit_strength",
    "max_daily_dose",
    "min_age_years",
    "pregnancy",
    "allergy_terms",
    "online",
];

fn text(errors: &mut Vec<FieldError>, field: &str, raw: &str, max: usize) -> String {
    let value = raw.trim();
    if value.is_empty() || value.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("is required, at most {max} characters"),
        ));
    }
    value.to_owned()
}

fn positive(errors: &mut Vec<FieldError>, field: &str, raw: &str, required: bool) -> Option<f64> {
    match raw.trim() {
        "" if !required => None,
        v => match v.parse::<f64>() {
            Ok(n) if n.is_finite() && n > 0.0 && n < 1e7 => Some(n),
            _ => {
                errors.push(FieldError::new(field, "must be a number above 0"));
                None
            }
        },
    }
}

impl DrugInput {
    pub fn validate(&self) -> Result<DrugValid, Vec<FieldError>> {
        let mut errors = Vec::new();
        let code = text(&mut errors, "code", &self.code, 40);
        let generic_name = text(&mut errors, "generic_name", &self.generic_name, 60);
        let form = text(&mut errors, "form", &self.form, 20);
        let strength = text(&mut errors, "strength", &self.strength, 40);
        let unit = text(&mut errors, "unit", &self.unit, 10);
        let route = text(&mut errors, "route", &self.route, 20);
        let dose_unit = text(&mut errors, "dose_unit", &self.dose_unit, 10);
        let brand_name = Some(self.brand_name.trim().to_owned()).filter(|b| !b.is_empty());
        if brand_name.as_ref().is_some_and(|b| b.chars().count() > 60) {
            errors.push(FieldError::new("brand_name", "at most 60 characters"));
        }
        let pack_size = match self.pack_size.trim().parse::<i64>() {
            Ok(n) if (1..=10_000).contains(&n) => n,
            _ => {
                errors.push(FieldError::new(
                    "pack_size",
                    "must be how many doses one unit holds, 1 to 10000",
                ));
                1
            }
        };
        let price_fen = crate::money::parse_yuan(&self.price_yuan)
            .filter(|f| *f <= 100_000_000)
            .unwrap_or_else(|| {
                errors.push(FieldError::new(
                    "price_yuan",
                    "must be the price in yuan, e.g. 12.50",
                ));
                0
            });
        let class = DrugClass::from_input(&self.class);
        if class.is_none() {
            errors.push(FieldError::new(
                "class",
                "must be otc, prescription, narcotic, psychotropic_1, psychotropic_2, toxic, radioactive or high_risk (or 处方药, 麻醉药品 …)",
            ));
        }
        let atc_code = Some(self.atc_code.trim().to_ascii_uppercase()).filter(|a| !a.is_empty());
        if atc_code
            .as_ref()
            .is_some_and(|a| a.len() > 7 || !a.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            errors.push(FieldError::new(
                "atc_code",
                "must be an ATC code such as C08CA01",
            ));
        }
        let unit_strength = positive(&mut errors, "unit_strength", &self.unit_strength, true);
        let max_daily_dose = positive(&mut errors, "max_daily_dose", &self.max_daily_dose, false);
        let min_age_years = match self.min_age_years.trim() {
            "" => None,
            v => match v.parse::<i64>() {
                Ok(n) if (0..=120).contains(&n) => Some(n),
                _ => {
                    errors.push(FieldError::new("min_age_years", "must be 0 to 120"));
                    None
                }
            },
        };
        let pregnancy = Pregnancy::from_input(&self.pregnancy).unwrap_or_else(|| {
            errors.push(FieldError::new(
                "pregnancy",
                "must be safe, caution or contraindicated (可用, 慎用, 禁用)",
            ));
            Pregnancy::Caution
        });
        let wanted_online = match self.online.trim() {
            "" => None,
            "yes" | "true" | "1" | "是" => Some(true),
            "no" | "false" | "0" | "否" => Some(false),
            _ => {
                errors.push(FieldError::new("online", "must be yes or no (是/否)"));
                None
            }
        };
        if let (Some(c), Some(true)) = (class, wanted_online) {
            if c.banned_online() {
                errors.push(FieldError::new(
                    "online",
                    format!(
                        "{} ({}) may not be prescribed online",
                        c.label_zh(),
                        c.as_str()
                    ),
                ));
            }
        }
        let allergy_terms = self.allergy_terms.trim().to_owned();
        if allergy_terms.chars().count() > 200 {
            errors.push(FieldError::new("allergy_terms", "at most 200 characters"));
        }
        match (class, unit_strength, errors.is_empty()) {
            (Some(class), Some(unit_strength), true) => Ok(DrugValid {
                code,
                generic_name,
                brand_name,
                form,
                strength,
                unit,
                pack_size,
                route,
                price_fen,
                class,
                online: !class.banned_online() && wanted_online.unwrap_or(true),
                atc_code,
                dose_unit,
                unit_strength,
                max_daily_dose,
                min_age_years,
                pregnancy,
                allergy_terms,
            }),
            _ => Err(errors),
        }
    }
}

/// One bad row of an import: its line in the file and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowError {
    pub row: usize,
    pub field: String,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amlodipine() -> DrugInput {
        DrugInput {
            code: "X001".into(),
            generic_name: "苯磺酸氨氯地平片".into(),
            brand_name: "络活喜".into(),
            form: "片剂".into(),
            strength: "5mg×28片".into(),
            unit: "盒".into(),
            pack_size: "28".into(),
            route: "口服".into(),
            price_yuan: "32.5".into(),
            class: "处方药".into(),
            atc_code: "c08ca01".into(),
            dose_unit: "mg".into(),
            unit_strength: "5".into(),
            max_daily_dose: "10".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_good_row_is_taken_with_its_price_in_fen() {
        let d = amlodipine().validate().unwrap();
        assert_eq!(d.price_fen, 3250);
        assert_eq!(d.class, DrugClass::Prescription);
        assert_eq!(d.atc_code.as_deref(), Some("C08CA01"));
        assert!(
            d.online,
            "prescription drugs are online unless the hospital says no"
        );
        assert_eq!(d.pregnancy, Pregnancy::Safe);
    }

    #[test]
    fn banned_classes_are_never_online() {
        for class in DrugClass::ALL {
            let mut input = amlodipine();
            input.class = class.as_str().into();
            let d = input.validate().unwrap();
            assert_eq!(d.online, !class.banned_online(), "{class:?}");
            input.online = "yes".into();
            let result = input.validate();
            assert_eq!(result.is_err(), class.banned_online(), "{class:?}");
        }
        assert!(DrugClass::Narcotic.banned_online());
        assert!(DrugClass::PsychotropicII.banned_online());
        assert!(!DrugClass::Otc.banned_online());
        assert_eq!(
            DrugClass::from_input("精神二类"),
            Some(DrugClass::PsychotropicII)
        );
        assert_eq!(DrugClass::from_input("麻醉药品"), Some(DrugClass::Narcotic));
    }

    #[test]
    fn every_bad_field_is_named() {
        let input = DrugInput {
            code: "X".into(),
            pack_size: "0".into(),
            price_yuan: "1.234".into(),
            class: "秘方".into(),
            unit_strength: "-5".into(),
            pregnancy: "maybe".into(),
            ..Default::default()
        };
        let errors = input.validate().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "generic_name",
            "form",
            "strength",
            "unit",
            "route",
            "dose_unit",
            "pack_size",
            "price_yuan",
            "class",
            "unit_strength",
            "pregnancy",
        ] {
            assert!(fields.contains(&f), "{f} in {fields:?}");
        }
    }
}
