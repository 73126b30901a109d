//! Fake Fonnte, Wablas, Woowa and Meta servers, and the SMS gateways Zenziva
//! and Twilio, on 127.0.0.1.
//!
//! Each checks what the real one checks (path, auth header or key, body
//! format and fields) and answers in the real response format, including the
//! real failure shapes. A test scripts the next answers (`push`) and reads what
//! arrived (`received`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the fake answers the next request.
#[derive(Debug, Clone)]
pub enum Behaviour {
    Accept,
    /// A provider-level failure in the provider's own shape (HTTP 200 body for
    /// the gateways, an error object for Meta: pass the Meta error code as text).
    Refuse(String),
    /// An HTTP status with a body.
    Http(u16, String),
    /// Answer only after this long (to trip the client's timeout).
    Delay(Duration),
    /// HTTP 429 with `Retry-After` in seconds.
    TooMany(u64),
    /// HTTP 200 with a body that never ends (a broken or hostile provider).
    Endless,
}

#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: String,
    pub at: Instant,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    pub fn form(&self) -> Vec<(String, String)> {
        serde_urlencoded::from_str(&self.body).unwrap_or_default()
    }

    pub fn form_field(&self, key: &str) -> Option<String> {
        self.form()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

/// Called with the text of each accepted message.
pub type OnAccept = Box<dyn Fn(&str) + Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Fonnte,
    Wablas,
    Woowa,
    Meta,
    Zenziva,
    Twilio,
    /// Twilio Programmable Voice (calls).
    TwilioVoice,
}

/// Credentials the fakes accept.
pub const FONNTE_TOKEN: &str = "fonnte-device-token";
pub const WABLAS_TOKEN: &str = "wablas-token";
pub const WABLAS_SECRET: &str = "wablas-secret";
pub const WOOWA_KEY: &str = "woowa-key";
pub const META_TOKEN: &str = "meta-access-token";
pub const META_PHONE_ID: &str = "106540352242922";
/// The WhatsApp Business Account whose templates the fake lists.
pub const META_WABA_ID: &str = "102290129340398";
pub const ZENZIVA_USERKEY: &str = "zenziva-userkey";
pub const ZENZIVA_PASSKEY: &str = "zenziva-passkey";
pub const TWILIO_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const TWILIO_TOKEN: &str = "twilio-auth-token";

struct Inner {
    kind: Kind,
    script: Mutex<VecDeque<Behaviour>>,
    received: Mutex<Vec<Received>>,
    /// Keep only a count of requests, not their bodies (load tests).
    count_only: bool,
    count: AtomicU64,
    next_id: AtomicU64,
    /// Every answer waits this long (a slow provider).
    delay: Mutex<Option<Duration>>,
    /// Called with each accepted message text (the load generator times it).
    on_accept: Option<OnAccept>,
    /// Meta: the message templates of the business account, as Meta lists
    /// them (`name`, `language`, `status`, `category`, `parameter_format`,
    /// `components`).
    templates: Mutex<Vec<Value>>,
    /// Meta: list at most this many templates per page (0: as asked).
    template_page: AtomicU64,
}

