//! The Meta Cloud API fake (`server::testkit::fakes`, Meta's protocol) as a
//! process, for the browser tests: `metafake [ADDR]` (default
//! 127.0.0.1:3012). It takes the fakes' credentials (`META_TOKEN`,
//! `META_PHONE_ID`, `META_WABA_ID`) and lists two templates.

use serde_json::json;
use server::testkit::fakes::{Fake, Kind};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3012".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .unwrap_or_else(|e| panic!("cannot listen on {addr}: {e}"));
    let fake = Fake::serve(Kind::Meta, listener, true, None);
    fake.set_templates(vec![
        json!({"name": "ticket_assigned", "language": "id", "status": "APPROVED", "category": "UTILITY",
            "parameter_format": "NAMED", "components": [
                {"type": "BODY", "text": "Halo {{recipient_name}}, tiket *{{ticket_id}}* di {{location}}."}]}),
        json!({"name": "tugas_teknisi", "language": "id", "status": "PENDING", "category": "UTILITY",
            "parameter_format": "POSITIONAL", "components": [
                {"type": "BODY", "text": "Tiket {{1}} di {{2}}."},
                {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Konfirmasi"}]}]}),
    ]);
    println!("Meta fake on {}", fake.base);
    let _ = tokio::signal::ctrl_c().await;
}
