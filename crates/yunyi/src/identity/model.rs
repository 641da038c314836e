//! Identity types, validated at the edge: once a value is one of these, it is known good.

use std::fmt;

use chrono::{Datelike, NaiveDate};

use crate::error::FieldError;

crate::text_enum! {
    /// Roles. A staff account has exactly one; patients are `Patient`.
    pub enum Role {
        Patient = "patient",
        Doctor = "doctor",
        Nurse = "nurse",
        Pharmacist = "pharmacist",
        HospitalAdmin = "hospital_admin",
        InfectionOfficer = "infection_officer",
        Regulator = "regulator",
        PlatformAdmin = "platform_admin",
    }
}

crate::text_enum! {
    /// Whether an account may sign in.
    pub enum AccountStatus {
        Active = "active",
        Disabled = "disabled",
    }
}

impl Role {
    /// Clinicians may treat patients (and so may hold care links and use break-glass).
    pub fn is_clinician(self) -> bool {
        matches!(self, Role::Doctor | Role::Nurse | Role::Pharmacist)
    }

    /// Staff roles belong to a hospital; regulators and platform admins do not.
    pub fn needs_hospital(self) -> bool {
        matches!(
            self,
            Role::Doctor
                | Role::Nurse
                | Role::Pharmacist
                | Role::HospitalAdmin
                | Role::InfectionOfficer
        )
    }
}

crate::text_enum! {
    pub enum Sex {
        Male = "male",
        Female = "female",
    }
}

/// A resident identity card number (居民身份证号码) per GB 11643-1999: six digits of region,
/// eight of birth date, three of sequence (odd = male), one check character.
#[derive(Clone, PartialEq, Eq)]
pub struct IdCardNumber {
    value: String,
    birth_date: NaiveDate,
    sex: Sex,
}

/// Never print the number itself: `Debug` is masked too, so it cannot leak through a log line.
impl fmt::Debug for IdCardNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdCardNumber({})", self.masked())
    }
}

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The ISO 7064 MOD 11-2 check character of a number's first 17 digits (`None` for any other
/// count). Also used by the programs that generate valid numbers for benchmarks.
pub fn check_character(first17: &[u32]) -> Option<char> {
    if first17.len() != 17 {
        return None;
    }
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum();
    CHECK_CHARS.get((sum % 11) as usize).copied()
}

