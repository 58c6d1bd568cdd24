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
    the_statement_adds_up_in_json_xml_and_csv,
    accounts_across_customers_for_credit_controllers,
    a_reseller_stays_off_the_account_its_own_customer_bills_with,
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

/// A reseller whose own customer bills with a parent outside the reseller's tree neither
/// changes that nor reaches the parent's account through it: reserving, quoting, reading and
/// settling the parent's reservations (a sibling's among them) are refused, and nothing
/// moves. Below the reseller, billing with the parent works as before.
async fn a_reseller_stays_off_the_account_its_own_customer_bills_with(app: TestApp) {
    let top = app
        .create_customer(&json!({"reference": "TOP", "name": "Top", "creditLimit": 1000}))
        .await;
    let own = app.create_customer(&json!({"reference": "RESOLD", "name": "Reseller", "parentCustomer": top["id"], "billWithParent": true})).await;
    let sibling = app.create_customer(&json!({"reference": "SIBLING", "name": "Sibling", "parentCustomer": top["id"], "billWithParent": true})).await;
    let kid = app.create_customer(&json!({"reference": "RESOLD-KID", "name": "Kid", "parentCustomer": own["id"], "billWithParent": true})).await;
    let reseller = app.key_for("reseller", &own).await;
    let sibling_hold = app
        .create(
            &format!("/api/v1.0/customers/{}/account/reservations", sibling["id"]),
            &json!({"amount": 100}),
        )
        .await;
    let rid = &sibling_hold["id"];

    // How its own customer is billed is not the reseller's to change; a replacement that
    // leaves it out keeps it.
    let own_path = format!("/api/v1.0/customers/{}", own["id"]);
    let billing_refused = |bills: bool| {
        let request = app
            .with_key(&reseller, Method::PATCH, &own_path)
            .json(&json!({ "billWithParent": bills }));
        async move {
            expect_error(
                request.send().await.unwrap(),
                400,
                "invalid_param",
                "billWithParent: A reseller cannot change how its own customer is billed.",
            )
            .await;
        }
    };
    billing_refused(false).await;
    let replaced = app
        .with_key(&reseller, Method::PUT, &own_path)
        .json(&json!({"reference": "RESOLD", "name": "Reseller renamed"}))
        .send()
        .await
        .unwrap();
    let replaced = expect_json(replaced, 200).await;
    assert_eq!(replaced["billWithParent"], true, "{replaced}");

    // Through its own customer, or the kid billing up to the same top account: refused.
    for customer in [&own, &kid] {
        let base = format!("/api/v1.0/customers/{}/account", customer["id"]);
        for (method, path, body) in [
            (
                Method::POST,
                format!("{base}/reservations"),
                json!({"amount": 1}),
            ),
            (Method::POST, format!("{base}/quote"), json!({"amount": 1})),
            (Method::GET, format!("{base}/reservations"), Value::Null),
            (
                Method::GET,
                format!("{base}/reservations/{rid}"),
                Value::Null,
            ),
            (
                Method::POST,
                format!("{base}/reservations/{rid}/capture"),
                json!({}),
            ),
            (
                Method::POST,
                format!("{base}/reservations/{rid}/release"),
                json!({}),
            ),
        ] {
            let mut request = app.with_key(&reseller, method.clone(), &path);
            if !body.is_null() {
                request = request.json(&body);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status().as_u16(), 403, "{method} {path}");
        }
    }
    let top_account = account(&app, &top["id"]).await;
    assert_eq!(
        exact(&top_account["reservedAmount"]),
        "100.00",
        "{top_account}"
    );
    let hold = app
        .get_json(&format!(
            "/api/v1.0/customers/{}/account/reservations/{rid}",
            sibling["id"]
        ))
        .await;
    assert_eq!(hold["status"], "open", "{hold}");

    // Once its own customer pays for itself, the kid billing with it is the reseller's.
    app.send_ok(
        Method::PATCH,
        &own_path,
        &json!({"billWithParent": false, "creditLimit": 50}),
    )
    .await;
    // Nor may the reseller turn that billing back on.
    billing_refused(true).await;
    let kid_hold = app
        .with_key(
            &reseller,
            Method::POST,
            &format!("/api/v1.0/customers/{}/account/reservations", kid["id"]),
        )
        .json(&json!({"amount": 5}))
        .send()
        .await
        .unwrap();
    expect_json(kid_hold, 201).await;
    assert_eq!(
        exact(&account(&app, &own["id"]).await["reservedAmount"]),
        "5.00"
    );
    a_reseller_does_not_move_its_own_account(&app, &reseller, &own).await;
}

