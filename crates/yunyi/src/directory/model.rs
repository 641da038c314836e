//! Directory types and their invariants.

use serde::Serialize;

use crate::error::FieldError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
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
    pub status: ActiveOrSuspended,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Department {
    pub id: i64,
    pub hospital_id: i64,
    /// Code from 《医疗机构诊疗科目名录》, e.g. `03.01` 呼吸内科专业, `07` 儿科.
    pub std_code: String,
    pub name: String,
    pub name_en: Option<String>,
    pub offers_online: bool,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
            errors.push(FieldError::length("code", 1, 64));
        }
        if self.name.trim().is_empty() || self.name.chars().count() > 100 {
            errors.push(FieldError::length("name", 1, 100));
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

/// What the doctor-name index holds of a name: each character and each pair of neighbouring
/// characters, ASCII letters in lower case (as SQLite's `lower` makes them, so the migration
/// that filled the index for existing doctors agrees).
pub fn name_grams(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().map(|c| c.to_ascii_lowercase()).collect();
    let mut grams: Vec<String> = chars.iter().map(char::to_string).collect();
    grams.extend(chars.windows(2).map(|w| w.iter().collect::<String>()));
    grams.sort_unstable();
    grams.dedup();
    grams
}

/// The grams a name containing `part` must hold: its pairs of neighbouring characters, or
/// its one character. Empty for an empty part (no narrowing).
pub fn query_grams(part: &str) -> Vec<String> {
    let chars: Vec<char> = part.chars().map(|c| c.to_ascii_lowercase()).collect();
    let mut grams: Vec<String> = if chars.len() == 1 {
        vec![chars[0].to_string()]
    } else {
        chars.windows(2).map(|w| w.iter().collect()).collect()
    };
    grams.sort_unstable();
    grams.dedup();
    grams
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_indexed_by_characters_and_pairs_and_searched_by_pairs() {
        assert_eq!(name_grams("张伟明"), ["伟", "伟明", "张", "张伟", "明"]);
        assert_eq!(
            name_grams("Li Na"),
            [" ", " n", "a", "i", "i ", "l", "li", "n", "na"]
        );
        assert_eq!(query_grams("张"), ["张"]);
        assert_eq!(query_grams("张伟明"), ["伟明", "张伟"]);
        assert_eq!(query_grams("AAA"), ["aa"]);
        assert!(query_grams("").is_empty());
        // Whatever a name contains, its grams include the part's: the index never hides a match.
        for part in ["伟明", "i N", "张", "a"] {
            let name = name_grams("张伟明 Li Na");
            assert!(query_grams(part).iter().all(|g| name.contains(g)), "{part}");
        }
    }

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

crate::text_enum! {
    /// A hospital's or a privilege's standing: suspended ones take no patients.
    pub enum ActiveOrSuspended {
        Active = "active",
        Suspended = "suspended",
    }
}

crate::text_enum! {
    /// Whether a doctor still practises at a site.
    pub enum SiteStatus {
        Active = "active",
        Ended = "ended",
    }
}

crate::text_enum! {
    /// Professional titles (职称) of Chinese physicians.
    pub enum Title {
        /// 主任医师
        Chief = "chief",
        /// 副主任医师
        AssociateChief = "associate_chief",
        /// 主治医师
        Attending = "attending",
        /// 住院医师
        Resident = "resident",
    }
}

impl Title {
    pub fn zh(self) -> &'static str {
        match self {
            Title::Chief => "主任医师",
            Title::AssociateChief => "副主任医师",
            Title::Attending => "主治医师",
            Title::Resident => "住院医师",
        }
    }
}

crate::text_enum! {
    /// What a doctor may do online at one hospital.
    pub enum PrivilegeKind {
        /// 在线咨询: advice, no diagnosis.
        Consult = "consult",
        /// 互联网诊疗: follow-up diagnosis online; needs ≥ 3 years of independent practice.
        InternetDiagnosis = "internet_diagnosis",
        /// Writing prescriptions online; needs internet diagnosis at the same hospital.
        Prescribe = "prescribe",
        /// Taking part in remote consultations between hospitals.
        Teleconsult = "teleconsult",
    }
}

/// Years of independent practice required for internet diagnosis (互联网诊疗管理办法 2018).
pub const INTERNET_DIAGNOSIS_MIN_YEARS: i64 = 3;

crate::text_enum! {
    /// Services (服务项目) a doctor or department offers.
    pub enum ServiceKind {
        TextConsult = "text_consult",
        VideoConsult = "video_consult",
        FollowUp = "follow_up",
        /// 义诊: free and without a daily quota.
        FreeClinic = "free_clinic",
        Counselling = "counselling",
    }
}

impl ServiceKind {
    /// The privilege a doctor needs at the hospital to offer this service.
    pub fn required_privilege(self) -> PrivilegeKind {
        match self {
            ServiceKind::FollowUp => PrivilegeKind::InternetDiagnosis,
            _ => PrivilegeKind::Consult,
        }
    }
}

/// A doctor's professional profile, as an admin enters it.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct DoctorProfileInput {
    #[serde(default)]
    pub licence_no: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub specialties: Vec<String>,
    #[serde(default)]
    pub biography: String,
    pub practice_since_year: Option<i64>,
}

