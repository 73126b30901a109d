//! The rules of one-time codes that prove a user owns a WhatsApp number.
//!
//! Storage and randomness live in the app; the decisions (may a code be sent
//! again yet, is this attempt still allowed) live here so they are tested
//! without a clock or a database.

use crate::kinds::Locale;

pub const CODE_DIGITS: usize = 6;
/// A code is valid this long after it was sent.
pub const CODE_TTL_MS: i64 = 10 * 60 * 1000;
/// Wrong guesses allowed per code; then a new code is needed.
pub const MAX_ATTEMPTS: i64 = 5;
/// Time between two codes for the same user (WhatsApp numbers get banned for
/// spamming, and each send may cost money).
pub const RESEND_COOLDOWN_MS: i64 = 60 * 1000;
/// Codes per 24 hours to one user or to one number, whoever asks: a code
/// is a message the operator pays for, to a number anyone may type.
pub const MAX_CODES_PER_DAY: i64 = 5;

/// The state of the latest code sent to a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssuedCode {
    pub created_at: i64,
    pub expires_at: i64,
    pub attempts: i64,
    pub consumed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("enter the {CODE_DIGITS}-digit code")]
    Malformed,
    #[error("no code was sent to this number; send one first")]
    NoCode,
    #[error("the code has expired; send a new one")]
    Expired,
    #[error("too many wrong codes; send a new one")]
    TooManyAttempts,
    #[error("wrong code; {remaining} attempts left")]
    Wrong { remaining: i64 },
    #[error("wait {seconds} s before sending another code")]
    Cooldown { seconds: i64 },
    #[error("add a phone number first")]
    NoPhone,
    #[error("this number is already verified")]
    AlreadyVerified,
    #[error("too many codes today for this account or number; try again tomorrow")]
    DailyLimit,
}

impl CodeError {
    pub fn message(&self, locale: Locale) -> String {
        if locale == Locale::En {
            return self.to_string();
        }
        match self {
            CodeError::Malformed => format!("Masukkan kode {CODE_DIGITS} angka."),
            CodeError::NoCode => "Belum ada kode untuk nomor ini; kirim kode dulu.".into(),
            CodeError::Expired => "Kode sudah kedaluwarsa; kirim kode baru.".into(),
            CodeError::TooManyAttempts => "Terlalu banyak kode salah; kirim kode baru.".into(),
            CodeError::Wrong { remaining } => format!("Kode salah; sisa {remaining} percobaan."),
            CodeError::Cooldown { seconds } => {
                format!("Tunggu {seconds} detik sebelum mengirim kode lagi.")
            }
            CodeError::NoPhone => "Isi dan simpan nomor WhatsApp dulu.".into(),
            CodeError::AlreadyVerified => "Nomor ini sudah terverifikasi.".into(),
            CodeError::DailyLimit => {
                "Sudah terlalu banyak kode hari ini untuk akun atau nomor ini; coba lagi besok."
                    .into()
            }
        }
    }
}

/// `" 123 456 "` → `"123456"`; anything but six digits is malformed.
pub fn normalise_code(input: &str) -> Result<String, CodeError> {
    let code: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if code.len() == CODE_DIGITS && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(code)
    } else {
        Err(CodeError::Malformed)
    }
}

/// May a new code be sent now, given the latest one and how many went to
/// this user or this number in the last 24 hours?
pub fn may_send(
    latest: Option<&IssuedCode>,
    sent_last_day: i64,
    now: i64,
) -> Result<(), CodeError> {
    match latest {
        Some(c) if now < c.created_at + RESEND_COOLDOWN_MS => Err(CodeError::Cooldown {
            seconds: (c.created_at + RESEND_COOLDOWN_MS - now + 999) / 1000,
        }),
        _ if sent_last_day >= MAX_CODES_PER_DAY => Err(CodeError::DailyLimit),
        _ => Ok(()),
    }
}

/// May this attempt be checked against the code at all? (An attempt that
/// passes here and does not match counts against [`MAX_ATTEMPTS`].)
pub fn may_attempt(latest: Option<&IssuedCode>, now: i64) -> Result<(), CodeError> {
    let c = latest.ok_or(CodeError::NoCode)?;
    if c.consumed {
        return Err(CodeError::NoCode);
    }
    if now >= c.expires_at {
        return Err(CodeError::Expired);
    }
    if c.attempts >= MAX_ATTEMPTS {
        return Err(CodeError::TooManyAttempts);
    }
    Ok(())
}

