//! Meta WhatsApp Cloud API: `POST {base}/{version}/{phone_number_id}/messages`
//! with a bearer token. Errors are HTTP 4xx/5xx with an `error.code`; branch on
//! the code, never on the title or the HTTP status.

use super::{clip, clip_to, id_string, Account, Answer, FailureClass, SendResult, To};
use domain::meta_template::{body_params, MetaTemplate, Param};
use domain::DeliveryStatus;
use serde_json::{json, Value};

pub const DEFAULT_API_VERSION: &str = "v21.0";

/// What a message through Meta is.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    /// Free text: only inside the 24-hour window.
    Text(&'a str),
    /// Free text with a "Konfirmasi" reply button (a critical alert inside
    /// the window; Meta's buttons take a body of 1,024 characters at most).
    TextWithAck(&'a str),
    /// An approved template, its body's parameters filled; `ack`: the
    /// quick-reply button at that index answers with the acknowledgement.
    Template {
        template: &'a MetaTemplate,
        params: &'a [Param],
        ack: Option<u32>,
    },
}

/// The reply button's id (interactive) and payload (template): the webhook
/// reads it as an acknowledgement whatever the button says.
pub const ACK_PAYLOAD: &str = "ack";
/// Meta caps an interactive message's body.
pub const INTERACTIVE_MAX_CHARS: usize = 1024;

pub fn request(
    client: &reqwest::Client,
    account: &Account,
    to: To<'_>,
    text: &str,
) -> Result<reqwest::RequestBuilder, String> {
    request_body(client, account, to, Body::Text(text))
}

pub fn request_body(
    client: &reqwest::Client,
    account: &Account,
    to: To<'_>,
    body: Body<'_>,
) -> Result<reqwest::RequestBuilder, String> {
    let (token, version) = auth(account)?;
    let c = &account.credentials;
    let number_id = c
        .phone_number_id
        .as_deref()
        .ok_or("Meta account has no phone_number_id")?;
    let to = match to {
        To::Phone(p) => p.digits().to_owned(),
        // Routing passes Meta over for groups (`reaches_gateway_groups`).
        To::Group(_) => return Err("Meta cannot post to a gateway's group chat".into()),
    };
    let mut message = json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
    });
    match body {
        Body::Text(text) => {
            message["type"] = json!("text");
            message["text"] = json!({"preview_url": false, "body": text});
        }
        Body::TextWithAck(text) => {
            message["type"] = json!("interactive");
            message["interactive"] = json!({
                "type": "button",
                "body": {"text": text},
                "action": {"buttons": [{"type": "reply",
                    "reply": {"id": ACK_PAYLOAD, "title": "Konfirmasi"}}]},
            });
        }
        Body::Template {
            template,
            params,
            ack,
        } => {
            message["type"] = json!("template");
            message["template"] = template_json(template, params, ack);
        }
    }
    Ok(client
        .post(format!(
            "{}/{version}/{number_id}/messages",
            account.base()?
        ))
        .bearer_auth(token)
        .json(&message))
}

/// The `template` object of a send: name, language and the components
/// that carry values (the body's parameters, the reply button's payload).
fn template_json(template: &MetaTemplate, params: &[Param], ack: Option<u32>) -> Value {
    let mut components = Vec::new();
    if !params.is_empty() {
        let parameters: Vec<Value> = params
            .iter()
            .map(|p| match &p.name {
                Some(name) => json!({"type": "text", "parameter_name": name, "text": p.text}),
                None => json!({"type": "text", "text": p.text}),
            })
            .collect();
        components.push(json!({"type": "body", "parameters": parameters}));
    }
    if let Some(index) = ack {
        components.push(json!({"type": "button", "sub_type": "quick_reply",
            "index": index.to_string(),
            "parameters": [{"type": "payload", "payload": ACK_PAYLOAD}]}));
    }
    json!({
        "name": template.name,
        "language": {"policy": "deterministic", "code": template.language},
        "components": components,
    })
}