#[derive(Clone)]
pub struct Fake {
    pub base: String,
    inner: Arc<Inner>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl Fake {
    pub async fn start(kind: Kind) -> Fake {
        Self::start_with(kind, false, None).await
    }

    pub async fn start_with(kind: Kind, count_only: bool, on_accept: Option<OnAccept>) -> Fake {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake");
        Self::serve(kind, listener, count_only, on_accept)
    }

    /// The fake on `listener` (a fixed address, for a fake run as a process).
    pub fn serve(
        kind: Kind,
        listener: tokio::net::TcpListener,
        count_only: bool,
        on_accept: Option<OnAccept>,
    ) -> Fake {
        let inner = Arc::new(Inner {
            kind,
            script: Mutex::new(VecDeque::new()),
            received: Mutex::new(Vec::new()),
            count_only,
            count: AtomicU64::new(0),
            next_id: AtomicU64::new(1000),
            delay: Mutex::new(None),
            on_accept,
            templates: Mutex::new(Vec::new()),
            template_page: AtomicU64::new(0),
        });
        let router = Router::new()
            .route("/send", post(handle))
            .route("/api/v2/send-message", post(handle))
            .route("/send_message", post(handle))
            .route("/send_message_group_id", post(handle))
            .route("/{version}/{number}/messages", post(handle_meta))
            .route(
                "/{version}/{waba}/message_templates",
                axum::routing::get(handle_meta_templates),
            )
            .route("/reguler/api/sendsms/", post(handle))
            .route(
                "/2010-04-01/Accounts/{sid}/Messages.json",
                post(handle_twilio),
            )
            .route(
                "/2010-04-01/Accounts/{sid}/Calls.json",
                post(handle_twilio_call),
            )
            .with_state(inner.clone());
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Fake {
            base,
            inner,
            task: Arc::new(task),
        }
    }

    /// Queues the answers to the next requests (then it accepts again).
    pub fn push(&self, b: Behaviour) {
        self.inner.script.lock().unwrap().push_back(b);
    }

    /// Makes every later answer wait `d`.
    pub fn set_delay(&self, d: Option<Duration>) {
        *self.inner.delay.lock().unwrap() = d;
    }

    /// Meta: the business account's templates from now on.
    pub fn set_templates(&self, templates: Vec<Value>) {
        *self.inner.templates.lock().unwrap() = templates;
    }

    /// Meta: list templates `n` per page, whatever the client asks (so a
    /// test sees the paging followed).
    pub fn set_template_page(&self, n: u64) {
        self.inner.template_page.store(n, Ordering::Relaxed);
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.received.lock().unwrap().clone()
    }

    pub fn count(&self) -> u64 {
        self.inner.count.load(Ordering::Relaxed)
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        if Arc::strong_count(&self.task) == 1 {
            self.task.abort();
        }
    }
}

fn record(inner: &Inner, path: &str, headers: &HeaderMap, body: &Bytes) {
    inner.count.fetch_add(1, Ordering::Relaxed);
    if !inner.count_only {
        inner.received.lock().unwrap().push(Received {
            path: path.to_owned(),
            headers: headers.clone(),
            body: String::from_utf8_lossy(body).into_owned(),
            at: Instant::now(),
        });
    }
}

async fn next(inner: &Inner) -> Behaviour {
    let delay = *inner.delay.lock().unwrap();
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    let b = inner.script.lock().unwrap().pop_front();
    match b {
        Some(Behaviour::Delay(d)) => {
            tokio::time::sleep(d).await;
            Behaviour::Accept
        }
        Some(b) => b,
        None => Behaviour::Accept,
    }
}

fn too_many(retry_after_secs: u64) -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(
            axum::http::header::RETRY_AFTER,
            retry_after_secs.to_string(),
        )],
        "Too Many Requests",
    )
        .into_response()
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