/// The error for a wrong code, counting the attempt just made.
pub fn wrong(latest: &IssuedCode) -> CodeError {
    let remaining = MAX_ATTEMPTS - (latest.attempts + 1);
    if remaining <= 0 {
        CodeError::TooManyAttempts
    } else {
        CodeError::Wrong { remaining }
    }
}

/// `text` with every run of exactly [`CODE_DIGITS`] digits hidden: what the
/// delivery log shows of a verification message that went out through a real
/// gateway, so no one reading the log can take over someone's number.
pub fn redact_codes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if digits.len() == CODE_DIGITS {
            out.extend(std::iter::repeat_n('•', CODE_DIGITS));
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_hidden_and_other_numbers_kept() {
        assert_eq!(
            redact_codes("Kode verifikasi: *482913*. Berlaku 10 menit."),
            "Kode verifikasi: *••••••*. Berlaku 10 menit."
        );
        assert_eq!(redact_codes("123456"), "••••••");
        assert_eq!(
            redact_codes("0812345678 12345 1234567"),
            "0812345678 12345 1234567"
        );
    }

    fn issued(created_at: i64, attempts: i64) -> IssuedCode {
        IssuedCode {
            created_at,
            expires_at: created_at + CODE_TTL_MS,
            attempts,
            consumed: false,
        }
    }

    #[test]
    fn codes_are_six_digits_with_spaces_forgiven() {
        assert_eq!(normalise_code(" 123 456 ").unwrap(), "123456");
        assert_eq!(normalise_code("123-456").unwrap(), "123456");
        assert_eq!(normalise_code("12345"), Err(CodeError::Malformed));
        assert_eq!(normalise_code("12345a"), Err(CodeError::Malformed));
        assert_eq!(normalise_code("١٢٣٤٥٦"), Err(CodeError::Malformed));
    }

    #[test]
    fn a_second_code_waits_for_the_cooldown() {
        let c = issued(1_000_000, 0);
        assert_eq!(may_send(None, 0, 0), Ok(()));
        assert_eq!(
            may_send(Some(&c), 0, 1_000_000 + 1),
            Err(CodeError::Cooldown { seconds: 60 })
        );
        assert_eq!(
            may_send(Some(&c), 0, 1_000_000 + RESEND_COOLDOWN_MS - 1_500),
            Err(CodeError::Cooldown { seconds: 2 })
        );
        assert_eq!(
            may_send(Some(&c), 0, 1_000_000 + RESEND_COOLDOWN_MS),
            Ok(())
        );
        // Past the cooldown, the day's count decides.
        let later = 1_000_000 + RESEND_COOLDOWN_MS;
        assert_eq!(may_send(Some(&c), MAX_CODES_PER_DAY - 1, later), Ok(()));
        assert_eq!(
            may_send(Some(&c), MAX_CODES_PER_DAY, later),
            Err(CodeError::DailyLimit)
        );
    }

    #[test]
    fn attempts_stop_at_expiry_at_the_limit_and_after_use() {
        let c = issued(0, 0);
        assert_eq!(may_attempt(None, 1), Err(CodeError::NoCode));
        assert_eq!(may_attempt(Some(&c), CODE_TTL_MS - 1), Ok(()));
        assert_eq!(may_attempt(Some(&c), CODE_TTL_MS), Err(CodeError::Expired));
        let spent = issued(0, MAX_ATTEMPTS);
        assert_eq!(
            may_attempt(Some(&spent), 1),
            Err(CodeError::TooManyAttempts)
        );
        let used = IssuedCode {
            consumed: true,
            ..c
        };
        assert_eq!(may_attempt(Some(&used), 1), Err(CodeError::NoCode));
    }

    #[test]
    fn a_wrong_code_says_how_many_attempts_are_left() {
        assert_eq!(wrong(&issued(0, 0)), CodeError::Wrong { remaining: 4 });
        assert_eq!(wrong(&issued(0, 3)), CodeError::Wrong { remaining: 1 });
        assert_eq!(wrong(&issued(0, 4)), CodeError::TooManyAttempts);
    }

    #[test]
    fn messages_default_to_indonesian() {
        assert!(CodeError::Expired
            .message(Locale::Id)
            .contains("kedaluwarsa"));
        assert!(CodeError::Expired.message(Locale::En).contains("expired"));
    }
}
