//! Who may do what (issue 3): every back-office route against every kind of caller, on both
//! databases. An object outside the caller's scope is `404` exactly as if it did not exist; a
//! function the caller's role may not use is `403`; no credentials are `401`; credentials that
//! match no live key are `403`.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests panic on a broken environment"
)]

use credence_e2e::{TestApp, expect_json, on_both_backends};
use reqwest::Method;
use serde_json::{Value, json};

on_both_backends!(
    every_route_answers_every_caller_as_documented,
    credentials_are_read_from_three_places
);

/// The callers of the matrix. `ResellerIn` and `ResellerOut` are the same reseller key, aimed
/// at a customer inside and outside its tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Nobody,
    Unknown,
    Revoked,
    Admin,
    ResellerIn,
    ResellerOut,
    Customer,
}

const EVERYONE: [Who; 7] = [
    Who::Nobody,
    Who::Unknown,
    Who::Revoked,
    Who::Admin,
    Who::ResellerIn,
    Who::ResellerOut,
    Who::Customer,
];

struct World {
    app: TestApp,
    reseller_key: String,
    customer_key: String,
    revoked_key: String,
    reseller_root: Value,
    counter: std::sync::atomic::AtomicUsize,
}

impl World {
    async fn new(app: TestApp) -> Self {
        let reseller_root = app.add_customer("R", "Reseller").await;
        let child = app.add_sub_customer("R1", "Child", &reseller_root).await;
        let reseller = app.create_user("reseller", &reseller_root).await;
        let customer = app.create_user("customer", &child).await;
        let reseller_key = app.new_key(&reseller).await;
        let customer_key = app.new_key(&customer).await;
        let revoked = app.create_key(&reseller).await;
        let revoked_path = format!("/api/v1.0/users/{}/keys/{}", reseller["id"], revoked["id"]);
        expect_json(app.delete(&revoked_path).await, 200).await;
        let revoked_key = revoked["secret"].as_str().expect("a secret").to_owned();
        Self {
            app,
            reseller_key,
            customer_key,
            revoked_key,
            reseller_root,
            counter: Default::default(),
        }
    }

    fn fresh(&self, prefix: &str) -> String {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{prefix}-{n}")
    }

    /// A customer for one call: inside the reseller's tree, or outside it for `ResellerOut`.
    async fn target(&self, who: Who) -> Value {
        let reference = self.fresh("T");
        let body = if who == Who::ResellerOut {
            json!({"reference": reference, "name": "Outside"})
        } else {
            json!({"reference": reference, "name": "Inside", "parentCustomer": self.reseller_root["id"]})
        };
        self.app.create_customer(&body).await
    }

    async fn call(
        &self,
        who: Who,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, String) {
        let request = match who {
            Who::Nobody => self.app.anonymous(method, path),
            Who::Unknown => self.app.with_key(
                "ck_0000000000000000000000000000000000000000000000000000000000000000",
                method,
                path,
            ),
            Who::Revoked => self.app.with_key(&self.revoked_key, method, path),
            Who::Admin => self.app.request(method, path),
            Who::ResellerIn | Who::ResellerOut => {
                self.app.with_key(&self.reseller_key, method, path)
            }
            Who::Customer => self.app.with_key(&self.customer_key, method, path),
        };
        let request = match body {
            Some(body) => request.json(body),
            None => request,
        };
        let response = request.send().await.expect("sent");
        let status = response.status().as_u16();
        let challenge = response.headers().contains_key("www-authenticate");
        let text = response.text().await.expect("a body");
        assert_eq!(
            status == 401,
            challenge,
            "401 and only 401 carries WWW-Authenticate ({who:?} {path}): {text}"
        );
        (status, text)
    }
}

/// Expected statuses in the order of [`EVERYONE`].
type Row = [u16; 7];

const READ_TARGET: Row = [401, 403, 403, 200, 200, 404, 403];

