//! Logos in a web page, over real HTTP on SQLite and PostgreSQL: a customer's `logo` URL and
//! its `small_` and `medium_` renditions are served to a client that presents no key, as an
//! `<img src>` does, cacheable for good; anything but the current logo of a live customer is
//! the same `404`, and guessing names is charged to the client's address (decision 0036).
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::sync::Arc;

use credence_e2e::{Backend, TestApp, expect_json, expect_not_found};
use credence_store::test_support::TestDb;
use reqwest::multipart::{Form, Part};
use reqwest::{Method, Response};

/// The README's sample logo: a real 160x48 PNG.
const LOGO: &[u8] = include_bytes!("../../docs/examples/logo.png");

/// Creates a customer with `bytes` as its logo: its id and its `logo` URL.
async fn create_with_logo(app: &TestApp, reference: &str, bytes: &[u8]) -> (i64, String) {
    let response = app
        .request(Method::POST, "/api/v1.0/customers")
        .multipart(
            Form::new()
                .text("reference", reference.to_owned())
                .text("name", "Logo Inc")
                .part(
                    "imageFile",
                    Part::bytes(bytes.to_vec()).file_name("logo.png"),
                ),
        )
        .send()
        .await
        .unwrap();
    let created = expect_json(response, 201).await;
    let logo = created["logo"].as_str().expect("a logo URL").to_owned();
    (created["id"].as_i64().unwrap(), logo)
}

/// `GET path` with no credentials at all, as a browser fetches an image.
async fn without_a_key(app: &TestApp, path: &str) -> Response {
    app.anonymous(Method::GET, path).send().await.unwrap()
}

async fn not_found(app: &TestApp, path: &str) {
    let file = path.rsplit('/').next().unwrap();
    let file = percent_decoded(file);
    expect_not_found(
        without_a_key(app, path).await,
        &format!("The logo {file} doesn't exist."),
    )
    .await;
}

fn percent_decoded(text: &str) -> String {
    text.replace("%2F", "/").replace("%2f", "/")
}

async fn logos_are_shown_without_a_key(app: TestApp) {
    let (_, logo) = create_with_logo(&app, "LOGO-OPEN", LOGO).await;
    let (prefix, name) = logo.rsplit_once('/').unwrap();
    // The random part of the name is what keeps the URL from being guessed: 32 hex digits.
    let nonce = name
        .split_once('_')
        .and_then(|(stamp, _)| stamp.split_once('-'))
        .map(|(_, nonce)| nonce)
        .unwrap();
    assert!(
        nonce.len() == 32 && nonce.chars().all(|c| c.is_ascii_hexdigit()),
        "{name}"
    );

    // The original (bytes as uploaded), then each rendition, aspect kept, never enlarged.
    for (file, size) in [
        (name.to_owned(), (160, 48)),
        (format!("small_{name}"), (64, 19)),
        (format!("medium_{name}"), (160, 48)),
    ] {
        let response = without_a_key(&app, &format!("{prefix}/{file}")).await;
        assert_eq!(response.status(), 200, "GET {file} with no key");
        let header = |name: &str| response.headers()[name].to_str().unwrap().to_owned();
        assert_eq!(header("content-type"), "image/png");
        assert_eq!(
            header("cache-control"),
            "private, max-age=31536000, immutable"
        );
        assert_eq!(header("x-content-type-options"), "nosniff");
        let bytes = response.bytes().await.unwrap();
        if file == name {
            assert_eq!(bytes.as_ref(), LOGO);
        }
        let image = image::load_from_memory(&bytes).unwrap();
        assert_eq!((image.width(), image.height()), size, "{file}");
    }
    // HEAD as well, and a key that matches nothing changes nothing: none is asked for.
    let head = app.anonymous(Method::HEAD, &logo).send().await.unwrap();
    assert_eq!(head.status(), 200);
    let with_a_wrong_key = app.get_with_key("not-a-key-of-anyone-here", &logo).await;
    assert_eq!(with_a_wrong_key.status(), 200);
    // The customer itself still needs a key.
    let customer = without_a_key(&app, prefix.trim_end_matches("/logo")).await;
    assert_eq!(customer.status(), 401);
}

