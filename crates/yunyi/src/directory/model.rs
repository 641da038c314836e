//! Directory types and their invariants.

use serde::Serialize;

use crate::error::FieldError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Hospital {
    pub id: i64,
    /// The hospital's own stable code (e.g. its registration code).
    pub code: String,
    pub name: String,
    pub name_en: Option<String>,
    /// e.g. 三级甲等.
    pub level: String,
    /// GB/T 2260 administrative division code, six digits.
    pub region_code: String,
    pub address: String,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Department {
    pub id: i64,
    pub hospital_id: i64,
    /// Code from 《医疗机构诊疗科目名录》, e.g. `03.01` 呼吸内科专业, `07` 儿科.
    pub std_code: String,
    pub name: String,
    pub name_en: Option<String>,
    pub offers_online: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct HospitalDetail {
    #[serde(flatten)]
    pub hospital: Hospital,
    pub departments: Vec<Department>,
}

/// A hospital to create, validated by [`NewHospital::validate`].
#[derive(Debug, Clone)]
pub struct NewHospital {
    pub code: String,
    pub name: String,
    pub name_en: Option<String>,
    pub level: String,
    pub region_code: String,
    pub address: String,
}

/// The levels of China's hospital grading (医院等级).
pub const LEVELS: [&str; 10] = [
    "三级特等",
    "三级甲等",
    "三级乙等",
    "三级丙等",
    "二级甲等",
    "二级乙等",
    "二级丙等",
    "一级甲等",
    "一级乙等",
    "一级丙等",
];

impl NewHospital {
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.code.trim().is_empty() || self.code.len() > 64 {
            errors.push(FieldError::new("code", "must be 1 to 64 characters"));
        }
        if self.name.trim().is_empty() || self.name.chars().count() > 100 {
            errors.push(FieldError::new("name", "must be 1 to 100 characters"));
        }
        if !LEVELS.contains(&self.level.as_str()) {
            errors.push(FieldError::new(
                "level",
                format!("must be one of {}", LEVELS.join(", ")),
            ));
        }
        if !is_region_code(&self.region_code) {
            errors.push(FieldError::new(
                "region_code",
                "must be a six-digit GB/T 2260 administrative division code, e.g. 440106",
            ));
        }
        if self.address.trim().is_empty() {
            errors.push(FieldError::new("address", "must not be empty"));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Six digits whose first two name a province-level division (11 to 82).
pub fn is_region_code(code: &str) -> bool {
    code.len() == 6
        && code.bytes().all(|b| b.is_ascii_digit())
        && code
            .get(..2)
            .and_then(|p| p.parse::<u8>().ok())
            .is_some_and(|p| (11..=82).contains(&p))
}

/// A department to create.
#[derive(Debug, Clone)]
pub struct NewDepartment {
    pub std_code: String,
    pub name: String,
    pub name_en: Option<String>,
    pub offers_online: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_codes() {
        assert!(is_region_code("440106"));
        assert!(is_region_code("110105"));
        assert!(!is_region_code("990000"));
        assert!(!is_region_code("44010"));
        assert!(!is_region_code("44010a"));
    }

    #[test]
    fn validation_names_each_field() {
        let h = NewHospital {
            code: String::new(),
            name: "某医院".into(),
            name_en: None,
            level: "四级".into(),
            region_code: "1".into(),
            address: "地址".into(),
        };
        let fields: Vec<String> = h
            .validate()
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["code", "level", "region_code"]);
    }
}