fn auth(account: &Account) -> Result<(&str, &str), String> {
    let c = &account.credentials;
    let token = c
        .access_token
        .as_deref()
        .ok_or("Meta account has no access_token")?;
    Ok((
        token,
        c.api_version.as_deref().unwrap_or(DEFAULT_API_VERSION),
    ))
}

/// Sends one message through a Meta account.
pub async fn send(
    client: &reqwest::Client,
    account: &Account,
    to: To<'_>,
    body: Body<'_>,
) -> Answer {
    super::exchange(request_body(client, account, to, body), account, parse).await
}

/// How many pages of templates a sync reads at most (100 each).
const MAX_PAGES: usize = 50;

/// The account's templates as Meta lists them for its WhatsApp Business
/// Account, every page; the error names Meta's reason.
pub async fn list_templates(
    client: &reqwest::Client,
    account: &Account,
) -> Result<Vec<MetaTemplate>, String> {
    let (token, version) = auth(account)?;
    let waba = account
        .credentials
        .waba_id
        .as_deref()
        .filter(|w| !w.is_empty())
        .ok_or("Meta account has no waba_id (WhatsApp Business Account id)")?;
    let url = format!("{}/{version}/{waba}/message_templates", account.base()?);
    let timeout = std::time::Duration::from_millis(account.timeout_ms.max(1000) as u64);
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut query = vec![
            (
                "fields",
                "name,language,status,category,components,parameter_format",
            ),
            ("limit", "100"),
        ];
        if let Some(a) = &after {
            query.push(("after", a));
        }
        let page_url = reqwest::Url::parse_with_params(&url, &query)
            .map_err(|e| format!("bad base URL: {e}"))?;
        let response = client
            .get(page_url)
            .bearer_auth(token)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| format!("cannot reach Meta: {e}"))?;
        let status = response.status().as_u16();
        let body = super::read_bounded(response, 4 * 1024 * 1024)
            .await
            .map_err(|e| format!("reading Meta's answer: {e}"))?;
        let page: Value = serde_json::from_str(&body)
            .map_err(|_| format!("HTTP {status}: {}", clip_to(&body, 200)))?;
        if let Some(err) = page.get("error") {
            return Err(error_text(err));
        }
        if !(200..300).contains(&status) {
            return Err(format!("HTTP {status}: {}", clip_to(&body, 200)));
        }
        out.extend(
            page["data"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(template_of),
        );
        // Meta names the next page by a cursor (and a `next` URL, not
        // followed: the product talks to the base URL it was given only).
        match (
            page.pointer("/paging/next"),
            page.pointer("/paging/cursors/after"),
        ) {
            (Some(_), Some(Value::String(cursor))) => after = Some(cursor.clone()),
            _ => return Ok(out),
        }
    }
    Ok(out)
}

/// One template of Meta's list; `None` when it has no name or language.
fn template_of(t: &Value) -> Option<MetaTemplate> {
    let text = |k: &str| t[k].as_str().map(str::to_owned);
    // Meta writes component types in capitals; compared as words.
    let component = |kind: &str| {
        t["components"].as_array().into_iter().flatten().find(|c| {
            c["type"]
                .as_str()
                .is_some_and(|k| k.eq_ignore_ascii_case(kind))
        })
    };
    let body = component("body")
        .and_then(|c| c["text"].as_str())
        .unwrap_or_default()
        .to_owned();
    let quick_reply = component("buttons")
        .and_then(|c| c["buttons"].as_array())
        .and_then(|b| {
            b.iter()
                .position(|b| b["type"].as_str() == Some("QUICK_REPLY"))
        })
        .and_then(|i| u32::try_from(i).ok());
    Some(MetaTemplate {
        name: text("name")?,
        language: text("language")?,
        status: text("status").unwrap_or_default(),
        category: text("category").unwrap_or_default(),
        named: t["parameter_format"].as_str() == Some("NAMED"),
        params: body_params(&body),
        body,
        quick_reply,
    })
}