impl IdCardNumber {
    /// Parses and checks a number; `today` bounds the birth date. Errors are written for the
    /// patient who typed it.
    pub fn parse(raw: &str, today: NaiveDate) -> Result<Self, String> {
        let value: String = raw.trim().chars().map(|c| c.to_ascii_uppercase()).collect();
        if value.chars().count() != 18 {
            return Err(format!(
                "must be 18 characters, got {}",
                value.chars().count()
            ));
        }
        let body: Vec<u32> = value
            .chars()
            .take(17)
            .filter_map(|c| c.to_digit(10))
            .collect();
        if body.len() != 17 {
            return Err("the first 17 characters must be digits".to_owned());
        }
        let last = value.chars().last().unwrap_or(' ');
        if !(last.is_ascii_digit() || last == 'X') {
            return Err("the last character must be a digit or X".to_owned());
        }
        let province: u32 = body.iter().take(2).fold(0, |acc, d| acc * 10 + d);
        if !(11..=82).contains(&province) {
            return Err("the region code (first six digits) is not a valid division".to_owned());
        }
        let digits = |from: usize, to: usize| {
            body.get(from..to)
                .map(|s| s.iter().fold(0, |acc, d| acc * 10 + d))
        };
        let (Some(year), Some(month), Some(day)) = (digits(6, 10), digits(10, 12), digits(12, 14))
        else {
            return Err("the birth date (digits 7 to 14) cannot be read".to_owned());
        };
        let birth_date = i32::try_from(year)
            .ok()
            .and_then(|y| NaiveDate::from_ymd_opt(y, month, day))
            .ok_or_else(|| {
                format!("the birth date {year:04}-{month:02}-{day:02} does not exist")
            })?;
        if birth_date > today || birth_date.year() < 1890 {
            return Err(format!("the birth date {birth_date} is impossible"));
        }
        if Some(last) != check_character(&body) {
            return Err("the check digit (last character) does not match: please check the number for typos".to_owned());
        }
        let sex = if body.get(16).is_some_and(|d| d % 2 == 1) {
            Sex::Male
        } else {
            Sex::Female
        };
        Ok(Self {
            value,
            birth_date,
            sex,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.value
    }

    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    pub fn sex(&self) -> Sex {
        self.sex
    }

    /// The GB/T 2260 division where the number was issued (户籍地): its first six digits.
    pub fn region(&self) -> &str {
        self.value.get(..6).unwrap_or_default()
    }

    /// `110***********1234`: the form shown everywhere except to the owner.
    pub fn masked(&self) -> String {
        mask(&self.value, 3, 4)
    }
}

/// A mainland China mobile number, normalized to 11 digits.
#[derive(Clone, PartialEq, Eq)]
pub struct Phone(String);

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

impl Phone {
    /// Accepts spaces, dashes and a +86/0086 prefix.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let compact: String = raw
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
            .collect();
        let digits = compact
            .strip_prefix("+86")
            .or_else(|| compact.strip_prefix("0086"))
            .unwrap_or(&compact);
        let ok = digits.len() == 11
            && digits.bytes().all(|b| b.is_ascii_digit())
            && digits.starts_with('1')
            && digits
                .as_bytes()
                .get(1)
                .is_some_and(|b| (b'3'..=b'9').contains(b));
        if ok {
            Ok(Self(digits.to_owned()))
        } else {
            Err("must be an 11-digit mainland mobile number such as 13800138000".to_owned())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `138****8000`.
    pub fn masked(&self) -> String {
        mask(&self.0, 3, 4)
    }

    /// True when the text looks like a phone number (for "username or phone" log-in).
    pub fn looks_like(raw: &str) -> bool {
        Phone::parse(raw).is_ok()
    }
}

/// Keeps `head` and `tail` characters, stars in between.
pub fn mask(value: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= head + tail {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars.iter().take(head).collect();
    out.push_str(&"*".repeat(chars.len() - head - tail));
    out.extend(chars.iter().skip(chars.len() - tail));
    out
}

/// Age in whole years on `today`.
pub fn age_on(birth: NaiveDate, today: NaiveDate) -> u32 {
    today.years_since(birth).unwrap_or(0)
}

/// A person's display name: 1 to 50 characters, no control characters.
pub fn validate_name(field: &str, raw: &str) -> Result<String, FieldError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 50 || name.chars().any(char::is_control) {
        return Err(FieldError::length(field, 1, 50));
    }
    Ok(name.to_owned())
}

/// Passwords: at least 8 characters, at most 128 (argon2 input stays bounded).
pub fn validate_password(field: &str, raw: &str) -> Result<(), FieldError> {
    let n = raw.chars().count();
    if n < 8 {
        return Err(FieldError::new(field, "must be at least 8 characters")
            .localized("field.password_length", vec![]));
    }
    if n > 128 {
        return Err(FieldError::new(field, "must be at most 128 characters")
            .localized("field.password_length", vec![]));
    }
    Ok(())
}

/// Staff usernames: 3 to 32 of a–z, 0–9, `-`, `_`, `.`, starting with a letter.
pub fn validate_username(raw: &str) -> Result<String, FieldError> {
    let u = raw.trim().to_ascii_lowercase();
    let ok = (3..=32).contains(&u.len())
        && u.starts_with(|c: char| c.is_ascii_lowercase())
        && u.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(u)
    } else {
        Err(FieldError::new(
            "username",
            "must be 3 to 32 characters of letters, digits, '-', '_' or '.', starting with a letter",
        )
        .localized("field.username", vec![]))
    }
}

crate::text_enum! {
    /// How a family member relates to the account holder (FHIR v3-RoleCode codes).
    pub enum Relationship {
        Child = "child",
        Parent = "parent",
        Spouse = "spouse",
        Grandparent = "grandparent",
        Grandchild = "grandchild",
        Sibling = "sibling",
        Other = "other",
    }
}

impl Relationship {
    /// What the account holder is to the family member, as a code of
    /// http://terminology.hl7.org/CodeSystem/v3-RoleCode (FHIR `RelatedPerson.relationship`
    /// describes the related person — the holder — relative to the patient). The stored
    /// relationship says the opposite direction, hence the inversion.
    pub fn holder_role_code(self) -> (&'static str, &'static str) {
        match self {
            Relationship::Child => ("PRN", "parent"),
            Relationship::Parent => ("CHILD", "child"),
            Relationship::Spouse => ("SPS", "spouse"),
            Relationship::Grandparent => ("GRNDCHILD", "grandchild"),
            Relationship::Grandchild => ("GRPRN", "grandparent"),
            Relationship::Sibling => ("SIB", "sibling"),
            Relationship::Other => ("FAMMEMB", "family member"),
        }
    }

    /// A minor family member can only be a descendant of the holder for guardianship purposes.
    pub fn can_be_ward(self) -> bool {
        matches!(
            self,
            Relationship::Child
                | Relationship::Grandchild
                | Relationship::Sibling
                | Relationship::Other
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap_or_default()
    }

    #[test]
    fn gb11643_check_digit_date_and_sex() {
        // The standard's own example.
        let id = IdCardNumber::parse("11010519491231002X", today()).expect("valid");
        assert_eq!(
            id.birth_date(),
            NaiveDate::from_ymd_opt(1949, 12, 31).unwrap_or_default()
        );
        assert_eq!(id.sex(), Sex::Female);
        assert_eq!(id.masked(), "110***********002X");
        assert!(
            IdCardNumber::parse("11010519491231002x", today()).is_ok(),
            "lower-case x"
        );
        let male = IdCardNumber::parse("440106198503120015", today()).expect("valid");
        assert_eq!(male.sex(), Sex::Male);
        assert!(!format!("{male:?}").contains("19850312"));
    }

    #[test]
    fn gb11643_rejections_say_why() {
        let err = |s| IdCardNumber::parse(s, today()).err().unwrap_or_default();
        assert!(err("110105194912310021").contains("check digit"));
        assert!(err("1101051949123100").contains("18 characters"));
        assert!(
            err("110105194902300025").contains("does not exist"),
            "{}",
            err("110105194902300025")
        );
        assert!(err("11010520991231002X").contains("impossible"));
        assert!(err("99010519491231002X").contains("region"));
        assert!(err("1101051949A231002X").contains("digits"));
    }

    #[test]
    fn phones_normalize_and_mask() {
        assert_eq!(
            Phone::parse("+86 138-0013-8000").map(|p| p.masked()),
            Ok("138****8000".to_owned())
        );
        assert!(Phone::parse("12800138000").is_err());
        assert!(Phone::parse("1380013800").is_err());
        assert!(!Phone::looks_like("doctor1"));
    }

    #[test]
    fn usernames_and_names() {
        assert_eq!(
            validate_username(" Doctor1 ").ok().as_deref(),
            Some("doctor1")
        );
        assert!(validate_username("1doctor").is_err());
        assert!(validate_username("a b").is_err());
        assert!(validate_name("name", "张三").is_ok());
        assert!(validate_name("name", "  ").is_err());
        assert_eq!(
            age_on(
                NaiveDate::from_ymd_opt(2021, 11, 23).unwrap_or_default(),
                today()
            ),
            4
        );
    }
}
