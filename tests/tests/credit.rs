//! Credit accounts over real HTTP (issue 4): the rules, the ledger, idempotency, the
//! marketplace view, and races for the last credit on one server and on three replicas.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests panic on a broken environment"
)]

use credence_e2e::{
    Backend, TestApp, expect_delete_failed, expect_error, expect_json, on_both_backends, xml_answer,
};
use reqwest::Method;
use serde_json::{Value, json};

on_both_backends!(
    an_account_admits_captures_releases_and_keeps_its_ledger,
    racing_clients_never_admit_past_the_available_credit,
    idempotency_keys_apply_a_movement_once,
    the_marketplace_shows_the_callers_own_account,
    customers_on_hold_and_children_billed_to_parents,
    movements_beyond_what_an_account_holds_are_refused,
    the_ledger_and_reservations_narrow_by_time_and_type,
    the_limit_history_lists_each_change_with_its_reason,
    the_account_at_an_instant,
);

fn exact(value: &Value) -> String {
    value.to_string()
}

async fn account(app: &TestApp, id: &Value) -> Value {
    app.get_json(&format!("/api/v1.0/customers/{id}/account"))
        .await
}

/// Balance and reserved equal what the ledger adds up to.
async fn assert_ledger_matches(app: &TestApp, id: &Value) {
    let account = account(app, id).await;
    let mut offset = 0;
    let (mut balance, mut reserved) = (rust_cents(&json!(0)), rust_cents(&json!(0)));
    loop {
        let page = app
            .get_json(&format!(
                "/api/v1.0/customers/{id}/account/ledger?max=1000&offset={offset}"
            ))
            .await;
        let entries = page["data"].as_array().expect("entries").clone();
        for entry in &entries {
            balance += rust_cents(&entry["amount"]);
            reserved += rust_cents(&entry["reservedDelta"]);
        }
        offset += entries.len();
        if entries.is_empty() || page["paging"]["next"].is_null() {
            break;
        }
    }
    assert_eq!(
        balance,
        rust_cents(&account["balance"]),
        "balance = sum of the ledger: {account}"
    );
    assert_eq!(
        reserved,
        rust_cents(&account["reservedAmount"]),
        "reserved = sum of the ledger: {account}"
    );
}

/// An exact JSON number of a 2-decimal currency, in cents.
fn rust_cents(value: &Value) -> i64 {
    let text = value.to_string();
    let text = text.trim_matches('"');
    let (units, cents) = text.split_once('.').unwrap_or((text, "00"));
    let sign = if units.starts_with('-') { -1 } else { 1 };
    let units: i64 = units.trim_start_matches('-').parse().expect("units");
    let cents: i64 = format!("{cents:0<2}")[..2].parse().expect("cents");
    sign * (units * 100 + cents)
}

/// Charges that would take the balance past what 64-bit cents hold are refused as too large,
/// never a server error, and move nothing.
async fn movements_beyond_what_an_account_holds_are_refused(app: TestApp) {
    let customer = app.add_customer("HUGE", "Huge").await;
    let id = &customer["id"];
    let charges = format!("/api/v1.0/customers/{id}/account/charges");
    let huge = json!({"amount": "45186678968890910"});
    for _ in 0..2 {
        app.create(&charges, &huge).await;
    }
    expect_error(
        app.post_json(&charges, &huge).await,
        400,
        "invalid_param",
        "amount is too large",
    )
    .await;
    assert_eq!(
        exact(&account(&app, id).await["balance"]),
        "-90373357937781820.00"
    );
    assert_ledger_matches(&app, id).await;
}

