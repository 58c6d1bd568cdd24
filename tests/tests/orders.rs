//! Products, templates and tasks that spend credit, over real HTTP on both databases:
//! browse, configure, order until the credit runs out, cancel, finish, race, the events each
//! order writes, and the conditional requests products and templates answer.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests panic on a broken environment"
)]

use credence_e2e::{TestApp, etag, expect_error, on_both_backends, xml_answer};
use reqwest::Method;
use serde_json::{Value, json};

on_both_backends!(
    a_customer_orders_until_its_credit_runs_out,
    products_and_templates_answer_conditional_requests,
    racing_task_submissions_never_overdraw,
    a_template_is_checked_against_the_product_when_a_task_is_submitted,
    a_replayed_order_says_where_its_task_lives,
    the_back_office_catalog_is_the_admins
);

const MARKET: &str = "/api/marketplace/v2";

async fn put_product(app: &TestApp, code: &str, price: &str) {
    put_product_with_languages(app, code, price, &["de", "en"]).await;
}

/// The research product, offering `languages` as the options of its one mandatory attribute.
async fn put_product_with_languages(app: &TestApp, code: &str, price: &str, languages: &[&str]) {
    let response = app
        .request(Method::PUT, &format!("/api/v1.0/products/{code}"))
        .json(&product_body(price, languages))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert!(
        status == 201 || status == 200,
        "{status}: {}",
        response.text().await.unwrap()
    );
}

/// The body of the research product at `price`, offering `languages`.
fn product_body(price: &str, languages: &[&str]) -> Value {
    let options: Vec<Value> = languages
        .iter()
        .map(|l| json!({"titles": {"en": l.to_uppercase()}, "value": l}))
        .collect();
    json!({
        "titles": {"en": "Product Research", "de": "Produktrecherche"},
        "descriptions": {"en": "Identify product details using a Internet search."},
        "available": true,
        "price": price,
        "currency": "EUR",
        "attributes": [{
            "code": "research_language", "type": "option", "is_mandatory": true,
            "titles": {"en": "Research Language"},
            "helps": {"en": "Defines the language to use for creating the research result."},
            "options": options
        }]
    })
}

/// A customer with a credit limit, and a customer key for it.
async fn customer_with_key(app: &TestApp, reference: &str, limit: &str) -> (Value, String) {
    let customer = app
        .create_customer(&json!({"reference": reference, "name": reference, "creditLimit": limit}))
        .await;
    let user = app.create("/api/v1.0/users", &json!({"reference": format!("{reference}-user"), "name": "Buyer", "role": "customer", "customerId": customer["id"]})).await;
    let key = app
        .create(&format!("/api/v1.0/users/{}/keys", user["id"]), &json!({}))
        .await;
    (customer, key["secret"].as_str().unwrap().to_owned())
}

async fn template(
    app: &TestApp,
    key: &str,
    code: &str,
    product: &str,
    language: &str,
) -> reqwest::Response {
    let body = json!({"code": code, "name": "Research", "product": {"code": product, "attributes": [{"code": "research_language", "value": language}]}});
    app.with_key(
        key,
        Method::POST,
        &format!("{MARKET}/customer/task_templates"),
    )
    .json(&body)
    .send()
    .await
    .unwrap()
}

/// Saves a template of the research product in `language`, which must succeed.
async fn saved_template(app: &TestApp, key: &str, code: &str, language: &str) {
    let response = template(app, key, code, "product_research", language).await;
    let status = response.status().as_u16();
    assert_eq!(status, 201, "{}", response.text().await.unwrap());
}

