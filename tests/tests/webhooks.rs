//! Webhook endpoints over real HTTP, on both backends: the secret shown once, the
//! representation, changes, deletion, rotation, scope, every validation error, and the guard
//! against private addresses.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests panic on a broken environment"
)]

use std::sync::Arc;

use credence_domain::Principal;
use credence_domain::ports::{MockHostResolver, MockSecretSource, SystemClock};
use credence_domain::webhooks::{
    EndpointId, ROTATION_GRACE, WebhookPolicy, WebhookSecret, WebhookService,
};
use credence_e2e::{
    TestApp, expect_error, expect_json, expect_not_found, expect_wrong_type, on_both_backends,
    xml_answer,
};
use credence_store::{Database, PoolOptions, Store};
use reqwest::Method;
use serde_json::{Value, json};

on_both_backends!(
    an_endpoint_is_created_shown_changed_and_deleted,
    a_rotation_keeps_the_old_secret_for_a_day,
    resellers_manage_only_their_own_endpoints,
    bad_input_is_refused_with_its_reason,
    private_addresses_are_refused_unless_allowed,
);

const ENDPOINTS: &str = "/api/v1.0/webhookEndpoints";
/// A public address written as such: no DNS needed.
const PUBLIC_URL: &str = "https://203.0.113.10/hooks";

fn secret_of(created: &Value) -> String {
    let secret = created["secret"].as_str().expect("a secret").to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(secret.len(), "whsec_".len() + 64, "{secret}");
    assert!(
        secret[6..].bytes().all(|b| b.is_ascii_hexdigit()),
        "{secret}"
    );
    secret
}

async fn an_endpoint_is_created_shown_changed_and_deleted(app: TestApp) {
    let created = app.create(ENDPOINTS,
            &json!({"url": PUBLIC_URL, "types": ["reservation.*", "customer.created"], "description": "ERP"})).await;
    secret_of(&created);
    let id = created["id"].as_i64().expect("an id");
    let path = format!("{ENDPOINTS}/{id}");
    let mut fields: Vec<&String> = created.as_object().unwrap().keys().collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "createdAt",
            "customerId",
            "description",
            "disabledReason",
            "enabled",
            "id",
            "secret",
            "types",
            "updatedAt",
            "url"
        ]
    );
    assert_eq!(created["url"], PUBLIC_URL);
    assert_eq!(
        created["types"],
        json!(["reservation.*", "customer.created"])
    );
    assert_eq!(created["enabled"], true);
    assert_eq!(created["customerId"], Value::Null);
    assert_eq!(created["disabledReason"], Value::Null);
    let at = created["createdAt"].as_str().unwrap();
    assert!(at.len() == 20 && at.ends_with('Z'), "{at}");

    // Shown and listed, never with the secret.
    let shown = app.get_json(&path).await;
    assert!(shown.get("secret").is_none(), "{shown}");
    let mut without = created.clone();
    without.as_object_mut().unwrap().remove("secret");
    assert_eq!(shown, without);
    let list = app.get_json(ENDPOINTS).await;
    assert_eq!(list["paging"]["total"], 1, "{list}");
    assert_eq!(list["data"], json!([without]));
    let (_, xml) = xml_answer(app.request(Method::GET, &path)).await;
    assert!(
        xml.contains("<url>https://203.0.113.10/hooks</url>"),
        "{xml}"
    );
    assert!(!xml.contains("whsec_"), "{xml}");

    // Defaults: every event, enabled.
    let all = app.create(ENDPOINTS, &json!({"url": PUBLIC_URL})).await;
    assert_eq!(all["types"], json!(["*"]));
    assert_eq!(all["description"], Value::Null);

    // A change of the fields sent only.
    let changed = app
        .send_ok(
            Method::PATCH,
            &path,
            &json!({"enabled": false, "types": ["task.*"], "description": null}),
        )
        .await;
    assert_eq!(changed["enabled"], false);
    assert_eq!(changed["types"], json!(["task.*"]));
    assert_eq!(changed["description"], Value::Null);
    assert_eq!(changed["url"], PUBLIC_URL);
    let enabled = app
        .send_ok(
            Method::PATCH,
            &path,
            &json!({"enabled": true, "url": "http://198.51.100.7:8080/in"}),
        )
        .await;
    assert_eq!(enabled["enabled"], true);
    assert_eq!(enabled["disabledReason"], Value::Null);
    assert_eq!(enabled["url"], "http://198.51.100.7:8080/in");

    expect_json(app.delete(&path).await, 200).await;
    expect_not_found(
        app.get(&path).await,
        &format!("The webhook endpoint with the id {id} doesn't exist."),
    )
    .await;
    expect_not_found(
        app.delete(&path).await,
        &format!("The webhook endpoint with the id {id} doesn't exist."),
    )
    .await;
}

