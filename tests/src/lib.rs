//! The end-to-end harness: starts the real Credence application in-process on port 0, on a
//! fresh SQLite or PostgreSQL database, and talks to it over real HTTP.
//!
//! Every test is written once as `async fn name(app: TestApp)` and run on both backends by
//! [`on_both_backends!`]; the PostgreSQL half is skipped (and says so) when
//! `CREDENCE_TEST_POSTGRES_URL` is not set.
#![forbid(unsafe_code)]
#![allow(
    clippy::expect_used,
    reason = "a test harness panics on a broken environment"
)]

pub mod receiver;

use credence_server::Application;
use credence_server::config::{Config, Secret};
use credence_store::test_support::TestDb;
use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::{Value, json};

/// The admin key every test application is started with (`CREDENCE_ADMIN_KEY`); the
/// default client of [`TestApp`] presents it.
pub const ADMIN_KEY: &str = "e2e-admin-key-0123456789";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A fresh SQLite file.
    Sqlite,
    /// A fresh PostgreSQL database.
    Postgres,
}

/// A running application and a client for it.
#[derive(Debug)]
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// A client presenting [`ADMIN_KEY`] on every request.
    pub client: Client,
    db: std::sync::Arc<TestDb>,
}

impl TestApp {
    /// Starts an application on a fresh database; `None` when the backend is unavailable.
    ///
    /// # Panics
    /// When the application cannot start.
    pub async fn spawn(backend: Backend) -> Option<Self> {
        let db = match backend {
            Backend::Sqlite => TestDb::sqlite(),
            Backend::Postgres => TestDb::postgres()?,
        };
        Some(Self::spawn_on(std::sync::Arc::new(db)).await)
    }

    /// Starts `n` applications sharing one fresh database, as replicas behind a load
    /// balancer would; `None` when the backend is unavailable.
    pub async fn replicas(backend: Backend, n: usize) -> Option<Vec<Self>> {
        let first = Self::spawn(backend).await?;
        let mut apps = Vec::with_capacity(n);
        for _ in 1..n {
            apps.push(Self::spawn_on(std::sync::Arc::clone(&first.db)).await);
        }
        apps.push(first);
        Some(apps)
    }

    /// Starts an application on an existing database.
    ///
    /// # Panics
    /// When the application cannot start.
    pub async fn spawn_on(db: std::sync::Arc<TestDb>) -> Self {
        Self::spawn_configured(db, |_| {}).await
    }

    /// Starts an application on an existing database, with `configure` applied to the test
    /// configuration first (limits, a blob directory...).
    ///
    /// # Panics
    /// When the application cannot start.
    pub async fn spawn_configured(
        db: std::sync::Arc<TestDb>,
        configure: impl FnOnce(&mut Config),
    ) -> Self {
        let mut config = Config {
            admin_key: Some(Secret::new(ADMIN_KEY)),
            database_url: Secret::new(db.url()),
            bind: "127.0.0.1:0".into(),
            organization: "entity1".into(),
            pool_timeout_ms: 5000,
            workers: 2,
            // Every test talks from 127.0.0.1, most with one key, and some fail to
            // authenticate on purpose: the limits are raised here, and tests of the limits
            // set their own.
            rate_limit_per_second: 1_000_000,
            rate_limit_burst: 1_000_000,
            auth_failures_per_minute: 1_000_000,
            ..Config::default()
        };
        configure(&mut config);
        let app = Application::build(config)
            .await
            .expect("the application starts");
        let address = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            reqwest::header::HeaderValue::from_str(&format!("Bearer {ADMIN_KEY}"))
                .expect("a header value"),
        );
        let client = Client::builder()
            .default_headers(headers)
            .build()
            .expect("a client");
        Self {
            address,
            client,
            db,
        }
    }

    /// The URL of the database the application uses.
    #[must_use]
    pub fn database_url(&self) -> &str {
        self.db.url()
    }

    /// A request to a path of the application, as the admin.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{}", self.address, path))
    }

    /// A request with no credentials at all.
    pub fn anonymous(&self, method: Method, path: &str) -> RequestBuilder {
        Client::new().request(method, format!("{}{}", self.address, path))
    }

    /// A request presenting `key` as a Bearer token.
    pub fn with_key(&self, key: &str, method: Method, path: &str) -> RequestBuilder {
        self.anonymous(method, path).bearer_auth(key)
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path)
            .send()
            .await
            .expect("GET is sent")
    }

    /// `GET path`, which must answer `200`; returns the JSON body.
    ///
    /// # Panics
    /// Unless the answer is `200` with a JSON body.
    pub async fn get_json(&self, path: &str) -> Value {
        expect_json(self.get(path).await, 200).await
    }

    /// `GET path` presenting `key` as a Bearer token.
    pub async fn get_with_key(&self, key: &str, path: &str) -> Response {
        self.with_key(key, Method::GET, path)
            .send()
            .await
            .expect("GET is sent")
    }

    /// `method path` with a JSON body.
    pub async fn send_json(&self, method: Method, path: &str, body: &Value) -> Response {
        self.request(method, path)
            .json(body)
            .send()
            .await
            .expect("request is sent")
    }

    /// `method path` with a JSON body, which must answer `200`; returns the JSON body.
    ///
    /// # Panics
    /// Unless the answer is `200` with a JSON body.
    pub async fn send_ok(&self, method: Method, path: &str, body: &Value) -> Value {
        expect_json(self.send_json(method, path, body).await, 200).await
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.send_json(Method::POST, path, body).await
    }

    /// `POST path` with a form body.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.request(Method::POST, path)
            .form(form)
            .send()
            .await
            .expect("POST is sent")
    }

    /// `POST path` with a JSON body, owning its arguments (for closures).
    pub async fn post_json_owned(&self, path: String, body: Value) -> Response {
        self.post_json(&path, &body).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> Response {
        self.request(Method::DELETE, path)
            .send()
            .await
            .expect("DELETE is sent")
    }

    /// `POST path` with a JSON body that creates something; returns what was created.
    ///
    /// # Panics
    /// Unless the answer is `201`.
    pub async fn create(&self, path: &str, body: &Value) -> Value {
        expect_json(self.post_json(path, body).await, 201).await
    }

    /// Creates a customer from JSON and returns its representation.
    ///
    /// # Panics
    /// Unless the answer is `201`.
    pub async fn create_customer(&self, body: &Value) -> Value {
        self.create("/api/v1.0/customers", body).await
    }

    /// Creates a customer with only a reference and a name.
    ///
    /// # Panics
    /// Unless the answer is `201`.
    pub async fn add_customer(&self, reference: &str, name: &str) -> Value {
        self.create_customer(&json!({"reference": reference, "name": name}))
            .await
    }

    /// Creates a sub-customer of `parent` with only a reference and a name.
    ///
    /// # Panics
    /// Unless the answer is `201`.
    pub async fn add_sub_customer(&self, reference: &str, name: &str, parent: &Value) -> Value {
        let body = json!({"reference": reference, "name": name, "parentCustomer": parent["id"]});
        self.create_customer(&body).await
    }

    /// Creates a user of `role` (reference `<role>-user`) bound to `customer` and returns it.
    ///
    /// # Panics
    /// Unless the answer is `201`.
    pub async fn create_user(&self, role: &str, customer: &Value) -> Value {
        let user = json!({"reference": format!("{role}-user"), "name": role, "role": role, "customerId": customer["id"]});
        self.create("/api/v1.0/users", &user).await
    }

    /// Creates a key named `test` for `user` and returns its record, the secret included.
    ///
    /// # Panics
    /// Unless the answer is `201`.
    pub async fn create_key(&self, user: &Value) -> Value {
        let path = format!("/api/v1.0/users/{}/keys", user["id"]);
        self.create(&path, &json!({"name": "test"})).await
    }

    /// Creates a key for `user` and returns its secret.
    ///
    /// # Panics
    /// Unless it is created.
    pub async fn new_key(&self, user: &Value) -> String {
        self.create_key(user).await["secret"]
            .as_str()
            .expect("a secret")
            .to_owned()
    }

    /// Creates a user of `role` bound to `customer` and returns a new key's secret.
    ///
    /// # Panics
    /// Unless both are created.
    pub async fn key_for(&self, role: &str, customer: &Value) -> String {
        let user = self.create_user(role, customer).await;
        self.new_key(&user).await
    }
}

