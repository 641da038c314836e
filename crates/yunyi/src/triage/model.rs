//! What the triage API takes and answers.

use serde::{Deserialize, Serialize};

/// A complaint as the page or an app sends it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriageRequest {
    #[serde(default)]
    pub text: String,
    pub age_years: Option<u32>,
    pub age_months: Option<u32>,
    pub sex: Option<triage::Sex>,
    pub pregnant: Option<bool>,
    /// Only this hospital's departments and doctors; all active hospitals when absent.
    pub hospital_id: Option<i64>,
    /// Red flags the patient said yes to on the checklist.
    #[serde(default)]
    pub confirmed_red_flags: Vec<String>,
    /// How many follow-up questions the patient answered before (for the record).
    #[serde(default)]
    pub follow_ups: u32,
}

/// The crate's result, the checklist still to ask, and where to go in the directory.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TriageAnswer {
    /// Handle to record the patient's final choice with (`POST /api/v1/triage/{id}/choice`).
    pub triage_id: String,
    #[serde(flatten)]
    pub result: triage::Triage,
    /// Red-flag questions to ask when the result is not already an emergency.
    pub checklist: Vec<triage::ChecklistItem>,
    /// For each suggested department, the matching departments of hospitals and their
    /// doctors with a free time in the next 14 days.
    pub options: Vec<DepartmentOption>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DepartmentOption {
    pub code: String,
    pub name: String,
    pub name_en: String,
    pub score: f32,
    pub places: Vec<Place>,
}

/// A hospital department that sees what the standard department covers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Place {
    pub hospital_id: i64,
    pub hospital_name: String,
    pub department_id: i64,
    pub department_name: String,
    pub std_code: String,
    pub doctors: Vec<DoctorOffer>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DoctorOffer {
    pub doctor_id: i64,
    pub name: String,
    pub title: String,
    /// Earliest free time (RFC 3339, China time) and its day, for the booking link.
    pub next_free: String,
    pub next_free_day: String,
    pub next_free_display: String,
}

/// The patient's final choice after a triage.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = TriageChoice)]
#[serde(deny_unknown_fields)]
pub struct ChoiceInput {
    #[serde(default)]
    pub choice: String,
    pub department_code: Option<String>,
    pub doctor_id: Option<i64>,
}

/// Choices a patient can make after a triage.
pub const CHOICES: [&str; 4] = ["booking", "consultation", "emergency", "none"];

/// The age as a band for the anonymised record: precise enough for surveillance by age group,
/// too coarse to identify anyone.
pub fn age_band(age_months: Option<u32>) -> Option<&'static str> {
    let m = age_months?;
    Some(match m {
        0..=2 => "0-2m",
        3..=11 => "3-11m",
        12..=71 => "1-5y",
        72..=167 => "6-13y",
        168..=215 => "14-17y",
        216..=539 => "18-44y",
        540..=779 => "45-64y",
        _ => "65y+",
    })
}

/// Whether a hospital department with standard code `hospital` sees what `suggested` covers:
/// the same code, its parent (07 儿科 for 07.04 小儿呼吸), or a subdivision (03.01 for 03 内科).
pub fn covers(hospital: &str, suggested: &str) -> Option<u8> {
    if hospital == suggested {
        Some(0)
    } else if suggested
        .strip_prefix(hospital)
        .is_some_and(|rest| rest.starts_with('.'))
    {
        Some(1)
    } else if hospital
        .strip_prefix(suggested)
        .is_some_and(|rest| rest.starts_with('.'))
    {
        Some(2)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::{age_band, covers};

    #[test]
    fn bands_and_coverage() {
        assert_eq!(age_band(Some(2)), Some("0-2m"));
        assert_eq!(age_band(Some(60)), Some("1-5y"));
        assert_eq!(age_band(Some(80 * 12)), Some("65y+"));
        assert_eq!(age_band(None), None);
        assert_eq!(covers("07.04", "07.04"), Some(0));
        assert_eq!(covers("07", "07.04"), Some(1));
        assert_eq!(covers("03.01", "03"), Some(2));
        assert_eq!(covers("03.01", "03.02"), None);
        assert_eq!(covers("0", "03"), None);
        assert_eq!(covers("16", "16.03"), Some(1));
    }
}