fn error_text(err: &Value) -> String {
    let code = err.get("code").and_then(Value::as_i64).unwrap_or(-1);
    let message = err
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("no message");
    match err.pointer("/error_data/details").and_then(Value::as_str) {
        Some(d) => format!("Meta error {code}: {message} ({d})"),
        None => format!("Meta error {code}: {message}"),
    }
}

/// Meta's error codes, by what the dispatcher should do.
pub fn classify_code(code: i64) -> FailureClass {
    match code {
        4 | 80007 | 130429 | 131056 | 131048 | 131049 => FailureClass::RateLimited,
        // 131047: outside the 24-hour window (a window Meta counts closed
        // though our record says open): another account may still send it.
        0
        | 3
        | 10
        | 190
        | 200..=299
        | 368
        | 131031
        | 131042
        | 131047
        | 133010
        | 132000..=132018 => FailureClass::Account,
        131026 | 131050 | 131021 | 131051 | 131008 | 131009 | 100 => FailureClass::Recipient,
        _ => FailureClass::Transient, // 1, 2, 131000, 131016 and anything new
    }
}

pub fn parse(status: u16, body: &str) -> SendResult {
    let response = clip(body);
    let json: Option<Value> = serde_json::from_str(body).ok();
    if (200..300).contains(&status) {
        let id = json
            .as_ref()
            .and_then(|j| id_string(j.pointer("/messages/0/id")));
        return match id {
            Some(id) => SendResult::Accepted {
                message_id: Some(id),
                reference: None,
                response,
            },
            None => SendResult::failed(
                FailureClass::Unknown,
                "Meta answered 2xx without a message id",
                Some(response),
            ),
        };
    }
    match json.as_ref().and_then(|j| j.get("error")) {
        Some(err) => {
            let code = err.get("code").and_then(Value::as_i64).unwrap_or(-1);
            SendResult::failed(classify_code(code), error_text(err), Some(response))
                .with_code(code.to_string())
        }
        None => super::classify_http(status, body).unwrap_or_else(|| {
            SendResult::failed(
                FailureClass::Transient,
                format!("HTTP {status}"),
                Some(response),
            )
        }),
    }
}

/// Meta's error code for a message outside the 24-hour window.
const OUTSIDE_WINDOW: &str = "131047";

/// Whether Meta refused a message as outside the 24-hour window (131047).
pub fn outside_window(result: &SendResult) -> bool {
    result.code() == Some(OUTSIDE_WINDOW)
}

/// What a status word in a Meta status callback means for the delivery
/// (`None`: nothing new).
pub fn callback_status(s: &str) -> Option<DeliveryStatus> {
    match s {
        "sent" => Some(DeliveryStatus::Sent),
        "delivered" => Some(DeliveryStatus::Delivered),
        "read" | "played" => Some(DeliveryStatus::Read),
        "failed" => Some(DeliveryStatus::Failed),
        _ => None,
    }
}

/// One status in a Meta webhook: what became of one of our messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate<'a> {
    /// Our message's id (`wamid…`).
    pub id: &'a str,
    /// `None`: a status that says nothing new.
    pub status: Option<DeliveryStatus>,
    /// Meta's time of it (ms), if it gave one.
    pub at: Option<i64>,
    /// "Meta error CODE: title" for a failure.
    pub error: Option<String>,
    /// Refused as outside the 24-hour window (131047): it may go again as
    /// a template.
    pub outside_window: bool,
}

/// One message a person wrote to the business number, or a button of ours
/// they tapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written<'a> {
    pub id: Option<&'a str>,
    pub from: &'a str,
    /// The text, or [`ACK_PAYLOAD`] when they tapped "Konfirmasi" (whatever
    /// its label).
    pub text: &'a str,
    /// The id of our message it answers, if it quotes one.
    pub quoted: Option<&'a str>,
    /// Meta's time of it (ms, whole seconds), if it gave one.
    pub written_at: Option<i64>,
}