/// The `ETag` of an answer, which must carry one.
#[must_use]
pub fn etag(response: &Response) -> String {
    response
        .headers()
        .get("etag")
        .expect("an ETag")
        .to_str()
        .expect("a tag is text")
        .to_owned()
}

/// The value of the sample `name_and_labels` (`name{label="value",...}` as written) in a
/// Prometheus text exposition, if it is there.
#[must_use]
pub fn metric(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(name_and_labels))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

/// Asserts the status and returns the JSON body.
///
/// # Panics
/// When the status differs or the body is not JSON.
pub async fn expect_json(response: Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let text = response.text().await.expect("a body");
    assert_eq!(actual, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Sends `request` asking for XML: the answer's status and its body.
///
/// # Panics
/// When the request cannot be sent or the body read.
pub async fn xml_answer(request: RequestBuilder) -> (u16, String) {
    let response = request
        .header("accept", "application/xml")
        .send()
        .await
        .expect("sent");
    let status = response.status().as_u16();
    (status, response.text().await.expect("a body"))
}

/// The `Content-Type` of `response`, empty when it has none.
#[must_use]
pub fn content_type(response: &Response) -> String {
    response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Asserts the status and the API's error body.
///
/// # Panics
/// When status, `error` or `error_description` differ.
pub async fn expect_error(response: Response, status: u16, error: &str, description: &str) {
    let body = expect_json(response, status).await;
    assert_eq!(body["error"], error, "body: {body}");
    assert_eq!(body["error_description"], description, "body: {body}");
}

/// Asserts a `404 not_found` with `description`.
///
/// # Panics
/// When the answer differs.
pub async fn expect_not_found(response: Response, description: &str) {
    expect_error(response, 404, "not_found", description).await;
}

/// Asserts the `400 invalid_param_type` that names `parameter`.
///
/// # Panics
/// When the answer differs.
pub async fn expect_wrong_type(response: Response, parameter: &str) {
    let description =
        format!("The type of parameter {parameter} you provided is not valid for this request.");
    expect_error(response, 400, "invalid_param_type", &description).await;
}

/// Asserts the `400 delete_failed` of a row that is still in use.
///
/// # Panics
/// When the answer differs.
pub async fn expect_delete_failed(response: Response) {
    expect_error(response, 400, "delete_failed", "Failed to delete instance.").await;
}

/// Runs each named `async fn(TestApp)` of the enclosing module on SQLite and PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::TestApp::spawn($crate::Backend::Sqlite).await.expect("SQLite is always available");
                    super::$name(app).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(app) = $crate::TestApp::spawn($crate::Backend::Postgres).await else { return };
                    super::$name(app).await;
                }
            )*
        }
    };
}
