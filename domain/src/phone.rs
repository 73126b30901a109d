//! Indonesian mobile numbers.
//!
//! People type numbers as `0812-3456-7890`, `+62 812 3456 7890`, `62812…` or
//! `812…`. [`PhoneE164::parse`] accepts all of these and yields one canonical
//! E.164 form (`+6281234567890`), or a reason the input is not a mobile number.
//!
//! The rule is libphonenumber's for region ID mobiles: national significant
//! number `8[1-35-9]\d{7,10}` (9 to 12 digits). It is written out here rather than
//! pulled from `phonenumber` so the browser can run the same check as the server
//! without shipping the whole metadata, and because that crate maps letters to
//! keypad digits (`0812-3456-789a` would pass).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why an input is not an Indonesian mobile number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("phone number is empty")]
    Empty,
    #[error("phone number contains '{0}'; use digits, spaces, dashes and a leading +")]
    InvalidCharacter(char),
    #[error("only Indonesian numbers (+62) are supported")]
    NotIndonesian,
    #[error("phone number is too short for an Indonesian mobile number")]
    TooShort,
    #[error("phone number is too long for an Indonesian mobile number")]
    TooLong,
    #[error("not a mobile number: Indonesian mobile numbers start with 08 (or +62 8)")]
    NotMobile,
}

impl PhoneError {
    pub fn message(&self, locale: crate::Locale) -> String {
        if locale == crate::Locale::En {
            return self.to_string();
        }
        match self {
            PhoneError::Empty => "Nomor telepon kosong.".into(),
            PhoneError::InvalidCharacter(c) => {
                format!("Nomor telepon berisi '{c}'; gunakan angka, spasi, tanda hubung dan + di depan.")
            }
            PhoneError::NotIndonesian => "Hanya nomor Indonesia (+62) yang didukung.".into(),
            PhoneError::TooShort => "Nomor terlalu pendek untuk nomor ponsel Indonesia.".into(),
            PhoneError::TooLong => "Nomor terlalu panjang untuk nomor ponsel Indonesia.".into(),
            PhoneError::NotMobile => {
                "Bukan nomor ponsel: nomor ponsel Indonesia diawali 08 (atau +62 8).".into()
            }
        }
    }

    /// A stable code the UI can translate.
    pub fn code(&self) -> &'static str {
        match self {
            PhoneError::Empty => "phone_empty",
            PhoneError::InvalidCharacter(_) => "phone_invalid_character",
            PhoneError::NotIndonesian => "phone_not_indonesian",
            PhoneError::TooShort => "phone_too_short",
            PhoneError::TooLong => "phone_too_long",
            PhoneError::NotMobile => "phone_not_mobile",
        }
    }
}

/// A valid Indonesian mobile number in E.164 form. Its only constructor is
/// [`PhoneE164::parse`], so holding one proves the number was checked.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneE164(String);

const MIN_NSN: usize = 9;
const MAX_NSN: usize = 12;

impl PhoneE164 {
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        let mut digits = String::with_capacity(trimmed.len());
        let mut plus = false;
        for c in trimmed.chars() {
            match c {
                '0'..='9' => digits.push(c),
                // Before any digit, once: "+62 …", and "(+62) …" as cards
                // and chats write it.
                '+' if digits.is_empty() && !plus => plus = true,
                ' ' | '-' | '.' | '(' | ')' | '/' => {}
                other => return Err(PhoneError::InvalidCharacter(other)),
            }
        }
        if digits.is_empty() {
            return Err(PhoneError::Empty);
        }

        let nsn = if plus {
            // An explicit country code must be Indonesia's.
            digits.strip_prefix("62").ok_or(PhoneError::NotIndonesian)?
        } else if let Some(rest) = digits.strip_prefix("0062") {
            rest
        } else if let Some(rest) = digits.strip_prefix("62") {
            rest
        } else if let Some(rest) = digits.strip_prefix('0') {
            rest
        } else {
            digits.as_str()
        };
        // "+62 0812…": people keep the trunk zero after the country code.
        let nsn = nsn.strip_prefix('0').unwrap_or(nsn);

