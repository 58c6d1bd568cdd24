//! Property tests of strict input: whatever bytes a client sends as a body, a query string
//! or a path segment, the answer is never a `5xx`. The application runs in-process over the
//! domain's mocks, set up as a store that holds nothing (every lookup finds no row, every
//! insert finds its reference taken), so each input travels as far as validation lets it.
//! The number of cases is bounded so the whole file runs in a few seconds.
#![expect(
    clippy::unwrap_used,
    reason = "fixtures outside #[test] functions build known-good values"
)]

use std::sync::Arc;

use actix_web::App;
use actix_web::http::header;
use actix_web::test as actix_test;
use credence_domain::access::credentials::ApiKeySecret;
use credence_domain::customers::reference_data::{
    Category, Currency, PaymentType, Region, Segmentation, User,
};
use credence_domain::fixtures::root_category;
use credence_domain::listing::Page;
use credence_domain::ports::{
    MockCustomerRepository, MockRecordRepository, RecordRepository, WriteError,
};
use credence_http::{HttpConfig, Services, configure};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

mod common;
use common::{Ports, admin_key};

/// Reference data that holds only the root category.
fn records<R>(root: Option<R>) -> Arc<dyn RecordRepository<R>>
where
    R: credence_domain::customers::reference_data::Record + Clone + Send + Sync + 'static,
{
    let mut repo = MockRecordRepository::<R>::new();
    repo.expect_find_by_reference()
        .returning(move |reference| Ok(root.clone().filter(|_| reference == "root")));
    repo.expect_get().returning(|_| Ok(None));
    repo.expect_list().returning(|_| {
        Ok(Page {
            items: Vec::new(),
            total: 0,
        })
    });
    repo.expect_create()
        .returning(|_| Err(WriteError::DuplicateReference));
    repo.expect_update().returning(|_, _, _| Ok(None));
    repo.expect_delete().returning(|_| Ok(false));
    Arc::new(repo)
}

/// An empty store behind every port, and one admin key, `admin-key-for-tests`.
fn services() -> Services {
    let mut ports = Ports::new("2020-01-01T00:00:00Z");
    let mut customers = MockCustomerRepository::new();
    customers.expect_list().returning(|_| {
        Ok(Page {
            items: Vec::new(),
            total: 0,
        })
    });
    customers.expect_search().returning(|_| {
        Ok(Page {
            items: Vec::new(),
            total: 0,
        })
    });
    customers.expect_get().returning(|_| Ok(None));
    customers.expect_holder().returning(|_| Ok(None));
    customers.expect_ancestors().returning(|_| Ok(Vec::new()));
    customers
        .expect_insert()
        .returning(|_| Err(WriteError::DuplicateReference));
    customers
        .expect_update()
        .returning(|_, _, _, _, _, _| Ok(None));
    customers.expect_archive().returning(|_, _, _| Ok(false));
    ports.customers = Arc::new(customers);
    ports.refs.categories = records::<Category>(Some(root_category()));
    ports.refs.segmentations = records::<Segmentation>(None);
    ports.refs.payment_types = records::<PaymentType>(None);
    ports.refs.regions = records::<Region>(None);
    ports.refs.currencies = records::<Currency>(None);
    ports.refs.users = records::<User>(None);
    let admin_hash = ApiKeySecret::parse("admin-key-for-tests").unwrap().hash();
    ports
        .keys
        .expect_find_by_hash()
        .returning(move |hash, _| Ok((*hash == admin_hash).then(|| admin_key(1, 2, "emp-002"))));
    ports
        .idempotency
        .expect_start()
        .returning(|_, _, _, _, _| Ok(credence_domain::ports::IdempotencyStart::Started));
    ports
        .idempotency
        .expect_complete()
        .returning(|_, _, _, _, _| Ok(()));
    ports.idempotency.expect_abandon().returning(|_, _| Ok(()));
    ports
        .catalog
        .expect_products()
        .returning(|_| Ok(Vec::new()));
    ports.catalog.expect_product().returning(|_| Ok(None));
    ports.services()
}

/// Runs `cases` requests made by `request` from the values of `strategy` against one
/// application, and fails on the first answer of `500` or more.
fn never_5xx<S: Strategy>(
    cases: u32,
    strategy: S,
    request: impl Fn(&S::Value) -> actix_test::TestRequest,
) where
    S::Value: std::fmt::Debug,
{
    let system = actix_web::rt::System::new();
    let app = system.block_on(actix_test::init_service(
        App::new()
            .wrap_fn(|mut req, srv| {
                use actix_web::dev::Service as _;
                req.headers_mut().insert(
                    header::AUTHORIZATION,
                    header::HeaderValue::from_static("Bearer admin-key-for-tests"),
                );
                srv.call(req)
            })
            .configure(configure(services(), HttpConfig::default())),
    ));
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&strategy, |value| {
            let response =
                system.block_on(actix_test::call_service(&app, request(&value).to_request()));
            let status = response.status();
            let body = system.block_on(actix_test::read_body(response));
            prop_assert!(
                status.as_u16() < 500,
                "{value:?} answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
            Ok(())
        })
        .unwrap();
}

/// Text that stresses the rules: controls, noncharacters, quotes, escapes, anything.
fn nasty_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\\x00-\\x20\"\\\\%&=+{}\\[\\]:,a-z0-9\u{fffe}\u{ffff}\u{fffd}é]{0,24}",
        Just(String::new()),
        Just("2023-01-01T00:00:60Z".to_owned()),
    ]
}

/// A field name: one the customer body knows, or anything.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "reference",
            "name",
            "email",
            "creditLimit",
            "paymentTypes",
            "contacts",
            "customerProjects",
            "documents",
            "currency",
            "isActive",
            "parentCustomer",
            "billingCountry",
            "dueDateConfigType",
            "dueDateConfigNumber",
            "amount",
            "description",
        ])
        .prop_map(str::to_owned),
        nasty_text(),
    ]
}

