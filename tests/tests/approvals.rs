//! Four-eyes credit-limit changes over real HTTP, with `credit_limit_approval_above` set to
//! 10,000.00 (EUR, the organization currency): a raise above it answers `202` with a pending
//! request that another admin approves (the history names both) or rejects with a reason;
//! the requester may not decide it; a second request replaces the first; the list filters
//! by status and is scoped; two admins approving at once apply it once.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests panic on a broken environment"
)]

use std::sync::Arc;

use credence_e2e::{Backend, TestApp, expect_error, expect_json, expect_not_found};
use credence_store::test_support::TestDb;
use reqwest::{Method, Response};
use serde_json::{Value, json};

/// The application with the approval threshold at 10,000.00.
async fn app(backend: Backend) -> Option<TestApp> {
    let db = match backend {
        Backend::Sqlite => TestDb::sqlite(),
        Backend::Postgres => TestDb::postgres()?,
    };
    Some(
        TestApp::spawn_configured(Arc::new(db), |config| {
            config.credit_limit_approval_above = serde_json::from_value(json!("10000.00")).ok();
        })
        .await,
    )
}

macro_rules! with_threshold {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = super::app(credence_e2e::Backend::Sqlite).await.expect("SQLite");
                    super::$name(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(app) = super::app(credence_e2e::Backend::Postgres).await else { return };
                    super::$name(app).await;
                }
            )*
        }
    };
}

with_threshold!(
    a_raise_above_the_threshold_waits_for_another_admin,
    a_second_request_replaces_the_first_and_a_rejection_says_why,
    the_list_is_scoped_and_only_admins_decide,
    two_admins_approving_at_once_apply_it_once,
    customer_writes_cannot_raise_past_the_threshold,
    imports_cannot_raise_past_the_threshold,
    an_approval_after_the_currency_changed_is_a_conflict,
);

/// A new admin user named `reference`, and a key of theirs.
async fn admin(app: &TestApp, reference: &str) -> String {
    let user = app
        .create(
            "/api/v1.0/users",
            &json!({"reference": reference, "name": reference, "role": "admin"}),
        )
        .await;
    app.new_key(&user).await
}

async fn put_limit(app: &TestApp, key: &str, customer: &Value, body: &Value) -> Response {
    app.with_key(
        key,
        Method::PUT,
        &format!("/api/v1.0/customers/{}/account/creditLimit", customer["id"]),
    )
    .json(body)
    .send()
    .await
    .unwrap()
}

async fn decide(app: &TestApp, key: &str, id: &Value, verb: &str, body: &Value) -> Response {
    app.with_key(
        key,
        Method::POST,
        &format!("/api/v1.0/creditLimitRequests/{id}/{verb}"),
    )
    .json(body)
    .send()
    .await
    .unwrap()
}

async fn limit(app: &TestApp, customer: &Value) -> String {
    app.get_json(&format!("/api/v1.0/customers/{}/account", customer["id"]))
        .await["creditLimit"]
        .to_string()
}

fn ids(list: &Value) -> Vec<i64> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

/// At most the threshold applies at once; above it, `202` and a pending request that leaves
/// the limit alone; the requester's approval is `403`; another admin's applies it and the
/// history names both; approving again is `409`.
async fn a_raise_above_the_threshold_waits_for_another_admin(app: TestApp) {
    let alice = admin(&app, "alice").await;
    let bob = admin(&app, "bob").await;
    let customer = app
        .create_customer(
            &json!({"reference": "FOUR-EYES", "name": "Four eyes", "creditLimit": 100}),
        )
        .await;
    let at_threshold =
        put_limit(&app, &alice, &customer, &json!({"creditLimit": "10000.00"})).await;
    assert_eq!(
        expect_json(at_threshold, 200).await["creditLimit"].to_string(),
        "10000.00"
    );

    let asked = put_limit(
        &app,
        &alice,
        &customer,
        &json!({"creditLimit": 25000, "reason": "seasonal orders"}),
    )
    .await;
    let pending = expect_json(asked, 202).await;
    assert_eq!(pending["status"], "pending", "{pending}");
    let request = &pending["request"];
    assert_eq!(request["customerId"], customer["id"]);
    assert_eq!(request["requestedLimit"].to_string(), "25000.00");
    assert_eq!(request["previousLimit"].to_string(), "10000.00");
    assert_eq!(request["requestedBy"]["reference"], "alice");
    assert_eq!(request["reason"], "seasonal orders");
    assert!(
        request["createdAt"].as_str().unwrap().ends_with('Z'),
        "{request}"
    );
    assert_eq!(request["status"], "pending");
    assert_eq!(
        limit(&app, &customer).await,
        "10000.00",
        "nothing applied yet"
    );

    // A lowering applies at once, even with a request pending.
    let lowered = put_limit(&app, &alice, &customer, &json!({"creditLimit": 9000})).await;
    assert_eq!(
        expect_json(lowered, 200).await["creditLimit"].to_string(),
        "9000.00"
    );

    expect_error(
        decide(&app, &alice, &request["id"], "approve", &json!({})).await,
        403,
        "forbidden",
        "A credit-limit request must be approved or rejected by another admin than its requester.",
    )
    .await;
    let approved = expect_json(
        decide(&app, &bob, &request["id"], "approve", &json!({})).await,
        200,
    )
    .await;
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["decidedBy"]["reference"], "bob");
    assert_eq!(limit(&app, &customer).await, "25000.00");
    expect_error(
        decide(&app, &bob, &request["id"], "approve", &json!({})).await,
        409,
        "request_not_pending",
        &format!(
            "The credit-limit request {} is approved already.",
            request["id"]
        ),
    )
    .await;

    let history = app
        .get_json(&format!(
            "/api/v1.0/customers/{}/account/creditLimitHistory",
            customer["id"]
        ))
        .await;
    let newest = &history["data"][0];
    assert_eq!(newest["previous"].to_string(), "9000.00");
    assert_eq!(newest["creditLimit"].to_string(), "25000.00");
    assert_eq!(newest["changedBy"]["reference"], "alice", "{newest}");
    assert_eq!(newest["approvedBy"]["reference"], "bob", "{newest}");
    assert_eq!(newest["reason"], "seasonal orders");
    assert_eq!(history["data"][1]["approvedBy"], Value::Null, "{history}");
    assert_eq!(history["paging"]["total"], 4);
}

