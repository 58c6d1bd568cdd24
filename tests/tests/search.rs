//! The customer search over real HTTP: ranking the same on both backends, the
//! reseller's scope, the `inactive` flag, paging links, XML and the `400`s.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests panic on a broken environment"
)]

use credence_e2e::{TestApp, expect_error, expect_json, on_both_backends, xml_answer};
use reqwest::Method;
use serde_json::{Value, json};

on_both_backends!(
    search_ranks_name_over_reference_over_the_rest,
    a_reseller_finds_only_its_tree,
    bad_queries_are_400,
    accents_fold_both_ways,
);

/// `societe` finds "Société Générale", and `société` finds "Societe Anonyme": stored terms and
/// queries both lose their accents; what is shown keeps them.
async fn accents_fold_both_ways(app: TestApp) {
    for body in [
        json!({"reference": "SG-1", "name": "Société Générale"}),
        json!({"reference": "SA-1", "name": "Societe Anonyme"}),
        json!({"reference": "MU-1", "name": "Müller Ångström"}),
    ] {
        app.create_customer(&body).await;
    }
    let refs = |hits: Vec<(String, u64)>| {
        let mut refs: Vec<String> = hits.into_iter().map(|(r, _)| r).collect();
        refs.sort();
        refs
    };
    let (plain, _) = hits(&app, "/api/v1.0/customers/search?q=societe").await;
    assert_eq!(refs(plain), ["SA-1", "SG-1"]);
    let (accented, _) = hits(&app, "/api/v1.0/customers/search?q=soci%C3%A9t%C3%A9").await;
    assert_eq!(refs(accented), ["SA-1", "SG-1"]);
    let (upper, _) = hits(&app, "/api/v1.0/customers/search?q=GENERALE").await;
    assert_eq!(refs(upper), ["SG-1"]);
    let (other, _) = hits(&app, "/api/v1.0/customers/search?q=angstrom+muller").await;
    assert_eq!(refs(other), ["MU-1"]);
    let shown = app.get_json("/api/v1.0/customers/search?q=generale").await;
    assert_eq!(shown["data"][0]["name"], "Société Générale");
}

/// `(reference, score)` of each hit, and the paging object.
async fn hits(app: &TestApp, path: &str) -> (Vec<(String, u64)>, Value) {
    let body = app.get_json(path).await;
    let data = body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|c| {
            (
                c["reference"].as_str().expect("reference").to_owned(),
                c["score"].as_u64().expect("score"),
            )
        })
        .collect();
    (data, body["paging"].clone())
}

async fn search_ranks_name_over_reference_over_the_rest(app: TestApp) {
    for body in [
        json!({"reference": "CITY-1", "name": "Stable Supplies", "city": "Horseshoe", "billingCity": "Horse"}),
        json!({"reference": "HORSE-7", "name": "Acme"}),
        json!({"reference": "NAME-1", "name": "The Horse Shop"}),
        json!({"reference": "MAIL-1", "name": "Mail Only", "email": "horse@example.com"}),
        json!({"reference": "BOTH-1", "name": "Horse & Pony", "taxNumber": "pony-1"}),
        json!({"reference": "ASLEEP", "name": "Horse Asleep", "isActive": false}),
        json!({"reference": "GONE", "name": "Horse Gone"}),
        json!({"reference": "OTHER", "name": "Unrelated"}),
    ] {
        app.create_customer(&body).await;
    }
    let gone = app.get_json("/api/v1.0/customers/reference/GONE").await;
    let response = app
        .delete(&format!("/api/v1.0/customers/{}", gone["id"]))
        .await;
    assert_eq!(response.status().as_u16(), 200);

    let (found, paging) = hits(&app, "/api/v1.0/customers/search?q=horse+PONY").await;
    assert_eq!(
        found,
        [
            ("BOTH-1".to_owned(), 201),
            ("NAME-1".to_owned(), 100),
            ("HORSE-7".to_owned(), 10),
            ("CITY-1".to_owned(), 1),
            ("MAIL-1".to_owned(), 1),
        ]
    );
    assert_eq!(paging["total"], 5);

    let (found, _) = hits(&app, "/api/v1.0/customers/search?q=horse&inactive=true").await;
    assert_eq!(found.len(), 6, "{found:?}");
    assert!(found.contains(&("ASLEEP".to_owned(), 100)));
    assert!(!found.iter().any(|(r, _)| r == "GONE"), "archived never");

    let (found, paging) = hits(&app, "/api/v1.0/customers/search?q=horse&max=2&offset=3").await;
    assert_eq!(found, [("CITY-1".to_owned(), 1), ("MAIL-1".to_owned(), 1)]);
    assert_eq!(
        paging["previous"],
        "/api/v1.0/customers/search?max=2&offset=1&q=horse"
    );
    assert_eq!(paging["next"], Value::Null);

    // Engine syntax in the query is only a separator.
    for q in [
        "%22horse",
        "horse*",
        "NEAR(horse",
        "a:horse",
        "'horse'",
        "horse%26%7C%21",
    ] {
        let (found, _) = hits(&app, &format!("/api/v1.0/customers/search?q={q}")).await;
        assert!(found.len() >= 4, "{q}: {found:?}");
    }

    let (status, body) =
        xml_answer(app.request(Method::GET, "/api/v1.0/customers/search?q=shop")).await;
    assert_eq!(status, 200);
    assert!(body.contains("<reference>NAME-1</reference>"), "{body}");
    assert!(body.contains("<score>100</score>"), "{body}");
}

async fn a_reseller_finds_only_its_tree(app: TestApp) {
    let root = app.add_customer("R0", "Falcon Reseller").await;
    app.add_sub_customer("R1", "Falcon Child", &root).await;
    app.add_customer("X1", "Falcon Stranger").await;
    let key = app.key_for("reseller", &root).await;

    let (all, _) = hits(&app, "/api/v1.0/customers/search?q=falcon").await;
    assert_eq!(all.len(), 3, "the admin finds everyone");
    let body = expect_json(
        app.get_with_key(&key, "/api/v1.0/customers/search?q=falcon")
            .await,
        200,
    )
    .await;
    let references: Vec<&str> = body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|c| c["reference"].as_str().expect("reference"))
        .collect();
    assert_eq!(references, ["R0", "R1"]);
    assert_eq!(body["paging"]["total"], 2);
}

async fn bad_queries_are_400(app: TestApp) {
    for (path, error, description) in [
        (
            "/api/v1.0/customers/search",
            "missing_param",
            "q parameter is missing",
        ),
        (
            "/api/v1.0/customers/search?q=+++",
            "invalid_param",
            "The parameter q cannot be empty.",
        ),
        (
            "/api/v1.0/customers/search?q=%2A%22",
            "invalid_param",
            "The parameter q must contain at least one letter or digit.",
        ),
        (
            "/api/v1.0/customers/search?q=a&isActive=true",
            "invalid_param",
            "The parameters [isActive] you provided are not valid for this request.",
        ),
    ] {
        expect_error(app.get(path).await, 400, error, description).await;
    }
}
