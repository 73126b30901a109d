//! The web push service fake (`server::testkit::push`) as a process, for the
//! browser tests: `pushfake [ADDR]` (default 127.0.0.1:3011). Subscriptions
//! are made with `POST /subscribe`; what arrived, decrypted, is at
//! `GET /messages`.

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3011".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .unwrap_or_else(|e| panic!("cannot listen on {addr}: {e}"));
    let service = server::testkit::push::PushService::serve(listener);
    println!("push service fake on {}", service.base);
    let _ = tokio::signal::ctrl_c().await;
}