/// The validated profile.
#[derive(Debug, Clone)]
pub struct DoctorProfileValid {
    pub licence_no: String,
    pub title: Title,
    pub specialties: Vec<String>,
    pub biography: String,
    pub practice_since_year: i64,
}

impl DoctorProfileInput {
    pub fn validate(&self, this_year: i64) -> Result<DoctorProfileValid, Vec<FieldError>> {
        let mut errors = Vec::new();
        let licence = self.licence_no.trim().to_owned();
        // 医师执业证书编码 is 15 digits; accept 9 to 27 letters and digits for older and
        // regional formats rather than rejecting real doctors.
        if !(9..=27).contains(&licence.len()) || !licence.chars().all(|c| c.is_ascii_alphanumeric())
        {
            errors.push(FieldError::new(
                "licence_no",
                "must be the practising certificate code: 9 to 27 letters and digits",
            ));
        }
        let title = Title::parse(&self.title);
        if title.is_none() {
            errors.push(FieldError::new(
                "title",
                "must be one of chief, associate_chief, attending, resident",
            ));
        }
        let specialties: Vec<String> = self
            .specialties
            .iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        if specialties.len() > 10
            || specialties
                .iter()
                .any(|s| s.chars().count() > 30 || s.contains(','))
        {
            errors.push(FieldError::new(
                "specialties",
                "at most 10, each up to 30 characters without commas",
            ));
        }
        if self.biography.chars().count() > 2000 {
            errors.push(FieldError::new(
                "biography",
                "must be at most 2000 characters",
            ));
        }
        let since = self.practice_since_year;
        if !since.is_some_and(|y| (1950..=this_year).contains(&y)) {
            errors.push(FieldError::new(
                "practice_since_year",
                format!("must be the year independent practice began, 1950 to {this_year}"),
            ));
        }
        match (title, since, errors.is_empty()) {
            (Some(title), Some(since), true) => Ok(DoctorProfileValid {
                licence_no: licence,
                title,
                specialties,
                biography: self.biography.trim().to_owned(),
                practice_since_year: since,
            }),
            _ => Err(errors),
        }
    }
}

/// A service to create.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct ServiceInput {
    pub hospital_id: Option<i64>,
    pub department_id: Option<i64>,
    pub doctor_id: Option<i64>,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    pub price_fen: Option<i64>,
    pub duration_min: Option<i64>,
    pub daily_quota: Option<i64>,
    /// Minutes within which a doctor first replies; the platform default when absent.
    pub reply_within_min: Option<i64>,
    /// Department services: assign each request to a doctor at once.
    #[serde(default)]
    pub auto_assign: bool,
}

#[derive(Debug, Clone)]
pub struct ServiceValid {
    pub hospital_id: i64,
    pub department_id: Option<i64>,
    pub doctor_id: Option<i64>,
    pub kind: ServiceKind,
    pub name: String,
    pub price_fen: i64,
    pub duration_min: i64,
    pub daily_quota: Option<i64>,
    pub reply_within_min: Option<i64>,
    pub auto_assign: bool,
}

impl ServiceInput {
    pub fn validate(&self) -> Result<ServiceValid, Vec<FieldError>> {
        let mut errors = Vec::new();
        let kind = ServiceKind::parse(&self.kind);
        if kind.is_none() {
            errors.push(FieldError::new(
                "kind",
                "must be one of text_consult, video_consult, follow_up, free_clinic, counselling",
            ));
        }
        if self.hospital_id.is_none() {
            errors.push(FieldError::required("hospital_id"));
        }
        if self.department_id.is_none() && self.doctor_id.is_none() {
            errors.push(FieldError::new(
                "doctor_id",
                "a service is offered by a doctor or a department: give one",
            ));
        }
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 60 {
            errors.push(FieldError::length("name", 1, 60));
        }
        let price = self.price_fen.unwrap_or(-1);
        let free = kind == Some(ServiceKind::FreeClinic);
        if free && price != 0 && self.price_fen.is_some() {
            errors.push(FieldError::new(
                "price_fen",
                "a free clinic (义诊) is free: 0",
            ));
        } else if !free && !(0..=10_000_000).contains(&price) {
            errors.push(FieldError::new(
                "price_fen",
                "must be the price in fen (分), 0 to 10000000",
            ));
        }
        let duration = self.duration_min.unwrap_or(15);
        if !(5..=240).contains(&duration) {
            errors.push(FieldError::new("duration_min", "must be 5 to 240 minutes"));
        }
        if free && self.daily_quota.is_some() {
            errors.push(FieldError::new(
                "daily_quota",
                "a free clinic has no daily quota",
            ));
        } else if self.daily_quota.is_some_and(|q| !(1..=1000).contains(&q)) {
            errors.push(FieldError::new(
                "daily_quota",
                "must be 1 to 1000, or absent for no limit",
            ));
        }
        if self
            .reply_within_min
            .is_some_and(|m| !(1..=1440).contains(&m))
        {
            errors.push(FieldError::new(
                "reply_within_min",
                "must be 1 to 1440 minutes, or absent for the default (10)",
            ));
        }
        if self.auto_assign && self.doctor_id.is_some() {
            errors.push(FieldError::new(
                "auto_assign",
                "only a department's service assigns requests; this one names its doctor",
            ));
        } else if self.auto_assign && free {
            errors.push(FieldError::new(
                "auto_assign",
                "a free clinic's volunteers take its requests themselves",
            ));
        }
        match (kind, self.hospital_id, errors.is_empty()) {
            (Some(kind), Some(hospital_id), true) => Ok(ServiceValid {
                hospital_id,
                department_id: self.department_id,
                doctor_id: self.doctor_id,
                kind,
                name,
                price_fen: if free { 0 } else { price },
                duration_min: duration,
                daily_quota: self.daily_quota,
                reply_within_min: self.reply_within_min,
                auto_assign: self.auto_assign,
            }),
            _ => Err(errors),
        }
    }
}

