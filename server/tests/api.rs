//! The HTTP surface against a running server: the ingestion API, its OpenAPI
//! document, and the provider status webhooks. SQLite and PostgreSQL.

mod support;

use reqwest::StatusCode;
use serde_json::{json, Value};
use server::testkit::fakes::{Fake, Kind};
use server::DEMO_API_KEY;
use storage::store_test;
use support::*;

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// The `field` of each entry in an error's `fields`.
fn field_names(body: &Value) -> Vec<&str> {
    body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect()
}

/// The served OpenAPI document.
async fn openapi(base: &str) -> Value {
    client()
        .get(format!("{base}/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn post_event(base: &str, key: Option<&str>, body: String) -> (StatusCode, Value) {
    let mut req = client()
        .post(format!("{base}/api/v1/events"))
        .header("content-type", "application/json")
        .body(body);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

store_test!(bad_requests_get_clear_json_errors_and_store_nothing, |db| {
    setup_with_api_key(db).await;
    let srv = spawn_server(db).await;
    let base = format!("http://{}", srv.addr);
    let good = assignment(user_id(db, "tek.karawang1@demo.id").await, "k").to_string();

    let (s, b) = post_event(&base, None, good.clone()).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
    let (s, _) = post_event(&base, Some("nk_not_a_key"), good.clone()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    let res = client()
        .post(format!("{base}/api/v1/events"))
        .bearer_auth(DEMO_API_KEY)
        .header("content-type", "text/plain")
        .body(good.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let (s, b) = post_event(
        &base,
        Some(DEMO_API_KEY),
        "{\"type\": \"ticket_assigned\",".into(),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        b["message"].as_str().unwrap().starts_with("malformed JSON"),
        "{b}"
    );

    let huge = json!({"type": "outage", "data": {"message": "x".repeat(70_000)}}).to_string();
    let (s, b) = post_event(&base, Some(DEMO_API_KEY), huge).await;
    assert_eq!(
        (s, b["error"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("body_too_large"))
    );

    let bad = json!({"type": "ticket_assigned", "priority": "urgent",
                     "recipients": {"user_ids": [999999], "customer": {"phone": "0812-ABC"}}});
    let (s, b) = post_event(&base, Some(DEMO_API_KEY), bad.to_string()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = field_names(&b);
    assert_eq!(fields, vec!["priority", "recipients.customer.phone"]);

    // Well-formed but naming a user and a zone that do not exist.
    let unknown = json!({"type": "ticket_status_changed", "work_zone": "atlantis", "recipients": {"user_ids": [999999]}});
    let (s, b) = post_event(&base, Some(DEMO_API_KEY), unknown.to_string()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = field_names(&b);
    assert_eq!(fields, vec!["recipients.user_ids[0]", "work_zone"]);

    assert_eq!(count(db, "SELECT COUNT(*) FROM events").await, 0);
    assert_eq!(count(db, "SELECT COUNT(*) FROM deliveries").await, 0);
    srv.stop().await;
});

store_test!(
    a_repeat_is_answered_as_such_even_when_it_would_no_longer_route,
    |db| {
        setup_with_api_key(db).await;
        let budi = user_id(db, "tek.karawang1@demo.id").await;
        let set_external = |value: Option<&'static str>| async move {
            storage::on_db_write!(db, |pool| sqlx::query(
                "UPDATE users SET external_id = $1 WHERE id = $2"
            )
            .bind(value)
            .bind(budi)
            .execute(pool)
            .await
            .map(|_| ())
            .unwrap());
        };
        set_external(Some("EXT-9")).await;
        let srv = spawn_server(db).await;
        let base = format!("http://{}", srv.addr);
        let mut body = assignment(budi, "ext/retry");
        body["recipients"] = json!({"external_ids": ["EXT-9"]});
        let (s, first) = post_event(&base, Some(DEMO_API_KEY), body.to_string()).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{first}");
        let id = first["notification_id"].as_i64();

        // The person is no longer known by that id: a new event naming it
        // is refused, but the retry of the accepted one is its duplicate.
        set_external(None).await;
        let (s, again) = post_event(&base, Some(DEMO_API_KEY), body.to_string()).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{again}");
        assert_eq!(
            (
                again["notification_id"].as_i64(),
                again["duplicate"].as_bool()
            ),
            (id, Some(true))
        );
        // The key reused for another event is still a conflict.
        body["data"]["ticket_id"] = "TK-7".into();
        let (s, refused) = post_event(&base, Some(DEMO_API_KEY), body.to_string()).await;
        assert_eq!(s, StatusCode::CONFLICT, "{refused}");
        // And a new key naming the unknown id is refused with the field named.
        body["idempotency_key"] = "ext/new".into();
        let (s, invalid) = post_event(&base, Some(DEMO_API_KEY), body.to_string()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{invalid}");
        assert_eq!(field_names(&invalid), vec!["recipients.external_ids[0]"]);
        assert_eq!(count(db, "SELECT COUNT(*) FROM events").await, 1);
        srv.stop().await;
    }
);

store_test!(
    an_accepted_event_is_sent_by_the_running_dispatcher_once,
    |db| {
        setup_with_api_key(db).await;
        let fonnte = Fake::start(Kind::Fonnte).await;
        add_account(db, &fonnte, Kind::Fonnte, 1, 6000, 100, 2000).await;
        let srv = spawn_server(db).await;
        let base = format!("http://{}", srv.addr);
        let budi = user_id(db, "tek.karawang1@demo.id").await;

        let (s, first) = post_event(
            &base,
            Some(DEMO_API_KEY),
            assignment(budi, "TK-1/assigned").to_string(),
        )
        .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{first}");
        assert_eq!(first["duplicate"], false);
        assert_eq!(first["deliveries"], 2);
        let id = first["notification_id"].as_i64().unwrap();

        eventually("the WhatsApp message reaches Fonnte", || async {
            fonnte.received().len() == 1
        })
        .await;
        eventually("the delivery is recorded as sent", || async {
            deliveries(db, id)
                .await
                .iter()
                .any(|r| r.channel == "whatsapp" && r.status == "sent")
        })
        .await;

        // The ticketing system retries: same answer, nothing new.
        let (s, again) = post_event(
            &base,
            Some(DEMO_API_KEY),
            assignment(budi, "TK-1/assigned").to_string(),
        )
        .await;
        assert_eq!(s, StatusCode::ACCEPTED);
        assert_eq!(
            (
                again["notification_id"].as_i64(),
                again["duplicate"].as_bool()
            ),
            (Some(id), Some(true))
        );
        // The key may also come as a header.
        let mut body = assignment(budi, "x");
        body.as_object_mut().unwrap().remove("idempotency_key");
        let res = client()
            .post(format!("{base}/api/v1/events"))
            .bearer_auth(DEMO_API_KEY)
            .header("content-type", "application/json")
            .header("Idempotency-Key", "TK-1/assigned")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        assert_eq!(
            res.json::<Value>().await.unwrap()["notification_id"].as_i64(),
            Some(id)
        );

        // The key reused for another event is refused: answering it as a
        // duplicate would drop the new event without a word.
        let mut other = assignment(budi, "TK-1/assigned");
        other["data"]["ticket_id"] = "TK-2".into();
        let (s, refused) = post_event(&base, Some(DEMO_API_KEY), other.to_string()).await;
        assert_eq!(s, StatusCode::CONFLICT, "{refused}");
        assert_eq!(refused["error"], "idempotency_key_reused", "{refused}");
        assert!(
            refused["message"]
                .as_str()
                .unwrap()
                .contains(&format!("#{id}")),
            "{refused}"
        );

        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(fonnte.received().len(), 1, "sent once");
        assert_eq!(count(db, "SELECT COUNT(*) FROM events").await, 1);
        srv.stop().await;
    }
);

store_test!(the_openapi_document_matches_the_api, |db| {
    setup_with_api_key(db).await;
    let srv = spawn_server(db).await;
    let base = format!("http://{}", srv.addr);
    let doc = openapi(&base).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let event = &doc["components"]["schemas"]["Event"];
    let types: Vec<&str> = event["properties"]["type"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        domain::NotificationType::ALL
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
    );
    let op = &doc["paths"]["/api/v1/events"]["post"];
    let codes: Vec<&String> = op["responses"].as_object().unwrap().keys().collect();
    assert_eq!(
        codes,
        vec!["202", "400", "401", "409", "413", "415", "422", "500"]
    );
    // The documented example is accepted as documented.
    let example = op["requestBody"]["content"]["application/json"]["example"].clone();
    assert_eq!(
        example["recipients"]["user_ids"][0].as_i64(),
        Some(user_id(db, "tek.karawang1@demo.id").await.0)
    );
    let (s, b) = post_event(&base, Some(DEMO_API_KEY), example.to_string()).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    for field in ["notification_id", "duplicate", "deliveries", "skipped"] {
        assert!(
            doc["components"]["schemas"]["Accepted"]["properties"]
                .get(field)
                .is_some()
                && b.get(field).is_some(),
            "{field}"
        );
    }
    // Each type's documented variables are what the API asks for: an event
    // with just the required ones is accepted, one short of them is refused
    // naming the missing one.
    let by_type = event["allOf"].as_array().unwrap();
    assert_eq!(by_type.len(), domain::NotificationType::ALL.len());
    let samples: std::collections::HashMap<&str, &str> =
        domain::template::SAMPLES.iter().copied().collect();
    let budi = user_id(db, "tek.karawang1@demo.id").await.0;
    let mut needing = 0;
    for rule in by_type {
        let kind = rule["if"]["properties"]["type"]["const"].as_str().unwrap();
        let required: Vec<&str> = rule["then"]["properties"]["data"]["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let data: serde_json::Map<String, Value> = required
            .iter()
            .map(|v| (v.to_string(), json!(samples[v])))
            .collect();
        let event = |data: &serde_json::Map<String, Value>| {
            json!({"type": kind, "priority": "low", "recipients": {"user_ids": [budi]}, "data": data})
                .to_string()
        };
        let (s, b) = post_event(&base, Some(DEMO_API_KEY), event(&data)).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{kind}: {b}");
        if let Some(first) = required.first() {
            needing += 1;
            let mut short = data.clone();
            short.remove(*first);
            let (s, b) = post_event(&base, Some(DEMO_API_KEY), event(&short)).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{kind}: {b}");
            assert!(
                field_names(&b).contains(&format!("data.{first}").as_str()),
                "{kind}: {b}"
            );
        }
    }
    assert!(
        needing >= 3,
        "ticket_assigned, sla_warning, daily_summary need data"
    );
    // The ticket figures: the documented codes and fields, and the example
    // (a past day) stored with the documented answer.
    let op = &doc["paths"]["/api/v1/ticket-figures"]["post"];
    let codes: Vec<&String> = op["responses"].as_object().unwrap().keys().collect();
    assert_eq!(codes, vec!["200", "400", "401", "413", "415", "422", "500"]);
    let example = op["requestBody"]["content"]["application/json"]["example"].clone();
    let res = client()
        .post(format!("{base}/api/v1/ticket-figures"))
        .bearer_auth(DEMO_API_KEY)
        .json(&example)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let b: Value = res.json().await.unwrap();
    let mut required: Vec<&str> = doc["components"]["schemas"]["FiguresStored"]["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    required.sort_unstable();
    let answered: Vec<&str> = b.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(required, answered);
    let documented: Vec<&String> = doc["components"]["schemas"]["TicketFigures"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    let mut accepted = server::ingest::figures::FIELDS.to_vec();
    accepted.sort_unstable();
    assert_eq!(documented, accepted);
    srv.stop().await;
});

/// `PUT /api/v1/users/{id}` with the demo key: status and body.
async fn put_user(base: &str, id: &str, body: Value) -> (StatusCode, Value) {
    answer(
        client()
            .put(format!("{base}/api/v1/users/{id}"))
            .bearer_auth(DEMO_API_KEY)
            .json(&body),
    )
    .await
}

/// `DELETE /api/v1/users/{id}` with the demo key: status and body.
async fn delete_user(base: &str, id: &str) -> (StatusCode, Value) {
    answer(
        client()
            .delete(format!("{base}/api/v1/users/{id}"))
            .bearer_auth(DEMO_API_KEY),
    )
    .await
}

async fn answer(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

store_test!(
    the_ticketing_system_syncs_its_people_and_addresses_them_by_its_ids,
    |db| {
        setup_with_api_key(db).await;
        let srv = spawn_server(db).await;
        let base = format!("http://{}", srv.addr);
        let doc = openapi(&base).await;
        let op = &doc["paths"]["/api/v1/users/{external_id}"]["put"];
        let example = op["requestBody"]["content"]["application/json"]["example"].clone();
        let users = "SELECT COUNT(*) FROM users";
        let before = count(db, users).await;

        // Created, then the same body again: no change.
        let (s, b) = put_user(&base, "TK-USR-0042", example.clone()).await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        assert_eq!(b["changed"], true);
        let rudi = b["id"].as_i64().unwrap();
        let (s, b) = put_user(&base, "TK-USR-0042", example.clone()).await;
        assert_eq!(
            (s, &b["changed"], b["id"].as_i64()),
            (StatusCode::OK, &json!(false), Some(rudi))
        );
        assert_eq!(count(db, users).await, before + 1);
        let stored: (String, Option<i64>, String) = storage::on_db!(db, |pool| sqlx::query_as(
            "SELECT phone, phone_verified_at, work_zone FROM users WHERE id = $1"
        )
        .bind(rudi)
        .fetch_one(pool)
        .await
        .unwrap());
        assert_eq!(stored, ("+6281277770001".into(), None, "karawang".into()));

        // The ticketing system vouches for a new number: verified, a change.
        let mut vouched = example.clone();
        vouched["phone"] = json!("+62 812 7777 0002");
        vouched["phone_verified"] = json!(true);
        let (s, b) = put_user(&base, "TK-USR-0042", vouched).await;
        assert_eq!((s, &b["changed"]), (StatusCode::OK, &json!(true)));
        let verified = count_where(
        db,
        "SELECT COUNT(*) FROM users WHERE id = $1 AND phone = '+6281277770002' AND phone_verified_at IS NOT NULL",
        rudi,
    )
    .await;
        assert_eq!(verified, 1);

        // Bad bodies: every field named, nothing written.
        let bad =
            json!({"name": "X", "email": "x@example.id", "phone": "0812-ABCD", "role": "boss"});
        let (s, b) = put_user(&base, "TK-USR-0043", bad).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert_eq!(field_names(&b), ["phone", "role"]);
        let mut elsewhere = example.clone();
        elsewhere["work_zone"] = json!("atlantis");
        elsewhere["email"] = json!("lain@example.id");
        let (s, b) = put_user(&base, "TK-USR-0043", elsewhere).await;
        assert_eq!(
            (s, field_names(&b)),
            (StatusCode::UNPROCESSABLE_ENTITY, vec!["work_zone"])
        );
        let mut taken = example.clone();
        taken["email"] = json!("admin@demo.id");
        let (s, b) = put_user(&base, "TK-USR-0043", taken).await;
        assert_eq!(
            (s, field_names(&b)),
            (StatusCode::UNPROCESSABLE_ENTITY, vec!["email"])
        );
        let (s, _) = put_user(&base, "a%20b", example.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(count(db, users).await, before + 1, "nothing half-written");
        let res = client()
            .put(format!("{base}/api/v1/users/TK-USR-0042"))
            .json(&example)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

        // Events name people by the ticketing system's ids; unknown ids are named.
        let event = |ids: Value, key: &str| {
            json!({"type": "ticket_status_changed", "priority": "low",
               "recipients": {"external_ids": ids},
               "data": {"ticket_id": "TK-1", "status": "on_progress"}, "idempotency_key": key})
            .to_string()
        };
        let (s, b) = post_event(
            &base,
            Some(DEMO_API_KEY),
            event(json!(["TK-USR-0042", "TK-NOPE"]), "e1"),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert_eq!(field_names(&b), ["recipients.external_ids[1]"]);
        let (s, b) = post_event(
            &base,
            Some(DEMO_API_KEY),
            event(json!(["TK-USR-0042"]), "e2"),
        )
        .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{b}");
        let inbox = "SELECT COUNT(*) FROM notifications WHERE user_id = $1";
        assert_eq!(
            count_where(db, inbox, rudi).await,
            1,
            "the inbox item is Rudi's"
        );

        // Deactivated: sessions end, nothing new reaches them; history stays.
        storage::sessions::create_session(db, domain::UserId(rudi), storage::now_ms())
            .await
            .unwrap();
        let (s, _) = delete_user(&base, "TK-USR-0042").await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        assert_eq!(
            count_where(db, "SELECT COUNT(*) FROM sessions WHERE user_id = $1", rudi).await,
            0
        );
        let (s, _) = delete_user(&base, "TK-USR-0042").await;
        assert_eq!(s, StatusCode::NO_CONTENT, "twice is no error");
        let (s, b) = post_event(
            &base,
            Some(DEMO_API_KEY),
            event(json!(["TK-USR-0042"]), "e3"),
        )
        .await;
        assert_eq!(s, StatusCode::ACCEPTED, "{b}");
        assert_eq!(
            count_where(db, inbox, rudi).await,
            1,
            "nothing new for an inactive person"
        );
        let (s, b) = delete_user(&base, "TK-NOPE").await;
        assert_eq!(
            (s, &b["error"]),
            (StatusCode::NOT_FOUND, &json!("not_found"))
        );

        // Every change is in the audit trail under the key that made it;
        // the repeats and the refusals are not.
        let people = domain::views::audit::AuditFilter {
            area: "user".into(),
            ..Default::default()
        };
        let trail = storage::audit::list(db, &people).await.unwrap();
        let seen: Vec<(&str, &str)> = trail
            .iter()
            .map(|e| (e.action.as_str(), e.actor.as_str()))
            .collect();
        let by = "API: test (nk_demo_01…)";
        assert_eq!(
            seen,
            [
                ("user.deactivate", by),
                ("user.update", by),
                ("user.create", by)
            ]
        );
        srv.stop().await;
    }
);

store_test!(
    a_first_import_of_a_thousand_people_is_all_or_nothing,
    |db| {
        setup_with_api_key(db).await;
        let srv = spawn_server(db).await;
        let base = format!("http://{}", srv.addr);
        let person = |i: usize| {
            let zone = ["karawang", "bekasi", "cikampek"][i % 3];
            json!({"external_id": format!("TK-USR-{i:04}"), "name": format!("Teknisi {i}"),
               "email": format!("teknisi{i}@isp.example"), "phone": format!("0812-55{i:04}-01"),
               "role": "technician", "work_zone": zone})
        };
        let bulk = |users: Vec<Value>| {
            let req = client()
                .post(format!("{base}/api/v1/users:bulk"))
                .bearer_auth(DEMO_API_KEY)
                .json(&json!({ "users": users }));
            async move {
                let res = req.send().await.unwrap();
                let status = res.status();
                (status, res.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        let users = "SELECT COUNT(*) FROM users";
        let before = count(db, users).await;
        // Bad rows, each named; the good ones are not written either.
        let mut rows: Vec<Value> = (0..1000).map(person).collect();
        rows[3]["phone"] = json!("0812-55AB-01");
        rows[10]["role"] = json!("boss");
        rows[20]["work_zone"] = json!("atlantis");
        rows[30]["email"] = json!("admin@demo.id");
        rows[40]["email"] = rows[41]["email"].clone();
        // A zone switched off takes nobody new.
        let zone = |active| domain::views::zones::ValidZone {
            code: "purwakarta".into(),
            name: "Purwakarta".into(),
            active,
        };
        let cli = storage::audit::Actor::cli();
        storage::zones::create(db, &cli, &zone(true), 1)
            .await
            .unwrap();
        storage::zones::update(db, &cli, &zone(false), 2)
            .await
            .unwrap();
        rows[50]["work_zone"] = json!("purwakarta");
        let (s, b) = bulk(rows.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert_eq!(
            field_names(&b),
            ["users[3].phone", "users[10].role", "users[41].email"],
            "the body's own problems first"
        );
        rows[3] = person(3);
        rows[10] = person(10);
        rows[40] = person(40);
        let (s, b) = bulk(rows.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert_eq!(
            field_names(&b),
            [
                "users[20].work_zone",
                "users[30].email",
                "users[50].work_zone"
            ]
        );
        assert_eq!(count(db, users).await, before, "nothing half-written");

        // All good: 1,000 in one request (over the events' 64 KiB limit).
        let rows: Vec<Value> = (0..1000).map(person).collect();
        assert!(json!({ "users": rows }).to_string().len() > 64 * 1024);
        let (s, b) = bulk(rows.clone()).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert_eq!(b, json!({"created": 1000, "updated": 0, "unchanged": 0}));
        assert_eq!(count(db, users).await, before + 1000);
        let trail = "SELECT COUNT(*) FROM audit_log WHERE actor = 'API: test (nk_demo_01…)'";
        assert_eq!(count(db, trail).await, 1001, "each person and the import");
        let (s, b) = bulk(rows).await;
        assert_eq!(
            (s, b),
            (
                StatusCode::OK,
                json!({"created": 0, "updated": 0, "unchanged": 1000})
            )
        );
        assert_eq!(count(db, trail).await, 1001, "a repeat writes nothing");
        // And an event reaches one of them by the ticketing system's id.
        let event = json!({"type": "ticket_status_changed", "priority": "low",
        "recipients": {"external_ids": ["TK-USR-0999"]},
        "data": {"ticket_id": "TK-1", "status": "on_progress"}})
        .to_string();
        let (s, b) = post_event(&base, Some(DEMO_API_KEY), event).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{b}");
        let inbox = count(
            db,
            "SELECT COUNT(*) FROM notifications n JOIN users u ON u.id = n.user_id
         WHERE u.external_id = 'TK-USR-0999'",
        )
        .await;
        assert_eq!(inbox, 1);
        srv.stop().await;
    }
);

/// A sent delivery to apply callbacks to; returns (delivery id, provider message id).
async fn sent_via(db: &storage::db::Db, kind: Kind, key: &str) -> (i64, String, Fake) {
    let fake = Fake::start(kind).await;
    disable_all_accounts(db).await;
    let account = add_account(db, &fake, kind, 1, 6000, 100, 2000).await;
    if kind == Kind::Meta {
        open_window(db, account, BUDI_PHONE).await;
    }
    let budi = user_id(db, "tek.karawang1@demo.id").await;
    let event = ingest(db, assignment(budi, key)).await.unwrap();
    step(&dispatcher(db)).await;
    let row = whatsapp_row(db, event.id()).await;
    assert_eq!(row.status, "sent");
    (row.id, row.provider_message_id.unwrap(), fake)
}

async fn account_id(db: &storage::db::Db, kind: &str) -> i64 {
    storage::on_db!(db, |pool| sqlx::query_scalar(
        "SELECT id FROM provider_accounts WHERE kind = $1 AND enabled = TRUE"
    )
    .bind(kind)
    .fetch_one(pool)
    .await
    .unwrap())
}

fn meta_statuses(statuses: Value) -> String {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "6221000", "phone_number_id": "106540352242922"},
                  "statuses": statuses}}]}]})
    .to_string()
}

store_test!(
    meta_status_callbacks_are_verified_and_only_move_forward,
    |db| {
        setup(db).await;
        let (id, wamid, _fake) = sent_via(db, Kind::Meta, "meta1").await;
        let account = account_id(db, "meta").await;
        let srv = spawn_server(db).await;
        let url = format!("http://{}/webhooks/meta/{account}", srv.addr);

        // The GET handshake.
        let ok = client()
            .get(format!(
                "{url}?hub.mode=subscribe&hub.verify_token=meta-verify&hub.challenge=1158201444"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(ok.text().await.unwrap(), "1158201444");
        let bad = client()
            .get(format!(
                "{url}?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), StatusCode::FORBIDDEN);

        let post = |body: String, signature: Option<String>| {
            let mut req = client()
                .post(&url)
                .header("content-type", "application/json")
                .body(body);
            if let Some(s) = signature {
                req = req.header("X-Hub-Signature-256", s);
            }
            async move { req.send().await.unwrap().status() }
        };
        let status = |s: &str| json!([{"id": wamid, "status": s, "timestamp": "1790000000", "recipient_id": "6281200000005"}]);

        // A forged callback is refused and changes nothing.
        let read = meta_statuses(status("read"));
        assert_eq!(
            post(read.clone(), Some(sign("not-the-secret", &read))).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(post(read.clone(), None).await, StatusCode::UNAUTHORIZED);
        assert_eq!(
            storage::outbox::status_of(db, domain::DeliveryId(id))
                .await
                .unwrap()
                .as_str(),
            "sent"
        );
        // A flood of forged callbacks (256 KiB each) is refused; a few
        // per minute are recorded, as a summary, not as what was sent.
        let big = "x".repeat(200 * 1024);
        for _ in 0..30 {
            assert_eq!(post(big.clone(), None).await, StatusCode::UNAUTHORIZED);
        }
        let (n, longest): (i64, Option<i64>) = storage::on_db!(db, |pool| {
            sqlx::query_as(
            "SELECT COUNT(*), CAST(MAX(LENGTH(body)) AS BIGINT) FROM provider_callbacks WHERE outcome LIKE 'rejected%'"
        )
        .fetch_one(pool)
        .await
        .unwrap()
        });
        // At most ten per minute; the 32 refusals may straddle a minute's
        // end, so two minutes' worth at most, and far from all of them.
        let per_minute = i64::from(server::webhooks::REFUSALS_RECORDED_PER_MINUTE);
        assert!(n <= 2 * per_minute, "{n} refusals recorded");
        assert!(longest.unwrap() < 1_000, "{longest:?}");
        // Old callbacks are forgotten by the retention task's DELETE.
        let pruned = storage::outbox::prune_callbacks(db, storage::now_ms() + 1)
            .await
            .unwrap();
        assert_eq!(pruned, n as u64);

        // delivered, then read, then a late duplicate delivered and a repeated read.
        for (s, expected) in [
            ("delivered", "delivered"),
            ("read", "read"),
            ("delivered", "read"),
            ("read", "read"),
            ("failed", "read"),
        ] {
            let body = meta_statuses(status(s));
            assert_eq!(
                post(body.clone(), Some(sign("meta-app-secret", &body))).await,
                StatusCode::OK
            );
            assert_eq!(
                storage::outbox::status_of(db, domain::DeliveryId(id))
                    .await
                    .unwrap()
                    .as_str(),
                expected,
                "after {s}"
            );
        }
        let (delivered_at, read_at): (Option<i64>, Option<i64>) =
            storage::on_db!(db, |pool| sqlx::query_as(
                "SELECT delivered_at, read_at FROM deliveries WHERE id = $1"
            )
            .bind(id)
            .fetch_one(pool)
            .await
            .unwrap());
        assert_eq!(
            (delivered_at, read_at),
            (Some(1_790_000_000_000), Some(1_790_000_000_000))
        );
        srv.stop().await;
    }
);

store_test!(a_meta_failure_callback_records_the_error_code, |db| {
    setup(db).await;
    let (id, wamid, _fake) = sent_via(db, Kind::Meta, "meta2").await;
    let account = account_id(db, "meta").await;
    let srv = spawn_server(db).await;
    let body = meta_statuses(
        json!([{"id": wamid, "status": "failed", "timestamp": "1790000000", "recipient_id": "6281200000005",
        "errors": [{"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable"}]}]),
    );
    let res = client()
        .post(format!("http://{}/webhooks/meta/{account}", srv.addr))
        .header("X-Hub-Signature-256", sign("meta-app-secret", &body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (status, error): (String, Option<String>) = storage::on_db!(db, |pool| sqlx::query_as(
        "SELECT status, error FROM deliveries WHERE id = $1"
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap());
    assert_eq!(status, "failed");
    assert_eq!(
        error.as_deref(),
        Some("Meta error 131026: Message undeliverable")
    );
    srv.stop().await;
});

store_test!(
    fonnte_receipts_keyed_by_stateid_reach_their_delivery,
    |db| {
        setup(db).await;
        let (id, message_id, _fake) = sent_via(db, Kind::Fonnte, "fon1").await;
        let account = account_id(db, "fonnte").await;
        let srv = spawn_server(db).await;
        let url = format!("http://{}/webhooks/fonnte/{account}", srv.addr);
        let post = |token: &str, body: Value| {
            let req = client().post(format!("{url}?token={token}")).json(&body);
            async move { req.send().await.unwrap().status() }
        };
        assert_eq!(
            post("wrong", json!({"id": message_id, "status": "sent"})).await,
            StatusCode::UNAUTHORIZED
        );
        // First callback links the stateid; later ones carry only the stateid.
        assert_eq!(post("fonnte-hook-5f2c1a9e7b3d4c6a8e0f1b2d", json!({"device": "6281200000000", "id": message_id.parse::<i64>().unwrap(), "stateid": "st-77", "status": "sent", "state": "delivered"})).await, StatusCode::OK);
        assert_eq!(
            storage::outbox::status_of(db, domain::DeliveryId(id))
                .await
                .unwrap()
                .as_str(),
            "delivered"
        );
        assert_eq!(
            post(
                "fonnte-hook-5f2c1a9e7b3d4c6a8e0f1b2d",
                json!({"device": "6281200000000", "stateid": "st-77", "state": "read"})
            )
            .await,
            StatusCode::OK
        );
        assert_eq!(
            storage::outbox::status_of(db, domain::DeliveryId(id))
                .await
                .unwrap()
                .as_str(),
            "read"
        );
        // An unknown message is acknowledged (Fonnte would retry 15 times) but logged.
        assert_eq!(
            post(
                "fonnte-hook-5f2c1a9e7b3d4c6a8e0f1b2d",
                json!({"stateid": "nope", "state": "read"})
            )
            .await,
            StatusCode::OK
        );
        assert_eq!(
            count(
                db,
                "SELECT COUNT(*) FROM provider_callbacks WHERE provider = 'fonnte'"
            )
            .await,
            3
        );
        srv.stop().await;
    }
);

store_test!(wablas_tracking_callbacks_map_received_to_delivered, |db| {
    setup(db).await;
    let (id, message_id, _fake) = sent_via(db, Kind::Wablas, "wab1").await;
    let account = account_id(db, "wablas").await;
    // Switched off after sending: it sends nothing new, but the receipts of
    // what it sent are still taken.
    disable_all_accounts(db).await;
    let srv = spawn_server(db).await;
    // Wablas posts a form.
    let res = client()
        .post(format!(
            "http://{}/webhooks/wablas/{account}?token=wablas-hook-9a8b7c6d5e4f3a2b1c0d9e8f",
            srv.addr
        ))
        .form(&[
            ("id", message_id.as_str()),
            ("phone", "6281200000005"),
            ("status", "received"),
            ("deviceId", "OMM1F9"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        storage::outbox::status_of(db, domain::DeliveryId(id))
            .await
            .unwrap()
            .as_str(),
        "delivered"
    );
    srv.stop().await;
});

/// Posts the sign-in form as the browser does; answers the status and the
/// `Retry-After` header.
async fn sign_in(base: &str, email: &str) -> (StatusCode, Option<String>) {
    sign_in_with(base, email, "demo12345").await
}

async fn sign_in_with(base: &str, email: &str, password: &str) -> (StatusCode, Option<String>) {
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{base}/api/auth/login"))
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (res.status(), retry)
}

/// Another site's page cannot sign someone in (login CSRF) or act with
/// their cookie; this site's pages, and clients that are no browser, can.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_requests_are_refused_before_they_run() {
    let t = storage::db::testing::TestDb::sqlite().await;
    let db = &t.db;
    setup(db).await;
    let srv = spawn_server(db).await;
    let base = format!("http://{}", srv.addr);
    let login = |headers: Vec<(&'static str, String)>| {
        let mut req = client()
            .post(format!("{base}/api/auth/login"))
            .form(&[("email", "admin@demo.id"), ("password", "demo12345")]);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        async move { req.send().await.unwrap().status() }
    };
    let refused = [
        vec![("origin", "https://evil.example".to_owned())],
        vec![("origin", "null".to_owned())],
        vec![("sec-fetch-site", "cross-site".to_owned())],
        // A page on a sibling domain: same site, another origin.
        vec![("sec-fetch-site", "same-site".to_owned())],
    ];
    for headers in refused {
        let shown = format!("{headers:?}");
        assert_eq!(login(headers).await, StatusCode::FORBIDDEN, "{shown}");
    }
    assert_eq!(count(db, "SELECT COUNT(*) FROM sessions").await, 0);
    // Every answer forbids framing and sniffing, keeps the Referer to this
    // site, and is not cached (signed-in pages and server functions).
    for path in ["/login", "/api/auth/whoami"] {
        let res = client().get(format!("{base}{path}")).send().await.unwrap();
        let h = res.headers();
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(csp.contains("object-src 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "same-origin");
        assert_eq!(h["cache-control"], "no-store", "{path}");
        assert!(
            h.get("strict-transport-security").is_none(),
            "not over http"
        );
    }
    // A page's scripts run by the nonce its policy names, a fresh one per
    // answer; no script goes without it.
    let page_nonce = || async {
        let res = client().get(format!("{base}/login")).send().await.unwrap();
        let csp = res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap_or_else(|| panic!("no nonce in {csp}"))
            .to_owned();
        let html = res.text().await.unwrap();
        let tags: Vec<&str> = html
            .split("<script")
            .skip(1)
            .map(|rest| rest.split('>').next().unwrap_or(""))
            .collect();
        assert!(!tags.is_empty(), "{html}");
        for tag in tags {
            assert!(
                tag.contains(&format!("nonce=\"{nonce}\"")),
                "a script without the header's nonce: <script{tag}>"
            );
        }
        nonce
    };
    assert_ne!(page_nonce().await, page_nonce().await);
    // This site: the Host it was reached by, or PUBLIC_URL (the tests'
    // default); and a client that is no browser.
    let here = format!("http://{}", srv.addr);
    for headers in [
        vec![("origin", here)],
        vec![("origin", "http://localhost:3000".to_owned())],
        vec![("sec-fetch-site", "same-origin".to_owned())],
        vec![],
    ] {
        let shown = format!("{headers:?}");
        assert!(login(headers).await.is_success(), "{shown}");
    }

    // A JSON function takes JSON only: the same body as text/plain (what a
    // form or a fetch without pre-flight can send) is refused unread.
    let admin = user_id(db, "admin@demo.id").await;
    let session = storage::sessions::create_session(db, admin, storage::now_ms())
        .await
        .unwrap();
    let save = |content_type: &'static str| {
        let body = serde_json::json!({"form": {"name": "Grup dari luar", "description": "",
            "chat_id": "120363000000000099@g.us", "phone_number": "", "category": "noc",
            "work_zone": "", "active": true, "id": null}})
        .to_string();
        let req = client()
            .post(format!("{base}/api/groups/save"))
            .header(
                "cookie",
                format!("{}={session}", app::auth::session::COOKIE_NAME),
            )
            .header("content-type", content_type)
            .body(body);
        async move { req.send().await.unwrap().status() }
    };
    let groups = "SELECT COUNT(*) FROM whatsapp_groups";
    let before = count(db, groups).await;
    assert_eq!(save("text/plain").await, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(count(db, groups).await, before, "nothing saved");
    assert!(save("application/json").await.is_success());
    assert_eq!(count(db, groups).await, before + 1);
    srv.stop().await;
    t.close().await;
}

/// Not a store test: the back-off is the process's, so one run (on
/// SQLite) says what it does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_guessing_is_held_back_before_any_hashing() {
    let t = storage::db::testing::TestDb::sqlite().await;
    let db = &t.db;
    setup(db).await;
    let srv = spawn_server(db).await;
    let base = format!("http://{}", srv.addr);
    let email = "tek.karawang2@demo.id";
    for i in 0..app::auth::throttle::ACCOUNT_FREE {
        let (status, _) = sign_in_with(&base, email, &format!("tebakan{i}")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "guess {i}");
    }
    // Held back now, even with the right password, with a time to wait.
    let (status, retry) = sign_in_with(&base, email, "tebakan-lagi").await;
    assert_eq!(
        (status, retry.as_deref()),
        (StatusCode::TOO_MANY_REQUESTS, Some("30"))
    );
    let (status, _) = sign_in(&base, email).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Someone else signs in as usual.
    let (status, _) = sign_in(&base, "spv.karawang@demo.id").await;
    assert!(status.is_success() || status.is_redirection(), "{status}");
    srv.stop().await;
    t.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_disk_refuses_writes_the_server_answers_503_and_then_recovers_by_itself() {
    let (t, disk) = storage::db::testing::TestDb::sqlite_on_faulty_disk().await;
    let db = &t.db;
    setup_with_api_key(db).await;
    let srv = spawn_server(db).await;
    let base = format!("http://{}", srv.addr);
    let user = user_id(db, "tek.karawang1@demo.id").await;
    let event = assignment(user, "disk-1").to_string();
    let probe = |path: &'static str| {
        let url = format!("{base}{path}");
        async move {
            let res = client().get(url).send().await.unwrap();
            let status = res.status();
            (status, res.text().await.unwrap())
        }
    };
    let (s, b) = probe("/readyz").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let b: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(
        b,
        json!({"ready": true, "database": "ok", "migrations": "ok", "dispatcher": "ok"})
    );

    disk.refuse_writes(true);
    // Alive, but not ready: it says why.
    assert_eq!(probe("/healthz").await.0, StatusCode::OK);
    let (s, b) = probe("/readyz").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{b}");
    let b: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(b["ready"], false);
    assert!(
        b["database"]
            .as_str()
            .unwrap()
            .starts_with("refuses writes"),
        "{b}"
    );
    for _ in 0..2 {
        let res = client()
            .post(format!("{base}/api/v1/events"))
            .bearer_auth(DEMO_API_KEY)
            .header("content-type", "application/json")
            .body(event.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(res.headers()["retry-after"], "5");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "unavailable", "{body}");
        let (status, retry) = sign_in(&base, "admin@demo.id").await;
        assert_eq!(
            (status, retry.as_deref()),
            (StatusCode::SERVICE_UNAVAILABLE, Some("5"))
        );
    }
    assert_eq!(count(db, "SELECT COUNT(*) FROM events").await, 0);

    // The disk is back: the same requests pass, nothing of the refused ones
    // was half-written (the event is new, not a duplicate).
    disk.refuse_writes(false);
    let (s, b) = probe("/readyz").await;
    assert_eq!(s, StatusCode::OK, "ready again by itself: {b}");
    let (s, b) = post_event(&base, Some(DEMO_API_KEY), event).await;
    assert_eq!((s, &b["duplicate"]), (StatusCode::ACCEPTED, &json!(false)));
    let (status, _) = sign_in(&base, "admin@demo.id").await;
    assert!(status.is_redirection() || status.is_success(), "{status}");
    srv.stop().await;
    t.close().await;
}

store_test!(
    a_gateway_account_with_a_short_webhook_token_takes_no_callbacks,
    |db| {
        setup(db).await;
        let fonnte = Fake::start(Kind::Fonnte).await;
        let account = add_account(db, &fonnte, Kind::Fonnte, 1, 60, 0, 2000).await;
        // Saved before tokens had to be long: guessable, so refused until
        // someone sets a longer one.
        storage::on_db_write!(db, |pool| {
            sqlx::query("UPDATE provider_accounts SET credentials = $1 WHERE id = $2")
                .bind(json!({"token": "t", "webhook_token": "hook"}).to_string())
                .bind(account)
                .execute(pool)
                .await
                .map(drop)
                .unwrap()
        });
        let srv = spawn_server(db).await;
        let res = client()
            .post(format!(
                "http://{}/webhooks/fonnte/{account}?token=hook",
                srv.addr
            ))
            .json(&json!({"id": 1, "status": "sent"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(res.text().await.unwrap().contains("at least 32 characters"));
        srv.stop().await;
    }
);

store_test!(
    one_idempotency_key_posted_at_once_to_two_instances_makes_one_event,
    |db| {
        setup_with_api_key(db).await;
        let budi = user_id(db, "tek.karawang1@demo.id").await;
        // Two instances on one database, the ticketing system retrying a
        // post on both at once: the keyed INSERTs race.
        let (a, b) = (spawn_server(db).await, spawn_server(db).await);
        let body = assignment(budi, "race/TK-1").to_string();
        let posts = (0..16).map(|i| {
            let base = format!("http://{}", if i % 2 == 0 { a.addr } else { b.addr });
            let body = body.clone();
            async move { post_event(&base, Some(DEMO_API_KEY), body).await }
        });
        let answers = futures_util::future::join_all(posts).await;
        let mut ids = std::collections::BTreeSet::new();
        let mut created = 0;
        for (status, answer) in &answers {
            assert_eq!(*status, StatusCode::ACCEPTED, "{answer}");
            ids.insert(answer["notification_id"].as_i64().unwrap());
            if answer["duplicate"] == false {
                created += 1;
            }
        }
        assert_eq!((ids.len(), created), (1, 1), "{answers:?}");
        let events = count_where(
            db,
            "SELECT COUNT(*) FROM events WHERE id = $1 OR idempotency_key = 'race/TK-1'",
            *ids.first().unwrap(),
        )
        .await;
        assert_eq!(events, 1);
        a.stop().await;
        b.stop().await;
    }
);