/// The money and credit controls of a reseller's own customer are the operator's: the
/// reseller orders against its account and reads it, but posts nothing to it, sets no limit,
/// and neither holds, releases, activates nor deactivates it; a replacement that leaves those
/// out keeps them.
async fn a_reseller_does_not_move_its_own_account(app: &TestApp, reseller: &str, own: &Value) {
    let own_path = format!("/api/v1.0/customers/{}", own["id"]);
    let base = format!("{own_path}/account");
    let send = |method: Method, path: String, body: Value| {
        app.with_key(reseller, method, &path).json(&body).send()
    };
    expect_json(
        send(
            Method::POST,
            format!("{base}/reservations"),
            json!({"amount": 1}),
        )
        .await
        .unwrap(),
        201,
    )
    .await;
    let before = account(app, &own["id"]).await;
    for (method, path, body) in [
        (
            Method::POST,
            format!("{base}/payments"),
            json!({"amount": 1000}),
        ),
        (
            Method::POST,
            format!("{base}/charges"),
            json!({"amount": 1}),
        ),
        (
            Method::POST,
            format!("{base}/adjustments"),
            json!({"amount": 1000, "reason": "mine"}),
        ),
        (
            Method::PUT,
            format!("{base}/creditLimit"),
            json!({"creditLimit": 100000}),
        ),
    ] {
        let response = send(method.clone(), path.clone(), body).await.unwrap();
        assert_eq!(response.status().as_u16(), 403, "{method} {path}");
    }
    app.create(
        "/api/v1.0/currencies",
        &json!({"code": "USD", "exchangeRate": "0.9"}),
    )
    .await;
    for (field, value, text) in [
        (
            "currency",
            json!("USD"),
            "A reseller cannot change its own customer's currency.",
        ),
        (
            "onHoldReason",
            json!("mine"),
            "onHoldReason: A reseller cannot change why its own customer is on hold.",
        ),
        (
            "creditLimit",
            json!(100_000),
            "creditLimit: A reseller cannot change its own customer's credit limit.",
        ),
        (
            "onHold",
            json!(true),
            "onHold: A reseller cannot put its own customer on hold or lift its hold.",
        ),
        (
            "isActive",
            json!(false),
            "isActive: A reseller cannot activate or deactivate its own customer.",
        ),
    ] {
        expect_error(
            send(Method::PATCH, own_path.clone(), json!({ field: value }))
                .await
                .unwrap(),
            400,
            "invalid_param",
            text,
        )
        .await;
    }
    assert_eq!(account(app, &own["id"]).await, before, "nothing moved");
    // Named as they are, they change nothing and the write goes through.
    let same = send(
        Method::PATCH,
        own_path.clone(),
        json!({"creditLimit": 50, "currency": "EUR", "onHold": false, "isActive": true, "billWithParent": false, "name": "Renamed"}),
    )
    .await
    .unwrap();
    assert_eq!(expect_json(same, 200).await["name"], "Renamed");
    // The operator's hold outlives the reseller's replacement of its own customer.
    app.send_ok(
        Method::PATCH,
        &own_path,
        &json!({"onHold": true, "onHoldReason": "unpaid"}),
    )
    .await;
    let replaced = send(
        Method::PUT,
        own_path.clone(),
        json!({"reference": "RESOLD", "name": "Reseller again"}),
    )
    .await
    .unwrap();
    let replaced = expect_json(replaced, 200).await;
    assert_eq!(
        (
            &replaced["onHold"],
            &replaced["onHoldReason"],
            &replaced["isActive"],
            exact(&replaced["creditLimit"]),
            &replaced["currency"],
        ),
        (
            &json!(true),
            &json!("unpaid"),
            &json!(true),
            "50.00".to_owned(),
            &json!("EUR"),
        ),
        "{replaced}"
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

/// A statement's figures add up and agree with the account and the ledger, in JSON, XML and
/// streamed CSV (with the balances in headers); the period defaults to the current month,
/// and bad periods are refused.
async fn the_statement_adds_up_in_json_xml_and_csv(app: TestApp) {
    let customer = app
        .create_customer(&json!({"reference": "STMT", "name": "Statement", "creditLimit": 500}))
        .await;
    let id = &customer["id"];
    let base = format!("/api/v1.0/customers/{id}/account");
    app.create(
        &format!("{base}/payments"),
        &json!({"amount": "300.00", "description": "wire, \"November\""}),
    )
    .await;
    app.create(&format!("{base}/charges"), &json!({"amount": 45.5}))
        .await;
    app.create(
        &format!("{base}/adjustments"),
        &json!({"amount": -0.5, "reason": "rounding"}),
    )
    .await;
    let held = app
        .create(&format!("{base}/reservations"), &json!({"amount": 120}))
        .await;
    app.send_ok(
        Method::POST,
        &format!("{base}/reservations/{}/capture", held["id"]),
        &json!({"amount": 100}),
    )
    .await;
    app.create(&format!("{base}/reservations"), &json!({"amount": 30}))
        .await;
    let now = account(&app, id).await;

    let all = format!("{base}/statement?from=2000-01-01T00:00:00Z&to=2999-01-01T00:00:00Z");
    let statement = app.get_json(&all).await;
    assert_eq!(statement["customerId"], *id);
    assert_eq!(statement["currency"], "EUR");
    assert_eq!(
        (statement["from"].clone(), statement["to"].clone()),
        (json!("2000-01-01T00:00:00Z"), json!("2999-01-01T00:00:00Z"))
    );
    let figures = |names: &[&str]| -> Vec<String> {
        names.iter().map(|name| exact(&statement[name])).collect()
    };
    assert_eq!(
        figures(&[
            "openingBalance",
            "openingReserved",
            "closingBalance",
            "closingReserved"
        ]),
        ["0.00", "0.00", "154.00", "30.00"]
    );
    assert_eq!(exact(&now["balance"]), "154.00");
    assert_eq!(exact(&now["reservedAmount"]), "30.00");
    let totals = &statement["totals"];
    assert_eq!(
        ["payments", "charges", "adjustments", "captured"].map(|t| exact(&totals[t])),
        ["300.00", "-45.50", "-0.50", "-100.00"]
    );
    let entries = statement["entries"].as_array().unwrap();
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "payment",
            "charge",
            "adjustment",
            "reservation",
            "capture",
            "reservation"
        ]
    );
    let ledger = app.get_json(&format!("{base}/ledger?max=100")).await;
    assert_eq!(*entries, *ledger["data"].as_array().unwrap());

    let csv = app
        .request(Method::GET, &all)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status().as_u16(), 200);
    let header = |name: &str| csv.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "text/csv; charset=utf-8");
    assert_eq!(
        (
            header("credence-opening-balance"),
            header("credence-closing-balance")
        ),
        ("0.00".to_owned(), "154.00".to_owned())
    );
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "id,date,kind,amount,reservedDelta,balance,reservedAmount,description,reservationId,userId"
    );
    assert_eq!(lines.len(), 7, "{text}");
    let first = format!(
        "{},{},payment,300.00,0.00,300.00,0.00,\"wire, \"\"November\"\"\",,",
        entries[0]["id"],
        entries[0]["date"].as_str().unwrap()
    );
    assert!(lines[1].starts_with(&first), "{}", lines[1]);
    assert!(
        lines[5].contains(",capture,-100.00,-120.00,154.00,"),
        "{}",
        lines[5]
    );

    let (status, xml) = xml_answer(app.request(Method::GET, &all)).await;
    assert_eq!(status, 200);
    assert!(
        xml.contains("<closingBalance>154.00</closingBalance>"),
        "{xml}"
    );
    assert!(xml.contains("<totals><payments>300.00</payments>"), "{xml}");
    assert_eq!(xml.matches("<entry>").count(), 6, "{xml}");
    assert!(xml.ends_with("</entries></statement>"), "{xml}");

    // Before the account there is nothing; by default, the current calendar month.
    let empty = app
        .get_json(&format!(
            "{base}/statement?from=2000-01-01T00:00:00Z&to=2000-02-01T00:00:00Z"
        ))
        .await;
    assert_eq!(exact(&empty["closingBalance"]), "0.00");
    assert_eq!(empty["entries"], json!([]));
    let month = app.get_json(&format!("{base}/statement")).await;
    let from = month["from"].as_str().unwrap();
    assert!(from.ends_with("-01T00:00:00Z"), "{from}");
    assert!(month["to"].as_str().unwrap().ends_with("-01T00:00:00Z"));

    for (query, status, error, description) in [
        (
            "from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            400,
            "invalid_param",
            "to must come after from",
        ),
        (
            "from=last-week",
            400,
            "invalid_datetime_format",
            "Invalid datetime filter (not ISO-8601 formatted): [last-week]",
        ),
        (
            "at=2026-01-01T00:00:00Z",
            400,
            "invalid_param",
            "The parameters [at] you provided are not valid for this request.",
        ),
    ] {
        let answer = app.get(&format!("{base}/statement?{query}")).await;
        expect_error(answer, status, error, description).await;
    }
    let missing = app
        .get("/api/v1.0/customers/987654/account/statement")
        .await;
    expect_error(
        missing,
        404,
        "not_found",
        "The customer with the id 987654 doesn't exist.",
    )
    .await;
}