async fn every_route_answers_every_caller_as_documented(app: TestApp) {
    let world = World::new(app).await;
    let mut failures = Vec::new();
    let mut check = |route: &str, who: Who, expected: u16, (status, body): (u16, String)| {
        if status != expected {
            failures.push(format!(
                "{route} as {who:?}: expected {expected}, got {status}: {body}"
            ));
        }
    };

    // Routes aimed at one customer.
    let targeted: [(&str, Method, &str, Option<Value>, Row); 9] = [
        (
            "GET /customers/{id}",
            Method::GET,
            "/api/v1.0/customers/{id}",
            None,
            READ_TARGET,
        ),
        (
            "GET /customers/reference/{ref}",
            Method::GET,
            "/api/v1.0/customers/reference/{ref}",
            None,
            READ_TARGET,
        ),
        (
            "POST /customers/{id}",
            Method::POST,
            "/api/v1.0/customers/{id}",
            Some(json!({"city": "Nice"})),
            READ_TARGET,
        ),
        (
            "PATCH /customers/{id}",
            Method::PATCH,
            "/api/v1.0/customers/{id}",
            Some(json!({"city": "Nice"})),
            READ_TARGET,
        ),
        (
            "PATCH /customers/reference/{ref}",
            Method::PATCH,
            "/api/v1.0/customers/reference/{ref}",
            Some(json!({"city": "Nice"})),
            READ_TARGET,
        ),
        (
            "PUT /customers/{uuid}",
            Method::PUT,
            "/api/v1.0/customers/{uuid}",
            Some(json!({"reference": "{ref}", "name": "Put"})),
            READ_TARGET,
        ),
        (
            "POST /customers/reference/{ref}",
            Method::POST,
            "/api/v1.0/customers/reference/{ref}",
            Some(json!({"name": "Upserted"})),
            [401, 403, 403, 200, 200, 400, 403],
        ),
        (
            "DELETE /customers/{id}",
            Method::DELETE,
            "/api/v1.0/customers/{id}",
            None,
            READ_TARGET,
        ),
        (
            "DELETE /customers/reference/{ref}",
            Method::DELETE,
            "/api/v1.0/customers/reference/{ref}",
            None,
            READ_TARGET,
        ),
    ];
    for (route, method, template, body, row) in &targeted {
        for (who, expected) in EVERYONE.iter().zip(row) {
            let target = world.target(*who).await;
            let fill = |text: &str| {
                text.replace("{id}", &target["id"].to_string())
                    .replace("{uuid}", target["uuid"].as_str().unwrap_or_default())
                    .replace("{ref}", target["reference"].as_str().unwrap_or_default())
            };
            let body = body
                .as_ref()
                .map(|b| serde_json::from_str::<Value>(&fill(&b.to_string())).expect("json"));
            let outcome = world
                .call(*who, method.clone(), &fill(template), body.as_ref())
                .await;
            check(route, *who, *expected, outcome);
        }
    }

    // Routes that name no customer.
    let reference = || world.fresh("N");
    let untargeted: Vec<(&str, Method, String, Option<Value>, Row)> = vec![
        (
            "GET /customers",
            Method::GET,
            "/api/v1.0/customers".into(),
            None,
            [401, 403, 403, 200, 200, 200, 403],
        ),
        (
            "GET /customers/me",
            Method::GET,
            "/api/v1.0/customers/me".into(),
            None,
            [401, 403, 403, 404, 200, 200, 200],
        ),
        (
            "POST /customers",
            Method::POST,
            "/api/v1.0/customers".into(),
            Some(json!({"name": "New", "reference": "{fresh}"})),
            [401, 403, 403, 201, 201, 201, 403],
        ),
        (
            // A role that may not write customers learns that first, not what is wrong
            // with its body.
            "POST /customers (bad body)",
            Method::POST,
            "/api/v1.0/customers".into(),
            Some(json!({"name": "New", "reference": "{fresh}", "isActive": "maybe"})),
            [401, 403, 403, 400, 400, 400, 403],
        ),
        (
            "PUT /customers/{new uuid}",
            Method::PUT,
            "/api/v1.0/customers/{new-uuid}".into(),
            Some(json!({"name": "New", "reference": "{fresh}"})),
            [401, 403, 403, 201, 201, 201, 403],
        ),
        (
            "GET /users",
            Method::GET,
            "/api/v1.0/users".into(),
            None,
            [401, 403, 403, 200, 403, 403, 403],
        ),
        (
            "POST /users",
            Method::POST,
            "/api/v1.0/users".into(),
            Some(json!({"reference": "{fresh}", "name": "U", "role": "admin"})),
            [401, 403, 403, 201, 403, 403, 403],
        ),
    ];
    for (route, method, path, body, row) in &untargeted {
        for (who, expected) in EVERYONE.iter().zip(row) {
            let fresh = reference();
            let uuid = format!(
                "00000000-0000-4000-8000-{:012}",
                world
                    .counter
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            );
            let path = path.replace("{new-uuid}", &uuid);
            let body = body.as_ref().map(|b| {
                serde_json::from_str::<Value>(&b.to_string().replace("{fresh}", &fresh))
                    .expect("json")
            });
            let outcome = world.call(*who, method.clone(), &path, body.as_ref()).await;
            check(route, *who, *expected, outcome);
        }
    }

    // Reference data: resellers read what they need to fill in customers; only admins write.
    let collections: [(&str, Value); 5] = [
        (
            "customerCategories",
            json!({"reference": "{fresh}", "name": "C"}),
        ),
        (
            "customerSegmentations",
            json!({"reference": "{fresh}", "name": "S"}),
        ),
        ("paymentTypes", json!({"reference": "{fresh}", "name": "P"})),
        ("regions", json!({"name": "{fresh}"})),
        (
            "currencies",
            json!({"code": "{code}", "exchangeRate": "1.5"}),
        ),
    ];
    let codes = [
        "USD", "GBP", "CHF", "JPY", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "AUD", "CAD", "NZD",
        "SGD", "HKD", "ZAR", "MXN", "BRL", "INR", "CNY", "KRW", "TRY", "ILS", "THB", "MYR", "PHP",
        "IDR", "ISK",
    ];
    let code_index = std::sync::atomic::AtomicUsize::new(0);
    let next_body = |template: &Value| {
        let code =
            codes[code_index.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % codes.len()];
        serde_json::from_str::<Value>(
            &template
                .to_string()
                .replace("{fresh}", &reference())
                .replace("{code}", code),
        )
        .expect("json")
    };
    for (collection, template) in &collections {
        let base = format!("/api/v1.0/{collection}");
        for (who, expected) in EVERYONE.iter().zip([401, 403, 403, 200, 200, 200, 403]) {
            check(
                &format!("GET {base}"),
                *who,
                expected,
                world.call(*who, Method::GET, &base, None).await,
            );
        }
        for (who, expected) in EVERYONE.iter().zip([401, 403, 403, 201, 403, 403, 403]) {
            check(
                &format!("POST {base}"),
                *who,
                expected,
                world
                    .call(*who, Method::POST, &base, Some(&next_body(template)))
                    .await,
            );
        }
        for (op, method, expected_row) in [
            ("GET", Method::GET, [401, 403, 403, 200, 200, 200, 403]),
            ("PATCH", Method::PATCH, [401, 403, 403, 200, 403, 403, 403]),
            (
                "DELETE",
                Method::DELETE,
                [401, 403, 403, 200, 403, 403, 403],
            ),
        ] {
            for (who, expected) in EVERYONE.iter().zip(expected_row) {
                let row =
                    expect_json(world.app.post_json(&base, &next_body(template)).await, 201).await;
                let id = row
                    .get("id")
                    .filter(|v| !v.is_null())
                    .unwrap_or(&row["code"])
                    .to_string()
                    .replace('"', "");
                let path = format!("{base}/{id}");
                let body = (method == Method::PATCH)
                    .then(|| json!({"name": "Renamed", "exchangeRate": "2"}));
                check(
                    &format!("{op} {base}/{{id}}"),
                    *who,
                    expected,
                    world.call(*who, method.clone(), &path, body.as_ref()).await,
                );
            }
        }
    }

    // Keys: a reseller manages the keys of users in its tree only; customers manage none.
    for (who, expected) in EVERYONE.iter().zip([401, 403, 403, 201, 201, 404, 403]) {
        let target = world.target(*who).await;
        let body = json!({"reference": world.fresh("K"), "name": "k", "role": "customer", "customerId": target["id"]});
        let owner = expect_json(world.app.post_json("/api/v1.0/users", &body).await, 201).await;
        let path = format!("/api/v1.0/users/{}/keys", owner["id"]);
        check(
            "POST /users/{id}/keys",
            *who,
            expected,
            world
                .call(*who, Method::POST, &path, Some(&json!({})))
                .await,
        );
        let listed = if expected == 201 { 200 } else { expected };
        check(
            "GET /users/{id}/keys",
            *who,
            listed,
            world.call(*who, Method::GET, &path, None).await,
        );
    }

    assert!(
        failures.is_empty(),
        "{} unexpected answers:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // Scope is more than status codes: a reseller's list holds its tree and nothing else.
    let (_, body) = world
        .call(
            Who::ResellerIn,
            Method::GET,
            "/api/v1.0/customers?max=1000",
            None,
        )
        .await;
    let listed: Value = serde_json::from_str(&body).expect("json");
    let references: Vec<&str> = listed["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|c| c["reference"].as_str())
        .collect();
    assert!(
        references.contains(&"R") && references.contains(&"R1"),
        "{references:?}"
    );
    assert!(
        references
            .iter()
            .all(|r| *r == "R" || *r == "R1" || r.starts_with("T-") || r.starts_with("N-")),
        "{references:?}"
    );
    let (_, body) = world
        .call(
            Who::Admin,
            Method::GET,
            "/api/v1.0/customers?max=1000",
            None,
        )
        .await;
    let all: Value = serde_json::from_str(&body).expect("json");
    assert!(
        all["paging"]["total"].as_u64() > listed["paging"]["total"].as_u64(),
        "the admin sees more than the reseller"
    );
    // New customers of a reseller hang below it, created by its user.
    let (status, body) = world
        .call(
            Who::ResellerIn,
            Method::POST,
            "/api/v1.0/customers",
            Some(&json!({"reference": "RC", "name": "Reseller's"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let created: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(created["parentCustomer"]["reference"], "R");
    assert_eq!(created["createdBy"]["reference"], "reseller-user");
    // A reseller cannot escape its tree by naming a parent outside it.
    let outside = world.target(Who::ResellerOut).await;
    let (status, _) = world
        .call(
            Who::ResellerIn,
            Method::POST,
            "/api/v1.0/customers",
            Some(&json!({"reference": "RX", "name": "X", "parentCustomer": outside["id"]})),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = world
        .call(
            Who::ResellerIn,
            Method::DELETE,
            &format!("/api/v1.0/customers/{}", world.reseller_root["id"]),
            None,
        )
        .await;
    assert_eq!(status, 403, "a reseller does not delete its own customer");
}

async fn credentials_are_read_from_three_places(app: TestApp) {
    let path = "/api/v1.0/customers";
    let anonymous = app.anonymous(Method::GET, path).send().await.expect("sent");
    assert_eq!(anonymous.status().as_u16(), 401);
    let challenge = anonymous
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        challenge.contains("Bearer") && challenge.contains("Basic"),
        "{challenge}"
    );
    let body = expect_json(anonymous, 401).await;
    assert_eq!(body["error"], "unauthorized");
    let api_key = app
        .anonymous(Method::GET, path)
        .header("API-Key", credence_e2e::ADMIN_KEY)
        .send()
        .await
        .expect("sent");
    assert_eq!(api_key.status().as_u16(), 200);
    let basic = app
        .anonymous(Method::GET, path)
        .basic_auth("anyone", Some(credence_e2e::ADMIN_KEY))
        .send()
        .await
        .expect("sent");
    assert_eq!(basic.status().as_u16(), 200);
    let wrong = app
        .anonymous(Method::GET, path)
        .basic_auth("anyone", Some("not-a-key-but-long-enough"))
        .send()
        .await
        .expect("sent");
    assert_eq!(expect_json(wrong, 403).await["error"], "forbidden");
    for open in ["/health/live", "/health/ready", "/openapi.json", "/docs/"] {
        let status = app
            .anonymous(Method::GET, open)
            .send()
            .await
            .expect("sent")
            .status()
            .as_u16();
        assert_eq!(status, 200, "{open} stays open");
    }
}