/// A JSON value text: scalars, nested objects with repeated keys, broken fragments.
fn json_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        nasty_text().prop_map(|t| serde_json::to_string(&t).unwrap()),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("1e400".to_owned()),
        Just("123456789012345678901234567890.123".to_owned()),
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("\"\\u0000\"".to_owned()),
        Just("\"\\ud800\"".to_owned()),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4)
                .prop_map(|items| format!("[{}]", items.join(","))),
            prop::collection::vec((field_name(), inner), 0..4).prop_map(|members| object(&members)),
        ]
    })
}

fn object(members: &[(String, String)]) -> String {
    let members: Vec<String> = members
        .iter()
        .map(|(k, v)| format!("{}:{v}", serde_json::to_string(k).unwrap()))
        .collect();
    format!("{{{}}}", members.join(","))
}

/// A form or query text: known names, good and bad escapes, raw bytes.
fn form_bytes() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        field_name().prop_map(String::into_bytes),
        "%[0-9A-Fa-f]{2}".prop_map(String::into_bytes),
        "%[g-z0-9]{0,2}".prop_map(String::into_bytes),
        prop::sample::select(vec!["=", "&", "+", "%00", "%C3%A9", "%FF", "%ED%A0%80"])
            .prop_map(|t| t.as_bytes().to_vec()),
        any::<Vec<u8>>(),
    ];
    prop::collection::vec(token, 0..10).prop_map(|tokens| tokens.concat())
}

/// Text that may stand in a URI (a query or a path segment): only what a URI may hold
/// literally, and every escape, good or bad.
fn uri_text(filters: bool) -> impl Strategy<Value = String> {
    let names: Vec<&str> = if filters {
        vec![
            "max=",
            "offset=",
            "sort=",
            "order=",
            "name=",
            "reference=",
            "categoryReference=",
            "isActive=",
            "dateCreated_gt=",
            "lastUpdated_lte=",
            "q=",
            "inactive",
            "&",
        ]
    } else {
        vec!["a", "-", ".", "~", "*"]
    };
    let token = prop_oneof![
        prop::sample::select(names).prop_map(str::to_owned),
        "[A-Za-z0-9._~*:+-]{1,6}",
        "%[0-9A-Fa-f]{2}",
        "%[g-z0-9]{0,2}",
        prop::sample::select(vec![
            "%00",
            "%01",
            "%1B",
            "%EF%BF%BE",
            "%C3%A9",
            "%FF",
            "%2F",
            "0000-01-01T00:00:60Z"
        ])
        .prop_map(str::to_owned),
    ];
    prop::collection::vec(token, 0..10).prop_map(|tokens| tokens.concat())
}

const CONTENT_TYPES: [&str; 6] = [
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=XyZ",
    "application/merge-patch+json",
    "text/plain",
    "application/json; charset=latin1",
];

#[test]
fn json_bodies_never_answer_5xx() {
    let bodies = prop_oneof![
        prop::collection::vec((field_name(), json_value()), 0..8).prop_map(|m| object(&m)),
        json_value(),
    ];
    let routes = prop::sample::select(vec![
        ("POST", "/api/v1.0/customers"),
        (
            "PUT",
            "/api/v1.0/customers/550e8400-e29b-41d4-a716-446655440000",
        ),
        ("POST", "/api/v1.0/customers/reference/R1"),
        ("POST", "/api/v1.0/customers/256/account/payments"),
        ("POST", "/api/v1.0/customerCategories"),
        ("PUT", "/api/v1.0/products/P1"),
        ("POST", "/api/marketplace/v2/customer/task_templates"),
    ]);
    never_5xx(160, (routes, bodies), |((method, path), body)| {
        actix_test::TestRequest::default()
            .method(method.parse().unwrap())
            .uri(path)
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .set_payload(body.clone())
    });
}

#[test]
fn any_bytes_in_any_body_never_answer_5xx() {
    let content_type = prop::sample::select(CONTENT_TYPES.to_vec());
    let body = prop_oneof![
        form_bytes(),
        any::<Vec<u8>>(),
        // A multipart body with one text part of any bytes.
        (field_name(), any::<Vec<u8>>()).prop_map(|(name, value)| {
            let mut body = format!(
                "--XyZ\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n",
                name.replace(['"', '\r', '\n'], "")
            )
            .into_bytes();
            body.extend(value);
            body.extend(b"\r\n--XyZ--\r\n");
            body
        }),
    ];
    never_5xx(160, (content_type, body), |(content_type, body)| {
        actix_test::TestRequest::post()
            .uri("/api/v1.0/customers")
            .insert_header((header::CONTENT_TYPE, *content_type))
            .set_payload(body.clone())
    });
}

#[test]
fn filters_and_path_segments_never_answer_5xx() {
    let routes = prop::sample::select(vec![
        "/api/v1.0/customers?",
        "/api/v1.0/customers/search?q=a&",
        "/api/v1.0/customerCategories?",
        "/api/v1.0/customers/256/account/ledger?",
        "/api/v1.0/customers/reference/",
        "/api/v1.0/customers/",
        "/api/v1.0/products/",
        "/api/marketplace/v2/products/",
        "/api/marketplace/v2/customer/tasks?",
    ]);
    never_5xx(
        200,
        (routes, uri_text(true), uri_text(false)),
        |(route, query, segment)| {
            let uri = if route.ends_with('?') || route.ends_with('&') {
                format!("{route}{query}")
            } else {
                format!("{route}{segment}")
            };
            actix_test::TestRequest::get().uri(&uri)
        },
    );
}