/// The service the dispatcher will use, over the application's database.
fn dispatcher_view(app: &TestApp) -> WebhookService {
    let database = Database::connect(app.database_url(), PoolOptions::default()).unwrap();
    let store = Arc::new(Store::new(database));
    WebhookService::new(
        store.clone(),
        store,
        Arc::new(MockHostResolver::new()),
        Arc::new(MockSecretSource::new()),
        Arc::new(SystemClock),
        WebhookPolicy::default(),
    )
}

async fn a_rotation_keeps_the_old_secret_for_a_day(app: TestApp) {
    let created = app.create(ENDPOINTS, &json!({"url": PUBLIC_URL})).await;
    let old = secret_of(&created);
    let id = created["id"].as_i64().unwrap();
    let rotated = expect_json(
        app.post_json(&format!("{ENDPOINTS}/{id}/secret"), &json!({}))
            .await,
        200,
    )
    .await;
    let new = secret_of(&rotated);
    assert_ne!(old, new);
    assert_eq!(rotated["id"], id);
    let shown = app.get_json(&format!("{ENDPOINTS}/{id}")).await;
    assert!(shown.get("secret").is_none(), "{shown}");

    let service = dispatcher_view(&app);
    let admin = Principal::system_admin();
    let now = chrono::Utc::now();
    let expose = |secrets: Vec<WebhookSecret>| -> Vec<String> {
        secrets.iter().map(|s| s.expose().to_owned()).collect()
    };
    let signing = service
        .signing_secrets(&admin, EndpointId(id), now)
        .await
        .unwrap();
    assert_eq!(expose(signing), [new.clone(), old]);
    let later = now + ROTATION_GRACE + chrono::TimeDelta::seconds(1);
    let signing = service
        .signing_secrets(&admin, EndpointId(id), later)
        .await
        .unwrap();
    assert_eq!(expose(signing), [new]);
    expect_not_found(
        app.post_json(&format!("{ENDPOINTS}/999999/secret"), &json!({}))
            .await,
        "The webhook endpoint with the id 999999 doesn't exist.",
    )
    .await;
}