/// A second request for the same customer replaces the pending one; a rejection needs a
/// reason (JSON or form), keeps the limit, and records who rejected and why; a replaced or
/// decided request cannot be decided again.
async fn a_second_request_replaces_the_first_and_a_rejection_says_why(app: TestApp) {
    let alice = admin(&app, "alice").await;
    let bob = admin(&app, "bob").await;
    let customer = app
        .create_customer(&json!({"reference": "REPLACE", "name": "Replace", "creditLimit": 100}))
        .await;
    let first = expect_json(
        put_limit(&app, &alice, &customer, &json!({"creditLimit": 30000})).await,
        202,
    )
    .await;
    let second = expect_json(
        put_limit(&app, &bob, &customer, &json!({"creditLimit": 40000})).await,
        202,
    )
    .await;
    let (first, second) = (&first["request"]["id"], &second["request"]["id"]);
    let pending = app
        .get_json("/api/v1.0/creditLimitRequests?status=pending")
        .await;
    assert_eq!(ids(&pending), [second.as_i64().unwrap()], "{pending}");
    assert_eq!(pending["paging"]["total"], 1);
    let replaced = app
        .get_json("/api/v1.0/creditLimitRequests?status=replaced")
        .await;
    assert_eq!(ids(&replaced), [first.as_i64().unwrap()], "{replaced}");
    let all = app.get_json("/api/v1.0/creditLimitRequests?max=1").await;
    assert_eq!(ids(&all), [second.as_i64().unwrap()], "newest first");
    assert_eq!(all["paging"]["total"], 2);

    expect_error(
        decide(&app, &alice, second, "reject", &json!({"reason": "  "})).await,
        400,
        "missing_param",
        "reason parameter is missing",
    )
    .await;
    let rejected = app
        .with_key(
            &alice,
            Method::POST,
            &format!("/api/v1.0/creditLimitRequests/{second}/reject"),
        )
        .form(&[("reason", "no collateral")])
        .send()
        .await
        .unwrap();
    let rejected = expect_json(rejected, 200).await;
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["rejectionReason"], "no collateral");
    assert_eq!(rejected["decidedBy"]["reference"], "alice");
    assert_eq!(limit(&app, &customer).await, "100.00");
    let shown = app
        .get_json(&format!("/api/v1.0/creditLimitRequests/{second}"))
        .await;
    assert_eq!(shown["status"], "rejected");
    expect_error(
        decide(&app, &bob, first, "approve", &json!({})).await,
        409,
        "request_not_pending",
        &format!("The credit-limit request {first} is replaced already."),
    )
    .await;
    let rejections = app
        .get_json("/api/v1.0/creditLimitRequests?status=rejected")
        .await;
    assert_eq!(ids(&rejections), [second.as_i64().unwrap()]);
    let history = app
        .get_json(&format!(
            "/api/v1.0/customers/{}/account/creditLimitHistory",
            customer["id"]
        ))
        .await;
    assert_eq!(history["paging"]["total"], 1, "{history}");
}

