//! Strict input, on both databases: what a client sends is stored as sent or refused with a
//! `400` naming the field, never half-understood (a duplicate JSON key, `%zz`, invalid UTF-8)
//! and never a `500` (NUL, which PostgreSQL cannot store in text). A caller who may not use
//! a function learns that first. An `Idempotency-Key` names one request of its caller,
//! whatever route it is sent to, and a replacement never changes money it does not name.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests panic on a broken environment"
)]

use credence_e2e::{TestApp, expect_json, on_both_backends};
use reqwest::{Method, Response};
use serde_json::{Value, json};

on_both_backends!(
    characters_xml_cannot_carry_are_refused_in_bodies_paths_and_filters,
    duplicate_json_keys_are_refused_at_any_depth,
    forms_must_be_strictly_encoded_utf_8,
    dates_outside_iso_8601_are_refused,
    roles_are_checked_before_the_body,
    idempotency_keys_belong_to_the_caller_not_the_route,
    a_replacement_that_omits_the_credit_limit_keeps_it,
);

/// Asserts a `400` with `error` and a description that names `field`.
async fn expect_refusal(response: Response, error: &str, field: &str) {
    let body = expect_json(response, 400).await;
    assert_eq!(body["error"], error, "body: {body}");
    let description = body["error_description"].as_str().expect("a description");
    assert!(
        description.contains(field),
        "the description names {field}: {description}"
    );
}

async fn customer_count(app: &TestApp) -> u64 {
    let list = app.get_json("/api/v1.0/customers?max=1").await;
    list["paging"]["total"].as_u64().expect("a total")
}

async fn send_raw(
    app: &TestApp,
    method: Method,
    path: &str,
    content_type: &str,
    body: &'static [u8],
) -> Response {
    app.request(method, path)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .expect("the request is sent")
}

async fn characters_xml_cannot_carry_are_refused_in_bodies_paths_and_filters(app: TestApp) {
    app.add_customer("KEEP", "Kept").await;
    let before = customer_count(&app).await;
    for name in [
        "a\u{0}b",
        "a\u{1}b",
        "\u{1b}[31mred",
        "a\u{fffe}",
        "a\u{ffff}",
        "a\u{8}",
    ] {
        let response = app
            .post_json(
                "/api/v1.0/customers",
                &json!({"reference": "NUL-1", "name": name}),
            )
            .await;
        expect_refusal(response, "invalid_param", "name").await;
    }
    // The same in a nested member, a form and a multipart text field.
    let response = app
        .post_json(
            "/api/v1.0/customers",
            &json!({"reference": "NUL-2", "name": "Ok", "contacts": [{"name": "x\u{0}"}]}),
        )
        .await;
    expect_refusal(response, "invalid_param", "contacts[0].name").await;
    let response = app
        .post_form(
            "/api/v1.0/customers",
            &[("reference", "NUL-3"), ("name", "a\u{0}b")],
        )
        .await;
    expect_refusal(response, "invalid_param", "name").await;
    let form = reqwest::multipart::Form::new()
        .text("reference", "NUL-4")
        .text("name", "a\u{0}b");
    let response = app
        .request(Method::POST, "/api/v1.0/customers")
        .multipart(form)
        .send()
        .await
        .unwrap();
    expect_refusal(response, "invalid_param", "name").await;
    // Money moves refuse it too, before anything is written.
    let kept = app.get_json("/api/v1.0/customers/reference/KEEP").await;
    let payments = format!("/api/v1.0/customers/{}/account/payments", kept["id"]);
    let response = app
        .post_json(&payments, &json!({"amount": 5, "description": "a\u{0}"}))
        .await;
    expect_refusal(response, "invalid_param", "description").await;
    // Paths and filters, reads included.
    expect_refusal(
        app.get("/api/v1.0/customers/reference/a%00b").await,
        "invalid_param",
        "a%00b",
    )
    .await;
    expect_refusal(
        app.get("/api/v1.0/customers/reference/a%01b").await,
        "invalid_param",
        "a%01b",
    )
    .await;
    expect_refusal(
        app.get("/api/v1.0/customers?name=a%00b").await,
        "invalid_param",
        "name",
    )
    .await;
    expect_refusal(
        app.get("/api/v1.0/customers/search?q=a%00b").await,
        "invalid_param",
        "q",
    )
    .await;
    let marketplace = app.get("/api/marketplace/v2/products/a%00b").await;
    let body = expect_json(marketplace, 400).await;
    let errors = &body["product_response"]["request_status"]["errors"];
    assert_eq!(errors[0]["code"], "invalid_param", "body: {body}");
    // Nothing was stored, and tabs and newlines are still text.
    assert_eq!(customer_count(&app).await, before);
    let account = app
        .get_json(&format!("/api/v1.0/customers/{}/account", kept["id"]))
        .await;
    assert_eq!(account["balance"].to_string(), "0.00");
    app.create_customer(&json!({"reference": "TAB", "name": "Tab", "comment": "a\tb\r\nc"}))
        .await;
}