/// A doctor as the public sees them in search results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct DoctorCard {
    pub id: i64,
    pub name: String,
    pub title: String,
    pub specialties: String,
    pub practice_since_year: i64,
    pub hospital_id: i64,
    pub hospital_name: String,
    pub hospital_name_en: Option<String>,
    pub department_id: Option<i64>,
    pub department_name: Option<String>,
    pub department_name_en: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct PracticeSite {
    pub id: i64,
    pub account_id: i64,
    pub hospital_id: i64,
    pub department_id: Option<i64>,
    pub registration_no: String,
    pub status: SiteStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Privilege {
    pub hospital_id: i64,
    pub kind: PrivilegeKind,
    pub status: ActiveOrSuspended,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Service {
    pub id: i64,
    pub hospital_id: i64,
    pub department_id: Option<i64>,
    pub doctor_id: Option<i64>,
    pub kind: ServiceKind,
    pub name: String,
    pub price_fen: i64,
    pub duration_min: i64,
    pub daily_quota: Option<i64>,
    pub reply_within_min: Option<i64>,
    pub auto_assign: bool,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct DoctorProfile {
    pub account_id: i64,
    pub name: String,
    pub licence_no: String,
    pub title: String,
    pub specialties: String,
    pub biography: String,
    pub practice_since_year: i64,
}

/// Everything public about one doctor.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DoctorDetail {
    pub profile: DoctorProfile,
    pub years_of_practice: i64,
    pub sites: Vec<PracticeSite>,
    pub privileges: Vec<Privilege>,
    pub services: Vec<Service>,
}

/// A standard department code of 《医疗机构诊疗科目名录》: two digits, optionally `.` and two more
/// (`07` 儿科, `03.01` 呼吸内科专业).
pub fn is_std_department_code(code: &str) -> bool {
    let b = code.as_bytes();
    let two = |s: &[u8]| s.len() == 2 && s.iter().all(u8::is_ascii_digit);
    match b.len() {
        2 => two(b),
        5 => {
            b.get(2) == Some(&b'.')
                && two(b.get(..2).unwrap_or_default())
                && two(b.get(3..).unwrap_or_default())
        }
        _ => false,
    }
}

/// A department to add, as an administrator sends it.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct DepartmentInput {
    #[serde(default)]
    pub std_code: String,
    #[serde(default)]
    pub name: String,
    pub name_en: Option<String>,
    #[serde(default = "yes")]
    pub offers_online: bool,
}

fn yes() -> bool {
    true
}

impl DepartmentInput {
    pub fn validate(&self) -> Result<NewDepartment, Vec<FieldError>> {
        let mut errors = Vec::new();
        if !is_std_department_code(self.std_code.trim()) {
            errors.push(FieldError::new(
                "std_code",
                "must be a standard department code such as 07 or 03.01",
            ));
        }
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 40 {
            errors.push(FieldError::length("name", 1, 40));
        }
        if errors.is_empty() {
            Ok(NewDepartment {
                std_code: self.std_code.trim().to_owned(),
                name: name.to_owned(),
                name_en: self.name_en.clone().filter(|n| !n.trim().is_empty()),
                offers_online: self.offers_online,
            })
        } else {
            Err(errors)
        }
    }
}

/// A free-clinic campaign to create.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct CampaignInput {
    pub hospital_id: Option<i64>,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub starts_on: String,
    #[serde(default)]
    pub ends_on: String,
    #[serde(default)]
    pub doctor_ids: Vec<i64>,
}