async fn handle(
    State(inner): State<Arc<Inner>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    record(&inner, &path, &headers, &body);
    let endless = {
        let mut script = inner.script.lock().unwrap();
        matches!(script.front(), Some(Behaviour::Endless)) && script.pop_front().is_some()
    };
    if endless {
        let chunk = Bytes::from(vec![b' '; 16 * 1024]);
        let stream = futures_util::stream::repeat_with(move || {
            Ok::<_, std::convert::Infallible>(chunk.clone())
        });
        return (StatusCode::OK, axum::body::Body::from_stream(stream)).into_response();
    }
    match inner.kind {
        Kind::Fonnte if path == "/send" => fonnte(&inner, &headers, &body).await,
        Kind::Wablas if path == "/api/v2/send-message" => wablas(&inner, &headers, &body).await,
        Kind::Woowa if path.starts_with("/send_message") => woowa(&inner, &path, &body).await,
        Kind::Zenziva if path == "/reguler/api/sendsms/" => zenziva(&inner, &headers, &body).await,
        _ => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

async fn fonnte(inner: &Inner, headers: &HeaderMap, body: &Bytes) -> Response {
    if header(headers, "authorization") != FONNTE_TOKEN {
        return Json(json!({"status": false, "reason": "token invalid", "requestid": 1}))
            .into_response();
    }
    if !header(headers, "content-type").starts_with("application/x-www-form-urlencoded") {
        return Json(json!({"status": false, "reason": "input invalid"})).into_response();
    }
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let (Some(target), Some(message)) = (get("target"), get("message")) else {
        return Json(json!({"status": false, "reason": "input invalid"})).into_response();
    };
    if !(target.ends_with("@g.us")
        || (target.len() >= 10 && target.chars().all(|c| c.is_ascii_digit())))
    {
        return Json(json!({"status": false, "reason": "target invalid"})).into_response();
    }
    match next(inner).await {
        Behaviour::Accept => {
            if let Some(f) = &inner.on_accept {
                f(&message);
            }
            let id = inner.next_id.fetch_add(1, Ordering::Relaxed);
            Json(json!({
                "status": true, "detail": "success! message in queue", "id": [id], "process": "pending",
                "requestid": id + 7, "target": [target],
                "quota": {"6281200000000": {"details": "deduced from total quota", "quota": 1000, "remaining": 999, "used": 1}}
            }))
            .into_response()
        }
        Behaviour::Refuse(reason) => {
            Json(json!({"status": false, "reason": reason, "requestid": 1})).into_response()
        }
        Behaviour::Http(code, body) => (StatusCode::from_u16(code).unwrap(), body).into_response(),
        Behaviour::TooMany(secs) => too_many(secs),
        Behaviour::Delay(_) | Behaviour::Endless => unreachable!(),
    }
}

async fn wablas(inner: &Inner, headers: &HeaderMap, body: &Bytes) -> Response {
    if header(headers, "authorization") != format!("{WABLAS_TOKEN}.{WABLAS_SECRET}") {
        return Json(json!({"status": false, "message": "token invalid"})).into_response();
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Json(json!({"status": false, "message": "invalid json"})).into_response();
    };
    let Some(item) = v["data"].as_array().and_then(|a| a.first()).cloned() else {
        return Json(json!({"status": false, "message": "data is required"})).into_response();
    };
    let phone = item["phone"].as_str().unwrap_or("").to_owned();
    if phone.is_empty() || item["message"].as_str().is_none() {
        return Json(json!({"status": false, "message": "phone and message are required"}))
            .into_response();
    }
    match next(inner).await {
        Behaviour::Accept => {
            if let Some(f) = &inner.on_accept {
                f(item["message"].as_str().unwrap_or(""));
            }
            let id = inner.next_id.fetch_add(1, Ordering::Relaxed);
            Json(json!({
                "status": true, "message": "Message is pending and waiting to be processed",
                "data": {"device_id": "OMM1F9", "quota": 999, "messages": [
                    {"id": format!("f5b3cb53-b926-472d-9cb3-{id:012}"), "phone": phone, "message": item["message"], "status": "pending", "ref_id": ""}
                ]}
            }))
            .into_response()
        }
        Behaviour::Refuse(reason) => {
            Json(json!({"status": false, "message": reason})).into_response()
        }
        Behaviour::Http(code, body) => (StatusCode::from_u16(code).unwrap(), body).into_response(),
        Behaviour::TooMany(secs) => too_many(secs),
        Behaviour::Delay(_) | Behaviour::Endless => unreachable!(),
    }
}

async fn woowa(inner: &Inner, path: &str, body: &Bytes) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return (StatusCode::OK, "invalid request").into_response();
    };
    if v["key"].as_str() != Some(WOOWA_KEY) {
        return (StatusCode::OK, "invalid key").into_response();
    }
    let target_ok = if path == "/send_message_group_id" {
        v["group_id"].is_string()
    } else {
        v["phone_no"].as_str().is_some_and(|p| p.starts_with('+'))
    };
    if !target_ok || v["message"].as_str().is_none() {
        return Json(json!({"code": 400, "message": "phone not registered"})).into_response();
    }
    match next(inner).await {
        Behaviour::Accept => {
            if let Some(f) = &inner.on_accept {
                f(v["message"].as_str().unwrap_or(""));
            }
            let id = inner.next_id.fetch_add(1, Ordering::Relaxed);
            Json(json!({"code": 200, "results": {"id_message": format!("WOWA{id}")}}))
                .into_response()
        }
        Behaviour::Refuse(reason) => (StatusCode::OK, reason).into_response(),
        Behaviour::Http(code, body) => (StatusCode::from_u16(code).unwrap(), body).into_response(),
        Behaviour::TooMany(secs) => too_many(secs),
        Behaviour::Delay(_) | Behaviour::Endless => unreachable!(),
    }
}

fn meta_error(status: u16, code: i64, message: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        Json(json!({"error": {"message": message, "type": "OAuthException", "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": message}, "fbtrace_id": "AbCdEf"}})),
    )
        .into_response()
}