/// `/accounts` lists accounts across customers: who is over the limit, who uses more than a
/// share of it, sorted by what is left, paged with links that keep the query.
async fn accounts_across_customers_for_credit_controllers(app: TestApp) {
    let mut ids = Vec::new();
    for (reference, limit) in [("OV-1", 1000), ("OV-2", 100), ("OV-3", 500)] {
        let customer = app
            .create_customer(
                &json!({"reference": reference, "name": reference, "creditLimit": limit}),
            )
            .await;
        ids.push(customer["id"].clone());
    }
    // OV-2: available -50, utilization 1.5; OV-3: available 50, utilization 0.9.
    for (n, amount) in [(1, 150), (2, 450)] {
        let path = format!("/api/v1.0/customers/{}/account/charges", ids[n]);
        app.create(&path, &json!({"amount": amount})).await;
    }

    let over = app.get_json("/api/v1.0/accounts?overLimit=true").await;
    assert_eq!(over["paging"]["total"], 1);
    let line = &over["data"][0];
    assert_eq!(line["customerId"], ids[1]);
    assert_eq!(line["customerReference"], "OV-2");
    assert_eq!(
        [
            "balance",
            "creditLimit",
            "reserved",
            "available",
            "utilization"
        ]
        .map(|f| exact(&line[f])),
        ["-150.00", "100.00", "0.00", "-50.00", "1.5"]
    );
    let busy = app
        .get_json("/api/v1.0/accounts?utilizationAbove=0.8&sort=available&order=asc")
        .await;
    let refs: Vec<&str> = busy["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["customerReference"].as_str().unwrap())
        .collect();
    assert_eq!(refs, ["OV-2", "OV-3"]);
    let paged = app
        .get_json("/api/v1.0/accounts?max=1&sort=available&utilizationAbove=0.8")
        .await;
    assert_eq!(paged["data"][0]["customerReference"], "OV-2");
    assert_eq!(
        paged["paging"]["next"],
        "/api/v1.0/accounts?max=1&offset=1&sort=available&order=asc&utilizationAbove=0.8"
    );
    let (status, xml) =
        xml_answer(app.request(Method::GET, "/api/v1.0/accounts?overLimit=true")).await;
    assert_eq!(status, 200);
    assert!(
        xml.contains("<customerReference>OV-2</customerReference>"),
        "{xml}"
    );

    for (query, status, error, description) in [
        (
            "utilizationAbove=101",
            400,
            "invalid_param",
            "The parameter utilizationAbove must be a number from 0 to 100 with at most 4 decimals, not 101.",
        ),
        (
            "sort=name",
            400,
            "invalid_param",
            "The parameter sort must be one of customerId, available, utilization, balance, creditLimit, reserved, not name.",
        ),
    ] {
        let answer = app.get(&format!("/api/v1.0/accounts?{query}")).await;
        expect_error(answer, status, error, description).await;
    }
    let answer = app.get("/api/v1.0/accounts?overLimit=maybe").await;
    assert_eq!(answer.status().as_u16(), 400);
}