async fn duplicate_json_keys_are_refused_at_any_depth(app: TestApp) {
    let before = customer_count(&app).await;
    let response = send_raw(
        &app,
        Method::POST,
        "/api/v1.0/customers",
        "application/json",
        br#"{"reference":"A","reference":"B","name":"Dup"}"#,
    )
    .await;
    let body = expect_json(response, 400).await;
    assert_eq!(body["error"], "invalid_param");
    assert_eq!(
        body["error_description"],
        "The key reference appears more than once in the same JSON object."
    );
    let response = send_raw(
        &app,
        Method::POST,
        "/api/v1.0/customers",
        "application/json",
        br#"{"reference":"A","name":"Dup","contacts":[{"name":"x","email":"a@b.c","email":"d@e.f"}]}"#,
    )
    .await;
    expect_refusal(response, "invalid_param", "contacts[0].email").await;
    // JSON text inside a form field is held to the same rule.
    let response = app
        .post_form(
            "/api/v1.0/customers",
            &[
                ("reference", "A"),
                ("name", "Dup"),
                ("contacts", r#"[{"name":"x","name":"y"}]"#),
            ],
        )
        .await;
    expect_refusal(response, "invalid_param", "contacts[0].name").await;
    assert_eq!(customer_count(&app).await, before);
    // The marketplace answers in its envelope.
    let response = send_raw(
        &app,
        Method::POST,
        "/api/marketplace/v2/customer/tasks",
        "application/json",
        br#"{"quantity":1,"quantity":2}"#,
    )
    .await;
    let body = expect_json(response, 400).await;
    let status = &body["task_response"]["request_status"];
    assert_eq!(status["errors"][0]["code"], "invalid_param", "body: {body}");
    assert!(
        status["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("quantity"),
        "body: {body}"
    );
}

async fn forms_must_be_strictly_encoded_utf_8(app: TestApp) {
    let before = customer_count(&app).await;
    let form = "application/x-www-form-urlencoded";
    for (body, field) in [
        (&b"reference=F1&name=%zz"[..], "name"),
        (&b"reference=F1&name=abc%"[..], "name"),
        (&b"reference=F1&name=%FF%FE"[..], "name"),
        (&b"reference=F1&name=\xff"[..], "name"),
        (&b"reference=%4&name=x"[..], "reference"),
    ] {
        let response = send_raw(&app, Method::POST, "/api/v1.0/customers", form, body).await;
        expect_refusal(response, "invalid_param", field).await;
    }
    // Invalid UTF-8 in a multipart text field.
    let part = reqwest::multipart::Part::bytes(vec![b'a', 0xff, b'b']);
    let multipart = reqwest::multipart::Form::new()
        .text("reference", "F2")
        .part("name", part);
    let response = app
        .request(Method::POST, "/api/v1.0/customers")
        .multipart(multipart)
        .send()
        .await
        .unwrap();
    expect_refusal(response, "invalid_param", "name").await;
    assert_eq!(customer_count(&app).await, before);
    // A strictly encoded form still works, `+` and `%20` alike.
    let response = send_raw(
        &app,
        Method::POST,
        "/api/v1.0/customers",
        form,
        b"reference=F3&name=Caf%C3%A9+du%20Port",
    )
    .await;
    let created = expect_json(response, 201).await;
    assert_eq!(created["name"], "Café du Port");
}

async fn dates_outside_iso_8601_are_refused(app: TestApp) {
    for filter in [
        "dateCreated_gt=2023-01-01T00:00:60Z",
        "lastUpdated_lte=2016-12-31T23:59:60Z",
        "dateCreated_gte=0000-01-01T00:00:00Z",
    ] {
        let response = app.get(&format!("/api/v1.0/customers?{filter}")).await;
        let body = expect_json(response, 400).await;
        assert_eq!(body["error"], "invalid_datetime_format", "{filter}: {body}");
    }
    app.get_json("/api/v1.0/customers?dateCreated_gt=2023-01-01T00:00:59Z")
        .await;
}

async fn roles_are_checked_before_the_body(app: TestApp) {
    let root = app.add_customer("RS", "Reseller").await;
    let child = app.add_sub_customer("RS1", "Child", &root).await;
    let reseller = app.key_for("reseller", &root).await;
    let customer = app.key_for("customer", &child).await;
    let send = |key: &str, method: Method, path: &str, body: &'static str| {
        app.with_key(key, method, path)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    // An operator's function: incomplete, malformed, strict-rule-breaking or complete, the
    // answer is the same 403.
    for body in [
        "{}",
        "{",
        r#"{"titles":{"en":"x"},"titles":{"en":"y"}}"#,
        r#"{"titles": {"en": "Text"}, "price": 1.00, "currency": "EUR", "available": true, "attributes": []}"#,
    ] {
        for path in [
            "/api/v1.0/products/TEXT",
            "/api/v1.0/customerCategories",
            "/api/v1.0/tasks/1/state",
        ] {
            let method = if path.contains("products") {
                Method::PUT
            } else {
                Method::POST
            };
            let response = send(&reseller, method, path, body).await.unwrap();
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            assert_eq!(status, 403, "{path} with {body}: {text}");
            let error: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(error["error"], "forbidden");
        }
        // The back office is not a customer's: same rule.
        let response = send(&customer, Method::POST, "/api/v1.0/customers", body)
            .await
            .unwrap();
        assert_eq!(
            response.status().as_u16(),
            403,
            "POST /customers with {body}"
        );
    }
    // A customer key's path and query are not validated before the role either, on any
    // back-office route but its own customer's.
    for path in [
        "/api/v1.0/customers?max=abc&nope=1",
        "/api/v1.0/customers/abc",
        &format!("/api/v1.0/customers/{}/account?at=yesterday", child["id"]),
        "/api/v1.0/customers/reference/a%00b",
        "/api/v1.0/documents/not-a-uuid",
        "/api/v1.0/events?after=x",
    ] {
        let response = app.get_with_key(&customer, path).await;
        assert_eq!(response.status().as_u16(), 403, "{path}");
    }
    let own = app.get_with_key(&customer, "/api/v1.0/customers/me").await;
    assert_eq!(own.status().as_u16(), 200);
    let write = send(&customer, Method::POST, "/api/v1.0/customers/me", "{}")
        .await
        .unwrap();
    assert_eq!(write.status().as_u16(), 403, "only a read of its own");
    // The admin, with the incomplete body, learns what is missing.
    let response = app
        .send_json(Method::PUT, "/api/v1.0/products/TEXT", &json!({}))
        .await;
    assert_eq!(response.status().as_u16(), 400);
}

fn exact(value: &Value) -> String {
    value.to_string().trim_matches('"').to_owned()
}

async fn balance(app: &TestApp, id: &Value) -> String {
    let account = app
        .get_json(&format!("/api/v1.0/customers/{id}/account"))
        .await;
    exact(&account["balance"])
}

/// An exact JSON number of a 2-decimal currency, in cents.
fn cents(value: &Value) -> i64 {
    let text = exact(value);
    let (units, fraction) = text.split_once('.').unwrap_or((&text, "00"));
    let sign = if units.starts_with('-') { -1 } else { 1 };
    let units: i64 = units.trim_start_matches('-').parse().expect("units");
    let fraction: i64 = format!("{fraction:0<2}")[..2].parse().expect("cents");
    sign * (units * 100 + fraction)
}

/// The balance equals what the ledger adds up to.
async fn assert_ledger_matches(app: &TestApp, id: &Value) {
    let ledger = app
        .get_json(&format!("/api/v1.0/customers/{id}/account/ledger?max=1000"))
        .await;
    let sum: i64 = ledger["data"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|entry| cents(&entry["amount"]))
        .sum();
    assert_eq!(sum, cents(&json!(balance(app, id).await)), "{ledger}");
}

async fn idempotency_keys_belong_to_the_caller_not_the_route(app: TestApp) {
    let first = app.add_customer("K1", "One").await;
    let second = app.add_customer("K2", "Two").await;
    let post = |path: String, key: &'static str| {
        app.request(Method::POST, &path)
            .header("Idempotency-Key", key)
            .json(&json!({"amount": 25, "description": "same body"}))
            .send()
    };
    let account = |id: &Value, what: &str| format!("/api/v1.0/customers/{id}/account/{what}");
    let paid = post(account(&first["id"], "payments"), "k-shared")
        .await
        .unwrap();
    assert_eq!(paid.status().as_u16(), 201);
    let first_answer = paid.text().await.unwrap();
    // Another route, the same key and body: refused, nothing moves.
    let charged = post(account(&first["id"], "charges"), "k-shared")
        .await
        .unwrap();
    let body: Value = charged.json().await.unwrap();
    assert_eq!(body["error"], "idempotency_key_reused", "body: {body}");
    // Another customer: refused too.
    let other = post(account(&second["id"], "payments"), "k-shared")
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 422);
    // The very same request is still a replay.
    let replay = post(account(&first["id"], "payments"), "k-shared")
        .await
        .unwrap();
    assert_eq!(replay.status().as_u16(), 201);
    assert_eq!(
        replay.text().await.unwrap(),
        first_answer,
        "the first answer"
    );
    assert_eq!(balance(&app, &first["id"]).await, "25.00", "moved once");
    assert_eq!(balance(&app, &second["id"]).await, "0.00");
    assert_ledger_matches(&app, &first["id"]).await;
    assert_ledger_matches(&app, &second["id"]).await;
}

async fn a_replacement_that_omits_the_credit_limit_keeps_it(app: TestApp) {
    let customer = app
        .create_customer(
            &json!({"reference": "PUT-1", "name": "Put", "creditLimit": 3000, "email": "a@b.c"}),
        )
        .await;
    let path = format!("/api/v1.0/customers/{}", customer["id"]);
    let replaced = app
        .send_ok(
            Method::PUT,
            &path,
            &json!({"reference": "PUT-1", "name": "Put again"}),
        )
        .await;
    assert_eq!(exact(&replaced["creditLimit"]), "3000.00", "{replaced}");
    // Other omitted fields are still reset.
    assert_eq!(replaced["email"], Value::Null, "{replaced}");
    let account = app.get_json(&format!("{path}/account")).await;
    assert_eq!(exact(&account["creditLimit"]), "3000.00");
    // Named, it changes.
    let replaced = app
        .send_ok(
            Method::PUT,
            &path,
            &json!({"reference": "PUT-1", "name": "Put", "creditLimit": 10}),
        )
        .await;
    assert_eq!(exact(&replaced["creditLimit"]), "10.00");
}