/// The `value`s of a webhook's changes (`entry[].changes[].value`).
fn values(v: &Value) -> impl Iterator<Item = &Value> {
    v["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|e| e["changes"].as_array().into_iter().flatten())
        .map(|c| &c["value"])
}

/// Meta's seconds as ms.
fn seconds(v: &Value) -> Option<i64> {
    v.as_str()
        .and_then(|t| t.parse::<i64>().ok())
        .map(|t| t * 1000)
}

/// Every status a webhook carries, in order; one without an id is skipped.
pub fn statuses(v: &Value) -> Vec<StatusUpdate<'_>> {
    values(v)
        .flat_map(|value| value["statuses"].as_array().into_iter().flatten())
        .filter_map(|s| {
            let first_error = &s["errors"][0];
            Some(StatusUpdate {
                id: s["id"].as_str()?,
                status: s["status"].as_str().and_then(callback_status),
                at: seconds(&s["timestamp"]),
                error: first_error.as_object().map(|e| {
                    format!(
                        "Meta error {}: {}",
                        e.get("code").and_then(Value::as_i64).unwrap_or(-1),
                        e.get("title")
                            .or_else(|| e.get("message"))
                            .and_then(Value::as_str)
                            .unwrap_or("")
                    )
                }),
                outside_window: first_error["code"]
                    .as_i64()
                    .map(|c| c.to_string())
                    .as_deref()
                    == Some(OUTSIDE_WINDOW),
            })
        })
        .collect()
}