        let bytes = nsn.as_bytes();
        if bytes.first() != Some(&b'8') || matches!(bytes.get(1), Some(b'0') | Some(b'4')) {
            // Too short to tell is reported as such, not as "not mobile".
            if bytes.len() < 2 {
                return Err(PhoneError::TooShort);
            }
            return Err(PhoneError::NotMobile);
        }
        if nsn.len() < MIN_NSN {
            return Err(PhoneError::TooShort);
        }
        if nsn.len() > MAX_NSN {
            return Err(PhoneError::TooLong);
        }
        Ok(PhoneE164(format!("+62{nsn}")))
    }

    /// `+6281234567890`
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `6281234567890`: what Fonnte, Wablas and Meta expect.
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }

    /// `081234567890`: how Indonesians write it at home.
    pub fn national(&self) -> String {
        format!("0{}", &self.0[3..])
    }
}

impl fmt::Display for PhoneE164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for PhoneE164 {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PhoneE164 {
    type Error = PhoneError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        PhoneE164::parse(&value)
    }
}

impl From<PhoneE164> for String {
    fn from(value: PhoneE164) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> String {
        PhoneE164::parse(input)
            .unwrap_or_else(|e| panic!("{input:?}: {e}"))
            .to_string()
    }

    #[test]
    fn every_common_way_of_writing_a_number_gives_the_same_e164() {
        for input in [
            "081234567890",
            "0812-3456-7890",
            "0812 3456 7890",
            "+62 812 3456 7890",
            "+62-812-3456-7890",
            "6281234567890",
            "81234567890",
            "+62 0812 3456 7890",
            "0062 812 3456 7890",
            "(0812) 3456.7890",
            "  081234567890  ",
            "(+62) 812-3456-7890",
            "(+62)81234567890",
            "+62 (0)812 3456 7890",
            "(62) 812 3456 7890",
            "0062-812-3456-7890",
        ] {
            assert_eq!(ok(input), "+6281234567890", "{input:?}");
        }
    }

    #[test]
    fn provider_forms_are_derived_from_the_canonical_one() {
        let p = PhoneE164::parse("0812-3456-7890").unwrap();
        assert_eq!(p.digits(), "6281234567890");
        assert_eq!(p.national(), "081234567890");
    }

    #[test]
    fn shortest_and_longest_mobile_numbers_are_accepted() {
        assert_eq!(ok("0812345678"), "+62812345678"); // 9-digit NSN
        assert_eq!(ok("0812345678901"), "+62812345678901"); // 12-digit NSN
    }

    #[test]
    fn invalid_numbers_are_rejected_with_a_reason() {
        use PhoneError::*;
        let cases: &[(&str, PhoneError)] = &[
            ("", Empty),
            ("   ", Empty),
            ("-- ()", Empty),
            ("0812-3456-789a", InvalidCharacter('a')),
            ("0812+3456", InvalidCharacter('+')),
            ("++62 812 3456 7890", InvalidCharacter('+')),
            ("(+1) 415 555 0100", NotIndonesian),
            ("+1 415 555 0100", NotIndonesian),
            ("08123", TooShort),
            ("081234567", TooShort),
            ("08123456789012", TooLong),
            ("021-5551234", NotMobile),
            ("0801234567890", NotMobile),
            ("0841234567890", NotMobile),
            ("0", TooShort),
        ];
        for (input, expected) in cases {
            assert_eq!(PhoneE164::parse(input).as_ref(), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn deserialising_checks_the_number() {
        let p: PhoneE164 = serde_json::from_str("\"0812 3456 7890\"").unwrap();
        assert_eq!(p.as_str(), "+6281234567890");
        assert!(serde_json::from_str::<PhoneE164>("\"12345\"").is_err());
    }
}