async fn resellers_manage_only_their_own_endpoints(app: TestApp) {
    let reseller = app.add_customer("RES", "Reseller").await;
    let key = app.key_for("reseller", &reseller).await;
    let admins = app.create(ENDPOINTS, &json!({"url": PUBLIC_URL})).await;
    let own = expect_json(
        app.with_key(&key, Method::POST, ENDPOINTS)
            .json(&json!({"url": PUBLIC_URL}))
            .send()
            .await
            .unwrap(),
        201,
    )
    .await;
    assert_eq!(own["customerId"], reseller["id"]);
    let list = expect_json(app.get_with_key(&key, ENDPOINTS).await, 200).await;
    assert_eq!(list["paging"]["total"], 1, "{list}");
    assert_eq!(list["data"][0]["id"], own["id"]);
    let everything = app.get_json(ENDPOINTS).await;
    assert_eq!(everything["paging"]["total"], 2, "{everything}");

    let theirs = format!("{ENDPOINTS}/{}", admins["id"]);
    let missing = format!(
        "The webhook endpoint with the id {} doesn't exist.",
        admins["id"]
    );
    let secret = format!("{theirs}/secret");
    let attempts = [
        (Method::GET, &theirs, None),
        (Method::DELETE, &theirs, None),
        (Method::PATCH, &theirs, Some(json!({"enabled": false}))),
        (Method::POST, &secret, None),
    ];
    for (method, path, body) in attempts {
        let mut request = app.with_key(&key, method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        expect_not_found(request.send().await.unwrap(), &missing).await;
    }
    let mine = format!("{ENDPOINTS}/{}", own["id"]);
    expect_json(app.get_with_key(&key, &mine).await, 200).await;

    let customer = app.add_customer("CUS", "Customer").await;
    let customer_key = app.key_for("customer", &customer).await;
    let forbidden = "You are not allowed to use this function.";
    expect_error(
        app.get_with_key(&customer_key, ENDPOINTS).await,
        403,
        "forbidden",
        forbidden,
    )
    .await;
    expect_error(
        app.with_key(&customer_key, Method::POST, ENDPOINTS)
            .json(&json!({"url": PUBLIC_URL}))
            .send()
            .await
            .unwrap(),
        403,
        "forbidden",
        forbidden,
    )
    .await;
}

async fn bad_input_is_refused_with_its_reason(app: TestApp) {
    let cases = [
        (
            json!({"types": ["task.*"]}),
            "missing_param",
            "url parameter is missing".to_owned(),
        ),
        (
            json!({"url": ""}),
            "missing_param",
            "url parameter is missing".to_owned(),
        ),
        (
            json!({"url": "ftp://203.0.113.10/x"}),
            "invalid_param",
            "url must be an absolute http or https URL with a host, not ftp://203.0.113.10/x"
                .to_owned(),
        ),
        (
            json!({"url": "https://user:pass@203.0.113.10/x"}),
            "invalid_param",
            "url must not contain credentials (user:password@)".to_owned(),
        ),
        (
            json!({"url": PUBLIC_URL, "types": ["customer.exploded"]}),
            "invalid_param",
            "types: customer.exploded is not an event type".to_owned(),
        ),
        (
            json!({"url": PUBLIC_URL, "types": ["reserv.*"]}),
            "invalid_param",
            "types: reserv.* is not an event type".to_owned(),
        ),
        (
            json!({"url": PUBLIC_URL, "types": []}),
            "invalid_param",
            "types must name at least one event type, or * for all".to_owned(),
        ),
        (
            json!({"url": PUBLIC_URL, "types": [1]}),
            "invalid_param_type",
            "The type of parameter types you provided is not valid for this request.".to_owned(),
        ),
        (
            json!({"url": PUBLIC_URL, "enabled": "maybe"}),
            "invalid_param_type",
            "The type of parameter enabled you provided is not valid for this request.".to_owned(),
        ),
        (
            json!({"url": PUBLIC_URL, "description": "x".repeat(256)}),
            "invalid_param",
            "description cannot be longer than 255 characters".to_owned(),
        ),
    ];
    for (body, error, description) in &cases {
        expect_error(
            app.post_json(ENDPOINTS, body).await,
            400,
            error,
            description,
        )
        .await;
    }
    // Unknown fields are ignored, as everywhere in the API.
    app.create(ENDPOINTS, &json!({"url": PUBLIC_URL, "colour": "blue"}))
        .await;
    let list = app.get_json(ENDPOINTS).await;
    assert_eq!(
        list["paging"]["total"], 1,
        "only the valid one was created: {list}"
    );
    let path = format!("{ENDPOINTS}/{}", list["data"][0]["id"]);
    expect_error(
        app.send_json(Method::PATCH, &path, &json!({"url": null}))
            .await,
        400,
        "missing_param",
        "url parameter is missing",
    )
    .await;
    expect_error(
        app.send_json(Method::PATCH, &path, &json!({"types": ["task.exploded"]}))
            .await,
        400,
        "invalid_param",
        "types: task.exploded is not an event type",
    )
    .await;
    expect_wrong_type(app.get(&format!("{ENDPOINTS}/abc")).await, "id").await;
}

async fn private_addresses_are_refused_unless_allowed(app: TestApp) {
    let refused = [
        ("http://127.0.0.1/hooks", "127.0.0.1".to_owned()),
        (
            "http://localhost/hooks",
            "localhost resolves to 127.0.0.1".to_owned(),
        ),
        ("http://10.1.2.3/hooks", "10.1.2.3".to_owned()),
        ("http://192.168.0.10:8080/hooks", "192.168.0.10".to_owned()),
        (
            "http://169.254.169.254/latest",
            "169.254.169.254".to_owned(),
        ),
        ("http://[::1]/hooks", "::1".to_owned()),
        ("http://[fd00::1]/hooks", "fd00::1".to_owned()),
        ("http://0.0.0.0/hooks", "0.0.0.0".to_owned()),
    ];
    for (url, what) in &refused {
        expect_error(
            app.post_json(ENDPOINTS, &json!({"url": url})).await,
            400,
            "invalid_param",
            &format!(
                "url must not point to a loopback, private, link-local or unspecified address: {what}"
            ),
        )
        .await;
    }
    let public = app.create(ENDPOINTS, &json!({"url": PUBLIC_URL})).await;
    expect_error(
        app.send_json(
            Method::PATCH,
            &format!("{ENDPOINTS}/{}", public["id"]),
            &json!({"url": "http://127.0.0.1/hooks"}),
        )
        .await,
        400,
        "invalid_param",
        "url must not point to a loopback, private, link-local or unspecified address: 127.0.0.1",
    )
    .await;

    // An operator who allows private networks (a receiver on the same host).
    let db = if app.database_url().starts_with("postgres") {
        credence_store::test_support::TestDb::postgres().expect("PostgreSQL, as for `app`")
    } else {
        credence_store::test_support::TestDb::sqlite()
    };
    let allowed = TestApp::spawn_configured(Arc::new(db), |config| {
        config.webhook_allow_private_networks = true;
    })
    .await;
    for url in ["http://127.0.0.1/hooks", "http://localhost:9000/hooks"] {
        let created = allowed.create(ENDPOINTS, &json!({"url": url})).await;
        assert_eq!(created["url"], url);
    }
}
