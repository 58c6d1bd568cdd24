//! Seed 002's customer resource over real HTTP: every status code and error text it lists.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests panic on a broken environment"
)]

use credence_e2e::{
    TestApp, content_type, expect_delete_failed, expect_error, expect_json, expect_not_found,
    expect_wrong_type, on_both_backends, xml_answer,
};
use reqwest::Method;
use serde_json::{Value, json};

on_both_backends!(
    lifecycle_create_show_update_delete,
    create_validation_errors_use_seed_texts,
    references_resolve_by_id_or_external_id,
    currencies_must_exist_and_be_configured,
    hierarchy_refuses_self_parent_and_cycles,
    list_pages_filters_and_sorts,
    list_rejects_bad_parameters,
    wildcards_treat_percent_underscore_and_backslash_literally,
    upsert_creates_then_updates,
    racing_creates_and_upserts_never_fail_with_500,
    put_replaces_or_creates_by_uuid,
    delete_is_refused_while_sub_customers_live,
    form_and_multipart_bodies_reach_the_same_rules,
    bad_bodies_get_4xx_in_the_seed_shape,
    xml_when_the_client_asks_for_it,
);

async fn lifecycle_create_show_update_delete(app: TestApp) {
    let created = app
        .create_customer(&json!({
            "reference": "NC-3", "name": "Marie's Jewelry", "billingCountry": "France", "billingCity": "Nice",
            "creditLimit": 5000, "dueDateConfigNumber": 7, "dueDateConfigType": 1, "email": "marie@example.fr",
            "customerRiskColor": "#1be9d8", "contacts": [{"name": "Marie", "email": "m@example.fr", "phone": "+33 1"}]
        }))
        .await;
    let id = created["id"].as_i64().expect("a numeric id");
    let uuid = created["uuid"].as_str().expect("a uuid").to_owned();
    assert_eq!(created["reference"], "NC-3");
    assert_eq!(
        created["billingCountry"], "FR",
        "English names are stored as alpha-2"
    );
    assert_eq!(
        created["creditLimit"].to_string(),
        "5000.00",
        "money is written with the currency scale"
    );
    assert_eq!(created["isCredit"], true);
    assert_eq!(created["dueDateConfigType"], "daysAfterInvoiceDate");
    assert_eq!(created["dueDateConfigNumber"], 7);
    assert_eq!(created["customerRiskColor"], "#1BE9D8");
    assert_eq!(created["currency"], "EUR");
    assert_eq!(created["organization"], "entity1");
    assert_eq!(created["isActive"], true);
    assert_eq!(created["isSubCustomer"], false);
    assert_eq!(
        created["customerCategory"]["reference"], "root",
        "new customers go to the root category"
    );
    assert_eq!(created["contacts"][0]["email"], "m@example.fr");
    let created_at = created["dateCreated"].as_str().expect("a timestamp");
    assert!(
        created_at.len() == 20 && created_at.ends_with('Z'),
        "YYYY-MM-DDTHH:MM:SSZ, got {created_at}"
    );

    for path in [
        format!("/api/v1.0/customers/{id}"),
        format!("/api/v1.0/customers/{uuid}"),
        "/api/v1.0/customers/reference/NC-3".into(),
    ] {
        let shown = app.get_json(&path).await;
        assert_eq!(shown, created, "{path} shows the same customer");
    }

    let patched = app
        .send_ok(
            Method::PATCH,
            &format!("/api/v1.0/customers/{id}"),
            &json!({"city": "Lyon", "email": null}),
        )
        .await;
    assert_eq!(patched["city"], "Lyon");
    assert_eq!(patched["email"], Value::Null, "null clears a field");
    assert_eq!(patched["name"], "Marie's Jewelry", "absent fields are kept");
    assert_eq!(patched["creditLimit"].to_string(), "5000.00");

    let posted = expect_json(
        app.post_json(
            &format!("/api/v1.0/customers/{id}"),
            &json!({"name": "Marie & Co"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(posted["name"], "Marie & Co");
    assert_eq!(posted["city"], "Lyon");
    let by_ref = app
        .send_ok(
            Method::PATCH,
            "/api/v1.0/customers/reference/NC-3",
            &json!({"onHold": true, "onHoldReason": "unpaid"}),
        )
        .await;
    assert_eq!(by_ref["onHold"], true);
    assert_eq!(by_ref["onHoldReason"], "unpaid");

    let deleted = expect_json(app.delete(&format!("/api/v1.0/customers/{id}")).await, 200).await;
    assert_eq!(
        deleted,
        json!({"success": "true", "success_description": "Instance deleted successfully"})
    );
    expect_not_found(
        app.get(&format!("/api/v1.0/customers/{id}")).await,
        &format!("The customer with the id {id} doesn't exist."),
    )
    .await;
    expect_not_found(
        app.get("/api/v1.0/customers/reference/NC-3").await,
        "The customer with the id NC-3 doesn't exist.",
    )
    .await;
    expect_not_found(
        app.delete(&format!("/api/v1.0/customers/{id}")).await,
        &format!("The customer with the id {id} doesn't exist."),
    )
    .await;

    let again = app.add_customer("NC-3", "Reborn").await;
    assert_ne!(
        again["id"], created["id"],
        "an archived customer's reference can be used again"
    );
    expect_not_found(
        app.get("/api/v1.0/customers/2559").await,
        "The customer with the id 2559 doesn't exist.",
    )
    .await;
    expect_wrong_type(app.get("/api/v1.0/customers/abc").await, "id").await;
}

async fn create_validation_errors_use_seed_texts(app: TestApp) {
    let app = &app;
    let create = |body: Value| async move { app.post_json("/api/v1.0/customers", &body).await };
    for (body, error, description) in [
        (
            json!({"name": "x"}),
            "missing_param",
            "reference parameter is missing",
        ),
        (
            json!({"reference": "r1"}),
            "missing_param",
            "name parameter is missing",
        ),
        (
            json!({"reference": "r1", "name": ""}),
            "invalid_param",
            "Required field name cannot be empty",
        ),
        (
            json!({"reference": "r1", "name": " Acme"}),
            "invalid_param",
            "Improper Customer Name",
        ),
    ] {
        expect_error(create(body).await, 400, error, description).await;
    }
    let long = "x".repeat(256);
    let response = create(json!({"reference": "r1", "name": long})).await;
    assert_eq!(expect_json(response, 400).await["error"], "invalid_param");
    for (field, value) in [
        ("email", json!("not-an-email")),
        ("website", json!("ftp://example.com")),
        ("billingCountry", json!("Atlantis")),
        ("latitude", json!(91)),
        ("billingLng", json!(-181)),
        ("customerRiskColor", json!("red")),
        ("dueDateConfigType", json!(3)),
        ("creditLimit", json!(-1)),
        ("creditLimit", json!(10.001)),
    ] {
        let mut body = json!({"reference": "r1", "name": "Acme"});
        body[field] = value.clone();
        let error = expect_json(create(body).await, 400).await;
        assert_eq!(error["error"], "invalid_param", "{field}={value}: {error}");
        // Every description names its field: an unknown country says which one.
        let description = error["error_description"].as_str().unwrap_or_default();
        assert!(description.contains(field), "{field}={value}: {error}");
    }
    let error = expect_json(
        create(json!({"reference": "r1", "name": "Acme", "country": "Atlantis"})).await,
        400,
    )
    .await;
    let description = error["error_description"].as_str().unwrap_or_default();
    assert!(
        description.starts_with("country") && !description.contains("billingCountry"),
        "{error}"
    );
    let error = expect_json(
        create(json!({"reference": "r1", "name": "Acme", "isActive": "maybe"})).await,
        400,
    )
    .await;
    assert_eq!(
        error["error_description"],
        "The type of parameter isActive you provided is not valid for this request."
    );
    expect_error(
        create(json!({"reference": "r1", "name": "Acme", "dueDateConfigType": 2})).await,
        400,
        "missing_param",
        "dueDateConfigNumber parameter is missing",
    )
    .await;
    app.add_customer("r1", "Acme").await;
    expect_error(
        create(json!({"reference": "r1", "name": "Other"})).await,
        400,
        "not_unique",
        "reference already used",
    )
    .await;
    let listed = app.get_json("/api/v1.0/customers").await;
    assert_eq!(
        listed["paging"]["total"], 1,
        "refused creations wrote nothing: {listed}"
    );
}

/// Creates the payment types `cash` and `cheque`.
async fn cash_and_cheque(app: &TestApp) -> (Value, Value) {
    let path = "/api/v1.0/paymentTypes";
    let cash = json!({"reference": "cash", "name": "cash"});
    let cheque = json!({"reference": "cheque", "name": "cheque"});
    (
        app.create(path, &cash).await,
        app.create(path, &cheque).await,
    )
}

async fn references_resolve_by_id_or_external_id(app: TestApp) {
    let (cash, cheque) = cash_and_cheque(&app).await;
    let seg = app
        .create(
            "/api/v1.0/customerSegmentations",
            &json!({"reference": "seg_a", "name": "Segmentation A"}),
        )
        .await;
    let cat = app
        .create(
            "/api/v1.0/customerCategories",
            &json!({"reference": "jewelry", "name": "Jewelry"}),
        )
        .await;
    let region = app
        .create("/api/v1.0/regions", &json!({"name": "New York"}))
        .await;
    let user = app
        .create(
            "/api/v1.0/users",
            &json!({"reference": "emp-002", "name": "Employee", "role": "admin"}),
        )
        .await;

    let by_id = app
        .create_customer(&json!({
            "reference": "by-id", "name": "By id", "paymentTypes": [{"id": cash["id"]}, {"id": cheque["id"]}],
            "customerSegmentationId": seg["id"], "categoryId": cat["id"], "regionId": region["id"], "userId": user["id"]
        }))
        .await;
    assert_eq!(by_id["paymentTypes"][1]["reference"], "cheque");
    assert_eq!(
        by_id["paymentTypes"][0]["href"],
        format!("/api/v1.0/paymentTypes/{}", cash["id"])
    );
    assert_eq!(by_id["customerSegmentationReference"], "seg_a");
    assert_eq!(by_id["categoryReference"], "jewelry");
    assert_eq!(
        by_id["customerCategory"]["href"],
        format!("/api/v1.0/customerCategories/{}", cat["id"])
    );
    assert_eq!(by_id["region"]["name"], "New York");
    assert_eq!(by_id["createdBy"]["reference"], "emp-002");
    assert_eq!(by_id["createdBy"]["userId"], user["id"]);

    let by_ref = app
        .create_customer(&json!({
            "reference": "by-ref", "name": "By reference", "useExternalId": true, "paymentTypes": [{"id": "cash"}],
            "customerSegmentationId": "seg_a", "categoryId": "jewelry", "parentCustomer": "by-id", "userId": "emp-002"
        }))
        .await;
    assert_eq!(by_ref["paymentTypes"][0]["reference"], "cash");
    assert_eq!(by_ref["categoryReference"], "jewelry");
    assert_eq!(by_ref["isSubCustomer"], true);
    assert_eq!(by_ref["parentCustomer"]["id"], by_id["id"]);

    let app = &app;
    let create = |body: Value| async move { app.post_json("/api/v1.0/customers", &body).await };
    for (body, status, error, description) in [
        (
            json!({"reference": "x", "name": "x", "paymentTypes": [{"id": 999}]}),
            404,
            "not_found",
            "The payment type with the id 999 doesn't exist.",
        ),
        (
            json!({"reference": "x", "name": "x", "paymentTypes": [{"id": "abc"}]}),
            400,
            "invalid_param_type",
            "The type of parameter payment type id you provided is not valid for this request.",
        ),
        (
            json!({"reference": "x", "name": "x", "parentCustomer": 188_911}),
            404,
            "not_found",
            "The parent customer with the id 188911 doesn't exist.",
        ),
        (
            json!({"reference": "x", "name": "x", "categoryId": 4242}),
            404,
            "not_found",
            "The customer category with the id 4242 doesn't exist.",
        ),
        (
            json!({"reference": "x", "name": "x", "useExternalId": true, "customerSegmentationId": "nope"}),
            404,
            "not_found",
            "The customer segmentation with the id nope doesn't exist.",
        ),
    ] {
        expect_error(create(body).await, status, error, description).await;
    }

    // Reference rows in use are not deleted.
    for path in [
        format!("/api/v1.0/paymentTypes/{}", cash["id"]),
        format!("/api/v1.0/customerCategories/{}", cat["id"]),
    ] {
        expect_delete_failed(app.delete(&path).await).await;
    }
}

async fn currencies_must_exist_and_be_configured(app: TestApp) {
    let app = &app;
    let create = |body: Value| async move { app.post_json("/api/v1.0/customers", &body).await };
    expect_not_found(
        create(json!({"reference": "c", "name": "c", "currency": "GmBP"})).await,
        "The currency with name GmBP doesn't exist.",
    )
    .await;
    expect_not_found(
        create(json!({"reference": "c", "name": "c", "currency": "GBP"})).await,
        "The currency with name GBP is not configured.",
    )
    .await;
    let gbp = app
        .create(
            "/api/v1.0/currencies",
            &json!({"code": "GBP", "exchangeRate": "1.1785"}),
        )
        .await;
    assert_eq!(gbp["code"], "GBP");
    assert_eq!(
        gbp["exchangeRate"].to_string().trim_matches('"'),
        "1.1785",
        "rates are kept exactly"
    );
    let customer = app
        .create_customer(
            &json!({"reference": "c", "name": "c", "currency": "gbp", "creditLimit": "12.50"}),
        )
        .await;
    assert_eq!(customer["currency"], "GBP");
    assert_eq!(customer["creditLimit"].to_string(), "12.50");
    let listed = app.get_json("/api/v1.0/currencies").await;
    assert_eq!(
        listed["paging"]["total"], 2,
        "EUR (the organization currency) and GBP: {listed}"
    );
    expect_delete_failed(app.delete("/api/v1.0/currencies/EUR").await).await;
}

async fn hierarchy_refuses_self_parent_and_cycles(app: TestApp) {
    let a = app.add_customer("a", "A").await;
    let b = app.add_sub_customer("b", "B", &a).await;
    let c = app.create_customer(&json!({"reference": "c", "name": "C", "isSubCustomer": true, "parentCustomer": b["id"]})).await;
    assert_eq!(c["parentCustomer"]["reference"], "b");
    let text = "The customer cannot be a subcustomer of itself.";
    let path = format!("/api/v1.0/customers/{}", a["id"]);
    expect_not_found(
        app.post_json(&path, &json!({"parentCustomer": a["id"]}))
            .await,
        text,
    )
    .await;
    expect_not_found(
        app.post_json(&path, &json!({"parentCustomer": c["id"]}))
            .await,
        text,
    )
    .await;
    expect_error(
        app.post_json(
            "/api/v1.0/customers",
            &json!({"reference": "d", "name": "D", "isSubCustomer": true}),
        )
        .await,
        400,
        "missing_param",
        "parentCustomer parameter is missing",
    )
    .await;
    let unchanged = app.get_json(&path).await;
    assert_eq!(
        unchanged["parentCustomer"],
        Value::Null,
        "refused updates changed nothing"
    );
}

async fn list_pages_filters_and_sorts(app: TestApp) {
    for (reference, name) in [
        ("Ref-6", "Alpha"),
        ("Ref-66", "beta"),
        ("XRef-6", "Gamma"),
        ("other", "alphabet"),
    ] {
        app.create_customer(&json!({"reference": reference, "name": name}))
            .await;
    }
    app.create_customer(&json!({"reference": "sleeping", "name": "Sleeper", "isActive": false}))
        .await;

    let page = app.get_json("/api/v1.0/customers?max=2").await;
    assert_eq!(
        page["paging"],
        json!({"total": 5, "max": 2, "offset": 0, "previous": null,
        "next": "/api/v1.0/customers?max=2&offset=2&sort=dateCreated&order=asc"})
    );
    assert_eq!(page["data"].as_array().map(Vec::len), Some(2));
    let next = app
        .get_json(page["paging"]["next"].as_str().expect("next"))
        .await;
    assert_eq!(
        next["paging"]["previous"],
        "/api/v1.0/customers?max=2&offset=0&sort=dateCreated&order=asc"
    );
    assert_eq!(
        next["paging"]["next"],
        "/api/v1.0/customers?max=2&offset=4&sort=dateCreated&order=asc"
    );
    let last = app
        .get_json(next["paging"]["next"].as_str().expect("next"))
        .await;
    assert_eq!(last["paging"]["next"], Value::Null);
    let mut seen: Vec<Value> = [&page, &next, &last]
        .iter()
        .flat_map(|p| p["data"].as_array().cloned().unwrap_or_default())
        .map(|c| c["id"].clone())
        .collect();
    seen.dedup();
    assert_eq!(seen.len(), 5, "paging visits every customer once");

    let names = |body: &Value| {
        body["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|c| c["name"].as_str().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };
    let sorted = app
        .get_json("/api/v1.0/customers?sort=name&order=desc")
        .await;
    assert_eq!(
        names(&sorted),
        ["Sleeper", "Gamma", "beta", "alphabet", "Alpha"]
    );
    let filtered = app
        .get_json("/api/v1.0/customers?reference=ref-6*&sort=reference")
        .await;
    assert_eq!(
        names(&filtered),
        ["Alpha", "beta"],
        "prefix, case-insensitive"
    );
    let middle = app
        .get_json("/api/v1.0/customers?reference=*ef-6&sort=reference")
        .await;
    assert_eq!(names(&middle), ["Alpha", "Gamma"]);
    let exact = app.get_json("/api/v1.0/customers?name=ALPHA").await;
    assert_eq!(names(&exact), ["Alpha"], "no star means exact");
    let inactive = app.get_json("/api/v1.0/customers?isActive=false").await;
    assert_eq!(names(&inactive), ["Sleeper"]);
    let category = app
        .get_json("/api/v1.0/customers?categoryReference=ROO*&max=1")
        .await;
    assert_eq!(category["paging"]["total"], 5);
    let link = category["paging"]["next"].as_str().expect("a next link");
    assert!(
        link.starts_with(
            "/api/v1.0/customers?max=1&offset=1&sort=dateCreated&order=asc&categoryReference=ROO"
        ),
        "filters follow the paging: {link}"
    );
    let future = app
        .get_json("/api/v1.0/customers?dateCreated_gt=2999-01-01T00:00:00Z")
        .await;
    assert_eq!(future["paging"]["total"], 0);
    let past = app.get_json("/api/v1.0/customers?dateCreated_gte=2015-12-17T23:00:00Z&lastUpdated_lte=2999-01-01T00:00:00Z").await;
    assert_eq!(past["paging"]["total"], 5);
}

async fn list_rejects_bad_parameters(app: TestApp) {
    expect_error(
        app.get("/api/v1.0/customers?dateCreated_gta=1&foo=2").await,
        400,
        "invalid_param",
        "The parameters [dateCreated_gta, foo] you provided are not valid for this request.",
    )
    .await;
    expect_error(
        app.get("/api/v1.0/customers?dateCreated_gt=2016-08-1Z")
            .await,
        400,
        "invalid_datetime_format",
        "Invalid datetime filter (not ISO-8601 formatted): [2016-08-1Z]",
    )
    .await;
    assert_eq!(
        expect_json(app.get("/api/v1.0/customers?max=1001").await, 400).await["error"],
        "invalid_param"
    );
    expect_wrong_type(app.get("/api/v1.0/customers?max=ten").await, "max").await;
    expect_wrong_type(app.get("/api/v1.0/customers?offset=1.5").await, "offset").await;
    assert_eq!(
        expect_json(app.get("/api/v1.0/customers?sort=color").await, 400).await["error"],
        "invalid_param"
    );
    assert_eq!(
        expect_json(app.get("/api/v1.0/customers?order=up").await, 400).await["error"],
        "invalid_param"
    );
    let full = app.get_json("/api/v1.0/customers?max=1000").await;
    assert_eq!(full["paging"]["max"], 1000);
}

async fn wildcards_treat_percent_underscore_and_backslash_literally(app: TestApp) {
    for (reference, name) in [("w1", "50%_off\\x"), ("w2", "50xyoffax"), ("w3", "500 off")] {
        app.create_customer(&json!({"reference": reference, "name": name}))
            .await;
    }
    let app = &app;
    let count = |query: &'static str| async move {
        let body = app
            .get_json(&format!("/api/v1.0/customers?name={query}"))
            .await;
        body["paging"]["total"].as_u64().expect("total")
    };
    assert_eq!(
        count("50%25_off%5C*").await,
        1,
        "% _ and \\ match only themselves"
    );
    assert_eq!(count("*%25*").await, 1);
    assert_eq!(count("*_*").await, 1);
    assert_eq!(count("50*").await, 3);
    assert_eq!(count("50%25").await, 0, "exact match without star");
}

async fn upsert_creates_then_updates(app: TestApp) {
    let path = "/api/v1.0/customers/reference/UP-1";
    expect_error(
        app.post_json(path, &json!({"city": "Nice"})).await,
        400,
        "missing_param",
        "name parameter is missing",
    )
    .await;
    let created = app
        .create(path, &json!({"name": "Upserted", "city": "Nice"}))
        .await;
    assert_eq!(created["reference"], "UP-1");
    let updated = expect_json(app.post_json(path, &json!({"city": "Paris"})).await, 200).await;
    assert_eq!(updated["id"], created["id"]);
    assert_eq!(updated["city"], "Paris");
    assert_eq!(updated["name"], "Upserted", "the update is partial");
}

async fn racing_creates_and_upserts_never_fail_with_500(app: TestApp) {
    let upserts = (0..8).map(|i| {
        let app = &app;
        async move {
            app.post_json(
                "/api/v1.0/customers/reference/RACE",
                &json!({"name": format!("Racer {i}")}),
            )
            .await
            .status()
            .as_u16()
        }
    });
    let mut statuses = futures_util::future::join_all(upserts).await;
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [200, 200, 200, 200, 200, 200, 200, 201],
        "one creation, the rest updates"
    );

    let creates = (0..8).map(|i| {
        let app = &app;
        async move {
            app.post_json(
                "/api/v1.0/customers",
                &json!({"reference": "RACE-2", "name": format!("Racer {i}")}),
            )
            .await
        }
    });
    let mut created = 0;
    for response in futures_util::future::join_all(creates).await {
        match response.status().as_u16() {
            201 => created += 1,
            400 => assert_eq!(expect_json(response, 400).await["error"], "not_unique"),
            other => panic!("a racing create answered {other}"),
        }
    }
    assert_eq!(created, 1);
}

async fn put_replaces_or_creates_by_uuid(app: TestApp) {
    let uuid = "0847ed17-b060-4599-a38c-be9a8b9cbb34";
    let path = format!("/api/v1.0/customers/{uuid}");
    let created = expect_json(
        app.send_json(
            Method::PUT,
            &path,
            &json!({"reference": "W-1", "name": "Wendy Warner", "city": "Oslo"}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(created["uuid"], uuid);
    let replaced = app
        .send_ok(
            Method::PUT,
            &path,
            &json!({"reference": "W-1", "name": "Wendy W."}),
        )
        .await;
    assert_eq!(replaced["id"], created["id"]);
    assert_eq!(
        replaced["city"],
        Value::Null,
        "PUT resets omitted optional fields"
    );
    expect_error(
        app.send_json(Method::PUT, &path, &json!({"name": "No reference"}))
            .await,
        400,
        "missing_param",
        "reference parameter is missing",
    )
    .await;
    expect_not_found(
        app.send_json(
            Method::PUT,
            "/api/v1.0/customers/987654",
            &json!({"reference": "n", "name": "n"}),
        )
        .await,
        "The customer with the id 987654 doesn't exist.",
    )
    .await;
}

async fn delete_is_refused_while_sub_customers_live(app: TestApp) {
    let parent = app.add_customer("P", "Parent").await;
    let child = app.add_sub_customer("C", "Child", &parent).await;
    expect_delete_failed(app.delete("/api/v1.0/customers/reference/P").await).await;
    app.get_json("/api/v1.0/customers/reference/P").await;
    expect_json(
        app.delete(&format!("/api/v1.0/customers/{}", child["id"]))
            .await,
        200,
    )
    .await;
    expect_json(app.delete("/api/v1.0/customers/reference/P").await, 200).await;
}

async fn form_and_multipart_bodies_reach_the_same_rules(app: TestApp) {
    let (cash, cheque) = cash_and_cheque(&app).await;
    let types = format!("[{{\"id\"={}}},{{\"id\"={}}}]", cash["id"], cheque["id"]);
    let response = app
        .post_form(
            "/api/v1.0/customers",
            &[
                ("reference", "F-1"),
                ("name", "Form"),
                ("isActive", "false"),
                ("paymentTypes", &types),
                ("creditLimit", "100.5"),
            ],
        )
        .await;
    let form = expect_json(response, 201).await;
    assert_eq!(form["isActive"], false);
    assert_eq!(form["paymentTypes"].as_array().map(Vec::len), Some(2));
    assert_eq!(form["creditLimit"].to_string(), "100.50");
    expect_error(
        app.post_form("/api/v1.0/customers", &[("reference", "F-2")])
            .await,
        400,
        "missing_param",
        "name parameter is missing",
    )
    .await;

    let multipart = reqwest::multipart::Form::new()
        .text("reference", "M-1")
        .text("name", "Multipart")
        .text("billingCountry", "fra");
    let response = app
        .request(Method::POST, "/api/v1.0/customers")
        .multipart(multipart)
        .send()
        .await
        .expect("sent");
    let created = expect_json(response, 201).await;
    assert_eq!(created["billingCountry"], "FR");
}

async fn bad_bodies_get_4xx_in_the_seed_shape(app: TestApp) {
    let app = &app;
    let send_raw = |content_type: &'static str, body: Vec<u8>| async move {
        app.request(Method::POST, "/api/v1.0/customers")
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("sent")
    };
    let malformed = send_raw("application/json", b"{\"reference\": ".to_vec()).await;
    assert_eq!(malformed.status().as_u16(), 400);
    assert!(expect_json(malformed, 400).await["error"].is_string());
    let wrong_type = expect_json(
        send_raw(
            "application/json",
            br#"{"reference": {"a": 1}, "name": "x"}"#.to_vec(),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(wrong_type["error"], "invalid_param_type");
    let unsupported = send_raw("text/plain", b"reference=x".to_vec()).await;
    assert_eq!(
        expect_json(unsupported, 415).await["error"]
            .as_str()
            .map(str::is_empty),
        Some(false)
    );
    let huge = format!(
        "{{\"reference\": \"big\", \"name\": \"{}\"}}",
        "x".repeat(300 * 1024)
    );
    let too_large = send_raw("application/json", huge.into_bytes()).await;
    assert_eq!(
        expect_json(too_large, 413).await["error"],
        "payload_too_large"
    );
    let listed = app.get_json("/api/v1.0/customers").await;
    assert_eq!(listed["paging"]["total"], 0, "nothing was written");
}

async fn xml_when_the_client_asks_for_it(app: TestApp) {
    let created = app
        .create_customer(&json!({"reference": "X-1", "name": "Xml & Co", "creditLimit": 5000}))
        .await;
    let response = app
        .request(
            Method::GET,
            &format!("/api/v1.0/customers/{}", created["id"]),
        )
        .header("accept", "application/xml")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 200);
    let content_type = content_type(&response);
    assert!(content_type.contains("xml"), "{content_type}");
    let body = response.text().await.expect("body");
    assert!(
        body.contains("<customer>") || body.contains("<customer "),
        "{body}"
    );
    assert!(body.contains("<reference>X-1</reference>"), "{body}");
    assert!(body.contains("Xml &amp; Co"), "{body}");
    assert!(
        body.contains("<creditLimit>5000.00</creditLimit>"),
        "{body}"
    );
    let (status, text) = xml_answer(app.request(Method::GET, "/api/v1.0/customers/999")).await;
    assert_eq!(status, 404);
    assert!(
        text.contains("<error>") && text.contains("not_found"),
        "{text}"
    );
    let list = app
        .request(Method::GET, "/api/v1.0/customers")
        .header("accept", "text/xml")
        .send()
        .await
        .expect("sent");
    let text = list.text().await.expect("body");
    assert!(
        text.contains("<customers>")
            && text.contains("<paging>")
            && text.contains("<total>1</total>"),
        "{text}"
    );
}
