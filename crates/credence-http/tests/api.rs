//! In-process tests of the HTTP adapter over the domain's mockall mocks: routing, wire
//! format, content negotiation, body parsing and error mapping.
#![expect(
    clippy::unwrap_used,
    reason = "fixtures outside #[test] functions build known-good values"
)]

use std::sync::{Arc, Mutex};

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{App, test};
use credence_domain::access::credentials::ApiKeySecret;
use credence_domain::catalog::{
    AttributeKind, AttributeOption, AttributeValue, Locale, Localized, Product, ProductAttribute,
    ProductCode, Task, TaskId, TaskState, TaskTemplate,
};
use credence_domain::credit::{
    CreditAccount, CreditRefused, EntryKind, LedgerEntry, Money, Reservation, ReservationId,
    ReservationStatus,
};
use credence_domain::customers::reference_data::{Category, Label, PaymentType, User};
use credence_domain::customers::search::ScoredCustomer;
use credence_domain::customers::{AccountHolder, Customer, CustomerData};
use credence_domain::documents::logo::{ImageKind, LogoName, MAX_LOGO_BYTES};
use credence_domain::documents::service::THUMBNAIL_BOX;
use credence_domain::documents::{
    BlobKey, Document, DocumentContent, DocumentLimits, ExternalUrl, FileName, MetadataChange,
    MimeType,
};
use credence_domain::fixtures::{eur, root_category, stored_customer};
use credence_domain::ids::{CategoryId, CustomerId, PaymentTypeId};
use credence_domain::listing::Page;
use credence_domain::ports::{
    AdmitError, Conditioned, IdempotencyStart, MockAccountLedger, MockBlobStore,
    MockCustomerRepository, MockDocumentStore, MockIdempotencyStore, MockImageRenderer,
    MockKeyStore, MockProductCatalog, MockReadiness, MockRecordRepository, MockSecretSource,
    MockTaskBoard, NewCustomer, RemoveError, StoreError,
};
use credence_domain::services::ReferencePorts;
use credence_domain::values::{CreditLimit, FreeText, Reference};
use credence_domain::{Role, UserId};
use credence_http::{HttpConfig, Services, configure};
use rust_decimal::Decimal;
use serde_json::Value;

mod common;
use common::{Ports, admin_key, at, deadline_of_50_ms, key_of, user};

fn payment_type(id: i64, reference: &str) -> PaymentType {
    PaymentType {
        id: PaymentTypeId(id),
        reference: Reference::new(reference).unwrap(),
        name: Label::new(reference).unwrap(),
    }
}

fn data(reference: &str, name: &str) -> CustomerData {
    let mut data =
        credence_domain::fixtures::customer_data(reference, name, root_category(), eur());
    data.credit_limit = CreditLimit::new(Decimal::new(5000, 0), eur()).unwrap();
    data.payment_types = vec![payment_type(7, "cash")];
    data
}

fn customer(id: i64) -> Customer {
    Customer {
        id: CustomerId(id),
        uuid: uuid::Uuid::nil(),
        data: data("NC-3", "Marie's Jewelry"),
        date_created: at("2015-12-17T23:00:00Z"),
        last_updated: at("2016-08-16T09:02:13Z"),
        revision: credence_domain::customers::Revision::FIRST,
        account: None,
        documents: Vec::new(),
    }
}

/// What the store answers to `new`: customer 9, as it was given.
fn as_inserted(new: &NewCustomer) -> Customer {
    Customer {
        uuid: new.uuid,
        ..stored_customer(9, new.data.clone(), new.now)
    }
}

/// The mocks a test may configure; everything else panics if called.
#[derive(Default)]
struct Mocks {
    customers: MockCustomerRepository,
    categories: MockRecordRepository<Category>,
    payment_types: MockRecordRepository<PaymentType>,
    readiness: MockReadiness,
    ledger: MockAccountLedger,
    idempotency: MockIdempotencyStore,
    catalog: MockProductCatalog,
    board: MockTaskBoard,
    documents: MockDocumentStore,
    blobs: MockBlobStore,
    images: MockImageRenderer,
}

impl Mocks {
    fn with_root(mut self) -> Self {
        self.categories
            .expect_find_by_reference()
            .returning(|_| Ok(Some(root_category())));
        self
    }

    fn services(self) -> Services {
        let mut users = MockRecordRepository::<User>::new();
        // The test admin's user row (the creator of new customers) is not needed here.
        users.expect_get().returning(|_| Ok(None));
        let mut secrets = MockSecretSource::new();
        secrets.expect_random_bytes().returning(|| Ok([9; 32]));
        let ports = Ports::new("2020-01-01T00:00:00Z");
        Ports {
            adapter_clock: Arc::clone(&ports.clock),
            keys: keys(),
            secrets,
            customers: Arc::new(self.customers),
            refs: ReferencePorts {
                categories: Arc::new(self.categories),
                payment_types: Arc::new(self.payment_types),
                users: Arc::new(users),
                ..ports.refs.clone()
            },
            ledger: self.ledger,
            idempotency: self.idempotency,
            catalog: self.catalog,
            board: self.board,
            documents: self.documents,
            blobs: self.blobs,
            images: self.images,
            readiness: self.readiness,
            ..ports
        }
        .services()
    }
}

/// A key store that knows an admin key, `admin-key-for-tests`, and a customer key bound to
/// customer 256, `customer-key-for-tests`.
fn keys() -> MockKeyStore {
    let admin_hash = ApiKeySecret::parse("admin-key-for-tests").unwrap().hash();
    let customer_hash = ApiKeySecret::parse("customer-key-for-tests")
        .unwrap()
        .hash();
    let mut keys = MockKeyStore::new();
    keys.expect_find_by_hash().returning(move |hash, _| {
        if *hash == customer_hash {
            // A marketplace customer, bound to customer 256.
            let user = user(
                3,
                "cust-256",
                "Customer",
                Role::Customer,
                Some(CustomerId(256)),
            );
            return Ok(Some(key_of(3, "customer-ke", user)));
        }
        Ok((*hash == admin_hash).then(|| admin_key(1, 2, "emp-002")))
    });
    keys
}

macro_rules! app {
    ($mocks:expr) => {
        app!($mocks, HttpConfig::default())
    };
    ($mocks:expr, $config:expr) => {
        test::init_service(
            App::new()
                // Every request of these tests comes from the admin key of `keys()`.
                .wrap_fn(|mut req, srv| {
                    use actix_web::dev::Service as _;
                    if !req.headers().contains_key(header::AUTHORIZATION) {
                        req.headers_mut().insert(
                            header::AUTHORIZATION,
                            header::HeaderValue::from_static("Bearer admin-key-for-tests"),
                        );
                    }
                    srv.call(req)
                })
                .configure(configure($mocks.services(), $config)),
        )
        .await
    };
}

async fn json_of(response: actix_web::dev::ServiceResponse) -> (StatusCode, Value) {
    let status = response.status();
    let body = test::read_body(response).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// The answer to `request`: its status, and its body as JSON (`Null` when it is not JSON).
async fn json_answer<S>(app: &S, request: test::TestRequest) -> (StatusCode, Value)
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    json_of(test::call_service(app, request.to_request()).await).await
}

/// The answer to `request`: its status and its body as text.
async fn text_answer<S>(app: &S, request: test::TestRequest) -> (StatusCode, String)
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    text_of(test::call_service(app, request.to_request()).await).await
}

/// Sends `request` and checks that it is refused with `status` and the error code `code`.
async fn expect_error<S>(app: &S, request: test::TestRequest, status: StatusCode, code: &str)
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let (got, json) = json_answer(app, request).await;
    assert_eq!(
        (got, json["error"].as_str()),
        (status, Some(code)),
        "{json}"
    );
}

/// Sends `request` and checks that it is refused with `status`, the error code `code` and the
/// description `description`, and nothing else in the body.
async fn expect_error_text<S>(
    app: &S,
    request: test::TestRequest,
    status: StatusCode,
    code: &str,
    description: &str,
) where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    assert_eq!(
        json_answer(app, request).await,
        (status, error(code, description))
    );
}

fn error(code: &str, description: &str) -> Value {
    serde_json::json!({"error": code, "error_description": description})
}

