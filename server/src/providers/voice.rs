//! Voice calls: Twilio Programmable Voice reads an alert in Indonesian
//! text-to-speech and listens for a key.
//!
//! `POST {base}/2010-04-01/Accounts/{AccountSid}/Calls.json`, HTTP Basic auth,
//! a form with `To`, `From`, `Twiml` (the call's script inline, so no page of
//! ours has to serve it) and `StatusCallback` with `StatusCallbackEvent`s
//! (initiated, ringing, answered, completed). Answers 201 with the call
//! resource (`sid` CA…); errors have the same shape and codes as messages.
//! The script's `<Gather numDigits="1">` posts the pressed key to
//! `webhooks::twilio_voice_gather`, signed like every Twilio callback.

use super::{sms::twilio_parse, Account, FailureClass, ProviderKind, SendResult, To};
use domain::DeliveryStatus;
use domain::PhoneE164;

/// Twilio refuses an inline `Twiml` longer than this.
const MAX_TWIML: usize = 4000;

/// Where Twilio reports on a call: the pressed key, and the call's status.
pub struct CallHooks<'a> {
    pub gather: &'a str,
    pub status: &'a str,
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// Twilio's Indonesian text-to-speech voice.
pub const VOICE: &str = "Google.id-ID-Standard-A";

/// The call's script: the message read twice while listening for one key,
/// then a goodbye if none was pressed.
pub fn twiml(script: &str, gather_url: &str) -> String {
    let say = |text: &str| {
        format!(
            "<Say language=\"id-ID\" voice=\"{VOICE}\">{}</Say>",
            xml_escape(text)
        )
    };
    let shell = |text: &str| {
        format!(
            "<Response><Gather numDigits=\"1\" timeout=\"8\" method=\"POST\" action=\"{}\">{}<Pause length=\"1\"/>{}</Gather>{}</Response>",
            xml_escape(gather_url),
            say(text),
            say(text),
            say("Tidak ada tombol yang ditekan. Peringatan belum dikonfirmasi.")
        )
    };
    // Long texts are cut (at a word) until the script fits.
    let mut text = script.to_owned();
    loop {
        let out = shell(&text);
        if out.len() <= MAX_TWIML || text.is_empty() {
            return out;
        }
        let keep = text.len() * 3 / 4;
        let cut = text[..text.floor_char_boundary(keep)]
            .rfind(' ')
            .unwrap_or(0);
        text.truncate(cut);
    }
}

/// What Twilio's `<Gather action>` is answered with.
pub fn reply_twiml(text: &str) -> String {
    format!(
        "<Response><Say language=\"id-ID\" voice=\"{VOICE}\">{}</Say></Response>",
        xml_escape(text)
    )
}

/// Calls `to` and reads `script` through one account.
pub async fn send(
    client: &reqwest::Client,
    account: &Account,
    to: &PhoneE164,
    script: &str,
    hooks: &CallHooks<'_>,
) -> super::Answer {
    let request = match account.kind {
        ProviderKind::Sandbox => return super::send(client, account, To::Phone(to), script).await,
        ProviderKind::TwilioVoice => request(client, account, to, script, hooks),
        other => {
            return SendResult::failed(
                FailureClass::Account,
                format!("a {} account does not make calls", other.as_str()),
                None,
            )
            .into()
        }
    };
    super::exchange(request, account, twilio_parse).await
}

fn request(
    client: &reqwest::Client,
    account: &Account,
    to: &PhoneE164,
    script: &str,
    hooks: &CallHooks<'_>,
) -> Result<reqwest::RequestBuilder, String> {
    let (sid, token, base) = super::sms::twilio_auth(account)?;
    let from = account
        .credentials
        .from
        .as_deref()
        .ok_or("Twilio voice account has no from")?;
    let twiml = twiml(script, hooks.gather);
    let form = [
        ("To", to.as_str()),
        ("From", from),
        ("Twiml", twiml.as_str()),
        ("StatusCallback", hooks.status),
        ("StatusCallbackMethod", "POST"),
        ("StatusCallbackEvent", "initiated"),
        ("StatusCallbackEvent", "ringing"),
        ("StatusCallbackEvent", "answered"),
        ("StatusCallbackEvent", "completed"),
    ];
    Ok(client
        .post(format!("{base}/2010-04-01/Accounts/{sid}/Calls.json"))
        .basic_auth(sid, Some(token))
        .form(&form))
}

/// What a status word in a Twilio (calls) status callback means for the delivery
/// (`None`: nothing new).
pub fn call_status(s: &str) -> Option<DeliveryStatus> {
    match s {
        // Answered: it reached the person.
        "in-progress" | "completed" => Some(DeliveryStatus::Delivered),
        "busy" | "no-answer" | "failed" | "canceled" => Some(DeliveryStatus::Failed),
        _ => None, // queued, initiated, ringing
    }
}

/// A call's progress callback: (CallSid, what its status means, "Twilio
/// call STATUS" when it failed); `None` without a sid or status.
pub fn status_callback(
    params: &[(String, String)],
) -> Option<(&str, Option<DeliveryStatus>, Option<String>)> {
    let sid = super::sms::twilio_param(params, "CallSid")?;
    let status = super::sms::twilio_param(params, "CallStatus")?;
    let moved = call_status(status);
    let error = (moved == Some(DeliveryStatus::Failed)).then(|| format!("Twilio call {status}"));
    Some((sid, moved, error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_status_callbacks_say_what_became_of_the_call() {
        let form = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let busy = form(&[("CallSid", "CA1"), ("CallStatus", "busy")]);
        assert_eq!(
            status_callback(&busy),
            Some((
                "CA1",
                Some(DeliveryStatus::Failed),
                Some("Twilio call busy".into())
            ))
        );
        let answered = form(&[("CallSid", "CA2"), ("CallStatus", "in-progress")]);
        assert_eq!(status_callback(&answered).unwrap().2, None);
        assert_eq!(status_callback(&form(&[("CallStatus", "busy")])), None);
    }

    #[test]
    fn the_script_is_escaped_and_listens_for_one_key() {
        let t = twiml(
            "Gangguan di <OLT> & ODP. Tekan 1 untuk konfirmasi.",
            "https://x/g?a=1&b=2",
        );
        assert!(t.starts_with("<Response><Gather numDigits=\"1\""), "{t}");
        assert!(t.contains("action=\"https://x/g?a=1&amp;b=2\""), "{t}");
        assert!(t.contains("Gangguan di &lt;OLT&gt; &amp; ODP."), "{t}");
        assert_eq!(t.matches("language=\"id-ID\"").count(), 3);
    }

    #[test]
    fn long_scripts_are_cut_to_fit() {
        let long = "kabel putus di tiang ".repeat(400);
        let t = twiml(&long, "https://x/g");
        assert!(t.len() <= MAX_TWIML, "{}", t.len());
        assert!(t.contains("kabel putus"));
        assert!(t.ends_with("</Response>"));
    }
}
