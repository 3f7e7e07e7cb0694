//! What a signup must satisfy, field by field: every problem is reported at once, each with its
//! field name, so a form can show them all.

use chrono::{Datelike as _, NaiveDate};

/// One field's problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub reason: String,
}

/// A signup as submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signup<'a> {
    pub email: &'a str,
    pub phone: &'a str,
    pub password: &'a str,
    pub name: &'a str,
    /// `YYYY-MM-DD`, for age-rated events.
    pub birth_date: &'a str,
}

/// The normalised, checked signup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidSignup {
    pub email: String,
    pub phone: String,
    pub name: String,
    pub birth_date: NaiveDate,
}

pub fn validate(signup: &Signup<'_>, today: NaiveDate) -> Result<ValidSignup, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut fail = |field: &'static str, reason: &str| errors.push(FieldError { field, reason: reason.to_owned() });
    let email = normalize_email(signup.email);
    if email.is_none() {
        fail("email", "must be an email address like name@example.com");
    }
    if !is_e164(signup.phone) {
        fail("phone", "must be an international number like +821012345678");
    }
    if let Err(reason) = password_strength(signup.password, signup.email) {
        fail("password", &reason);
    }
    let name = signup.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        fail("name", "must be 1–100 printable characters");
    }
    let birth_date = NaiveDate::parse_from_str(signup.birth_date, "%Y-%m-%d").ok();
    match birth_date {
        None => fail("birth_date", "must be a date like 1990-04-01"),
        Some(date) if date > today => fail("birth_date", "cannot be in the future"),
        Some(date) if today.year() - date.year() > 120 => fail("birth_date", "is too far in the past"),
        Some(_) => {}
    }
    match (email, birth_date) {
        (Some(email), Some(birth_date)) if errors.is_empty() => {
            Ok(ValidSignup { email, phone: signup.phone.to_owned(), name: name.to_owned(), birth_date })
        }
        _ => Err(errors),
    }
}

/// Lower-cased, trimmed; `None` when it is not a plausible address.
pub fn normalize_email(email: &str) -> Option<String> {
    let email = email.trim().to_lowercase();
    let (local, domain) = email.split_once('@')?;
    let ok = !local.is_empty()
        && local.len() <= 64
        && email.len() <= 254
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && !domain.contains('@');
    ok.then_some(email)
}

/// `+` and 8–15 digits, the first not zero.
pub fn is_e164(phone: &str) -> bool {
    let Some(digits) = phone.strip_prefix('+') else { return false };
    (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
}

/// At least 10 characters with three kinds of character (or 16 of any), not containing the
/// email's name part.
pub fn password_strength(password: &str, email: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length > 128 {
        return Err("must be at most 128 characters".into());
    }
    let kinds = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_numeric()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ]
    .into_iter()
    .filter(|k| *k)
    .count();
    if length < 10 || (length < 16 && kinds < 3) {
        return Err(
            "needs 10+ characters mixing three of: lower case, upper case, digits, symbols (or 16+ of any)".into()
        );
    }
    let name = email.split('@').next().unwrap_or_default().to_lowercase();
    if name.len() >= 4 && password.to_lowercase().contains(&name) {
        return Err("must not contain your email name".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 21).unwrap()
    }

    #[test]
    fn a_good_signup_is_normalised() {
        let signup = Signup {
            email: " Ji-Woo@Example.COM ",
            phone: "+821012345678",
            password: "Tickets!2026",
            name: " 지우 ",
            birth_date: "1999-03-01",
        };
        let valid = validate(&signup, today()).unwrap();
        assert_eq!((valid.email.as_str(), valid.name.as_str()), ("ji-woo@example.com", "지우"));
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let signup =
            Signup { email: "nope", phone: "01012345678", password: "short", name: "", birth_date: "2030-01-01" };
        let fields: Vec<&str> = validate(&signup, today()).unwrap_err().iter().map(|e| e.field).collect();
        assert_eq!(fields, ["email", "phone", "password", "name", "birth_date"]);
    }

    #[test]
    fn password_rules() {
        assert!(password_strength("Tickets!2026", "a@b.co").is_ok());
        assert!(password_strength("alllowercaselongpassword", "a@b.co").is_ok(), "16+ of any kind");
        assert!(password_strength("lowercase12", "a@b.co").is_err(), "two kinds, under 16");
        assert!(password_strength("Jiwoo!Tickets1", "jiwoo@example.com").is_err());
        assert!(password_strength(&"Aa1!".repeat(40), "a@b.co").is_err());
    }
}