async fn handle_meta(
    State(inner): State<Arc<Inner>>,
    Path((version, number)): Path<(String, String)>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(&inner, uri.path(), &headers, &body);
    if inner.kind != Kind::Meta || !version.starts_with('v') {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    if header(&headers, "authorization") != format!("Bearer {META_TOKEN}") {
        return meta_error(401, 190, "Invalid OAuth access token");
    }
    if number != META_PHONE_ID {
        return meta_error(400, 100, "Unsupported post request");
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return meta_error(400, 100, "Invalid parameter");
    };
    let to = v["to"].as_str().unwrap_or("").to_owned();
    let ok = v["messaging_product"] == "whatsapp"
        && v["recipient_type"].is_string()
        && !to.is_empty()
        && match v["type"].as_str() {
            Some("text") => v["text"]["body"].is_string(),
            Some("template") => v["template"]["name"].is_string(),
            Some("interactive") => v["interactive"]["type"] == "button",
            _ => false,
        };
    if !ok {
        return meta_error(400, 131008, "Required parameter is missing");
    }
    let text = match v["type"].as_str() {
        Some("template") => match meta_template_text(&inner, &v["template"]) {
            Ok(text) => text,
            Err((code, message)) => return meta_error(400, code, message),
        },
        Some("interactive") => match meta_interactive_text(&v["interactive"]) {
            Some(text) => text,
            None => return meta_error(400, 131009, "Parameter value is not valid"),
        },
        _ => v["text"]["body"].as_str().unwrap_or("").to_owned(),
    };
    match next(&inner).await {
        Behaviour::Accept => {
            if let Some(f) = &inner.on_accept {
                f(&text);
            }
            let id = inner.next_id.fetch_add(1, Ordering::Relaxed);
            Json(
                json!({"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                        "messages": [{"id": format!("wamid.HBgN{id}")}]}),
            )
            .into_response()
        }
        Behaviour::Refuse(code) => {
            let code: i64 = code.parse().unwrap_or(131000);
            meta_error(400, code, "refused by the fake")
        }
        Behaviour::Http(code, body) => (StatusCode::from_u16(code).unwrap(), body).into_response(),
        Behaviour::TooMany(secs) => too_many(secs),
        Behaviour::Delay(_) | Behaviour::Endless => unreachable!(),
    }
}

/// A template send checked as Meta checks it: the template exists in that
/// language and is approved (132001), the body's parameters are all given,
/// by name for a named template (132000), and a quick-reply payload names
/// a quick-reply button. Answers the text the person would read.
fn meta_template_text(inner: &Inner, t: &Value) -> Result<String, (i64, &'static str)> {
    let name = t["name"].as_str().unwrap_or("");
    let language = t["language"]["code"].as_str().unwrap_or("");
    let templates = inner.templates.lock().unwrap();
    let Some(found) = templates
        .iter()
        .find(|x| x["name"] == name && x["language"] == language && x["status"] == "APPROVED")
    else {
        return Err((132001, "Template name does not exist in the translation"));
    };
    let components = found["components"].as_array().cloned().unwrap_or_default();
    let body = components
        .iter()
        .find(|c| c["type"] == "BODY")
        .and_then(|c| c["text"].as_str())
        .unwrap_or("")
        .to_owned();
    // The body's placeholders, each once.
    let mut wanted: Vec<String> = Vec::new();
    for piece in body.split("{{").skip(1) {
        if let Some((p, _)) = piece.split_once("}}") {
            if !wanted.iter().any(|w| w == p) {
                wanted.push(p.to_owned());
            }
        }
    }
    let sent = t["components"].as_array().cloned().unwrap_or_default();
    let given: Vec<Value> = sent
        .iter()
        .find(|c| c["type"] == "body")
        .and_then(|c| c["parameters"].as_array().cloned())
        .unwrap_or_default();
    if given.len() != wanted.len() {
        return Err((
            132000,
            "Number of parameters does not match the expected number of params",
        ));
    }
    let named = found["parameter_format"] == "NAMED";
    let mut text = body;
    for (i, p) in given.iter().enumerate() {
        let value = p["text"].as_str().unwrap_or("");
        if value.is_empty() || value.contains('\n') || value.contains('\t') {
            return Err((
                132018,
                "There was an issue with the parameters in your template.",
            ));
        }
        let key = if named {
            match p["parameter_name"].as_str() {
                Some(n) if wanted.iter().any(|w| w == n) => n.to_owned(),
                _ => return Err((132000, "Parameter name does not match the template")),
            }
        } else {
            (i + 1).to_string()
        };
        text = text.replace(&format!("{{{{{key}}}}}"), value);
    }
    for c in sent.iter().filter(|c| c["type"] == "button") {
        let index: usize = c["index"]
            .as_str()
            .and_then(|i| i.parse().ok())
            .unwrap_or(99);
        let quick = components
            .iter()
            .find(|c| c["type"] == "BUTTONS")
            .and_then(|b| b["buttons"].get(index))
            .is_some_and(|b| b["type"] == "QUICK_REPLY");
        if c["sub_type"] != "quick_reply"
            || !quick
            || c["parameters"][0]["payload"].as_str().is_none()
        {
            return Err((131009, "Parameter value is not valid"));
        }
    }
    Ok(text)
}

/// An interactive reply-button message as Meta checks it: a body of at
/// most 1,024 characters and one to three buttons, titles of at most 20.
fn meta_interactive_text(i: &Value) -> Option<String> {
    let body = i["body"]["text"].as_str()?;
    let buttons = i["action"]["buttons"].as_array()?;
    let buttons_ok = (1..=3).contains(&buttons.len())
        && buttons.iter().all(|b| {
            b["type"] == "reply"
                && b["reply"]["id"].is_string()
                && b["reply"]["title"]
                    .as_str()
                    .is_some_and(|t| t.chars().count() <= 20)
        });
    (body.chars().count() <= 1024 && buttons_ok).then(|| body.to_owned())
}

/// Meta's template list: `GET /{version}/{waba_id}/message_templates`,
/// paged by `limit` and the `after` cursor.
async fn handle_meta_templates(
    State(inner): State<Arc<Inner>>,
    Path((version, waba)): Path<(String, String)>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    record(&inner, &uri.to_string(), &headers, &Bytes::new());
    if inner.kind != Kind::Meta || !version.starts_with('v') {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    if header(&headers, "authorization") != format!("Bearer {META_TOKEN}") {
        return meta_error(401, 190, "Invalid OAuth access token");
    }
    if waba != META_WABA_ID {
        return meta_error(
            400,
            100,
            "Unsupported get request. Object with ID does not exist, cannot be loaded due to missing permissions, or does not support this operation",
        );
    }
    let mut limit: usize = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(25)
        .max(1);
    match inner.template_page.load(Ordering::Relaxed) {
        0 => {}
        n => limit = limit.min(n as usize),
    }
    let from: usize = q
        .get("after")
        .and_then(|a| a.strip_prefix("cursor-"))
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    let all = inner.templates.lock().unwrap().clone();
    let page: Vec<Value> = all.iter().skip(from).take(limit).cloned().collect();
    let end = from + page.len();
    let mut paging =
        json!({"cursors": {"before": format!("cursor-{from}"), "after": format!("cursor-{end}")}});
    if end < all.len() {
        paging["next"] = json!(format!(
            "https://graph.facebook.com/{version}/{waba}/message_templates?after=cursor-{end}"
        ));
    }
    Json(json!({"data": page, "paging": paging})).into_response()
}

async fn zenziva(inner: &Inner, headers: &HeaderMap, body: &Bytes) -> Response {
    let refuse = |text: &str| Json(json!({"status": "0", "text": text})).into_response();
    if !header(headers, "content-type").starts_with("application/x-www-form-urlencoded") {
        return refuse("Parameter tidak lengkap");
    }
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if get("userkey").as_deref() != Some(ZENZIVA_USERKEY)
        || get("passkey").as_deref() != Some(ZENZIVA_PASSKEY)
    {
        return refuse("Userkey / Passkey Salah");
    }
    let (Some(to), Some(message)) = (get("to"), get("message")) else {
        return refuse("Parameter tidak lengkap");
    };
    if to.len() < 10 || !to.chars().all(|c| c.is_ascii_digit()) || message.is_empty() {
        return refuse("Nomor tujuan tidak valid");
    }
    match next(inner).await {
        Behaviour::Accept => {
            if let Some(f) = &inner.on_accept {
                f(&message);
            }
            let id = inner.next_id.fetch_add(1, Ordering::Relaxed);
            Json(json!({"messageId": format!("{id}"), "to": to, "status": "1", "text": "Success"}))
                .into_response()
        }
        Behaviour::Refuse(reason) => refuse(&reason),
        Behaviour::Http(code, body) => (StatusCode::from_u16(code).unwrap(), body).into_response(),
        Behaviour::TooMany(secs) => too_many(secs),
        Behaviour::Delay(_) | Behaviour::Endless => unreachable!(),
    }
}

/// Twilio's Calls API: Basic auth, `To`, `From`, and the call's script as
/// `Twiml` (or a `Url`); 201 with the call resource (`sid` CA…).
async fn handle_twilio_call(
    State(inner): State<Arc<Inner>>,
    Path(sid): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = match twilio_request(&inner, Kind::TwilioVoice, &sid, &uri, &headers, &body) {
        Ok(form) => form,
        Err(refused) => return *refused,
    };
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let Some(to) = get("To").filter(|t| t.starts_with('+') && t.len() >= 9) else {
        return twilio_error(400, 21211, "Invalid 'To' Phone Number");
    };
    if get("From").is_none() {
        return twilio_error(400, 21213, "No 'From' number is specified");
    }
    let Some(twiml) = get("Twiml").or_else(|| get("Url")) else {
        return twilio_error(400, 21205, "Url or Twiml parameter is required");
    };
    if twiml.len() > 4000 {
        return twilio_error(400, 21236, "Twiml is longer than 4000 characters");
    }
    match next(&inner).await {
        Behaviour::Accept => {
            if let Some(f) = &inner.on_accept {
                f(&twiml);
            }
            let id = inner.next_id.fetch_add(1, Ordering::Relaxed);
            (
                StatusCode::CREATED,
                Json(json!({
                    "account_sid": TWILIO_SID, "sid": format!("CA{id:032x}"), "status": "queued",
                    "to": to, "from": get("From"), "direction": "outbound-api",
                })),
            )
                .into_response()
        }
        Behaviour::Refuse(code) => {
            let code: i64 = code.parse().unwrap_or(13224);
            twilio_error(400, code, "refused by the fake")
        }
        Behaviour::Http(code, body) => (StatusCode::from_u16(code).unwrap(), body).into_response(),
        Behaviour::TooMany(secs) => too_many(secs),
        Behaviour::Delay(_) | Behaviour::Endless => unreachable!(),
    }
}

/// What both Twilio endpoints do first: keep the request, answer 404 unless
/// this fake speaks `kind`, and Twilio's 20003 unless the request carries the
/// fake account's Basic auth and names its sid in the path. The form's fields.
fn twilio_request(
    inner: &Inner,
    kind: Kind,
    sid: &str,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Vec<(String, String)>, Box<Response>> {
    use base64::Engine;
    record(inner, uri.path(), headers, body);
    if inner.kind != kind {
        return Err(Box::new(
            (StatusCode::NOT_FOUND, "not found").into_response(),
        ));
    }
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{TWILIO_SID}:{TWILIO_TOKEN}"))
    );
    if header(headers, "authorization") != expected || sid != TWILIO_SID {
        return Err(Box::new(twilio_error(401, 20003, "Authenticate")));
    }
    Ok(serde_urlencoded::from_bytes(body).unwrap_or_default())
}

fn twilio_error(status: u16, code: i64, message: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        Json(json!({"code": code, "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"), "status": status})),
    )
        .into_response()
}

async fn handle_twilio(
    State(inner): State<Arc<Inner>>,
    Path(sid): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = match twilio_request(&inner, Kind::Twilio, &sid, &uri, &headers, &body) {
        Ok(form) => form,
        Err(refused) => return *refused,
    };
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let Some(to) = get("To") else {
        return twilio_error(400, 21604, "A 'To' phone number is required.");
    };
    if !to.starts_with('+') || to.len() < 9 {
        return twilio_error(400, 21211, &format!("Invalid 'To' Phone Number: {to}"));
    }
    if get("From").is_none() && get("MessagingServiceSid").is_none() {
        return twilio_error(
            400,
            21603,
            "A 'From' or 'MessagingServiceSid' parameter is required to send a message",
        );
    }
    let Some(text) = get("Body").filter(|b| !b.is_empty()) else {
        return twilio_error(400, 21602, "Message body is required.");
    };
    match next(&inner).await {
        Behaviour::Accept => {
            if let Some(f) = &inner.on_accept {
                f(&text);
            }
            let id = inner.next_id.fetch_add(1, Ordering::Relaxed);
            (
                StatusCode::CREATED,
                Json(json!({
                    "account_sid": TWILIO_SID, "sid": format!("SM{id:032x}"), "status": "queued",
                    "to": to, "from": get("From"), "body": text,
                    "num_segments": domain::sms::segments(&text).count.to_string(),
                    "direction": "outbound-api", "price": null, "price_unit": "USD",
                    "error_code": null, "error_message": null,
                })),
            )
                .into_response()
        }
        Behaviour::Refuse(code) => {
            let code: i64 = code.parse().unwrap_or(30001);
            twilio_error(400, code, "refused by the fake")
        }
        Behaviour::Http(code, body) => (StatusCode::from_u16(code).unwrap(), body).into_response(),
        Behaviour::TooMany(secs) => too_many(secs),
        Behaviour::Delay(_) | Behaviour::Endless => unreachable!(),
    }
}