#[actix_web::test]
async fn list_pages_with_seed_links_and_exact_amounts() {
    let mut mocks = Mocks::default();
    mocks
        .customers
        .expect_list()
        .withf(|q| q.page.max() == 2 && q.page.offset() == 2 && q.filter.name.is_some())
        .returning(|_| {
            Ok(Page {
                items: vec![customer(256)],
                total: 5,
            })
        });
    let app = app!(mocks);
    let req = test::TestRequest::get()
        .uri("/api/v1.0/customers?max=2&offset=2&name=Mar*")
        .to_request();
    let response = test::call_service(&app, req).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
    assert!(body.contains(r#""creditLimit":5000.00"#), "{body}");
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        json["paging"],
        serde_json::json!({
            "total": 5, "max": 2, "offset": 2,
            "previous": "/api/v1.0/customers?max=2&offset=0&sort=dateCreated&order=asc&name=Mar*",
            "next": "/api/v1.0/customers?max=2&offset=4&sort=dateCreated&order=asc&name=Mar*",
        })
    );
    let first = &json["data"][0];
    assert_eq!(first["id"], 256);
    assert_eq!(
        first["customerCategory"]["href"],
        "/api/v1.0/customerCategories/1"
    );
    assert_eq!(first["paymentTypes"][0]["href"], "/api/v1.0/paymentTypes/7");
    assert_eq!(first["organization"], "entity1");
    assert_eq!(first["dateCreated"], "2015-12-17T23:00:00Z");
    assert_eq!(first["isCredit"], true);
    assert_eq!(first["reference2"], Value::Null);
}

#[actix_web::test]
async fn first_and_last_pages_have_null_links() {
    let mut mocks = Mocks::default();
    mocks.customers.expect_list().returning(|_| {
        Ok(Page {
            items: vec![customer(1)],
            total: 1,
        })
    });
    let app = app!(mocks);
    let (status, json) =
        json_answer(&app, test::TestRequest::get().uri("/api/v1.0/customers")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["paging"]["previous"], Value::Null);
    assert_eq!(json["paging"]["next"], Value::Null);
    assert_eq!(json["paging"]["max"], 100);
}

#[actix_web::test]
async fn list_rejects_every_unknown_parameter_bad_dates_and_bad_types() {
    let app = app!(Mocks::default());
    let cases = [
        (
            "/api/v1.0/customers?dateCreated_gta=1&max=2&foo=x",
            error(
                "invalid_param",
                "The parameters [dateCreated_gta, foo] you provided are not valid for this request.",
            ),
        ),
        (
            "/api/v1.0/customers?dateCreated_gt=2016-08-1Z",
            error(
                "invalid_datetime_format",
                "Invalid datetime filter (not ISO-8601 formatted): [2016-08-1Z]",
            ),
        ),
        (
            "/api/v1.0/customers?max=ten",
            error(
                "invalid_param_type",
                "The type of parameter max you provided is not valid for this request.",
            ),
        ),
        (
            "/api/v1.0/customers?offset=1.5",
            error(
                "invalid_param_type",
                "The type of parameter offset you provided is not valid for this request.",
            ),
        ),
        (
            "/api/v1.0/customers/12ab",
            error(
                "invalid_param_type",
                "The type of parameter id you provided is not valid for this request.",
            ),
        ),
    ];
    for (uri, expected) in cases {
        let (status, json) = json_answer(&app, test::TestRequest::get().uri(uri)).await;
        assert_eq!((status, json), (StatusCode::BAD_REQUEST, expected), "{uri}");
    }
    let request = test::TestRequest::get().uri("/api/v1.0/customers?max=1001");
    expect_error(&app, request, StatusCode::BAD_REQUEST, "invalid_param").await;
}

#[actix_web::test]
async fn search_answers_scored_pages_and_refuses_bad_queries() {
    let mut mocks = Mocks::default();
    mocks
        .customers
        .expect_search()
        .withf(|q| {
            q.terms.tokens() == ["horse", "co"]
                && q.include_inactive
                && q.within.is_none()
                && q.page.max() == 1
        })
        .returning(|_| {
            Ok(Page {
                items: vec![ScoredCustomer {
                    customer: customer(256),
                    score: 110,
                }],
                total: 2,
            })
        });
    let app = app!(mocks);
    let (status, json) = json_answer(
        &app,
        test::TestRequest::get()
            .uri("/api/v1.0/customers/search?q=Horse+%26+Co&inactive=true&max=1"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["data"][0]["id"], 256);
    assert_eq!(json["data"][0]["score"], 110);
    assert_eq!(json["data"][0]["reference"], "NC-3");
    assert_eq!(
        json["paging"]["next"],
        "/api/v1.0/customers/search?max=1&offset=1&q=Horse+%26+Co&inactive=true"
    );

    let cases = [
        (
            "/api/v1.0/customers/search",
            error("missing_param", "q parameter is missing"),
        ),
        (
            "/api/v1.0/customers/search?q=",
            error("invalid_param", "The parameter q cannot be empty."),
        ),
        (
            "/api/v1.0/customers/search?q=%22%2A%26%7C%21",
            error(
                "invalid_param",
                "The parameter q must contain at least one letter or digit.",
            ),
        ),
        (
            "/api/v1.0/customers/search?q=a&sort=name",
            error(
                "invalid_param",
                "The parameters [sort] you provided are not valid for this request.",
            ),
        ),
        (
            "/api/v1.0/customers/search?q=a&inactive=maybe",
            error(
                "invalid_param_type",
                "The type of parameter inactive you provided is not valid for this request.",
            ),
        ),
    ];
    for (uri, expected) in cases {
        let (status, json) = json_answer(&app, test::TestRequest::get().uri(uri)).await;
        assert_eq!((status, json), (StatusCode::BAD_REQUEST, expected), "{uri}");
    }
    let many = (0..33)
        .map(|i| format!("t{i}"))
        .collect::<Vec<_>>()
        .join("+");
    let (status, json) = json_answer(
        &app,
        test::TestRequest::get().uri(&format!("/api/v1.0/customers/search?q={many}")),
    )
    .await;
    assert_eq!(
        (status, json["error_description"].as_str()),
        (
            StatusCode::BAD_REQUEST,
            Some("The parameter q cannot have more than 32 search terms.")
        )
    );
}

#[actix_web::test]
async fn show_not_found_uses_the_seed_text() {
    let mut mocks = Mocks::default();
    mocks.customers.expect_get().returning(|_| Ok(None));
    let app = app!(mocks);
    expect_error_text(
        &app,
        test::TestRequest::get().uri("/api/v1.0/customers/2559"),
        StatusCode::NOT_FOUND,
        "not_found",
        "The customer with the id 2559 doesn't exist.",
    )
    .await;
}

/// Creates through the app and returns the data the repository was asked to insert.
async fn create_with(request: test::TestRequest) -> (StatusCode, Value, Option<CustomerData>) {
    let inserted: Arc<Mutex<Option<CustomerData>>> = Arc::default();
    let seen = Arc::clone(&inserted);
    let mut mocks = Mocks::default().with_root();
    mocks
        .payment_types
        .expect_get()
        .returning(|id| Ok(Some(payment_type(id.get(), &format!("pt{}", id.get())))));
    mocks
        .customers
        .expect_insert()
        .returning(move |new: &NewCustomer| {
            *seen.lock().unwrap() = Some(new.data.clone());
            Ok(as_inserted(new))
        });
    let app = app!(mocks);
    let (status, json) = json_answer(&app, request.uri("/api/v1.0/customers")).await;
    let data = inserted.lock().unwrap().clone();
    (status, json, data)
}

#[actix_web::test]
async fn json_form_and_multipart_bodies_reach_the_same_input() {
    let json = test::TestRequest::post().set_json(serde_json::json!({
        "reference": "NC-3", "name": "Marie's Jewelry", "creditLimit": 5000.5, "isActive": false,
        "paymentTypes": [{"id": 7}, {"id": 8}], "email": null, "id": 99, "unknownField": "ignored",
    }));
    let form = test::TestRequest::post()
        .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
        .set_payload(
            "reference=NC-3&name=Marie%27s+Jewelry&creditLimit=5000.5&isActive=false&email=\
             &paymentTypes=%5B%7B%22id%22%3D7%7D%2C%7B%22id%22%3D8%7D%5D",
        );
    let boundary = "XyZ";
    let parts = [
        ("reference", "NC-3"),
        ("name", "Marie's Jewelry"),
        ("creditLimit", "5000.5"),
        ("isActive", "false"),
        ("paymentTypes", r#"[{"id"=7},{"id"=8}]"#),
    ];
    let mut multipart_body = String::new();
    for (name, value) in parts {
        multipart_body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    multipart_body.push_str(&format!("--{boundary}--\r\n"));
    let multipart = test::TestRequest::post()
        .insert_header((
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        ))
        .set_payload(multipart_body);

    let mut inserted = Vec::new();
    for request in [json, form, multipart] {
        let (status, body, data) = create_with(request).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["creditLimit"].to_string(), "5000.50");
        assert_eq!(body["isActive"], false);
        inserted.push(data.expect("the repository was called"));
    }
    let ids: Vec<i64> = inserted[0]
        .payment_types
        .iter()
        .map(|p| p.id.get())
        .collect();
    assert_eq!(ids, vec![7, 8]);
    assert_eq!(inserted[0].credit_limit.amount(), Decimal::new(500_050, 2));
    assert_eq!(inserted[0], inserted[1], "form differs from JSON");
    assert_eq!(inserted[0], inserted[2], "multipart differs from JSON");
}

#[actix_web::test]
async fn bad_bodies_answer_in_the_seed_shape_without_writing() {
    let config = HttpConfig {
        body_limit: 64,
        ..HttpConfig::default()
    };
    let cases = [
        (
            test::TestRequest::post().set_json(serde_json::json!({"reference": "x".repeat(100)})),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            test::TestRequest::post()
                .insert_header((header::CONTENT_TYPE, "text/plain"))
                .set_payload("reference=a"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            test::TestRequest::post()
                .insert_header((header::CONTENT_TYPE, "application/json"))
                .set_payload("{\"name\":"),
            StatusCode::BAD_REQUEST,
            "invalid_param",
        ),
        (
            test::TestRequest::post().set_json(serde_json::json!({"name": {"first": "A"}})),
            StatusCode::BAD_REQUEST,
            "invalid_param_type",
        ),
        (
            test::TestRequest::post()
                .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
                .set_payload("reference=a&name=b&paymentTypes=%5B%7B%22id%22%3D%7D%5D"),
            StatusCode::BAD_REQUEST,
            "invalid_param_type",
        ),
    ];
    for (request, status, code) in cases {
        // No expectations: any repository call would panic and fail the test.
        let app = app!(Mocks::default(), config.clone());
        let (got, json) = json_answer(&app, request.uri("/api/v1.0/customers")).await;
        assert_eq!(
            (got, json["error"].as_str()),
            (status, Some(code)),
            "{json}"
        );
        assert!(json["error_description"].is_string());
    }
    let app = app!(Mocks::default(), config);
    let request = test::TestRequest::post()
        .uri("/api/v1.0/customers")
        .set_json(serde_json::json!({"name": {"first": "A"}}));
    let (_, json) = json_answer(&app, request).await;
    assert_eq!(
        json,
        error(
            "invalid_param_type",
            "The type of parameter name you provided is not valid for this request."
        )
    );
}

#[actix_web::test]
async fn an_unavailable_store_is_503_and_an_unexpected_one_an_opaque_500() {
    let mut mocks = Mocks::default();
    mocks.customers.expect_get().returning(|key| match key {
        credence_domain::customers::CustomerKey::Id(CustomerId(1)) => {
            Err(StoreError::Unavailable("pool timed out".into()))
        }
        _ => Err(StoreError::Unexpected("secret detail".into())),
    });
    let app = app!(mocks);
    expect_error_text(
        &app,
        test::TestRequest::get().uri("/api/v1.0/customers/1"),
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
        "The service is temporarily unavailable, please retry.",
    )
    .await;
    expect_error_text(
        &app,
        test::TestRequest::get().uri("/api/v1.0/customers/2"),
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "Oops! Something went wrong...",
    )
    .await;
}

#[actix_web::test]
async fn xml_is_negotiated_for_customers_and_errors() {
    let mut mocks = Mocks::default();
    mocks.customers.expect_get().returning(|key| match key {
        credence_domain::customers::CustomerKey::Id(CustomerId(256)) => Ok(Some(customer(256))),
        _ => Ok(None),
    });
    let app = app!(mocks);
    let request = test::TestRequest::get()
        .uri("/api/v1.0/customers/256")
        .insert_header((header::ACCEPT, "application/xml"))
        .to_request();
    let response = test::call_service(&app, request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .headers()
            .get(header::CONTENT_TYPE)
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("application/xml")
    );
    let xml = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
    assert!(
        xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?><customer><id>256</id><uuid>"),
        "{xml}"
    );
    assert!(
        xml.contains("<name>Marie&apos;s Jewelry</name>")
            || xml.contains("<name>Marie's Jewelry</name>"),
        "{xml}"
    );
    assert!(xml.contains("<creditLimit>5000.00</creditLimit>"), "{xml}");
    assert!(
        xml.contains("<paymentTypes><paymentType><id>7</id><reference>cash</reference>"),
        "{xml}"
    );
    assert!(!xml.contains("reference2"), "nulls are omitted: {xml}");
    assert!(xml.ends_with("</customer>"), "{xml}");

    let request = test::TestRequest::get()
        .uri("/api/v1.0/customers/1")
        .insert_header((header::ACCEPT, "text/xml, application/json;q=0.5"))
        .to_request();
    let response = test::call_service(&app, request).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let xml = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
    assert!(
        xml.ends_with("<error><error>not_found</error><error_description>The customer with the id 1 doesn&apos;t exist.</error_description></error>"),
        "{xml}"
    );
}

#[actix_web::test]
async fn unknown_routes_and_methods_answer_json() {
    let app = app!(Mocks::default());
    for (request, status, code) in [
        (
            test::TestRequest::get().uri("/nowhere"),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            test::TestRequest::get().uri("/api/v1.0/nothing"),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            test::TestRequest::put().uri("/api/v1.0/customers"),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
    ] {
        expect_error(&app, request, status, code).await;
    }
}

#[actix_web::test]
async fn delete_answers_the_seed_bodies() {
    let mut mocks = Mocks::default();
    mocks
        .customers
        .expect_get()
        .returning(|_| Ok(Some(customer(5))));
    mocks.customers.expect_archive().returning(|id, _, _| {
        if id == CustomerId(5) {
            Err(RemoveError::InUse)
        } else {
            Ok(true)
        }
    });
    let app = app!(mocks);
    expect_error_text(
        &app,
        test::TestRequest::delete().uri("/api/v1.0/customers/5"),
        StatusCode::BAD_REQUEST,
        "delete_failed",
        "Failed to delete instance.",
    )
    .await;
}

#[actix_web::test]
async fn delete_success_body() {
    let mut mocks = Mocks::default();
    mocks
        .customers
        .expect_get()
        .returning(|_| Ok(Some(customer(6))));
    mocks
        .customers
        .expect_archive()
        .returning(|_, _, _| Ok(true));
    let app = app!(mocks);
    let request = test::TestRequest::delete().uri("/api/v1.0/customers/reference/NC-3");
    let (status, json) = json_answer(&app, request).await;
    assert_eq!(
        (status, json),
        (
            StatusCode::OK,
            serde_json::json!({"success": "true", "success_description": "Instance deleted successfully"})
        )
    );
}

#[actix_web::test]
async fn health_probes() {
    let mut mocks = Mocks::default();
    mocks
        .readiness
        .expect_ping()
        .returning(|| Err(StoreError::Unavailable("down".into())));
    let app = app!(mocks);
    let (status, json) = json_answer(&app, test::TestRequest::get().uri("/health/live")).await;
    assert_eq!(
        (status, json),
        (StatusCode::OK, serde_json::json!({"status": "ok"}))
    );
    let (status, _) = json_answer(&app, test::TestRequest::get().uri("/health/ready")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[actix_web::test]
async fn openapi_and_swagger_ui_are_served() {
    let document = credence_http::openapi();
    let json = serde_json::to_value(&document).unwrap();
    assert!(json["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1.0/customers",
        "/api/v1.0/customers/{id}",
        "/api/v1.0/currencies/{id}",
        "/api/v1.0/documents/content",
        "/api/v1.0/documents/{uuid}/content",
        "/api/v1.0/customers/{id}/documents/{uuid}",
        "/api/v1.0/customers/{id}/logo/{file}",
        "/health/ready",
    ] {
        assert!(json["paths"].get(path).is_some(), "{path} is documented");
    }
    let app = app!(Mocks::default());
    let response = test::call_service(
        &app,
        test::TestRequest::get().uri("/openapi.json").to_request(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let response =
        test::call_service(&app, test::TestRequest::get().uri("/docs").to_request()).await;
    assert!(response.status().is_redirection());
    assert_eq!(response.headers().get(header::LOCATION).unwrap(), "/docs/");
    let response =
        test::call_service(&app, test::TestRequest::get().uri("/docs/").to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[actix_web::test]
async fn reference_data_lists_and_creates() {
    let mut mocks = Mocks::default();
    mocks.categories.expect_list().returning(|_| {
        Ok(Page {
            items: vec![root_category()],
            total: 3,
        })
    });
    mocks
        .categories
        .expect_get()
        .returning(|_| Ok(Some(root_category())));
    mocks.categories.expect_create().returning(|draft| {
        Ok(Category {
            id: CategoryId(2),
            reference: draft.reference,
            name: draft.name,
            parent_id: draft.parent_id,
        })
    });
    let app = app!(mocks);
    let (status, json) = json_answer(
        &app,
        test::TestRequest::get().uri("/api/v1.0/customerCategories?max=1"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        json["paging"]["next"],
        "/api/v1.0/customerCategories?max=1&offset=1"
    );
    assert_eq!(
        json["data"][0],
        serde_json::json!({"id": 1, "reference": "root", "name": "Root", "parentId": null, "href": "/api/v1.0/customerCategories/1"})
    );
    let request = test::TestRequest::post()
        .uri("/api/v1.0/customerCategories")
        .set_json(serde_json::json!({"reference": "jewelry", "name": "Jewelry", "parentId": 1}));
    let (status, json) = json_answer(&app, request).await;
    assert_eq!(
        (status, json["href"].as_str()),
        (StatusCode::CREATED, Some("/api/v1.0/customerCategories/2"))
    );
    let request = test::TestRequest::post()
        .uri("/api/v1.0/customerCategories")
        .set_json(serde_json::json!({"name": "Jewelry"}));
    expect_error_text(
        &app,
        request,
        StatusCode::BAD_REQUEST,
        "missing_param",
        "reference parameter is missing",
    )
    .await;
}

#[actix_web::test]
async fn path_parameters_are_documented_once() {
    let json = serde_json::to_value(credence_http::openapi()).unwrap();
    for (path, method) in [
        ("/api/v1.0/customers/{id}", "get"),
        ("/api/v1.0/users/{id}", "delete"),
    ] {
        let in_path: Vec<Value> = json["paths"][path][method]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "path")
            .cloned()
            .collect();
        assert_eq!(in_path.len(), 1, "{method} {path}: {in_path:?}");
    }
}

// ---- credit accounts, idempotency, marketplace -------------------------------------------

/// `minor` euro cents.
fn cents(minor: i64) -> Money {
    Money::from_minor(minor, eur())
}

/// Customer 256's account: 20000.00 balance, 3000.00 limit, 5000.00 reserved (seed 000).
fn account_256() -> CreditAccount {
    CreditAccount::from_minor(CustomerId(256), eur(), 2_000_000, 300_000, 500_000)
}

/// Mocks where customer 256 exists (for the scope check and the currency lookup).
fn mocks_with_customer_256() -> Mocks {
    let mut mocks = Mocks::default();
    mocks
        .customers
        .expect_get()
        .returning(|_| Ok(Some(customer(256))));
    mocks
        .customers
        .expect_holder()
        .returning(|_| Ok(Some(AccountHolder::from(&customer(256)))));
    mocks
}

fn payment_entry() -> LedgerEntry {
    LedgerEntry {
        id: 41,
        account: CustomerId(256),
        kind: EntryKind::Payment,
        balance_delta: cents(10_000),
        reserved_delta: cents(0),
        balance_after: cents(2_010_000),
        reserved_after: cents(500_000),
        description: Some("wire".into()),
        reservation: None,
        user: Some(UserId(2)),
        at: at("2020-01-01T00:00:00Z"),
    }
}

const PAYMENT_BODY: &str = r#"{"id":41,"kind":"payment","amount":100.00,"reservedDelta":0.00,"balance":20100.00,"reservedAmount":5000.00,"description":"wire","reservationId":null,"userId":2,"date":"2020-01-01T00:00:00Z","href":"/api/v1.0/customers/256/account/ledger/41"}"#;

/// Keys are scoped to the caller (the admin's user id), not to the route.
const PAYMENT_SCOPE: &str = "2";

fn payment_request(key: Option<&str>) -> test::TestRequest {
    let mut request = test::TestRequest::post()
        .uri("/api/v1.0/customers/256/account/payments")
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .set_payload(r#"{"amount": "100.00", "description": "wire"}"#);
    if let Some(key) = key {
        request = request.insert_header(("Idempotency-Key", key));
    }
    request
}

async fn text_of(response: actix_web::dev::ServiceResponse) -> (StatusCode, String) {
    let status = response.status();
    let body = test::read_body(response).await;
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[actix_web::test]
async fn a_refused_reservation_answers_422_with_exact_amounts() {
    let mut mocks = mocks_with_customer_256();
    mocks
        .ledger
        .expect_admit()
        .withf(|a, _| {
            a.amount == cents(5_000) && a.account == CustomerId(256) && a.idempotency.is_none()
        })
        .returning(|_, _| {
            Err(AdmitError::Refused(CreditRefused {
                available: cents(1_200),
                requested: cents(5_000),
            }))
        });
    let app = app!(mocks);
    let request = test::TestRequest::post()
        .uri("/api/v1.0/customers/256/account/reservations")
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .set_payload(r#"{"amount": 50.00, "description": "order 7", "expiresIn": 600}"#);
    let (status, body) = text_answer(&app, request).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body,
        r#"{"error":"credit_limit_exceeded","error_description":"The requested amount 50.00 EUR exceeds the available credit 12.00 EUR.","available":12.00,"requested":50.00}"#
    );
    let request = test::TestRequest::post()
        .uri("/api/v1.0/customers/256/account/reservations")
        .insert_header((header::ACCEPT, "application/xml"))
        .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
        .set_payload("amount=50");
    let (status, xml) = text_answer(&app, request).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        xml.ends_with("<available>12.00</available><requested>50.00</requested></error>"),
        "{xml}"
    );
}

#[actix_web::test]
async fn an_admitted_reservation_is_201_with_exact_amounts() {
    let mut mocks = mocks_with_customer_256();
    mocks.ledger.expect_admit().returning(|a, _| {
        Ok(Reservation {
            id: ReservationId(9),
            account: a.account,
            customer: a.customer,
            amount: a.amount,
            captured: None,
            status: ReservationStatus::Open,
            description: a.description.clone(),
            expires_at: a.expires_at,
            created_at: a.now,
            closed_at: None,
        })
    });
    let app = app!(mocks);
    let request = test::TestRequest::post()
        .uri("/api/v1.0/customers/256/account/reservations")
        .set_json(
            serde_json::json!({"amount": "12.5", "description": "order 7", "expiresIn": "60"}),
        );
    let (status, body) = text_answer(&app, request).await;
    assert_eq!(
        (status, body.as_str()),
        (
            StatusCode::CREATED,
            r#"{"id":9,"amount":12.50,"capturedAmount":null,"status":"open","description":"order 7","expiresAt":"2020-01-01T00:01:00Z","dateCreated":"2020-01-01T00:00:00Z","dateClosed":null,"currency":"EUR","href":"/api/v1.0/customers/256/account/reservations/9"}"#
        )
    );
}

#[actix_web::test]
async fn a_payment_is_201_with_the_ledger_entry_from_json_or_a_form() {
    let mut mocks = mocks_with_customer_256();
    mocks
        .ledger
        .expect_post()
        .withf(|p, _| {
            p.kind == EntryKind::Payment
                && p.balance_delta == cents(10_000)
                && p.description.as_deref() == Some("wire")
                && p.idempotency.is_none()
        })
        .times(2)
        .returning(|_, _| Ok(payment_entry()));
    let app = app!(mocks);
    let (status, body) = text_answer(&app, payment_request(None)).await;
    assert_eq!((status, body.as_str()), (StatusCode::CREATED, PAYMENT_BODY));
    let form = test::TestRequest::post()
        .uri("/api/v1.0/customers/256/account/payments")
        .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
        .set_payload("amount=100.00&description=wire");
    let (status, body) = text_answer(&app, form).await;
    assert_eq!((status, body.as_str()), (StatusCode::CREATED, PAYMENT_BODY));
}

#[actix_web::test]
async fn bad_amounts_and_missing_reasons_are_400_without_writing() {
    let app = app!(mocks_with_customer_256());
    let cases = [
        (
            "/api/v1.0/customers/256/account/adjustments",
            r#"{"amount": -5.00}"#,
            error("missing_param", "reason parameter is missing"),
        ),
        (
            "/api/v1.0/customers/256/account/payments",
            r#"{"description": "x"}"#,
            error("missing_param", "amount parameter is missing"),
        ),
        (
            "/api/v1.0/customers/256/account/charges",
            r#"{"amount": "ten"}"#,
            error(
                "invalid_param_type",
                "The type of parameter amount you provided is not valid for this request.",
            ),
        ),
    ];
    for (uri, payload, expected) in cases {
        let request = test::TestRequest::post()
            .uri(uri)
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .set_payload(payload);
        let (status, json) = json_answer(&app, request).await;
        assert_eq!((status, json), (StatusCode::BAD_REQUEST, expected), "{uri}");
    }
}

#[actix_web::test]
async fn an_idempotency_key_replay_answers_the_stored_answer_without_the_ledger() {
    let mut mocks = Mocks::default();
    mocks.ledger.expect_post().never();
    mocks
        .idempotency
        .expect_start()
        .withf(|scope, key, fingerprint, now, lease| {
            scope == PAYMENT_SCOPE
                && key == "k-1"
                && fingerprint.starts_with("POST /api/v1.0/customers/256/account/payments ")
                && *lease - *now == chrono::TimeDelta::seconds(60)
        })
        .returning(|_, _, _, _, _| {
            Ok(IdempotencyStart::Replay {
                status: 201,
                body: PAYMENT_BODY.into(),
            })
        });
    mocks.idempotency.expect_complete().never();
    let app = app!(mocks);
    let (status, body) = text_answer(&app, payment_request(Some("k-1"))).await;
    assert_eq!((status, body.as_str()), (StatusCode::CREATED, PAYMENT_BODY));
}

#[actix_web::test]
async fn an_idempotency_key_in_flight_is_409_and_reused_with_another_body_422() {
    let mut mocks = Mocks::default();
    mocks.ledger.expect_post().never();
    mocks
        .idempotency
        .expect_start()
        .returning(|_, key, _, _, _| {
            Ok(if key == "busy" {
                IdempotencyStart::InFlight
            } else {
                IdempotencyStart::Mismatch
            })
        });
    let app = app!(mocks);
    for (key, status, code) in [
        ("busy", StatusCode::CONFLICT, "idempotency_key_in_use"),
        (
            "other",
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
        ),
        ("a b", StatusCode::BAD_REQUEST, "invalid_param"),
    ] {
        expect_error(&app, payment_request(Some(key)), status, code).await;
    }
}

#[actix_web::test]
async fn a_started_key_stores_the_exact_answer_and_tags_the_effect() {
    let mut mocks = mocks_with_customer_256();
    mocks
        .idempotency
        .expect_start()
        .returning(|_, _, _, _, _| Ok(IdempotencyStart::Started));
    mocks
        .ledger
        .expect_post()
        .withf(|p, _| {
            p.idempotency
                .as_deref()
                .is_some_and(|tag| tag.starts_with(&format!("{PAYMENT_SCOPE}:k-2:")))
        })
        .times(1)
        .returning(|_, _| Ok(payment_entry()));
    mocks
        .idempotency
        .expect_complete()
        .withf(|scope, key, status, body, _| {
            scope == PAYMENT_SCOPE && key == "k-2" && *status == 201 && body == PAYMENT_BODY
        })
        .times(1)
        .returning(|_, _, _, _, _| Ok(()));
    mocks.idempotency.expect_abandon().never();
    let app = app!(mocks);
    let (status, body) = text_answer(&app, payment_request(Some("k-2"))).await;
    assert_eq!((status, body.as_str()), (StatusCode::CREATED, PAYMENT_BODY));
}

#[actix_web::test]
async fn a_started_key_whose_request_fails_is_abandoned() {
    let mut mocks = mocks_with_customer_256();
    mocks
        .idempotency
        .expect_start()
        .returning(|_, _, _, _, _| Ok(IdempotencyStart::Started));
    mocks.ledger.expect_admit().returning(|_, _| {
        Err(AdmitError::Refused(CreditRefused {
            available: cents(1_200),
            requested: cents(5_000),
        }))
    });
    mocks.idempotency.expect_complete().never();
    mocks
        .idempotency
        .expect_abandon()
        .withf(|scope, key| scope == "2" && key == "k-3")
        .times(1)
        .returning(|_, _| Ok(()));
    let app = app!(mocks);
    let request = test::TestRequest::post()
        .uri("/api/v1.0/customers/256/account/reservations")
        .insert_header(("Idempotency-Key", "k-3"))
        .set_json(serde_json::json!({"amount": "50.00"}));
    expect_error(
        &app,
        request,
        StatusCode::UNPROCESSABLE_ENTITY,
        "credit_limit_exceeded",
    )
    .await;
}

#[actix_web::test]
async fn the_account_the_quote_and_the_ledger_page() {
    let mut mocks = marketplace_mocks();
    mocks
        .ledger
        .expect_ledger()
        .withf(|_, filter, page| {
            page.max() == 1
                && page.offset() == 1
                && filter.kind == Some(EntryKind::Payment)
                && filter.date_created.gte.map(|t| t.to_rfc3339())
                    == Some("2026-01-01T00:00:00+00:00".to_owned())
                && filter.date_created.lt.is_none()
        })
        .returning(|_, _, _| {
            Ok(Page {
                items: vec![payment_entry()],
                total: 3,
            })
        });
    let app = app!(mocks);
    let request = test::TestRequest::get().uri("/api/v1.0/customers/256/account");
    let (status, body) = text_answer(&app, request).await;
    assert_eq!(
        (status, body.as_str()),
        (
            StatusCode::OK,
            r#"{"customerId":256,"currency":"EUR","balance":20000.00,"creditLimit":3000.00,"reservedAmount":5000.00,"availableCredit":18000.00,"href":"/api/v1.0/customers/256/account"}"#
        )
    );
    let request = test::TestRequest::post()
        .uri("/api/v1.0/customers/256/account/quote")
        .set_json(serde_json::json!({"amount": "18000.01"}));
    let (status, body) = text_answer(&app, request).await;
    assert_eq!(
        (status, body.as_str()),
        (
            StatusCode::OK,
            r#"{"admitted":false,"available":18000.00,"requested":18000.01,"remaining":-0.01,"currency":"EUR"}"#
        )
    );
    let request = test::TestRequest::get().uri(
        "/api/v1.0/customers/256/account/ledger?max=1&offset=1&type=payment&dateCreated_gte=2026-01-01T00:00:00Z",
    );
    let (status, json) = json_answer(&app, request).await;
    assert_eq!(status, StatusCode::OK);
    let filters = "type=payment&dateCreated_gte=2026-01-01T00%3A00%3A00Z";
    assert_eq!(
        json["paging"],
        serde_json::json!({
            "total": 3, "max": 1, "offset": 1,
            "previous": format!("/api/v1.0/customers/256/account/ledger?max=1&offset=0&{filters}"),
            "next": format!("/api/v1.0/customers/256/account/ledger?max=1&offset=2&{filters}"),
        })
    );
    assert_eq!(json["data"][0]["kind"], "payment");
    let request = test::TestRequest::get().uri("/api/v1.0/customers/256/account/ledger?sort=id");
    let (status, _) = json_answer(&app, request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The same refusals as the customer list's for a bad date; the type names the kinds.
    for (query, error, description) in [
        (
            "type=refund",
            "invalid_param",
            "The type refund is not one of payment, charge, adjustment, reservation, capture, release, expiry.",
        ),
        (
            "dateCreated_lt=yesterday",
            "invalid_datetime_format",
            "Invalid datetime filter (not ISO-8601 formatted): [yesterday]",
        ),
    ] {
        let uri = format!("/api/v1.0/customers/256/account/ledger?{query}");
        let (status, json) = json_answer(&app, test::TestRequest::get().uri(&uri)).await;
        assert_eq!(
            (status, &json["error"], &json["error_description"]),
            (
                StatusCode::BAD_REQUEST,
                &serde_json::json!(error),
                &serde_json::json!(description)
            ),
            "{query}"
        );
    }
}

#[actix_web::test]
async fn the_customer_shows_its_account_amounts() {
    let mut mocks = Mocks::default();
    mocks.customers.expect_get().returning(|key| {
        let mut c = customer(256);
        if *key == credence_domain::customers::CustomerKey::Id(CustomerId(256)) {
            c.account = Some(account_256());
        }
        Ok(Some(c))
    });
    let app = app!(mocks);
    let request = test::TestRequest::get().uri("/api/v1.0/customers/256");
    let (_, body) = text_answer(&app, request).await;
    assert!(
        body.contains(r#""isCredit":true,"creditLimit":3000.00,"balance":20000.00,"reservedAmount":5000.00,"availableCredit":18000.00,"#),
        "{body}"
    );
    let request = test::TestRequest::get().uri("/api/v1.0/customers/257");
    let (_, body) = text_answer(&app, request).await;
    assert!(
        body.contains(
            r#""creditLimit":5000.00,"balance":null,"reservedAmount":null,"availableCredit":null,"#
        ),
        "{body}"
    );
}

fn marketplace_mocks() -> Mocks {
    let mut mocks = mocks_with_customer_256();
    mocks
        .ledger
        .expect_account()
        .returning(|_, _| Ok(Some(account_256())));
    mocks
}

#[actix_web::test]
async fn the_marketplace_customer_is_seed_000_in_json_and_xml() {
    let app = app!(marketplace_mocks());
    let request = test::TestRequest::get()
        .uri("/api/marketplace/v2/customer")
        .insert_header((header::AUTHORIZATION, "Bearer customer-key-for-tests"));
    let (status, body) = text_answer(&app, request).await;
    assert_eq!(
        (status, body.as_str()),
        (
            StatusCode::OK,
            r#"{"customer_response":{"request_status":{"status":"success","code":200,"errors":[]},"customer":{"link":[{"href":"/api/marketplace/v2/customer","rel":"self","type":"application/json"}],"balance":{"balance_amount":20000.00,"reserved_amount":5000.00,"credit_limit":3000.00,"currency_code":"EUR"}}}}"#
        )
    );
    let request = test::TestRequest::get()
        .uri("/api/marketplace/v2/customer")
        .insert_header((header::AUTHORIZATION, "Bearer customer-key-for-tests"))
        .insert_header((header::ACCEPT, "application/xml"));
    let (status, body) = text_answer(&app, request).await;
    assert_eq!(
        (status, body.as_str()),
        (
            StatusCode::OK,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><customer_response><request_status><status>success</status>\
             <code>200</code><errors></errors></request_status><customer><link href=\"/api/marketplace/v2/customer\" \
             rel=\"self\" type=\"application/xml\"/><balance><balance_amount>20000.00</balance_amount>\
             <reserved_amount>5000.00</reserved_amount><credit_limit>3000.00</credit_limit>\
             <currency_code>EUR</currency_code></balance></customer></customer_response>"
        )
    );
}

#[actix_web::test]
async fn marketplace_errors_are_envelopes() {
    let app = app!(marketplace_mocks());
    // Unusable credentials (the test app only adds the admin key when none are sent).
    let request = test::TestRequest::get()
        .uri("/api/marketplace/v2/customer")
        .insert_header((header::AUTHORIZATION, "Digest nothing"))
        .to_request();
    let response = test::call_service(&app, request).await;
    assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
    let (status, body) = text_of(response).await;
    assert_eq!(
        (status, body.as_str()),
        (
            StatusCode::UNAUTHORIZED,
            r#"{"customer_response":{"request_status":{"status":"error","code":401,"errors":[{"code":"unauthorized","message":"Authentication is required: send an API key as a Bearer token, an API-Key header or a Basic password."}]}}}"#
        )
    );
    let request = test::TestRequest::get()
        .uri("/api/marketplace/v2/customer")
        .insert_header((header::AUTHORIZATION, "Bearer no-such-key-anywhere"))
        .insert_header((header::ACCEPT, "application/xml"));
    let (status, body) = text_answer(&app, request).await;
    assert_eq!(
        (status, body.as_str()),
        (
            StatusCode::FORBIDDEN,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><customer_response><request_status><status>error</status>\
             <code>403</code><errors><error><code>forbidden</code><message>The API key is not valid.</message>\
             </error></errors></request_status></customer_response>"
        )
    );
    // The admin is bound to no customer.
    let request = test::TestRequest::get().uri("/api/marketplace/v2/customer");
    let (status, json) = json_answer(&app, request).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        json["customer_response"]["request_status"]["errors"][0]["code"],
        "not_found"
    );
    // A customer key may not use the back-office account routes.
    let request = test::TestRequest::get()
        .uri("/api/v1.0/customers/256/account")
        .insert_header((header::AUTHORIZATION, "Bearer customer-key-for-tests"));
    expect_error(&app, request, StatusCode::FORBIDDEN, "forbidden").await;
}

#[actix_web::test]
async fn account_and_marketplace_routes_are_documented() {
    let json = serde_json::to_value(credence_http::openapi()).unwrap();
    for path in [
        "/api/v1.0/customers/{id}/account",
        "/api/v1.0/customers/{id}/account/creditLimit",
        "/api/v1.0/customers/{id}/account/payments",
        "/api/v1.0/customers/{id}/account/charges",
        "/api/v1.0/customers/{id}/account/adjustments",
        "/api/v1.0/customers/{id}/account/reservations",
        "/api/v1.0/customers/{id}/account/reservations/{rid}/capture",
        "/api/v1.0/customers/{id}/account/reservations/{rid}/release",
        "/api/v1.0/customers/{id}/account/quote",
        "/api/v1.0/customers/{id}/account/ledger",
        "/api/marketplace/v2/customer",
    ] {
        assert!(json["paths"].get(path).is_some(), "{path} is documented");
    }
    for schema in [
        "AccountDto",
        "LedgerEntryDto",
        "ReservationDto",
        "QuoteDto",
        "CustomerEnvelopeDto",
    ] {
        assert!(
            json["components"]["schemas"].get(schema).is_some(),
            "{schema} is documented"
        );
    }
}

#[actix_web::test]
async fn a_request_past_the_deadline_is_503_in_its_face_and_format() {
    let config = deadline_of_50_ms();
    let app = app!(Mocks::default(), config);
    // A body that never arrives keeps the handler waiting past the deadline.
    let never = || {
        let stream: std::pin::Pin<
            Box<
                dyn futures_util::stream::Stream<
                        Item = Result<actix_web::web::Bytes, actix_web::error::PayloadError>,
                    >,
            >,
        > = Box::pin(futures_util::stream::pending());
        actix_web::dev::Payload::from(stream)
    };
    let request = test::TestRequest::post()
        .uri("/api/v1.0/customers")
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::ACCEPT, "application/xml"))
        .to_request();
    let (request, _) = request.replace_payload(never());
    let response = test::try_call_service(&app, request).await;
    let response = match response {
        Ok(response) => response.into_parts().1,
        Err(error) => error.error_response(),
    };
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = actix_web::body::to_bytes(response.into_body())
        .await
        .unwrap();
    assert!(
        body.ends_with(b"<error><error>request_timeout</error><error_description>The request took longer than 0 s; please retry.</error_description></error>"),
        "{body:?}"
    );
}

// ---- products, task templates, tasks (seed 001) -------------------------------------------

const CUSTOMER_KEY: &str = "Bearer customer-key-for-tests";

/// `request` to `uri` with the customer key of `keys()`.
fn as_customer(request: test::TestRequest, uri: &str) -> test::TestRequest {
    request
        .uri(uri)
        .insert_header((header::AUTHORIZATION, CUSTOMER_KEY))
}

fn en(text: &str) -> Localized {
    Localized::from([(Locale::En, text.to_owned())])
}

/// A product at 15.00 EUR a unit, without attributes.
fn simple_product(code: &str, title: &str) -> Product {
    Product {
        code: ProductCode::new(code).unwrap(),
        titles: en(title),
        descriptions: Localized::new(),
        available: true,
        price: Money::from_minor(1_500, eur()),
        attributes: Vec::new(),
    }
}

/// Seed 001's `product_research`, with its `research_language` option attribute.
fn product_research() -> Product {
    let option = |title: &str, value: &str| AttributeOption {
        titles: en(title),
        value: value.into(),
    };
    Product {
        descriptions: en("Identify product details using a Internet search."),
        attributes: vec![ProductAttribute {
            code: "research_language".into(),
            kind: AttributeKind::Option(vec![option("German", "de"), option("English", "en")]),
            is_mandatory: true,
            titles: en("Research Language"),
            helps: en("Defines the language to use for creating the research result."),
        }],
        ..simple_product("product_research", "Product Research")
    }
}

fn research_template() -> TaskTemplate {
    TaskTemplate {
        customer: CustomerId(256),
        code: "research_de".into(),
        name: "German research".into(),
        titles: Localized::new(),
        descriptions: Localized::new(),
        product: ProductCode::new("product_research").unwrap(),
        attributes: vec![AttributeValue {
            code: "research_language".into(),
            value: "de".into(),
        }],
    }
}

fn task(id: i64, state: TaskState) -> Task {
    Task {
        id: TaskId(id),
        customer: CustomerId(256),
        customer_ref: Some("po-1".into()),
        template: "research_de".into(),
        product: ProductCode::new("product_research").unwrap(),
        input: vec![AttributeValue {
            code: "url".into(),
            value: "https://example.com".into(),
        }],
        quantity: 3,
        amount: Money::from_minor(4_500, eur()),
        state,
        reservation: ReservationId(9),
        created_at: at("2020-01-01T00:00:00Z"),
        updated_at: at("2020-01-01T00:00:00Z"),
    }
}

/// Mocks where customer 256 has the `research_de` template of `product_research`.
fn order_mocks() -> Mocks {
    let mut mocks = mocks_with_customer_256();
    mocks
        .catalog
        .expect_product()
        .withf(|code| code.as_str() == "product_research")
        .returning(|_| Ok(Some(product_research())));
    mocks
        .board
        .expect_template()
        .withf(|customer, code| *customer == CustomerId(256) && code == "research_de")
        .returning(|_, _| Ok(Some(research_template())));
    mocks
}

fn task_request(key: Option<&str>) -> test::TestRequest {
    let mut request = as_customer(
        test::TestRequest::post(),
        "/api/marketplace/v2/customer/tasks",
    )
    .insert_header((header::CONTENT_TYPE, "application/json"))
    .set_payload(
        r#"{"customer_ref": "po-1", "template": {"code": "research_de"}, "input": [{"item_code": "url", "item_content": "https://example.com"}], "quantity": 3}"#,
    );
    if let Some(key) = key {
        request = request.insert_header(("Idempotency-Key", key));
    }
    request
}

#[actix_web::test]
async fn the_product_index_is_seed_001_in_json_and_xml() {
    let mut mocks = Mocks::default();
    mocks
        .catalog
        .expect_products()
        .withf(|only_available| *only_available)
        .returning(|_| {
            Ok(vec![
                simple_product("TextCreate", "Text creation"),
                simple_product("TextCreateWithKeywords", "Text creation with keywords"),
            ])
        });
    let app = app!(mocks);
    for uri in [
        "/api/marketplace/v2/products/",
        "/api/marketplace/v2/products",
    ] {
        let request = as_customer(test::TestRequest::get(), uri);
        let (status, body) = text_answer(&app, request).await;
        assert_eq!(
            (status, body.as_str()),
            (
                StatusCode::OK,
                r#"{"products_response":{"request_status":{"status":"success","code":200,"errors":[]},"products":[{"link":[{"href":"/api/marketplace/v2/products/TextCreate","rel":"product","type":"application/json"}],"code":"TextCreate","titles":{"en":"Text creation"},"available":true},{"link":[{"href":"/api/marketplace/v2/products/TextCreateWithKeywords","rel":"product","type":"application/json"}],"code":"TextCreateWithKeywords","titles":{"en":"Text creation with keywords"},"available":true}]}}"#
            ),
            "{uri}"
        );
    }
    let request = as_customer(test::TestRequest::get(), "/api/marketplace/v2/products/")
        .insert_header((header::ACCEPT, "application/xml"));
    let (status, body) = text_answer(&app, request).await;
    assert_eq!(
        (status, body.as_str()),
        (
            StatusCode::OK,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><products_response><request_status><status>success</status>\
             <code>200</code><errors></errors></request_status>\
             <products><link href=\"/api/marketplace/v2/products/TextCreate\" rel=\"product\" type=\"application/xml\"/>\
             <code>TextCreate</code><titles><en>Text creation</en></titles><available>true</available></products>\
             <products><link href=\"/api/marketplace/v2/products/TextCreateWithKeywords\" rel=\"product\" type=\"application/xml\"/>\
             <code>TextCreateWithKeywords</code><titles><en>Text creation with keywords</en></titles><available>true</available></products>\
             </products_response>"
        )
    );
}

#[actix_web::test]
async fn the_product_detail_is_seed_001_in_json_and_xml_and_unknown_is_404() {
    let mut mocks = Mocks::default();
    mocks.catalog.expect_product().returning(|code| {
        Ok((code.as_str() == "product_research").then(|| Product {
            available: false,
            ..product_research()
        }))
    });
    let app = app!(mocks);
    let request = as_customer(
        test::TestRequest::get(),
        "/api/marketplace/v2/products/product_research",
    );
    let (status, body) = text_answer(&app, request).await;
    // A withdrawn product stays readable by URI.
    assert_eq!(
        (status, body.as_str()),
        (
            StatusCode::OK,
            r#"{"product_response":{"request_status":{"status":"success","code":200,"errors":[]},"product":{"link":[{"href":"/api/marketplace/v2/products/product_research","rel":"self","type":"application/json"}],"code":"product_research","titles":{"en":"Product Research"},"descriptions":{"en":"Identify product details using a Internet search."},"available":false,"attributes":[{"code":"research_language","type":"option","is_mandatory":true,"titles":{"en":"Research Language"},"helps":{"en":"Defines the language to use for creating the research result."},"options":[{"titles":{"en":"German"},"value":"de"},{"titles":{"en":"English"},"value":"en"}]}]}}}"#
        )
    );
    let request = as_customer(
        test::TestRequest::get(),
        "/api/marketplace/v2/products/product_research",
    )
    .insert_header((header::ACCEPT, "application/xml"));
    let (status, body) = text_answer(&app, request).await;
    assert_eq!(
        (status, body.as_str()),
        (
            StatusCode::OK,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><product_response><request_status><status>success</status>\
             <code>200</code><errors></errors></request_status><product>\
             <link href=\"/api/marketplace/v2/products/product_research\" rel=\"self\" type=\"application/xml\"/>\
             <code>product_research</code><titles><en>Product Research</en></titles>\
             <descriptions><en>Identify product details using a Internet search.</en></descriptions>\
             <available>false</available><attributes><code>research_language</code><type>option</type>\
             <is_mandatory>true</is_mandatory><titles><en>Research Language</en></titles>\
             <helps><en>Defines the language to use for creating the research result.</en></helps>\
             <options><titles><en>German</en></titles><value>de</value></options>\
             <options><titles><en>English</en></titles><value>en</value></options>\
             </attributes></product></product_response>"
        )
    );
    let request = as_customer(
        test::TestRequest::get(),
        "/api/marketplace/v2/products/nope",
    );
    let (status, body) = text_answer(&app, request).await;
    assert_eq!(
        (status, body.as_str()),
        (
            StatusCode::NOT_FOUND,
            r#"{"product_response":{"request_status":{"status":"error","code":404,"errors":[{"code":"not_found","message":"The product with the code nope doesn't exist."}]}}}"#
        )
    );
}

#[actix_web::test]
async fn a_template_with_bad_attributes_is_400_naming_each_attribute() {
    let mut mocks = order_mocks();
    mocks.board.expect_save_template().never();
    let app = app!(mocks);
    let request = as_customer(
        test::TestRequest::post(),
        "/api/marketplace/v2/customer/task_templates",
    )
    .set_json(serde_json::json!({"task_template": {
        "code": "research_it", "name": "Italian research",
        "product": {"code": "product_research", "attributes": [
            {"code": "research_language", "value": "it"},
            {"code": "colour", "value": "red"},
        ]},
    }}));
    let (status, body) = text_answer(&app, request).await;
    assert_eq!(
        (status, body.as_str()),
        (
            StatusCode::BAD_REQUEST,
            r#"{"task_template_response":{"request_status":{"status":"error","code":400,"errors":[{"code":"invalid_attribute","message":"The value it of attribute research_language is not one of its options."},{"code":"invalid_attribute","message":"The attribute colour is not an attribute of the product."}]}}}"#
        )
    );
}

#[actix_web::test]
async fn a_valid_template_is_created_201() {
    let mut mocks = order_mocks();
    mocks
        .board
        .expect_save_template()
        .withf(|customer, code, draft, only_if| {
            *customer == CustomerId(256)
                && code == "research_de"
                && draft.attributes == research_template().attributes
                && !only_if.is_set()
        })
        .times(1)
        .returning(|_, _, _, _| Ok(Conditioned::Done((research_template(), true))));
    let app = app!(mocks);
    let request = as_customer(
        test::TestRequest::put(),
        "/api/marketplace/v2/customer/task_templates/research_de",
    )
    .set_json(serde_json::json!({
        "name": "German research",
        "product": {"code": "product_research", "attributes": [{"code": "research_language", "value": "de"}]},
    }));
    let (status, body) = text_answer(&app, request).await;
    assert_eq!(
        (status, body.as_str()),
        (
            StatusCode::CREATED,
            r#"{"task_template_response":{"request_status":{"status":"success","code":201,"errors":[]},"task_template":{"link":[{"href":"/api/marketplace/v2/customer/task_templates/research_de","rel":"self","type":"application/json"}],"code":"research_de","name":"German research","titles":{},"descriptions":{},"product":{"code":"product_research","attributes":[{"code":"research_language","value":"de"}]}}}}"#
        )
    );
}

#[actix_web::test]
async fn a_task_refused_for_credit_is_422_with_both_amounts() {
    let mut mocks = order_mocks();
    mocks
        .board
        .expect_submit()
        .withf(|draft, admission| {
            draft.quantity == 3
                && admission.amount == cents(4_500)
                && admission.idempotency.is_none()
        })
        .returning(|_, _| {
            Err(AdmitError::Refused(CreditRefused {
                available: cents(1_200),
                requested: cents(4_500),
            }))
        });
    let app = app!(mocks);
    let (status, body) = text_answer(&app, task_request(None)).await;
    assert_eq!(
        (status, body.as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            r#"{"task_response":{"request_status":{"status":"error","code":422,"errors":[{"code":"credit_limit_exceeded","message":"The requested amount 45.00 EUR exceeds the available credit 12.00 EUR.","available":12.00,"requested":45.00}]}}}"#
        )
    );
    let request = task_request(None).insert_header((header::ACCEPT, "application/xml"));
    let (status, body) = text_answer(&app, request).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.ends_with(
            "<code>credit_limit_exceeded</code><message>The requested amount 45.00 EUR exceeds the available credit 12.00 EUR.</message>\
             <available>12.00</available><requested>45.00</requested></error></errors></request_status></task_response>"
        ),
        "{body}"
    );
}

/// A task whose customer was archived between its pricing and its admission is `404`, in the
/// marketplace's error body (which customer it names is held by the domain's tests).
#[actix_web::test]
async fn a_task_for_a_customer_archived_meanwhile_is_404() {
    let mut mocks = order_mocks();
    mocks
        .board
        .expect_submit()
        .returning(|_, _| Err(AdmitError::NoAccount));
    let app = app!(mocks);
    let (status, body) = text_answer(&app, task_request(None)).await;
    assert_eq!(
        (status, body.as_str()),
        (
            StatusCode::NOT_FOUND,
            r#"{"task_response":{"request_status":{"status":"error","code":404,"errors":[{"code":"not_found","message":"The customer with the id 256 doesn't exist."}]}}}"#
        )
    );
}

/// The fields sent are laid over the row as read, and written only while the row is still
/// that one: when another change got in between, they are laid over the row as it is then.
#[actix_web::test]
async fn a_record_change_overtaken_by_another_is_laid_over_the_new_row() {
    let mut mocks = Mocks::default();
    let reads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    mocks.payment_types.expect_get().returning(move |_| {
        let read = reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(Some(payment_type(
            7,
            if read == 0 { "cash" } else { "cash-2" },
        )))
    });
    mocks
        .payment_types
        .expect_update()
        .withf(|_, draft, only_if| {
            draft.reference.as_str() == "cash"
                && only_if.holds(Some(&payment_type(7, "cash")))
                && !only_if.holds(Some(&payment_type(7, "cash-2")))
        })
        .times(1)
        .returning(|_, _, _| Err(credence_domain::ports::WriteError::Stale));
    mocks
        .payment_types
        .expect_update()
        .withf(|_, draft, _| draft.reference.as_str() == "cash-2")
        .times(1)
        .returning(|id, draft, _| {
            Ok(Some(PaymentType {
                id,
                reference: draft.reference,
                name: draft.name,
            }))
        });
    let app = app!(mocks);
    let request = test::TestRequest::patch()
        .uri("/api/v1.0/paymentTypes/7")
        .set_json(serde_json::json!({"name": "Card"}));
    let (status, json) = json_answer(&app, request).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(
        (json["reference"].as_str(), json["name"].as_str()),
        (Some("cash-2"), Some("Card"))
    );
}

/// The store refuses a task priced on a product that changed before its transaction; the
/// task is then checked and priced again on the product as it is, and created at that price.
#[actix_web::test]
async fn a_task_priced_on_a_changed_product_is_priced_again() {
    let mut mocks = mocks_with_customer_256();
    mocks
        .board
        .expect_template()
        .returning(|_, _| Ok(Some(research_template())));
    let reads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    mocks.catalog.expect_product().returning(move |_| {
        let mut product = product_research();
        if reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst) > 0 {
            product.price = cents(2_000);
        }
        Ok(Some(product))
    });
    mocks
        .board
        .expect_submit()
        .withf(|draft, admission| {
            draft.product.price == cents(1_500) && admission.amount == cents(4_500)
        })
        .times(1)
        .returning(|_, _| Err(AdmitError::Unmet));
    mocks
        .board
        .expect_submit()
        .withf(|draft, admission| {
            draft.product.price == cents(2_000) && admission.amount == cents(6_000)
        })
        .times(1)
        .returning(|_, _| Ok(task(17, TaskState::Submitted)));
    let app = app!(mocks);
    let (status, body) = text_answer(&app, task_request(None)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

const TASK_SCOPE: &str = "3";

const TASK_BODY: &str = r#"{"task_response":{"request_status":{"status":"success","code":201,"errors":[]},"task":{"link":[{"href":"/api/marketplace/v2/customer/tasks/17","rel":"self","type":"application/json"}],"id":17,"customer_ref":"po-1","template":{"code":"research_de"},"product":{"code":"product_research"},"input":[{"item_code":"url","item_content":"https://example.com"}],"quantity":3,"amount":45.00,"currency":"EUR","state":"submitted","created_at":"2020-01-01T00:00:00Z","updated_at":"2020-01-01T00:00:00Z"}}}"#;

#[actix_web::test]
async fn a_submitted_task_is_201_with_its_exact_amount_and_honours_the_key() {
    let mut mocks = order_mocks();
    mocks
        .idempotency
        .expect_start()
        .returning(|_, _, _, _, _| Ok(IdempotencyStart::Started));
    mocks
        .board
        .expect_submit()
        .withf(|draft, admission| {
            draft.customer == CustomerId(256)
                && draft.customer_ref.as_deref() == Some("po-1")
                && draft.input[0].code == "url"
                && admission.amount == cents(4_500)
                && admission
                    .idempotency
                    .as_deref()
                    .is_some_and(|tag| tag.starts_with(&format!("{TASK_SCOPE}:k-9:")))
        })
        .times(1)
        .returning(|_, _| Ok(task(17, TaskState::Submitted)));
    mocks
        .idempotency
        .expect_complete()
        .withf(|scope, key, status, body, _| {
            scope == TASK_SCOPE && key == "k-9" && *status == 201 && body == TASK_BODY
        })
        .times(1)
        .returning(|_, _, _, _, _| Ok(()));
    let app = app!(mocks);
    let (status, body) = text_answer(&app, task_request(Some("k-9"))).await;
    assert_eq!((status, body.as_str()), (StatusCode::CREATED, TASK_BODY));
}

#[actix_web::test]
async fn a_replayed_task_is_rerendered_as_xml() {
    let mut mocks = Mocks::default();
    mocks.idempotency.expect_start().returning(|_, _, _, _, _| {
        Ok(IdempotencyStart::Replay {
            status: 201,
            body: TASK_BODY.to_owned(),
        })
    });
    mocks.board.expect_submit().never();
    let app = app!(mocks);
    let request = task_request(Some("k-9")).insert_header((header::ACCEPT, "application/xml"));
    let (status, body) = text_answer(&app, request).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(
        body.contains(
            "<task><link href=\"/api/marketplace/v2/customer/tasks/17\" rel=\"self\" type=\"application/xml\"/><id>17</id>"
        ) && body.contains("<input><item_code>url</item_code>")
            && body.contains("<amount>45.00</amount>"),
        "{body}"
    );
}

#[actix_web::test]
async fn operators_move_tasks_and_bad_moves_are_409() {
    let mut mocks = Mocks::default();
    mocks.board.expect_task().returning(|id| {
        Ok(Some(match id.0 {
            7 => task(7, TaskState::Submitted),
            _ => task(id.0, TaskState::Finished),
        }))
    });
    mocks
        .board
        .expect_move_task()
        .withf(|id, from, to, user, _| {
            id.0 == 7
                && *from == TaskState::Submitted
                && *to == TaskState::InProgress
                && *user == Some(UserId(2))
        })
        .times(1)
        .returning(|_, _, _, _, _| Ok(task(7, TaskState::InProgress)));
    let app = app!(mocks);
    let request = test::TestRequest::post()
        .uri("/api/v1.0/tasks/7/state")
        .set_json(serde_json::json!({"state": "in_progress"}));
    let (status, body) = text_answer(&app, request).await;
    assert_eq!(
        (status, body.as_str()),
        (
            StatusCode::OK,
            r#"{"id":7,"customer_ref":"po-1","template":{"code":"research_de"},"product":{"code":"product_research"},"input":[{"item_code":"url","item_content":"https://example.com"}],"quantity":3,"amount":45.00,"currency":"EUR","state":"in_progress","created_at":"2020-01-01T00:00:00Z","updated_at":"2020-01-01T00:00:00Z"}"#
        )
    );
    let request = test::TestRequest::post()
        .uri("/api/v1.0/tasks/8/state")
        .set_json(serde_json::json!({"state": "cancelled"}));
    expect_error_text(
        &app,
        request,
        StatusCode::CONFLICT,
        "invalid_transition",
        "A task cannot go from finished to cancelled.",
    )
    .await;
    let request = test::TestRequest::post()
        .uri("/api/v1.0/tasks/7/state")
        .set_json(serde_json::json!({"state": "done"}));
    expect_error(&app, request, StatusCode::BAD_REQUEST, "invalid_param").await;
    // A customer key may not drive task states.
    let request = as_customer(test::TestRequest::post(), "/api/v1.0/tasks/7/state")
        .set_json(serde_json::json!({"state": "finished"}));
    let (status, _) = json_answer(&app, request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn operators_save_and_withdraw_products_with_a_price() {
    let mut mocks = Mocks::default();
    mocks
        .catalog
        .expect_save_product()
        .withf(|code, draft, only_if| {
            code.as_str() == "product_research"
                && draft.price == Money::from_minor(1_500, eur())
                && draft.attributes == product_research().attributes
                && !only_if.is_set()
        })
        .times(1)
        .returning(|_, _, _| Ok(Conditioned::Done((product_research(), true))));
    mocks
        .catalog
        .expect_withdraw_product()
        .returning(|code, _| Ok(Conditioned::Done(code.as_str() == "product_research")));
    let app = app!(mocks);
    let request = test::TestRequest::put()
        .uri("/api/v1.0/products/product_research")
        .set_json(serde_json::json!({
            "titles": {"en": "Product Research"},
            "descriptions": {"en": "Identify product details using a Internet search."},
            "price": 15.00, "currency": "EUR",
            "attributes": [{
                "code": "research_language", "type": "option", "is_mandatory": true,
                "titles": {"en": "Research Language"},
                "helps": {"en": "Defines the language to use for creating the research result."},
                "options": [{"titles": {"en": "German"}, "value": "de"}, {"titles": {"en": "English"}, "value": "en"}],
            }],
        }));
    let (status, json) = json_answer(&app, request).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        (
            json["price"].to_string(),
            &json["currency"],
            &json["href"],
            &json["attributes"][0]["options"][1]["value"]
        ),
        (
            "15.00".to_owned(),
            &Value::from("EUR"),
            &Value::from("/api/v1.0/products/product_research"),
            &Value::from("en")
        )
    );
    let request = test::TestRequest::post()
        .uri("/api/v1.0/products/x")
        .set_json(serde_json::json!({"titles": {"en": "X"}, "price": "1.001", "currency": "EUR"}));
    expect_error(&app, request, StatusCode::BAD_REQUEST, "invalid_param").await;
    let request = test::TestRequest::delete().uri("/api/v1.0/products/product_research");
    let (status, json) = json_answer(&app, request).await;
    assert_eq!(
        (status, json["success"].as_str()),
        (StatusCode::OK, Some("true"))
    );
    let request = test::TestRequest::delete().uri("/api/v1.0/products/nope");
    expect_error_text(
        &app,
        request,
        StatusCode::NOT_FOUND,
        "not_found",
        "The product with the code nope doesn't exist.",
    )
    .await;
}

#[actix_web::test]
async fn catalog_and_order_routes_are_documented() {
    let json = serde_json::to_value(credence_http::openapi()).unwrap();
    for path in [
        "/api/marketplace/v2/products/",
        "/api/marketplace/v2/products/{code}",
        "/api/marketplace/v2/customer/task_templates",
        "/api/marketplace/v2/customer/task_templates/{code}",
        "/api/marketplace/v2/customer/tasks",
        "/api/marketplace/v2/customer/tasks/{id}",
        "/api/marketplace/v2/customer/tasks/{id}/cancel",
        "/api/v1.0/products",
        "/api/v1.0/products/{code}",
        "/api/v1.0/tasks/{id}/state",
    ] {
        assert!(json["paths"].get(path).is_some(), "{path} is documented");
    }
}

// ---- documents and logos (seeds 002 and 004) ----------------------------------------------

const STORED: uuid::Uuid = uuid::Uuid::from_u128(0x8aca_c590_cc94_45aa_a237_18a9_d268_f431);
const LINKED: uuid::Uuid = uuid::Uuid::from_u128(0x1111_2222_3333_4444_5555_6666_7777_8888);
const PDF_URL: &str = "http://www.cbu.edu.zm/downloads/pdf-sample.pdf";

/// The first bytes of a PNG (the image codec is mocked, so nothing is decoded).
fn png() -> Vec<u8> {
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10".to_vec()
}

/// An uploaded image with a thumbnail, created by the test admin (user 2).
fn stored_document(uuid: uuid::Uuid) -> Document {
    Document {
        uuid,
        file_name: FileName::new("map.png").unwrap(),
        mime_type: MimeType::sniff(&png()),
        description: None,
        internal: false,
        content: DocumentContent::Stored {
            blob: BlobKey::document(uuid),
            size: png().len() as u64,
            thumbnail: Some(BlobKey::thumbnail(uuid)),
        },
        creator: Some(UserId(2)),
        created_at: at("2015-11-19T00:16:26Z"),
        updated_at: at("2015-11-19T00:16:27Z"),
    }
}

/// Seed 004's external link.
fn linked_document() -> Document {
    Document {
        uuid: LINKED,
        file_name: FileName::new("pdf-sample.pdf").unwrap(),
        mime_type: MimeType::new("application/pdf").unwrap(),
        description: FreeText::new("Very important instructions", FreeText::LONG).unwrap(),
        internal: true,
        content: DocumentContent::External {
            url: ExternalUrl::new(PDF_URL).unwrap(),
            thumb_url: None,
        },
        creator: None,
        created_at: at("2015-11-19T00:16:26Z"),
        updated_at: at("2015-11-19T00:16:26Z"),
    }
}

/// A multipart body of `(name, file name, bytes)` parts, and its content type.
fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "CredenceBoundary7MA4YWxk";
    let mut body = Vec::new();
    for (name, file_name, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let disposition = match file_name {
            Some(file) => format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            ),
            None => format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"),
        };
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn multipart_request(uri: &str, parts: &[(&str, Option<&str>, &[u8])]) -> test::TestRequest {
    let (content_type, body) = multipart(parts);
    test::TestRequest::post()
        .uri(uri)
        .insert_header((header::CONTENT_TYPE, content_type))
        .set_payload(body)
}

#[actix_web::test]
async fn an_upload_answers_the_seed_document_with_the_sniffed_type() {
    let stored: Arc<Mutex<Vec<(String, usize)>>> = Arc::default();
    let seen = Arc::clone(&stored);
    let mut mocks = Mocks::default();
    mocks.blobs.expect_put().returning(move |key, bytes| {
        seen.lock()
            .unwrap()
            .push((key.as_str().to_owned(), bytes.len()));
        Ok(())
    });
    mocks
        .images
        .expect_render()
        .withf(|_, kind, _, boxes| *kind == ImageKind::Png && boxes == [THUMBNAIL_BOX])
        .returning(|_, _, _, _| Ok(vec![b"thumb".to_vec()]));
    mocks
        .documents
        .expect_insert()
        .times(1)
        .returning(|_| Ok(()));
    let app = app!(mocks);

    // A PNG named x.pdf is stored and served as what it is.
    let request = multipart_request(
        "/api/v1.0/documents/content",
        &[
            ("description", None, b"ignored here".as_slice()),
            ("file", Some("x.pdf"), &png()),
        ],
    );
    let (status, json) = json_answer(&app, request).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let uuid = json["document"]["uuid"].as_str().unwrap().to_owned();
    assert_eq!(
        json,
        serde_json::json!({
            "success": true,
            "document": {
                "uuid": uuid,
                "thumbUrl": format!("/api/v1.0/documents/{uuid}/thumbnail"),
                "size": png().len(),
                "mimeType": "image/png",
                "lastModified": 1_577_836_800_000_i64,
                "contentUrl": format!("/api/v1.0/documents/{uuid}/content"),
                "creationTimeStamp": 1_577_836_800_000_i64,
                "creatorId": 2,
                "description": null,
                "fileName": "x.pdf",
                "internal": false,
            }
        })
    );
    let keys: Vec<&str> = json["document"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "uuid",
            "thumbUrl",
            "size",
            "mimeType",
            "lastModified",
            "contentUrl",
            "creationTimeStamp",
            "creatorId",
            "description",
            "fileName",
            "internal"
        ],
        "the seed's field order"
    );

    // No `file` part; then one over the document limit: nothing more is stored.
    let request = multipart_request(
        "/api/v1.0/documents/content",
        &[("imageFile", Some("x.png"), &png())],
    );
    expect_error_text(
        &app,
        request,
        StatusCode::BAD_REQUEST,
        "missing_param",
        "file parameter is missing",
    )
    .await;
    let max = DocumentLimits::default().max_bytes;
    let too_large = vec![b'a'; usize::try_from(max).unwrap() + 1];
    let request = multipart_request(
        "/api/v1.0/documents/content",
        &[("file", Some("big.txt"), &too_large)],
    );
    expect_error_text(
        &app,
        request,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        &format!("The file cannot be larger than {max} bytes."),
    )
    .await;
    // A declared length past the multipart cap (text + largest file + framing) is refused
    // before a byte is read.
    let (content_type, body) = multipart(&[("file", Some("x.txt"), b"x".as_slice())]);
    let request = test::TestRequest::post()
        .uri("/api/v1.0/documents/content")
        .insert_header((header::CONTENT_TYPE, content_type))
        .set_payload(body)
        .insert_header((header::CONTENT_LENGTH, "67108864"));
    let (status, json) = json_answer(&app, request).await;
    let cap = HttpConfig::default().body_limit + usize::try_from(max).unwrap() + 64 * 1024;
    assert_eq!(
        (status, json),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            error(
                "payload_too_large",
                &format!("The request body is larger than the limit of {cap} bytes.")
            )
        )
    );
    assert_eq!(
        *stored.lock().unwrap(),
        [
            (format!("documents/{uuid}"), png().len()),
            (format!("documents/{uuid}.thumb"), 5)
        ]
    );
}

#[actix_web::test]
async fn image_files_are_refused_by_size_and_content_with_the_seed_texts() {
    let mut large = png();
    large.resize(MAX_LOGO_BYTES + 1, 0);
    let cases = [
        (
            large,
            error("exceeded_file_size", "image size should not exceed 2Mo"),
        ),
        (
            b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec(),
            error("unsupported_file_type", "image format not supported."),
        ),
    ];
    for (bytes, expected) in cases {
        // No expectations: any store, blob or codec call would panic and fail the test.
        let app = app!(Mocks::default());
        let request = multipart_request(
            "/api/v1.0/customers",
            &[
                ("reference", None, b"NC-3".as_slice()),
                ("name", None, b"Marie's Jewelry".as_slice()),
                ("imageFile", Some("logo.png"), &bytes),
            ],
        );
        let (status, json) = json_answer(&app, request).await;
        assert_eq!((status, json), (StatusCode::BAD_REQUEST, expected));
    }
    // The HTTP layer stops reading at the bound: a body cut off after 3 MB of image never
    // reaches its (missing) end, so the answer is the size, not a malformed body.
    let app = app!(Mocks::default());
    let (content_type, mut body) = multipart(&[("imageFile", Some("logo.png"), &png())]);
    body.truncate(body.len() - 40);
    body.resize(3 * 1024 * 1024, b'x');
    let request = test::TestRequest::post()
        .uri("/api/v1.0/customers")
        .insert_header((header::CONTENT_TYPE, content_type))
        .set_payload(body);
    expect_error_text(
        &app,
        request,
        StatusCode::BAD_REQUEST,
        "exceeded_file_size",
        "image size should not exceed 2Mo",
    )
    .await;
}

#[actix_web::test]
async fn an_image_file_becomes_the_logo_the_customer_shows_and_serves() {
    // A stored logo's name, for serving; a new upload's name gets a random nonce.
    const NAME: &str = "1577836800000-0000beef_my_logo.png";
    let is_new_name =
        |name: &str| name.starts_with("1577836800000-") && name.ends_with("_my_logo.png");
    let put: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = Arc::clone(&put);
    let mut mocks = Mocks::default().with_root();
    mocks
        .payment_types
        .expect_get()
        .returning(|id| Ok(Some(payment_type(id.get(), "cash"))));
    mocks
        .images
        .expect_render()
        .withf(|_, kind, _, boxes| *kind == ImageKind::Png && boxes == [64, 256])
        .returning(|_, _, _, _| Ok(vec![b"small".to_vec(), b"medium".to_vec()]));
    mocks.blobs.expect_put().returning(move |key, _| {
        seen.lock().unwrap().push(key.as_str().to_owned());
        Ok(())
    });
    mocks
        .customers
        .expect_insert()
        .withf(move |new: &NewCustomer| {
            new.data
                .logo
                .as_ref()
                .is_some_and(|l| is_new_name(l.as_str()))
        })
        .returning(|new: &NewCustomer| Ok(as_inserted(new)));
    mocks.customers.expect_get().returning(|_| {
        let mut customer = customer(9);
        customer.data.logo = Some(LogoName::from_trusted(NAME.to_owned()));
        Ok(Some(customer))
    });
    mocks
        .blobs
        .expect_get()
        .withf(|key| key.as_str() == format!("logos/{}/small_{NAME}", uuid::Uuid::nil()))
        .returning(|_| Ok(Some(b"small".to_vec())));
    let app = app!(mocks);

    let request = multipart_request(
        "/api/v1.0/customers",
        &[
            ("reference", None, b"NC-3".as_slice()),
            ("name", None, b"Marie's Jewelry".as_slice()),
            ("imageFile", Some("my logo.png"), &png()),
        ],
    );
    let (status, json) = json_answer(&app, request).await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
    let logo = json["logo"].as_str().unwrap();
    let name = logo.strip_prefix("/api/v1.0/customers/9/logo/").unwrap();
    assert!(is_new_name(name), "{logo}");
    let uuid = json["uuid"].as_str().unwrap();
    assert_eq!(
        *put.lock().unwrap(),
        [
            format!("logos/{uuid}/{name}"),
            format!("logos/{uuid}/small_{name}"),
            format!("logos/{uuid}/medium_{name}"),
        ]
    );

    let response = test::call_service(
        &app,
        test::TestRequest::get()
            .uri(&format!("/api/v1.0/customers/9/logo/small_{NAME}"))
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers.get(header::CONTENT_TYPE).unwrap(), "image/png");
    assert_eq!(
        headers.get(header::CACHE_CONTROL).unwrap(),
        "private, max-age=31536000, immutable"
    );
    assert_eq!(
        headers.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(),
        "nosniff"
    );
    assert_eq!(test::read_body(response).await, b"small".as_slice());

    expect_error_text(
        &app,
        test::TestRequest::get().uri("/api/v1.0/customers/9/logo/large_x.png"),
        StatusCode::NOT_FOUND,
        "not_found",
        "The logo large_x.png doesn't exist.",
    )
    .await;
}

#[actix_web::test]
async fn documents_attach_and_detach_with_empty_bodies() {
    let mut mocks = Mocks::default();
    mocks
        .customers
        .expect_get()
        .returning(|_| Ok(Some(customer(256))));
    mocks
        .documents
        .expect_get()
        .returning(|uuid| Ok((uuid == STORED).then(|| stored_document(uuid))));
    mocks
        .documents
        .expect_attach()
        .withf(|customer, uuid, max, _| {
            *customer == CustomerId(256) && *uuid == STORED && *max == 100
        })
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    mocks
        .documents
        .expect_detach()
        .returning(|customer, uuid, _| Ok(customer == CustomerId(256) && uuid == STORED));
    let app = app!(mocks);
    let path = format!("/api/v1.0/customers/256/documents/{STORED}");
    for request in [
        test::TestRequest::put().uri(&path),
        test::TestRequest::delete().uri(&path),
    ] {
        let response = test::call_service(&app, request.to_request()).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            test::read_body(response).await.is_empty(),
            "status code only"
        );
    }
    let cases = [
        (
            test::TestRequest::delete().uri(&format!("/api/v1.0/customers/256/documents/{LINKED}")),
            StatusCode::NOT_FOUND,
            error(
                "not_found",
                &format!("The document with the id {LINKED} doesn't exist."),
            ),
        ),
        (
            test::TestRequest::put().uri("/api/v1.0/customers/256/documents/not-a-uuid"),
            StatusCode::NOT_FOUND,
            error(
                "not_found",
                "The document with the id not-a-uuid doesn't exist.",
            ),
        ),
        (
            test::TestRequest::put().uri(&format!("/api/v1.0/customers/x1/documents/{STORED}")),
            StatusCode::BAD_REQUEST,
            error(
                "invalid_param_type",
                "The type of parameter id you provided is not valid for this request.",
            ),
        ),
    ];
    for (request, status, expected) in cases {
        let (got, json) = json_answer(&app, request).await;
        assert_eq!((got, json), (status, expected));
    }
}

#[actix_web::test]
async fn downloads_serve_the_stored_bytes_links_redirect_and_metadata_changes() {
    let mut mocks = Mocks::default();
    mocks.documents.expect_get().returning(|uuid| {
        Ok(match uuid {
            STORED => Some(stored_document(STORED)),
            LINKED => Some(linked_document()),
            _ => None,
        })
    });
    mocks.blobs.expect_get().returning(|key| {
        Ok(if *key == BlobKey::document(STORED) {
            Some(png())
        } else if *key == BlobKey::thumbnail(STORED) {
            Some(b"thumb".to_vec())
        } else {
            None
        })
    });
    mocks
        .documents
        .expect_update()
        .withf(|uuid, change: &MetadataChange, _| {
            *uuid == STORED
                && change.internal == Some(true)
                && change.file_name.is_none()
                && change
                    .description
                    .as_ref()
                    .map(|d| d.as_ref().map(FreeText::as_str))
                    == Some(Some("Top secret map to customer site"))
        })
        .times(1)
        .returning(|uuid, change, now| {
            let mut written = stored_document(uuid);
            written.internal = true;
            written.description = change.description.clone().flatten();
            written.updated_at = now;
            Ok(Some(written))
        });
    let app = app!(mocks);
    let get = |uri: String| test::TestRequest::get().uri(&uri).to_request();

    let response =
        test::call_service(&app, get(format!("/api/v1.0/documents/{STORED}/content"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers.get(header::CONTENT_TYPE).unwrap(), "image/png");
    assert_eq!(
        headers.get(header::CONTENT_DISPOSITION).unwrap(),
        r#"attachment; filename="map.png""#
    );
    assert_eq!(
        headers.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(),
        "nosniff"
    );
    assert_eq!(test::read_body(response).await, png());

    let response =
        test::call_service(&app, get(format!("/api/v1.0/documents/{STORED}/thumbnail"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers().get(header::CONTENT_DISPOSITION).unwrap(),
        r#"inline; filename="map.png""#
    );
    assert_eq!(test::read_body(response).await, b"thumb".as_slice());

    let response =
        test::call_service(&app, get(format!("/api/v1.0/documents/{LINKED}/content"))).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers().get(header::LOCATION).unwrap(), PDF_URL);

    for uri in [
        format!("/api/v1.0/documents/{LINKED}/thumbnail"),
        format!("/api/v1.0/documents/{}", uuid::Uuid::nil()),
    ] {
        let (status, json) = json_of(test::call_service(&app, get(uri)).await).await;
        assert_eq!(
            (status, json["error"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found"))
        );
    }

    let request = test::TestRequest::put()
        .uri(&format!("/api/v1.0/documents/{STORED}"))
        .set_json(
            serde_json::json!({"description": "Top secret map to customer site", "internal": true}),
        );
    let (status, json) = json_answer(&app, request).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["description"], "Top secret map to customer site");
    assert_eq!(json["internal"], true);
    assert_eq!(json["fileName"], "map.png");
    assert_eq!(json["lastModified"], 1_577_836_800_000_i64);
    assert_eq!(json["creationTimeStamp"], 1_447_892_186_000_i64);
}

#[actix_web::test]
async fn a_customer_lists_its_documents_and_links_new_ones() {
    let mut mocks = Mocks::default();
    mocks.customers.expect_get().returning(|_| {
        let mut customer = customer(256);
        customer.data.logo = Some(LogoName::from_trusted("1_logo.gif".to_owned()));
        customer.documents = vec![stored_document(STORED), linked_document()];
        Ok(Some(customer))
    });
    mocks
        .customers
        .expect_update()
        .withf(|_, _, _, links, by, _| {
            // The admin key's user signs the change.
            by.is_some()
                && links.existing.is_empty()
                && links.external.len() == 1
                && links.external[0].content.clone()
                    == DocumentContent::External {
                        url: ExternalUrl::new(PDF_URL).unwrap(),
                        thumb_url: None,
                    }
                && links.external[0].file_name.as_str() == "pdf-sample.pdf"
        })
        .times(1)
        .returning(|id, _, data, _, _, _| {
            let mut customer = customer(id.get());
            customer.data = data.clone();
            customer.documents = vec![linked_document()];
            Ok(Some(customer))
        });
    let app = app!(mocks);

    let (status, json) = json_answer(
        &app,
        test::TestRequest::get().uri("/api/v1.0/customers/256"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["logo"], "/api/v1.0/customers/256/logo/1_logo.gif");
    assert_eq!(json["documents"][0]["uuid"], STORED.to_string());
    assert_eq!(
        json["documents"][1],
        serde_json::json!({
            "uuid": LINKED.to_string(),
            "thumbUrl": null,
            "size": null,
            "mimeType": "application/pdf",
            "lastModified": 1_447_892_186_000_i64,
            "contentUrl": PDF_URL,
            "creationTimeStamp": 1_447_892_186_000_i64,
            "creatorId": null,
            "description": "Very important instructions",
            "fileName": "pdf-sample.pdf",
            "internal": true,
        })
    );
    let response = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/api/v1.0/customers/256")
            .insert_header((header::ACCEPT, "application/xml"))
            .to_request(),
    )
    .await;
    let xml = String::from_utf8(test::read_body(response).await.to_vec()).unwrap();
    assert!(
        xml.contains("<logo>/api/v1.0/customers/256/logo/1_logo.gif</logo>"),
        "{xml}"
    );
    assert!(
        xml.contains(&format!(
            "<document><uuid>{LINKED}</uuid><mimeType>application/pdf</mimeType>"
        )),
        "nulls are omitted: {xml}"
    );

    // Seed 004's link by update; then a `documents` that is no array.
    let request = test::TestRequest::patch()
        .uri("/api/v1.0/customers/256")
        .set_json(serde_json::json!({"documents": [{
            "contentUrl": PDF_URL, "mimeType": "application/pdf",
            "fileName": "pdf-sample.pdf", "description": "Very important instructions"
        }]}));
    let (status, json) = json_answer(&app, request).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["documents"][0]["contentUrl"], PDF_URL);
    let request = test::TestRequest::patch()
        .uri("/api/v1.0/customers/256")
        .set_json(serde_json::json!({"documents": {"contentUrl": PDF_URL}}));
    expect_error_text(
        &app,
        request,
        StatusCode::BAD_REQUEST,
        "invalid_param",
        "documents must be a JSON array.",
    )
    .await;
}