async fn only_the_current_logo_of_a_live_customer_is_shown(app: TestApp) {
    let (id, logo) = create_with_logo(&app, "LOGO-A", LOGO).await;
    let (prefix, name) = logo.rsplit_once('/').unwrap();
    let (other, _) = create_with_logo(&app, "LOGO-B", LOGO).await;

    // A guessed name: the right stamp and file, another nonce.
    let (stamp, rest) = name.split_once('-').unwrap();
    let guessed = format!("{stamp}-{}{}", "0".repeat(32), &rest[32..]);
    assert_ne!(guessed, name);
    not_found(&app, &format!("{prefix}/{guessed}")).await;
    not_found(&app, &format!("{prefix}/large_{name}")).await;
    // The right name under another customer, and under one that does not exist: the same
    // answer as a wrong name, so it tells nothing about which customers exist.
    not_found(&app, &format!("/api/v1.0/customers/{other}/logo/{name}")).await;
    not_found(&app, &format!("/api/v1.0/customers/999999/logo/{name}")).await;
    // A path that leaves the logos: a document's bytes are not served through them.
    let document = expect_json(
        app.request(Method::POST, "/api/v1.0/documents/content")
            .multipart(
                Form::new().part(
                    "file",
                    Part::bytes(include_bytes!("../../docs/examples/contract.pdf").to_vec())
                        .file_name("contract.pdf"),
                ),
            )
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    let uuid = document["document"]["uuid"].as_str().unwrap();
    not_found(
        &app,
        &format!("{prefix}/..%2F..%2F..%2Fdocuments%2F{uuid}%2Fcontent"),
    )
    .await;
    not_found(&app, &format!("{prefix}/..%2F{other}%2Flogo%2F{name}")).await;

    // A replaced logo is gone; its successor is shown.
    let response = app
        .request(Method::POST, &format!("/api/v1.0/customers/{id}"))
        .multipart(Form::new().part("imageFile", Part::bytes(LOGO.to_vec()).file_name("new.png")))
        .send()
        .await
        .unwrap();
    let new_logo = expect_json(response, 200).await["logo"]
        .as_str()
        .unwrap()
        .to_owned();
    not_found(&app, &logo).await;
    assert_eq!(without_a_key(&app, &new_logo).await.status(), 200);

    // An archived customer's logo is gone too.
    assert_eq!(
        app.delete(&format!("/api/v1.0/customers/{id}"))
            .await
            .status(),
        200
    );
    not_found(&app, &new_logo).await;
}

credence_e2e::on_both_backends!(
    logos_are_shown_without_a_key,
    only_the_current_logo_of_a_live_customer_is_shown,
);

/// Names are guessed no faster than keys: each `404` is charged to the address, and past
/// `auth_failures_per_minute` the address is refused, a right name included.
async fn guessing_logo_names_is_charged_to_the_address(backend: Backend) {
    let db = match backend {
        Backend::Sqlite => TestDb::sqlite(),
        Backend::Postgres => match TestDb::postgres() {
            Some(db) => db,
            None => return,
        },
    };
    let app = TestApp::spawn_configured(Arc::new(db), |c| c.auth_failures_per_minute = 2).await;
    let (_, logo) = create_with_logo(&app, "LOGO-G", LOGO).await;
    let (prefix, _) = logo.rsplit_once('/').unwrap();
    for guess in 0..2 {
        let response = without_a_key(&app, &format!("{prefix}/guess-{guess}.png")).await;
        assert_eq!(response.status(), 404);
    }
    let limited = without_a_key(&app, &format!("{prefix}/guess-2.png")).await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(without_a_key(&app, &logo).await.status(), 429);
}

mod limits {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn guessing_logo_names_is_charged_to_the_address_sqlite() {
        super::guessing_logo_names_is_charged_to_the_address(credence_e2e::Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn guessing_logo_names_is_charged_to_the_address_postgres() {
        super::guessing_logo_names_is_charged_to_the_address(credence_e2e::Backend::Postgres).await;
    }
}