/// A reseller lists only its own customers' requests and cannot decide any; unknown ids and
/// statuses are refused as the API refuses them elsewhere.
async fn the_list_is_scoped_and_only_admins_decide(app: TestApp) {
    let alice = admin(&app, "alice").await;
    let parent = app
        .create_customer(&json!({"reference": "RESELLER", "name": "Reseller", "creditLimit": 0}))
        .await;
    let child = app.add_sub_customer("CHILD", "Child", &parent).await;
    let other = app
        .create_customer(&json!({"reference": "OTHER", "name": "Other", "creditLimit": 0}))
        .await;
    let reseller = app.key_for("reseller", &parent).await;
    let by_reseller = expect_json(
        put_limit(&app, &reseller, &child, &json!({"creditLimit": 50000})).await,
        202,
    )
    .await;
    let of_other = expect_json(
        put_limit(&app, &alice, &other, &json!({"creditLimit": 50000})).await,
        202,
    )
    .await;
    // Its own customer's limit is the operator's: not even a request to raise it is filed.
    expect_error(
        put_limit(&app, &reseller, &parent, &json!({"creditLimit": 50000})).await,
        403,
        "forbidden",
        "You are not allowed to use this function.",
    )
    .await;
    let (mine, theirs) = (&by_reseller["request"]["id"], &of_other["request"]["id"]);
    let seen = app
        .with_key(&reseller, Method::GET, "/api/v1.0/creditLimitRequests")
        .send()
        .await
        .unwrap();
    assert_eq!(ids(&expect_json(seen, 200).await), [mine.as_i64().unwrap()]);
    let hidden = app
        .with_key(
            &reseller,
            Method::GET,
            &format!("/api/v1.0/creditLimitRequests/{theirs}"),
        )
        .send()
        .await
        .unwrap();
    expect_not_found(
        hidden,
        &format!("The credit-limit request with the id {theirs} doesn't exist."),
    )
    .await;
    expect_error(
        decide(&app, &reseller, mine, "approve", &json!({})).await,
        403,
        "forbidden",
        "You are not allowed to use this function.",
    )
    .await;
    let customer_key = app.key_for("customer", &other).await;
    let listed = app
        .with_key(&customer_key, Method::GET, "/api/v1.0/creditLimitRequests")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status().as_u16(), 403);

    let everything = app.get_json("/api/v1.0/creditLimitRequests").await;
    assert_eq!(
        ids(&everything),
        [theirs.as_i64().unwrap(), mine.as_i64().unwrap()]
    );
    expect_error(
        app.get("/api/v1.0/creditLimitRequests?status=open").await,
        400,
        "invalid_param",
        "The status open is not one of pending, approved, rejected, replaced.",
    )
    .await;
    expect_error(
        app.get("/api/v1.0/creditLimitRequests?state=pending").await,
        400,
        "invalid_param",
        "The parameters [state] you provided are not valid for this request.",
    )
    .await;
    for missing in ["424242", "abc"] {
        expect_not_found(
            app.with_key(
                &alice,
                Method::POST,
                &format!("/api/v1.0/creditLimitRequests/{missing}/approve"),
            )
            .send()
            .await
            .unwrap(),
            &format!("The credit-limit request with the id {missing} doesn't exist."),
        )
        .await;
    }
}

/// Two admins approving one request at the same moment: one `200`,
/// one `409`, the limit applied once with one history row.
async fn two_admins_approving_at_once_apply_it_once(app: TestApp) {
    let alice = admin(&app, "alice").await;
    let bob = admin(&app, "bob").await;
    let carol = admin(&app, "carol").await;
    for round in 0..3 {
        let customer = app
            .create_customer(
                &json!({"reference": format!("RACE-{round}"), "name": "Race", "creditLimit": 100}),
            )
            .await;
        let asked = expect_json(
            put_limit(
                &app,
                &alice,
                &customer,
                &json!({"creditLimit": 60000 + round}),
            )
            .await,
            202,
        )
        .await;
        let id = &asked["request"]["id"];
        let empty = json!({});
        let (one, two) = tokio::join!(
            decide(&app, &bob, id, "approve", &empty),
            decide(&app, &carol, id, "approve", &empty),
        );
        let mut statuses = [one.status().as_u16(), two.status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409]);
        assert_eq!(
            limit(&app, &customer).await,
            format!("{}.00", 60000 + round)
        );
        let history = app
            .get_json(&format!(
                "/api/v1.0/customers/{}/account/creditLimitHistory",
                customer["id"]
            ))
            .await;
        assert_eq!(history["paging"]["total"], 2, "{history}");
    }
}