/// Every message a webhook carries, in order.
pub fn messages(v: &Value) -> Vec<Written<'_>> {
    values(v)
        .flat_map(|value| value["messages"].as_array().into_iter().flatten())
        .map(|m| {
            // The "Konfirmasi" button answers with our payload (a template's
            // quick reply) or id (an interactive reply), whatever its label.
            let tapped = m["button"]["payload"].as_str() == Some(ACK_PAYLOAD)
                || m["interactive"]["button_reply"]["id"].as_str() == Some(ACK_PAYLOAD);
            let text = if tapped {
                ACK_PAYLOAD
            } else {
                m["text"]["body"]
                    .as_str()
                    .or_else(|| m["button"]["text"].as_str())
                    .or_else(|| m["interactive"]["button_reply"]["title"].as_str())
                    .unwrap_or("")
            };
            Written {
                id: m["id"].as_str(),
                from: m["from"].as_str().unwrap_or(""),
                text,
                quoted: m["context"]["id"].as_str(),
                written_at: seconds(&m["timestamp"]),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A webhook as Meta sends it: one entry, one change, its value.
    fn webhook(value: Value) -> Value {
        serde_json::json!({
            "object": "whatsapp_business_account",
            "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": value}]}]
        })
    }

    #[test]
    fn statuses_are_read_with_their_time_and_error() {
        let v = webhook(serde_json::json!({
            "messaging_product": "whatsapp",
            "statuses": [
                {"id": "wamid.A", "status": "delivered", "timestamp": "1790000000", "recipient_id": "6281200000005"},
                {"id": "wamid.B", "status": "failed", "timestamp": "1790000001",
                 "errors": [{"code": 131047, "title": "Re-engagement message"}]},
                {"status": "read"},
                {"id": "wamid.C", "status": "deleted"}
            ]
        }));
        let got = statuses(&v);
        assert_eq!(got.len(), 3, "the one without an id is skipped");
        assert_eq!(
            got[0],
            StatusUpdate {
                id: "wamid.A",
                status: Some(DeliveryStatus::Delivered),
                at: Some(1_790_000_000_000),
                error: None,
                outside_window: false,
            }
        );
        assert_eq!(got[1].status, Some(DeliveryStatus::Failed));
        assert_eq!(
            got[1].error.as_deref(),
            Some("Meta error 131047: Re-engagement message")
        );
        assert!(got[1].outside_window);
        assert_eq!((got[2].id, got[2].status), ("wamid.C", None));
    }

    #[test]
    fn a_tapped_button_reads_as_the_payload_whatever_its_label() {
        let v = webhook(serde_json::json!({
            "messages": [
                {"id": "wamid.in1", "from": "6281200000005", "timestamp": "1790000002",
                 "type": "text", "text": {"body": "OK siap"}, "context": {"id": "wamid.A"}},
                {"id": "wamid.in2", "from": "6281200000005", "type": "button",
                 "button": {"payload": ACK_PAYLOAD, "text": "Confirm"}},
                {"id": "wamid.in3", "from": "6281200000006", "type": "interactive",
                 "interactive": {"type": "button_reply", "button_reply": {"id": ACK_PAYLOAD, "title": "Siap"}}}
            ]
        }));
        let got = messages(&v);
        assert_eq!(
            got[0],
            Written {
                id: Some("wamid.in1"),
                from: "6281200000005",
                text: "OK siap",
                quoted: Some("wamid.A"),
                written_at: Some(1_790_000_002_000),
            }
        );
        assert_eq!((got[1].text, got[1].written_at), (ACK_PAYLOAD, None));
        assert_eq!(got[2].text, ACK_PAYLOAD);
        assert!(messages(&webhook(serde_json::json!({"statuses": []}))).is_empty());
    }

    #[test]
    fn the_window_refusal_is_known_by_metas_code_not_its_words() {
        let refusal = |code: i64, message: &str| {
            let body = serde_json::json!({"error": {"code": code, "message": message}});
            parse(400, &body.to_string())
        };
        let closed = refusal(131047, "Re-engagement message");
        assert_eq!(closed.code(), Some("131047"));
        assert!(outside_window(&closed));
        // Meta rewords its messages; the code stays.
        assert!(outside_window(&refusal(131047, "Pesan di luar jendela")));
        assert!(!outside_window(&refusal(131026, "Message undeliverable")));
        assert!(!outside_window(&SendResult::failed(
            FailureClass::Account,
            "Meta error 131047: written by hand",
            None
        )));
    }

    #[test]
    fn an_accepted_message_returns_its_wamid() {
        let body = r#"{"messaging_product":"whatsapp","contacts":[{"input":"6281234567890","wa_id":"6281234567890"}],"messages":[{"id":"wamid.HBgN123","message_status":"accepted"}]}"#;
        assert!(
            matches!(parse(200, body), SendResult::Accepted { message_id: Some(ref id), .. } if id == "wamid.HBgN123")
        );
    }

    #[test]
    fn errors_are_classified_by_code_not_http_status() {
        let err = |http: u16, code: i64| {
            let body = format!(
                r#"{{"error":{{"message":"x","type":"OAuthException","code":{code},"error_data":{{"messaging_product":"whatsapp","details":"d"}},"fbtrace_id":"A"}}}}"#
            );
            match parse(http, &body) {
                SendResult::Failed { class, error, .. } => {
                    assert!(error.contains(&code.to_string()));
                    class
                }
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(err(400, 130429), FailureClass::RateLimited);
        assert_eq!(err(429, 130429), FailureClass::RateLimited);
        assert_eq!(err(400, 131056), FailureClass::RateLimited);
        assert_eq!(err(401, 190), FailureClass::Account);
        assert_eq!(err(400, 131026), FailureClass::Recipient);
        assert_eq!(err(400, 100), FailureClass::Recipient);
        assert_eq!(err(500, 131000), FailureClass::Transient);
        assert_eq!(err(503, 1), FailureClass::Transient);
        assert_eq!(parse(502, "<html>").class(), Some(FailureClass::Transient));
    }
}
