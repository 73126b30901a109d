//! Email through a real SMTP server: aiosmtpd (Python's reference SMTP
//! server, installed by scripts/setup.sh into .tools/py), started by each
//! test on a free loopback port. It parses what arrives with Python's own
//! MIME parser, so these tests check the message a mail client would read.

mod support;

use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use storage::db::Db;
use storage::store_test;
use support::*;
use tokio::io::{AsyncBufReadExt, BufReader};

/// Distinguishes the peers (and their files) of tests running at once.
static NEXT: AtomicUsize = AtomicUsize::new(0);

struct SmtpPeer {
    port: u16,
    dir: PathBuf,
    _child: tokio::process::Child,
}

impl SmtpPeer {
    async fn start() -> SmtpPeer {
        SmtpPeer::start_with(&[]).await
    }

    /// With TLS (`starttls` or `implicit`): a fresh certificate for
    /// `localhost`; returns the peer and the certificate's PEM.
    async fn start_tls(mode: &str) -> (SmtpPeer, String) {
        let key = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let dir = std::env::temp_dir().join(format!(
            "smtp-cert-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert, private) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert, key.cert.pem()).unwrap();
        std::fs::write(&private, key.signing_key.serialize_pem()).unwrap();
        let peer =
            SmtpPeer::start_with(&[mode, cert.to_str().unwrap(), private.to_str().unwrap()]).await;
        // Loaded before the peer said its port.
        let _ = std::fs::remove_dir_all(&dir);
        (peer, key.cert.pem())
    }

    async fn start_with(args: &[&str]) -> SmtpPeer {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let python = std::env::var_os("SMTP_PEER_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join(".tools/py/bin/python"));
        assert!(
            python.exists(),
            "the email tests need {} with aiosmtpd: run scripts/setup.sh",
            python.display()
        );
        let dir = std::env::temp_dir().join(format!(
            "smtp-peer-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = tokio::process::Command::new(python)
            .arg(root.join("server/tests/peers/smtp_peer.py"))
            .arg(&dir)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the SMTP peer starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let port = tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line())
            .await
            .expect("the SMTP peer says its port within 20 s")
            .unwrap()
            .expect("a port line")
            .trim()
            .parse()
            .expect("a port number");
        SmtpPeer {
            port,
            dir,
            _child: child,
        }
    }

    /// What arrived, in order: envelope, login, headers and decoded parts.
    fn received(&self) -> Vec<Value> {
        let mut names: Vec<_> = std::fs::read_dir(&self.dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
            .collect()
    }
}

impl Drop for SmtpPeer {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A plain-SMTP account for the peer; returns its id.
async fn add_smtp_account(db: &Db, peer: &SmtpPeer, password: &str, price: i64) -> i64 {
    let url = format!("smtp://127.0.0.1:{}", peer.port);
    add_account_at(
        db,
        &url,
        json!({"tls": "none", "password": password}),
        price,
    )
    .await
}

/// An SMTP account at `url`; `extra` adds to (or replaces) the credentials.
async fn add_account_at(db: &Db, url: &str, extra: Value, price: i64) -> i64 {
    let mut credentials = json!({
        "from": "Notifikasi ISP <noreply@isp.example>",
        "username": "notifikasi",
        "password": "rahasia",
    });
    for (k, v) in extra.as_object().unwrap() {
        credentials[k] = v.clone();
    }
    let name = format!("smtp {url} {extra}");
    let credentials = credentials.to_string();
    let account = storage::providers::NewAccount {
        base_url: Some(url),
        credentials: &credentials,
        price_rupiah: price,
        timeout_ms: 5000,
        ..storage::providers::NewAccount::new(&name, domain::providers::ProviderKind::Smtp)
    };
    storage::providers::insert(db, &account, storage::now_ms())
        .await
        .unwrap()
        .0
}

fn email_row(rows: Vec<Row>) -> Row {
    rows.into_iter()
        .find(|r| r.channel == "email")
        .expect("an email delivery")
}

async fn response_of(db: &Db, id: i64) -> Option<String> {
    storage::on_db!(db, |pool| sqlx::query_scalar(
        "SELECT provider_response FROM deliveries WHERE id = $1"
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap())
}

store_test!(
    staff_email_arrives_as_plain_and_html_with_an_unsubscribe_link,
    |db| {
        setup(db).await;
        let peer = SmtpPeer::start().await;
        let account = add_smtp_account(db, &peer, "rahasia", 25).await;
        let budi = user_id(db, "tek.karawang1@demo.id").await;
        let mut body = assignment(budi, "mail-1");
        body["priority"] = "high".into(); // high adds email
        let event = ingest(db, body).await.unwrap();
        step(&dispatcher(db)).await;

        let row = email_row(deliveries(db, event.id()).await);
        assert_eq!(row.status, "sent", "{:?}", row.error);
        assert_eq!(row.recipient, "tek.karawang1@demo.id");
        assert_eq!(row.provider.as_deref(), Some("smtp"));
        assert_eq!(row.provider_account_id, Some(account));
        assert_eq!(row.cost_rupiah, 25);
        assert!(row.provider_message_id.is_some());
        // The delivery page shows the subject that went out.
        let detail = storage::deliveries::detail(db, domain::DeliveryId(row.id))
            .await
            .unwrap();
        assert_eq!(
            detail.subject.as_deref(),
            Some("[Tinggi] Tiket ditugaskan: TK-1")
        );
        let response = response_of(db, row.id).await.unwrap_or_default();
        assert!(response.starts_with("250"), "{response}");
        assert!(response.contains("queued as peer-1"), "{response}");

        let mails = peer.received();
        assert_eq!(mails.len(), 1, "{mails:?}");
        let mail = &mails[0];
        assert_eq!(mail["login"], "notifikasi");
        assert_eq!(mail["rcpt_tos"], json!(["tek.karawang1@demo.id"]));
        assert_eq!(mail["content_type"], "multipart/alternative");
        let headers = &mail["headers"];
        assert_eq!(headers["from"], "Notifikasi ISP <noreply@isp.example>");
        assert_eq!(headers["subject"], "[Tinggi] Tiket ditugaskan: TK-1");
        assert_eq!(
            headers["list-unsubscribe"],
            "<http://localhost:3000/settings>"
        );
        let plain = mail["parts"]["text/plain"]
            .as_str()
            .unwrap()
            .replace("\r\n", "\n");
        let html = mail["parts"]["text/html"].as_str().unwrap();
        // The log keeps exactly the text that went out.
        assert_eq!(plain.trim_end(), row.message.trim_end());
        assert!(plain.contains("TK-1"), "{plain}");
        assert!(
            plain.contains("http://localhost:3000/settings"),
            "the footer says where to turn email off: {plain}"
        );
        // The template's WhatsApp formatting is gone; the customer's own
        // characters stay as they were sent.
        assert!(plain.contains("No. Tiket: TK-1"), "{plain}");
        assert!(!plain.contains("*No. Tiket:*"), "{plain}");
        assert!(plain.contains("Ibu *Siti*"), "{plain}");
        assert!(html.contains("TK-1") && html.contains("<hr>"), "{html}");
        assert!(
            html.contains("<a href=\"http://localhost:3000/settings\">"),
            "{html}"
        );
    }
);

store_test!(smtp_replies_decide_retry_or_failure, |db| {
    setup(db).await;
    let peer = SmtpPeer::start().await;
    add_smtp_account(db, &peer, "rahasia", 25).await;
    let d = dispatcher(db);

    // 451: the server asks to try later; the delivery waits for its retry.
    let busy = ingest(db, customer_email("busy", "tempfail@pelanggan.id"))
        .await
        .unwrap();
    // 550: no such mailbox; final for this recipient, with the server's words.
    let gone = ingest(db, customer_email("gone", "nosuchuser@pelanggan.id"))
        .await
        .unwrap();
    // A customer's own address works, without the staff settings link.
    let fine = ingest(db, customer_email("fine", "siti@pelanggan.id"))
        .await
        .unwrap();
    step(&d).await;

    let busy = email_row(deliveries(db, busy.id()).await);
    assert_eq!(busy.status, "queued", "{:?}", busy.error);
    let error = busy.error.unwrap_or_default();
    assert!(error.contains("451"), "{error}");
    assert!(busy.next_attempt_at.is_some_and(|t| t > storage::now_ms()));

    let gone = email_row(deliveries(db, gone.id()).await);
    assert_eq!(gone.status, "failed");
    let error = gone.error.unwrap_or_default();
    assert!(
        error.contains("550") && error.contains("No such user here"),
        "{error}"
    );

    let fine = email_row(deliveries(db, fine.id()).await);
    assert_eq!(fine.status, "sent", "{:?}", fine.error);
    let mails = peer.received();
    assert_eq!(mails.len(), 1, "only the accepted one arrived: {mails:?}");
    assert_eq!(mails[0]["rcpt_tos"], json!(["siti@pelanggan.id"]));
    assert!(mails[0]["headers"].get("list-unsubscribe").is_none());
});

store_test!(
    a_refused_login_is_the_accounts_problem_not_the_recipients,
    |db| {
        setup(db).await;
        let peer = SmtpPeer::start().await;
        add_smtp_account(db, &peer, "salah", 25).await;
        let event = ingest(db, customer_email("login", "siti@pelanggan.id"))
            .await
            .unwrap();
        step(&dispatcher(db)).await;
        let row = email_row(deliveries(db, event.id()).await);
        // Kept for a retry (another account, or fixed credentials), not failed.
        assert_eq!(row.status, "queued", "{:?}", row.error);
        let error = row.error.unwrap_or_default();
        assert!(error.contains("535"), "{error}");
        assert!(peer.received().is_empty());
    }
);

/// A registration approval for a customer known only by email.
fn customer_email(key: &str, email: &str) -> Value {
    json!({"type": "customer_registration_approved", "priority": "low",
           "recipients": {"customer": {"name": "Ibu Siti", "email": email}},
           "data": {"customer_name": "Ibu Siti"}, "idempotency_key": key})
}

store_test!(
    starttls_and_implicit_tls_carry_the_mail_when_the_certificate_is_trusted,
    |db| {
        setup(db).await;
        for mode in ["starttls", "implicit"] {
            let (peer, ca) = SmtpPeer::start_tls(mode).await;
            let scheme = if mode == "implicit" { "smtps" } else { "smtp" };
            let url = format!("{scheme}://localhost:{}", peer.port);
            support::disable_all_accounts(db).await;
            // Not trusted: the public roots do not know this certificate, so
            // nothing is sent and the account is blamed, not the recipient.
            add_account_at(db, &url, json!({}), 0).await;
            let refused = ingest(
                db,
                customer_email(&format!("{mode}-untrusted"), "siti@pelanggan.id"),
            )
            .await
            .unwrap();
            step(&dispatcher(db)).await;
            let row = email_row(deliveries(db, refused.id()).await);
            assert_eq!(row.status, "queued", "{mode}: {:?}", row.error);
            assert!(peer.received().is_empty(), "{mode}: nothing without trust");

            // Trusted through the account's ca_cert: it goes out encrypted.
            support::disable_all_accounts(db).await;
            add_account_at(db, &url, json!({"ca_cert": ca}), 0).await;
            let event = ingest(
                db,
                customer_email(&format!("{mode}-trusted"), "siti@pelanggan.id"),
            )
            .await
            .unwrap();
            step(&dispatcher(db)).await;
            let row = email_row(deliveries(db, event.id()).await);
            assert_eq!(row.status, "sent", "{mode}: {:?}", row.error);
            let mails = peer.received();
            assert_eq!(mails.len(), 1, "{mode}: {mails:?}");
            assert_eq!(mails[0]["tls"], true, "{mode}: encrypted");
            assert_eq!(mails[0]["login"], "notifikasi");
        }
    }
);

store_test!(
    consecutive_emails_reuse_one_connection_until_the_account_changes,
    |db| {
        setup(db).await;
        let peer = SmtpPeer::start().await;
        let account = add_smtp_account(db, &peer, "rahasia", 0).await;
        let budi = user_id(db, "tek.karawang1@demo.id").await;
        let d = dispatcher(db);
        for key in ["reuse-1", "reuse-2", "reuse-3"] {
            let mut body = assignment(budi, key);
            body["priority"] = "high".into();
            ingest(db, body).await.unwrap();
            step(&d).await;
        }
        let ports = |mails: &[Value]| -> Vec<i64> {
            mails
                .iter()
                .map(|m| m["client_port"].as_i64().unwrap())
                .collect()
        };
        let mails = peer.received();
        assert_eq!(mails.len(), 3);
        let first = ports(&mails);
        assert!(
            first.iter().all(|p| *p == first[0]),
            "one connection for all three: {first:?}"
        );

        // The account is edited (another login name): a new connection.
        storage::on_db_write!(db, |pool| sqlx::query(
            "UPDATE provider_accounts SET credentials = $2 WHERE id = $1"
        )
        .bind(account)
        .bind(
            json!({"from": "Notifikasi ISP <noreply@isp.example>", "username": "notifikasi2",
                   "password": "rahasia", "tls": "none"})
            .to_string()
        )
        .execute(pool)
        .await
        .map(|_| ())
        .unwrap());
        let mut body = assignment(budi, "reuse-4");
        body["priority"] = "high".into();
        ingest(db, body).await.unwrap();
        step(&d).await;
        let mails = peer.received();
        assert_eq!(mails.len(), 4);
        assert_ne!(
            ports(&mails)[3],
            first[0],
            "the edited account connects anew"
        );
        assert_eq!(mails[3]["login"], "notifikasi2");
    }
);