/// A customer write cannot go around the approval: creating a customer with a limit above the
/// threshold, or raising one above it by a customer update, is `400 invalid_param` naming
/// `creditLimit`; lowering, and raising to at most the threshold, work as before.
async fn customer_writes_cannot_raise_past_the_threshold(app: TestApp) {
    let refusal = "A creditLimit above the approval threshold needs another admin's approval: \
                   request it with PUT .../account/creditLimit.";
    expect_error(
        app.post_json(
            "/api/v1.0/customers",
            &json!({"reference": "BIG", "name": "Big", "creditLimit": "10000.01"}),
        )
        .await,
        400,
        "invalid_param",
        refusal,
    )
    .await;
    let customer = app
        .create_customer(&json!({"reference": "SMALL", "name": "Small", "creditLimit": 10000}))
        .await;
    let path = format!("/api/v1.0/customers/{}", customer["id"]);
    expect_error(
        app.send_json(Method::PATCH, &path, &json!({"creditLimit": 20000}))
            .await,
        400,
        "invalid_param",
        refusal,
    )
    .await;
    assert_eq!(limit(&app, &customer).await, "10000.00");
    let lowered = app
        .send_ok(
            Method::PATCH,
            &path,
            &json!({"creditLimit": 500, "name": "Smaller"}),
        )
        .await;
    assert_eq!(lowered["name"], "Smaller");
    assert_eq!(limit(&app, &customer).await, "500.00");
}

/// A bulk import is a customer write like any other: a line creating a customer with a limit
/// above the threshold, or raising one above it, fails with the single route's error while
/// the other lines apply; in an atomic import it makes the whole import `422`.
async fn imports_cannot_raise_past_the_threshold(app: TestApp) {
    let existing = app
        .create_customer(&json!({"reference": "KEEP", "name": "Keep", "creditLimit": 10000}))
        .await;
    let single = app
        .post_json(
            "/api/v1.0/customers/reference/BIG",
            &json!({"name": "Big", "creditLimit": "10000.01"}),
        )
        .await;
    assert_eq!(single.status(), 400);
    let single: Value = single.json().await.unwrap();
    let import = |query: &'static str, body: &'static str| {
        app.request(Method::POST, &format!("/api/v1.0/customers/import{query}"))
            .header("Content-Type", "text/csv")
            .body(body)
            .send()
    };
    let body = "reference,name,creditLimit\n\
                BIG,Big,10000.01\n\
                FITS,Fits,10000.00\n\
                KEEP,Keep,20000\n\
                LOWER,Lower,50\n";
    let report = expect_json(import("", body).await.unwrap(), 200).await;
    let results: Vec<&str> = report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["result"].as_str().unwrap())
        .collect();
    assert_eq!(
        results,
        ["failed", "created", "failed", "created"],
        "{report}"
    );
    assert_eq!(
        report["lines"][0]["error"], single,
        "the single route's error"
    );
    assert_eq!(
        report["lines"][2]["error"], single,
        "a raise of an existing limit"
    );
    assert_eq!(limit(&app, &existing).await, "10000.00", "not raised");

    let atomic = expect_json(
        import(
            "?atomic=true",
            "reference,creditLimit\nKEEP,9000\nLOWER,10000.01\n",
        )
        .await
        .unwrap(),
        422,
    )
    .await;
    assert_eq!(atomic["lines"][1]["error"], single, "{atomic}");
    assert_eq!(limit(&app, &existing).await, "10000.00", "nothing applied");
}

/// A pending request is in the account's currency when it is made; approving it after the
/// customer moved to another currency cannot apply it as asked: `409 request_not_applicable`,
/// nothing changes, and the request stays pending, so it can still be rejected.
async fn an_approval_after_the_currency_changed_is_a_conflict(app: TestApp) {
    let alice = admin(&app, "alice").await;
    let bob = admin(&app, "bob").await;
    app.create(
        "/api/v1.0/currencies",
        &json!({"code": "USD", "exchangeRate": "0.9"}),
    )
    .await;
    let customer = app
        .create_customer(&json!({"reference": "MOVES", "name": "Moves", "creditLimit": 100}))
        .await;
    let asked = expect_json(
        put_limit(&app, &alice, &customer, &json!({"creditLimit": 25000})).await,
        202,
    )
    .await;
    let id = &asked["request"]["id"];
    app.send_ok(
        Method::PATCH,
        &format!("/api/v1.0/customers/{}", customer["id"]),
        &json!({"currency": "USD"}),
    )
    .await;
    expect_error(
        decide(&app, &bob, id, "approve", &json!({})).await,
        409,
        "request_not_applicable",
        &format!(
            "The credit-limit request {id} no longer applies: the account's currency changed \
             since it was made. Reject it and ask again in the account's currency."
        ),
    )
    .await;
    assert_eq!(limit(&app, &customer).await, "100.00");
    let shown = app
        .get_json(&format!("/api/v1.0/creditLimitRequests/{id}"))
        .await;
    assert_eq!(shown["status"], "pending", "{shown}");
    let rejected = expect_json(
        decide(
            &app,
            &bob,
            id,
            "reject",
            &json!({"reason": "wrong currency"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(limit(&app, &customer).await, "100.00");
}