async fn an_account_admits_captures_releases_and_keeps_its_ledger(app: TestApp) {
    let customer = app
        .create_customer(&json!({"reference": "ACC", "name": "Account", "creditLimit": 100}))
        .await;
    let id = &customer["id"];
    assert_eq!(exact(&customer["balance"]), "0.00");
    assert_eq!(exact(&customer["availableCredit"]), "100.00");
    let base = format!("/api/v1.0/customers/{id}/account");
    let opened = account(&app, id).await;
    assert_eq!(
        (
            exact(&opened["creditLimit"]),
            exact(&opened["availableCredit"])
        ),
        ("100.00".into(), "100.00".into())
    );

    let payment = app
        .create(
            &format!("{base}/payments"),
            &json!({"amount": 50, "description": "wire"}),
        )
        .await;
    assert_eq!(exact(&payment["balance"]), "50.00");
    let reservation = app
        .create(
            &format!("{base}/reservations"),
            &json!({"amount": "120.00", "description": "order 1"}),
        )
        .await;
    assert_eq!(reservation["status"], "open");
    let refused = expect_json(
        app.post_json(&format!("{base}/reservations"), &json!({"amount": 31}))
            .await,
        422,
    )
    .await;
    assert_eq!(refused["error"], "credit_limit_exceeded");
    assert_eq!(
        (exact(&refused["available"]), exact(&refused["requested"])),
        ("30.00".into(), "31.00".into())
    );
    let quote = expect_json(
        app.post_json(&format!("{base}/quote"), &json!({"amount": 30}))
            .await,
        200,
    )
    .await;
    assert_eq!(
        (quote["admitted"].clone(), exact(&quote["remaining"])),
        (json!(true), "0.00".into())
    );
    assert_eq!(
        exact(&account(&app, id).await["availableCredit"]),
        "30.00",
        "a quote writes nothing"
    );

    let rid = &reservation["id"];
    let too_much = app
        .post_json(
            &format!("{base}/reservations/{rid}/capture"),
            &json!({"amount": 121}),
        )
        .await;
    assert_eq!(too_much.status().as_u16(), 400);
    let captured = expect_json(
        app.post_json(
            &format!("{base}/reservations/{rid}/capture"),
            &json!({"amount": 100}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(captured["status"], "captured");
    let after = account(&app, id).await;
    assert_eq!(
        (
            exact(&after["balance"]),
            exact(&after["reservedAmount"]),
            exact(&after["availableCredit"])
        ),
        ("-50.00".into(), "0.00".into(), "50.00".into())
    );
    expect_json(
        app.post_json(&format!("{base}/reservations/{rid}/release"), &json!({}))
            .await,
        409,
    )
    .await;

    let second = app
        .create(&format!("{base}/reservations"), &json!({"amount": 10}))
        .await;
    let released = expect_json(
        app.post_json(
            &format!("{base}/reservations/{}/release", second["id"]),
            &json!({}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(released["status"], "released");
    expect_error(
        app.post_json(&format!("{base}/adjustments"), &json!({"amount": -5}))
            .await,
        400,
        "missing_param",
        "reason parameter is missing",
    )
    .await;
    app.create(
        &format!("{base}/adjustments"),
        &json!({"amount": "-5.00", "reason": "fee"}),
    )
    .await;
    app.create(
        &format!("{base}/charges"),
        &json!({"amount": 1000, "description": "a real cost is never refused"}),
    )
    .await;
    assert_eq!(
        app.post_json(&format!("{base}/payments"), &json!({"amount": "1.001"}))
            .await
            .status()
            .as_u16(),
        400,
        "more decimals than EUR has"
    );
    let limited = expect_json(
        app.request(Method::PUT, &format!("{base}/creditLimit"))
            .json(&json!({"creditLimit": 3000.00}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(exact(&limited["creditLimit"]), "3000.00");
    let shown = app.get_json(&format!("/api/v1.0/customers/{id}")).await;
    assert_eq!(
        (exact(&shown["creditLimit"]), exact(&shown["balance"])),
        ("3000.00".into(), "-1055.00".into())
    );
    assert_ledger_matches(&app, id).await;
    expect_delete_failed(app.delete(&format!("/api/v1.0/customers/{id}")).await).await;
}

async fn racing_clients_never_admit_past_the_available_credit(app: TestApp) {
    race(&[&app], &app).await;
}

/// 40 clients, spread over the given servers, each ask 100.00 of an account with 1000.00.
async fn race(servers: &[&TestApp], admin: &TestApp) {
    let customer = admin
        .create_customer(&json!({"reference": "RACE", "name": "Racer", "creditLimit": 1000}))
        .await;
    let id = customer["id"].clone();
    let attempts = (0..40).map(|i| {
        let server = servers[i % servers.len()];
        let path = format!("/api/v1.0/customers/{id}/account/reservations");
        async move {
            server
                .post_json(
                    &path,
                    &json!({"amount": 100, "description": format!("order {i}")}),
                )
                .await
                .status()
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let admitted = statuses.iter().filter(|s| **s == 201).count();
    let refused = statuses.iter().filter(|s| **s == 422).count();
    assert_eq!(
        (admitted, refused),
        (10, 30),
        "exactly the available credit is admitted: {statuses:?}"
    );
    let after = account(admin, &id).await;
    assert_eq!(
        (
            exact(&after["reservedAmount"]),
            exact(&after["availableCredit"])
        ),
        ("1000.00".into(), "0.00".into())
    );
    assert_ledger_matches(admin, &id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_on_one_postgres_never_admit_past_the_available_credit() {
    let Some(replicas) = TestApp::replicas(Backend::Postgres, 3).await else {
        return;
    };
    let servers: Vec<&TestApp> = replicas.iter().collect();
    race(&servers, servers[0]).await;
}

async fn idempotency_keys_apply_a_movement_once(app: TestApp) {
    let customer = app.add_customer("IDEM", "Idem").await;
    let path = format!("/api/v1.0/customers/{}/account/payments", customer["id"]);
    let pay = |key: &'static str, amount: i64| {
        app.request(Method::POST, &path)
            .header("Idempotency-Key", key)
            .json(&json!({"amount": amount}))
            .send()
    };
    let first = pay("k-1", 25).await.unwrap();
    assert_eq!(first.status().as_u16(), 201);
    let first = first.text().await.unwrap();
    let replay = pay("k-1", 25).await.unwrap();
    assert_eq!(replay.status().as_u16(), 201);
    assert_eq!(
        replay.text().await.unwrap(),
        first,
        "the replay is the first answer"
    );
    let other_body = pay("k-1", 26).await.unwrap();
    assert_eq!(other_body.status().as_u16(), 422);
    assert_eq!(
        exact(&account(&app, &customer["id"]).await["balance"]),
        "25.00",
        "moved once"
    );
    assert_ledger_matches(&app, &customer["id"]).await;
}

async fn the_marketplace_shows_the_callers_own_account(app: TestApp) {
    let customer = app
        .create_customer(&json!({"reference": "MKT", "name": "Market", "creditLimit": "3000.00"}))
        .await;
    let base = format!("/api/v1.0/customers/{}/account", customer["id"]);
    app.create(&format!("{base}/payments"), &json!({"amount": "20000.00"}))
        .await;
    app.create(
        &format!("{base}/reservations"),
        &json!({"amount": "5000.00"}),
    )
    .await;
    let user = app.create("/api/v1.0/users", &json!({"reference": "mkt", "name": "Market", "role": "customer", "customerId": customer["id"]})).await;
    let key = app
        .create(&format!("/api/v1.0/users/{}/keys", user["id"]), &json!({}))
        .await;
    let key = key["secret"].as_str().unwrap().to_owned();

    let json_body = app
        .get_with_key(&key, "/api/marketplace/v2/customer")
        .await
        .text()
        .await
        .unwrap();
    let expected = r#"{"customer_response":{"request_status":{"status":"success","code":200,"errors":[]},"customer":{"link":[{"href":"/api/marketplace/v2/customer","rel":"self","type":"application/json"}],"balance":{"balance_amount":20000.00,"reserved_amount":5000.00,"credit_limit":3000.00,"currency_code":"EUR"}}}}"#;
    assert_eq!(json_body, expected);
    let (_, xml) =
        xml_answer(app.with_key(&key, Method::GET, "/api/marketplace/v2/customer")).await;
    assert!(
        xml.contains(
            r#"<link href="/api/marketplace/v2/customer" rel="self" type="application/xml"/>"#
        ),
        "{xml}"
    );
    assert!(
        xml.contains("<balance_amount>20000.00</balance_amount>")
            && xml.contains("<currency_code>EUR</currency_code>"),
        "{xml}"
    );
    let anonymous = app
        .anonymous(Method::GET, "/api/marketplace/v2/customer")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(
        body["customer_response"]["request_status"]["status"],
        "error"
    );
    let unknown = app
        .get_with_key("ck_not-a-real-key-at-all", "/api/marketplace/v2/customer")
        .await;
    assert_eq!(unknown.status().as_u16(), 403);
}

async fn customers_on_hold_and_children_billed_to_parents(app: TestApp) {
    let parent = app
        .create_customer(&json!({"reference": "PAY", "name": "Payer", "creditLimit": 100}))
        .await;
    let child = app.create_customer(&json!({"reference": "KID", "name": "Kid", "parentCustomer": parent["id"], "billWithParent": true})).await;
    let reserve = |id: &Value, amount: i64| {
        app.post_json_owned(
            format!("/api/v1.0/customers/{id}/account/reservations"),
            json!({"amount": amount}),
        )
    };
    expect_json(reserve(&child["id"], 60).await, 201).await;
    assert_eq!(
        exact(&account(&app, &parent["id"]).await["availableCredit"]),
        "40.00",
        "the parent's account pays"
    );
    let refused = expect_json(reserve(&child["id"], 41).await, 422).await;
    assert_eq!(exact(&refused["available"]), "40.00");
    let held = app.create_customer(&json!({"reference": "HOLD", "name": "Held", "creditLimit": 100, "onHold": true, "onHoldReason": "unpaid invoices"})).await;
    let refused = expect_json(reserve(&held["id"], 1).await, 422).await;
    assert_eq!(refused["error"], "customer_on_hold");
    assert!(
        refused["error_description"]
            .as_str()
            .unwrap()
            .contains("unpaid invoices")
    );
}

/// The ledger narrows by `type` and `dateCreated_*`, the reservations by `dateCreated_*`;
/// `total` counts what passes and the page links carry the filters.
async fn the_ledger_and_reservations_narrow_by_time_and_type(app: TestApp) {
    let customer = app
        .create_customer(&json!({"reference": "NARROW", "name": "Narrow", "creditLimit": 500}))
        .await;
    let base = format!("/api/v1.0/customers/{}/account", customer["id"]);
    for (movement, amount) in [("payments", 50), ("charges", 20), ("payments", 30)] {
        app.create(&format!("{base}/{movement}"), &json!({"amount": amount}))
            .await;
    }
    let reservation = app
        .create(&format!("{base}/reservations"), &json!({"amount": 10}))
        .await;
    let app = &app;
    let ledger = |query: &str| {
        let path = format!("{base}/ledger?{query}");
        async move { app.get_json(&path).await }
    };
    let all = ledger("").await;
    assert_eq!(all["paging"]["total"], 4);
    let (first, last) = (&all["data"][0]["date"], &all["data"][3]["date"]);

    let payments = ledger("type=payment&max=1").await;
    assert_eq!(payments["paging"]["total"], 2);
    assert_eq!(payments["data"][0]["kind"], "payment");
    assert_eq!(
        payments["paging"]["next"],
        format!("{base}/ledger?max=1&offset=1&type=payment")
    );
    let second = app
        .get_json(payments["paging"]["next"].as_str().unwrap())
        .await;
    assert_eq!(second["data"][0]["kind"], "payment");
    assert_ne!(second["data"][0]["id"], payments["data"][0]["id"]);

    let encode = |at: &Value| at.as_str().unwrap().replace(':', "%3A");
    let before = ledger(&format!("dateCreated_lt={}", encode(first))).await;
    assert_eq!(before["paging"]["total"], 0);
    let span = format!(
        "dateCreated_gte={}&dateCreated_lte={}",
        encode(first),
        encode(last)
    );
    assert_eq!(ledger(&span).await["paging"]["total"], 4);
    let reserved = ledger(&format!("{span}&type=reservation")).await;
    assert_eq!(reserved["paging"]["total"], 1);

    let admitted = encode(&reservation["dateCreated"]);
    let held = |query: String| {
        let path = format!("{base}/reservations?{query}");
        async move { app.get_json(&path).await }
    };
    assert_eq!(
        held(format!("dateCreated_gte={admitted}")).await["paging"]["total"],
        1
    );
    assert_eq!(
        held(format!("dateCreated_gt={admitted}")).await["paging"]["total"],
        0
    );
    expect_error(
        app.get(&format!("{base}/reservations?dateCreated_gt=soon"))
            .await,
        400,
        "invalid_datetime_format",
        "Invalid datetime filter (not ISO-8601 formatted): [soon]",
    )
    .await;
    expect_error(
        app.get(&format!("{base}/reservations?type=payment")).await,
        400,
        "invalid_param",
        "The parameters [type] you provided are not valid for this request.",
    )
    .await;
}

/// Each limit change is in the history, newest first, with the limit before and the reason
/// given; a reason too long is refused and changes nothing.
async fn the_limit_history_lists_each_change_with_its_reason(app: TestApp) {
    let customer = app
        .create_customer(&json!({"reference": "LIMITS", "name": "Limits", "creditLimit": 100}))
        .await;
    let base = format!("/api/v1.0/customers/{}/account", customer["id"]);
    app.send_ok(
        Method::PUT,
        &format!("{base}/creditLimit"),
        &json!({"creditLimit": "250.50", "reason": " paid on time "}),
    )
    .await;
    app.send_ok(
        Method::PUT,
        &format!("{base}/creditLimit"),
        &json!({"creditLimit": 75}),
    )
    .await;
    expect_error(
        app.send_json(
            Method::PUT,
            &format!("{base}/creditLimit"),
            &json!({"creditLimit": 1, "reason": "x".repeat(256)}),
        )
        .await,
        400,
        "invalid_param",
        "reason cannot be longer than 255 characters",
    )
    .await;
    let history = app
        .get_json(&format!("{base}/creditLimitHistory?max=2"))
        .await;
    assert_eq!(history["paging"]["total"], 3);
    let changes: Vec<(String, String, Value)> = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                exact(&c["previous"]),
                exact(&c["creditLimit"]),
                c["reason"].clone(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("250.50".to_owned(), "75.00".to_owned(), Value::Null),
            (
                "100.00".to_owned(),
                "250.50".to_owned(),
                json!("paid on time")
            ),
        ]
    );
    let first = app
        .get_json(history["paging"]["next"].as_str().unwrap())
        .await;
    assert_eq!(first["data"][0]["previous"], Value::Null);
    assert_eq!(exact(&first["data"][0]["creditLimit"]), "100.00");
    for field in ["changedBy", "approvedBy", "changedAt"] {
        assert!(first["data"][0].get(field).is_some(), "{field}: {first}");
    }
}

/// `?at=` answers the account as it stood then; before the account existed it is `404`, and
/// a bad instant is refused as the list filters refuse one.
async fn the_account_at_an_instant(app: TestApp) {
    let customer = app
        .create_customer(&json!({"reference": "AS-OF", "name": "As of", "creditLimit": 100}))
        .await;
    let base = format!("/api/v1.0/customers/{}/account", customer["id"]);
    app.create(&format!("{base}/payments"), &json!({"amount": 40}))
        .await;
    let now = account(&app, &customer["id"]).await;
    let later = app
        .get_json(&format!("{base}?at=2999-01-01T00:00:00Z"))
        .await;
    assert_eq!(later, now);
    let opened = customer["dateCreated"]
        .as_str()
        .unwrap()
        .replace(':', "%3A");
    let at_creation = app.get_json(&format!("{base}?at={opened}")).await;
    assert_eq!(exact(&at_creation["creditLimit"]), "100.00");
    for (query, status, error, description) in [
        (
            "at=2000-01-01T00:00:00Z",
            404,
            "not_found",
            "The account did not exist yet at 2000-01-01T00:00:00Z.",
        ),
        (
            "at=yesterday",
            400,
            "invalid_datetime_format",
            "Invalid datetime filter (not ISO-8601 formatted): [yesterday]",
        ),
        (
            "when=now",
            400,
            "invalid_param",
            "The parameters [when] you provided are not valid for this request.",
        ),
    ] {
        let answer = app.get(&format!("{base}?{query}")).await;
        expect_error(answer, status, error, description).await;
    }
}