async fn submit(app: &TestApp, key: &str, template: &str) -> reqwest::Response {
    let body = json!({"customer_ref": "po-1", "template": {"code": template}, "input": [{"item_code": "q", "item_content": "shoes"}], "quantity": 1});
    app.with_key(key, Method::POST, &format!("{MARKET}/customer/tasks"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn available(app: &TestApp, customer: &Value) -> String {
    let account = app
        .get_json(&format!("/api/v1.0/customers/{}/account", customer["id"]))
        .await;
    account["availableCredit"].to_string()
}

async fn a_customer_orders_until_its_credit_runs_out(app: TestApp) {
    put_product(&app, "product_research", "40.00").await;
    let (customer, key) = customer_with_key(&app, "BUYER", "100").await;

    let index = app.get_with_key(&key, &format!("{MARKET}/products/")).await;
    assert_eq!(index.status().as_u16(), 200);
    let index: Value = index.json().await.unwrap();
    assert_eq!(
        index["products_response"]["request_status"]["status"],
        "success"
    );
    assert_eq!(
        index["products_response"]["products"][0]["code"],
        "product_research"
    );
    let path = format!("{MARKET}/products/product_research");
    let (_, detail) = xml_answer(app.with_key(&key, Method::GET, &path)).await;
    assert!(
        detail.contains("<product_response>")
            && detail.contains("<value>de</value>")
            && detail.contains("<is_mandatory>true</is_mandatory>"),
        "{detail}"
    );
    let missing = app
        .get_with_key(&key, &format!("{MARKET}/products/nope"))
        .await;
    assert_eq!(missing.status().as_u16(), 404);

    let bad = template(&app, &key, "r-it", "product_research", "it").await;
    assert_eq!(bad.status().as_u16(), 400);
    assert!(
        bad.text().await.unwrap().contains("research_language"),
        "the failure names its attribute"
    );
    saved_template(&app, &key, "r-de", "de").await;

    let first: Value = submit(&app, &key, "r-de").await.json().await.unwrap();
    let task = &first["task_response"]["task"];
    assert_eq!(
        (task["amount"].to_string(), task["state"].clone()),
        ("40.00".into(), json!("submitted")),
        "{first}"
    );
    let second: Value = submit(&app, &key, "r-de").await.json().await.unwrap();
    assert_eq!(available(&app, &customer).await, "20.00");
    let refused = submit(&app, &key, "r-de").await;
    assert_eq!(refused.status().as_u16(), 422);
    let refused = refused.text().await.unwrap();
    assert!(
        refused.contains("credit_limit_exceeded")
            && refused.contains("20.00")
            && refused.contains("40.00"),
        "both amounts: {refused}"
    );

    let cancel = format!("{MARKET}/customer/tasks/{}/cancel", task["id"]);
    let cancelled: Value = app
        .with_key(&key, Method::POST, &cancel)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cancelled["task_response"]["task"]["state"], "cancelled");
    assert_eq!(
        available(&app, &customer).await,
        "60.00",
        "a cancelled task gives its credit back"
    );
    assert_eq!(
        app.with_key(&key, Method::POST, &cancel)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        409,
        "cancelled is final"
    );

    let other = &second["task_response"]["task"]["id"];
    for state in ["in_progress", "finished"] {
        let moved = app
            .post_json(
                &format!("/api/v1.0/tasks/{other}/state"),
                &json!({"state": state}),
            )
            .await;
        assert_eq!(moved.status().as_u16(), 200, "{state}");
    }
    let account = app
        .get_json(&format!("/api/v1.0/customers/{}/account", customer["id"]))
        .await;
    assert_eq!(
        (
            account["balance"].to_string(),
            account["reservedAmount"].to_string()
        ),
        ("-40.00".into(), "0.00".into()),
        "finishing captures"
    );
    let listed: Value = app
        .get_with_key(&key, &format!("{MARKET}/customer/tasks?state=finished"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        listed.to_string().contains(&format!("\"id\":{other}")),
        "{listed}"
    );

    // Each submission and each move is an event on the customer's feed, carrying the task
    // as it stood after the change; the refused order submitted nothing.
    let feed = format!("/api/v1.0/events?customerId={}&type=task.*", customer["id"]);
    let expected = [
        ("task.submitted", "submitted"),
        ("task.submitted", "submitted"),
        ("task.state_changed", "cancelled"),
        ("task.state_changed", "in_progress"),
        ("task.state_changed", "finished"),
    ];
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let events = loop {
        let page = app.get_json(&feed).await;
        let events = page["data"].as_array().expect("events").clone();
        if events.len() >= expected.len() || tokio::time::Instant::now() > deadline {
            break events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let seen: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap_or_default(),
                e["data"]["object"]["state"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(seen, expected, "{events:?}");
    assert_eq!(events[0]["data"]["object"]["id"], task["id"]);
    assert_eq!(events[4]["data"]["object"]["id"], *other);
}

async fn racing_task_submissions_never_overdraw(app: TestApp) {
    put_product(&app, "product_research", "100.00").await;
    let (customer, key) = customer_with_key(&app, "RACER", "1000").await;
    saved_template(&app, &key, "r-en", "en").await;
    let attempts = (0..20).map(|_| {
        let (app, key) = (&app, &key);
        async move { submit(app, key, "r-en").await.status().as_u16() }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    let admitted = statuses.iter().filter(|s| **s == 201).count();
    assert_eq!(
        (admitted, statuses.iter().filter(|s| **s == 422).count()),
        (10, 10),
        "{statuses:?}"
    );
    assert_eq!(available(&app, &customer).await, "0.00");
}

/// A product changed after a template was saved: the task is checked against the product as
/// it is now, refused with `400` naming the attribute and nothing reserved; once the product
/// offers the value again, the same template orders.
async fn a_template_is_checked_against_the_product_when_a_task_is_submitted(app: TestApp) {
    put_product(&app, "product_research", "15.00").await;
    let (customer, key) = customer_with_key(&app, "CHANGED", "100.00").await;
    saved_template(&app, &key, "r-de", "de").await;
    put_product_with_languages(&app, "product_research", "15.00", &["en"]).await;
    let refused = submit(&app, &key, "r-de").await;
    let status = refused.status().as_u16();
    let body = refused.text().await.unwrap();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("research_language"), "{body}");
    assert_eq!(
        available(&app, &customer).await,
        "100.00",
        "nothing reserved"
    );

    put_product_with_languages(&app, "product_research", "15.00", &["de", "en"]).await;
    assert_eq!(submit(&app, &key, "r-de").await.status().as_u16(), 201);
    assert_eq!(available(&app, &customer).await, "85.00");
}

/// An order repeated with its `Idempotency-Key` answers the first `201` again, `Location`
/// included, though the key's record keeps only the body.
async fn a_replayed_order_says_where_its_task_lives(app: TestApp) {
    put_product(&app, "product_research", "10.00").await;
    let (_, key) = customer_with_key(&app, "REPLAY", "100").await;
    saved_template(&app, &key, "r-de", "de").await;
    let body = json!({"customer_ref": "po-9", "template": {"code": "r-de"}, "input": [{"item_code": "q", "item_content": "shoes"}], "quantity": 1});
    let send = || {
        app.with_key(&key, Method::POST, &format!("{MARKET}/customer/tasks"))
            .header("Idempotency-Key", "order-once")
            .json(&body)
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status().as_u16(), 201);
    let location = first.headers()["location"].to_str().unwrap().to_owned();
    let again = send().await.unwrap();
    assert_eq!(again.status().as_u16(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["location"].to_str().unwrap(), location);
    let task = app.get_with_key(&key, &location).await;
    assert_eq!(task.status().as_u16(), 200);
}

/// Products as the back office manages them, with their prices and withdrawn ones, are the
/// admins': a reseller or a customer key is refused every route of theirs, reads included,
/// and the marketplace still shows them the product.
async fn the_back_office_catalog_is_the_admins(app: TestApp) {
    put_product(&app, "product_research", "40.00").await;
    let root = app.add_customer("CATALOG", "Reseller").await;
    let child = app.add_sub_customer("CATALOG1", "Child", &root).await;
    let reseller = app.key_for("reseller", &root).await;
    let customer = app.key_for("customer", &child).await;
    let path = "/api/v1.0/products/product_research";
    for key in [&reseller, &customer] {
        for (method, route) in [
            (Method::GET, "/api/v1.0/products"),
            (Method::GET, path),
            (Method::DELETE, path),
        ] {
            expect_error(
                app.with_key(key, method.clone(), route)
                    .send()
                    .await
                    .unwrap(),
                403,
                "forbidden",
                "You are not allowed to use this function.",
            )
            .await;
        }
        let market = app
            .get_with_key(key, &format!("{MARKET}/products/product_research"))
            .await;
        assert_eq!(market.status().as_u16(), 200);
        let shown: Value = market.json().await.unwrap();
        assert!(shown.to_string().contains("product_research"), "{shown}");
    }
    // Nothing was withdrawn by the refused deletes.
    assert_eq!(app.get_json(path).await["available"], true);
}

/// `request` with one more header, sent.
async fn with(request: reqwest::RequestBuilder, header: (&str, &str)) -> reqwest::Response {
    request.header(header.0, header.1).send().await.unwrap()
}

/// Products and task templates are tagged like customers: a read answers `304` while the
/// client's copy is current; a write with `If-Match` goes through only while the resource
/// still shows that tag, so of two writers holding one tag the second gets `412`.
async fn products_and_templates_answer_conditional_requests(app: TestApp) {
    put_product(&app, "product_research", "40.00").await;
    let path = "/api/v1.0/products/product_research";
    let tag = etag(&app.get(path).await);
    let current = with(app.request(Method::GET, path), ("If-None-Match", &tag)).await;
    assert_eq!(current.status().as_u16(), 304);
    assert_eq!(etag(&current), tag);

    let put = |price: &str| {
        app.request(Method::PUT, path)
            .json(&product_body(price, &["de", "en"]))
    };
    let first = with(put("41.00"), ("If-Match", &tag)).await;
    assert_eq!(first.status().as_u16(), 200);
    let new_tag = etag(&first);
    assert_ne!(new_tag, tag);
    assert_eq!(
        etag(&app.get(path).await),
        new_tag,
        "the write's tag is a read's"
    );
    expect_error(
        with(put("42.00"), ("If-Match", &tag)).await,
        412,
        "precondition_failed",
        "The product has changed since it was read; read it again and repeat the change.",
    )
    .await;
    let shown = app.get_json(path).await;
    assert_eq!(shown["price"].to_string(), "41.00", "{shown}");
    let stale = with(app.request(Method::GET, path), ("If-None-Match", &tag)).await;
    assert_eq!(stale.status().as_u16(), 200);
    // `If-Match` never creates; a withdrawal of nothing is `404` as without it.
    let created = with(
        app.request(Method::PUT, "/api/v1.0/products/new_one")
            .json(&product_body("1.00", &["de"])),
        ("If-Match", "*"),
    )
    .await;
    assert_eq!(created.status().as_u16(), 412);
    assert_eq!(app.get("/api/v1.0/products/new_one").await.status(), 404);
    let nothing = with(
        app.request(Method::DELETE, "/api/v1.0/products/nope"),
        ("If-Match", &new_tag),
    )
    .await;
    assert_eq!(nothing.status().as_u16(), 404);
    // The marketplace's view of a product has a tag of its own.
    let market = format!("{MARKET}/products/product_research");
    let (_, key) = customer_with_key(&app, "TAGGED", "100").await;
    let market_tag = etag(&app.get_with_key(&key, &market).await);
    let unchanged = with(
        app.with_key(&key, Method::GET, &market),
        ("If-None-Match", &market_tag),
    )
    .await;
    assert_eq!(unchanged.status().as_u16(), 304);

    // A template.
    saved_template(&app, &key, "r-de", "de").await;
    let template = format!("{MARKET}/customer/task_templates/r-de");
    let tag = etag(&app.get_with_key(&key, &template).await);
    let current = with(
        app.with_key(&key, Method::GET, &template),
        ("If-None-Match", &tag),
    )
    .await;
    assert_eq!(current.status().as_u16(), 304);
    let body = json!({"name": "Renamed", "product": {"code": "product_research", "attributes": [{"code": "research_language", "value": "en"}]}});
    let renamed = with(
        app.with_key(&key, Method::PUT, &template).json(&body),
        ("If-Match", &tag),
    )
    .await;
    assert_eq!(renamed.status().as_u16(), 200);
    let new_tag = etag(&renamed);
    assert_eq!(etag(&app.get_with_key(&key, &template).await), new_tag);
    let refused = with(
        app.with_key(&key, Method::PUT, &template).json(&body),
        ("If-Match", &tag),
    )
    .await;
    assert_eq!(refused.status().as_u16(), 412);
    let refused = refused.text().await.unwrap();
    assert!(refused.contains("precondition_failed"), "{refused}");
    let kept = with(
        app.with_key(&key, Method::DELETE, &template),
        ("If-Match", &tag),
    )
    .await;
    assert_eq!(kept.status().as_u16(), 412);
    let deleted = with(
        app.with_key(&key, Method::DELETE, &template),
        ("If-Match", &new_tag),
    )
    .await;
    assert_eq!(deleted.status().as_u16(), 200);
    assert_eq!(
        app.get_with_key(&key, &template).await.status().as_u16(),
        404
    );
}
