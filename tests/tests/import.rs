//! Bulk import of customers over real HTTP: CSV and NDJSON, each line created, updated or
//! failed with its line number and the single-customer route's error, dry runs, atomic
//! imports, opening balances, scope, and the limits.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests panic on a broken environment"
)]

use credence_e2e::{TestApp, expect_error, expect_json, on_both_backends};
use reqwest::{Method, Response};
use serde_json::{Value, json};

on_both_backends!(
    csv_lines_are_created_updated_or_failed_as_the_single_route_says,
    ndjson_lines_are_created_updated_or_failed_as_the_single_route_says,
    a_dry_run_reports_and_writes_nothing,
    an_atomic_import_applies_everything_or_nothing,
    an_opening_balance_is_posted_once_on_creation,
    a_reseller_imports_into_its_own_tree_only,
    bodies_that_cannot_be_imported_are_refused,
    a_large_import_applies_its_lines_in_the_body_order,
);

const IMPORT: &str = "/api/v1.0/customers/import";

/// A form body's fields.
type Form = [(&'static str, &'static str)];

async fn import_as(
    app: &TestApp,
    key: Option<&str>,
    query: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> Response {
    let path = format!("{IMPORT}{query}");
    let request = match key {
        Some(key) => app.with_key(key, Method::POST, &path),
        None => app.request(Method::POST, &path),
    };
    request
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .expect("an answer")
}

async fn csv(app: &TestApp, query: &str, body: &str) -> Response {
    import_as(app, None, query, "text/csv", body.to_owned()).await
}

async fn ndjson(app: &TestApp, query: &str, body: &str) -> Response {
    import_as(app, None, query, "application/x-ndjson", body.to_owned()).await
}

/// `(line, reference, result)` of every line of a report.
fn outcomes(report: &Value) -> Vec<(u64, Value, String)> {
    report["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| {
            (
                l["line"].as_u64().expect("a line number"),
                l["reference"].clone(),
                l["result"].as_str().expect("a result").to_owned(),
            )
        })
        .collect()
}

fn totals(report: &Value) -> (u64, u64, u64) {
    (
        report["created"].as_u64().unwrap(),
        report["updated"].as_u64().unwrap(),
        report["failed"].as_u64().unwrap(),
    )
}

/// The error the report gives for `line`.
fn error_of(report: &Value, line: u64) -> Value {
    report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["line"] == line)
        .unwrap_or_else(|| panic!("no line {line} in {report}"))["error"]
        .clone()
}

/// The single-customer route's error body for the same fields, sent as a form.
async fn single_route_form_error(app: &TestApp, reference: &str, form: &[(&str, &str)]) -> Value {
    let response = app
        .post_form(&format!("/api/v1.0/customers/reference/{reference}"), form)
        .await;
    assert!(
        response.status().is_client_error(),
        "the single route refuses it too"
    );
    response.json().await.expect("an error body")
}

async fn customer(app: &TestApp, reference: &str) -> Option<Value> {
    let response = app
        .get(&format!("/api/v1.0/customers/reference/{reference}"))
        .await;
    match response.status().as_u16() {
        200 => Some(response.json().await.expect("a customer")),
        404 => None,
        other => panic!("GET {reference}: {other}"),
    }
}

async fn csv_lines_are_created_updated_or_failed_as_the_single_route_says(app: TestApp) {
    app.add_customer("U1", "Before").await;
    let body = "reference,name,creditLimit,email\n\
                N1,New One,100,one@example.com\n\
                U1,After,,\n\
                N3,,5,\n\
                N4,Bad mail,,not-an-email\n\
                N5,Too few\n\
                ,No reference,,\n\
                \n\
                N8,\"Quoted, with comma\",1.234,\n";
    let report = expect_json(csv(&app, "", body).await, 200).await;
    assert_eq!(
        outcomes(&report),
        vec![
            (2, json!("N1"), "created".into()),
            (3, json!("U1"), "updated".into()),
            (4, json!("N3"), "failed".into()),
            (5, json!("N4"), "failed".into()),
            (6, json!("N5"), "failed".into()),
            (7, Value::Null, "failed".into()),
            (9, json!("N8"), "failed".into()),
        ],
        "{report}"
    );
    assert_eq!(totals(&report), (1, 1, 5));
    assert_eq!(report["applied"], true);
    assert_eq!(report["lines"][0]["error"], Value::Null);

    // The same texts as the single route, for the same fields as a form.
    let cases: [(u64, &str, &Form); 3] = [
        (
            4,
            "N3",
            &[("name", ""), ("creditLimit", "5"), ("email", "")],
        ),
        (
            5,
            "N4",
            &[
                ("name", "Bad mail"),
                ("creditLimit", ""),
                ("email", "not-an-email"),
            ],
        ),
        (
            9,
            "N8",
            &[
                ("name", "Quoted, with comma"),
                ("creditLimit", "1.234"),
                ("email", ""),
            ],
        ),
    ];
    for (line, reference, form) in cases {
        assert_eq!(
            error_of(&report, line),
            single_route_form_error(&app, reference, form).await,
            "line {line}"
        );
    }
    assert!(
        error_of(&report, 6)["error_description"]
            .as_str()
            .unwrap()
            .contains("2 values where the header names 4 fields"),
        "{report}"
    );
    assert_eq!(error_of(&report, 7)["error"], "missing_param");

    let created = customer(&app, "N1").await.expect("N1 was created");
    assert_eq!(created["name"], "New One");
    assert_eq!(created["email"], "one@example.com");
    assert_eq!(customer(&app, "U1").await.unwrap()["name"], "After");
    for absent in ["N3", "N4", "N5", "N8"] {
        assert!(customer(&app, absent).await.is_none(), "{absent}");
    }
}

async fn ndjson_lines_are_created_updated_or_failed_as_the_single_route_says(app: TestApp) {
    app.add_customer("J2", "Before").await;
    let lines = [
        json!({"reference": "J1", "name": "Json One", "isActive": true, "creditLimit": 250.5}),
        json!({"reference": "J2", "name": "After", "customerRiskColor": "#00FF00"}),
        json!({"reference": "J3", "name": "Bad colour", "customerRiskColor": "green"}),
        json!({"reference": "J4", "nmae": "Typo"}),
        json!({"name": "No reference"}),
    ];
    let mut body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    body.push_str("{not json\n\n[1,2]\r\n");
    body.push_str(&json!({"reference": "J1", "name": "Json One again"}).to_string());
    let report = expect_json(ndjson(&app, "", &body).await, 200).await;
    assert_eq!(
        outcomes(&report),
        vec![
            (1, json!("J1"), "created".into()),
            (2, json!("J2"), "updated".into()),
            (3, json!("J3"), "failed".into()),
            (4, json!("J4"), "failed".into()),
            (5, Value::Null, "failed".into()),
            (6, Value::Null, "failed".into()),
            (8, Value::Null, "failed".into()),
            (9, json!("J1"), "updated".into()),
        ],
        "{report}"
    );
    assert_eq!(totals(&report), (1, 2, 5));

    let single = app
        .post_json("/api/v1.0/customers/reference/J3", &lines[2])
        .await;
    assert_eq!(single.status().as_u16(), 400);
    assert_eq!(error_of(&report, 3), single.json::<Value>().await.unwrap());
    assert!(
        error_of(&report, 4)["error_description"]
            .as_str()
            .unwrap()
            .contains("nmae"),
        "{report}"
    );
    assert_eq!(error_of(&report, 5)["error"], "missing_param");
    assert!(
        error_of(&report, 6)["error_description"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    assert!(
        error_of(&report, 8)["error_description"]
            .as_str()
            .unwrap()
            .contains("JSON object")
    );
    let j1 = customer(&app, "J1").await.unwrap();
    assert_eq!(j1["name"], "Json One again");
    assert_eq!(j1["creditLimit"].to_string(), "250.50");
    assert!(customer(&app, "J3").await.is_none());
}

async fn a_dry_run_reports_and_writes_nothing(app: TestApp) {
    app.add_customer("D1", "Before").await;
    let body = "reference,name,openingBalance\nD1,After,\nD2,New,10\nD3,,\n";
    let report = expect_json(csv(&app, "?dryRun=true", body).await, 200).await;
    assert_eq!(report["dryRun"], true);
    assert_eq!(report["applied"], false);
    assert_eq!(
        outcomes(&report),
        vec![
            (2, json!("D1"), "updated".into()),
            (3, json!("D2"), "created".into()),
            (4, json!("D3"), "failed".into()),
        ]
    );
    assert_eq!(customer(&app, "D1").await.unwrap()["name"], "Before");
    assert!(customer(&app, "D2").await.is_none());
    // Later lines of a dry run see what earlier ones would have done.
    let chained = "reference,name,parentCustomer,useExternalId\nP1,Parent,,\nP2,Child,P1,true\n";
    let report = expect_json(csv(&app, "?dryRun=true", chained).await, 200).await;
    assert_eq!(totals(&report), (2, 0, 0), "{report}");
    assert!(customer(&app, "P1").await.is_none());
}

async fn an_atomic_import_applies_everything_or_nothing(app: TestApp) {
    let bad = "reference,name,openingBalance\nA1,One,5\nA2,Two,\nA3,,\n";
    let report = expect_json(csv(&app, "?atomic=true", bad).await, 422).await;
    assert_eq!(report["atomic"], true);
    assert_eq!(report["applied"], false);
    assert_eq!(totals(&report), (2, 0, 1));
    for reference in ["A1", "A2", "A3"] {
        assert!(customer(&app, reference).await.is_none(), "{reference}");
    }
    // A line that cannot even be read fails an atomic import too.
    let unreadable = "reference,name\nA1,One\nA2\n";
    expect_json(csv(&app, "?atomic=true", unreadable).await, 422).await;
    assert!(customer(&app, "A1").await.is_none());

    let good = "reference,name,openingBalance\nA1,One,5\nA2,Two,\n";
    let report = expect_json(csv(&app, "?atomic=true", good).await, 200).await;
    assert_eq!(report["applied"], true);
    assert_eq!(totals(&report), (2, 0, 0));
    let a1 = customer(&app, "A1").await.unwrap();
    assert_eq!(a1["balance"].to_string(), "5.00");
    assert!(customer(&app, "A2").await.is_some());
}

async fn ledger(app: &TestApp, customer: &Value) -> Vec<Value> {
    let path = format!("/api/v1.0/customers/{}/account/ledger", customer["id"]);
    app.get_json(&path).await["data"]
        .as_array()
        .unwrap()
        .clone()
}

async fn an_opening_balance_is_posted_once_on_creation(app: TestApp) {
    let existing = app.add_customer("O3", "Existing").await;
    let body = "reference,name,openingBalance\n\
                O1,Pays,150.00\n\
                O2,Owes,-20.5\n\
                O3,Existing,99\n\
                O4,Zero,0\n\
                O5,Too precise,1.234\n\
                O6,Not a number,abc\n";
    for run in 0..2 {
        let report = expect_json(csv(&app, "", body).await, 200).await;
        let expected = if run == 0 {
            [
                "created", "created", "updated", "created", "failed", "failed",
            ]
        } else {
            [
                "updated", "updated", "updated", "updated", "failed", "failed",
            ]
        };
        let results: Vec<String> = outcomes(&report).into_iter().map(|o| o.2).collect();
        assert_eq!(results, expected, "run {run}: {report}");

        let o1 = customer(&app, "O1").await.unwrap();
        assert_eq!(o1["balance"].to_string(), "150.00");
        let entries = ledger(&app, &o1).await;
        assert_eq!(entries.len(), 1, "run {run}: {entries:?}");
        assert_eq!(entries[0]["kind"], "payment");
        assert_eq!(entries[0]["description"], "opening balance");

        let o2 = customer(&app, "O2").await.unwrap();
        assert_eq!(o2["balance"].to_string(), "-20.50");
        let entries = ledger(&app, &o2).await;
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0]["kind"], "charge");

        assert!(
            ledger(&app, &existing).await.is_empty(),
            "an update posts nothing"
        );
        let zero = customer(&app, "O4").await.unwrap();
        assert!(ledger(&app, &zero).await.is_empty());
        // The customer and its opening balance are one write: neither without the other.
        assert!(customer(&app, "O5").await.is_none());
        assert!(customer(&app, "O6").await.is_none());
    }
    let report = expect_json(csv(&app, "", body).await, 200).await;
    assert_eq!(error_of(&report, 7)["error"], "invalid_param_type");
    let payment = app
        .post_json(
            &format!("/api/v1.0/customers/{}/account/payments", existing["id"]),
            &json!({"amount": "1.234"}),
        )
        .await;
    assert_eq!(payment.status().as_u16(), 400);
    assert_eq!(
        error_of(&report, 6)["error_description"],
        payment.json::<Value>().await.unwrap()["error_description"],
        "the payment route's text"
    );
}

async fn a_reseller_imports_into_its_own_tree_only(app: TestApp) {
    let reseller = app.add_customer("RES", "Reseller").await;
    app.add_customer("OTHER", "Another tenant").await;
    let key = app.key_for("reseller", &reseller).await;
    let body = "reference,name\nR1,Mine\nOTHER,Taken over\n";
    let report = expect_json(
        import_as(&app, Some(&key), "", "text/csv", body.to_owned()).await,
        200,
    )
    .await;
    assert_eq!(
        outcomes(&report),
        vec![
            (2, json!("R1"), "created".into()),
            (3, json!("OTHER"), "failed".into()),
        ]
    );
    let single = app
        .with_key(&key, Method::POST, "/api/v1.0/customers/reference/OTHER")
        .json(&json!({"name": "Taken over"}))
        .send()
        .await
        .unwrap();
    assert!(single.status().is_client_error());
    assert_eq!(error_of(&report, 3), single.json::<Value>().await.unwrap());
    let mine = customer(&app, "R1").await.unwrap();
    assert_eq!(mine["parentCustomer"]["id"], reseller["id"], "{mine}");
    assert_eq!(
        customer(&app, "OTHER").await.unwrap()["name"],
        "Another tenant"
    );

    let customer_user = app.add_customer("CU", "Customer user").await;
    let customer_key = app.key_for("customer", &customer_user).await;
    let refused = import_as(&app, Some(&customer_key), "", "text/csv", body.to_owned()).await;
    assert_eq!(refused.status().as_u16(), 403);
}

async fn bodies_that_cannot_be_imported_are_refused(app: TestApp) {
    let wrong_type = import_as(&app, None, "", "application/json", "{}").await;
    expect_error(
        wrong_type,
        415,
        "unsupported_media_type",
        "The content type application/json is not supported: use text/csv or application/x-ndjson.",
    )
    .await;
    // Without a content type only an empty body is an import, of nothing.
    let bare = app
        .request(Method::POST, IMPORT)
        .send()
        .await
        .expect("an answer");
    assert_eq!(totals(&expect_json(bare, 200).await), (0, 0, 0));
    let untyped = app
        .request(Method::POST, IMPORT)
        .body("reference,name\nX1,x\n")
        .send()
        .await
        .expect("an answer");
    assert_eq!(untyped.status().as_u16(), 415);
    let unknown_column = csv(&app, "", "reference,nmae\nX1,x\n").await;
    assert_eq!(unknown_column.status().as_u16(), 400);
    let bad_flag = csv(&app, "?atomic=perhaps", "reference,name\n").await;
    assert_eq!(bad_flag.status().as_u16(), 400);
    let unknown_param = csv(&app, "?dry=true", "reference,name\n").await;
    assert_eq!(unknown_param.status().as_u16(), 400);

    // 100,001 lines: refused, and a dry run applies nothing before it stops.
    let mut body = String::from("{\"reference\":\"L1\",\"name\":\"First\"}\n");
    body.push_str(&"x\n".repeat(100_000));
    let response = ndjson(&app, "?dryRun=true", &body).await;
    let error = expect_json(response, 413).await;
    assert_eq!(error["error"], "payload_too_large");
    assert_eq!(
        error["error_description"],
        "An import holds at most 100000 lines."
    );
    assert!(customer(&app, "L1").await.is_none());
    // Exactly the limit is fine.
    let body = "x\n".repeat(100_000);
    let report = expect_json(ndjson(&app, "", &body).await, 200).await;
    assert_eq!(totals(&report), (0, 0, 100_000));
}

/// Over several batches (which PostgreSQL may apply side by side) every line sees exactly the
/// lines before it: a reference repeated in a later batch is an update of the earlier line's
/// customer, a line naming a parent created earlier finds it, one naming a parent created
/// later does not, and the report keeps the body's order.
async fn a_large_import_applies_its_lines_in_the_body_order(app: TestApp) {
    // Parents named by reference (`useExternalId`).
    let mut body = String::from("reference,name,parentCustomer,useExternalId\n");
    let mut expected = Vec::new();
    let mut line = |reference: String, name: &str, parent: &str, result: &str| {
        body.push_str(&format!("{reference},{name},{parent},true\n"));
        expected.push((reference, result.to_owned()));
    };
    for i in 0..500 {
        line(format!("P-{i:04}"), "First batch", "", "created");
    }
    for i in 0..499 {
        line(format!("Q-{i:04}"), "Second batch", "", "created");
    }
    line("P-0007".into(), "Renamed", "", "updated");
    for i in 0..498 {
        line(format!("R-{i:04}"), "Third batch", "", "created");
    }
    line("R-CHILD".into(), "Child", "P-0001", "created");
    line("R-ORPHAN".into(), "Orphan", "S-0000", "failed");
    // Past 2,000 lines too: the batch size of SQLite's imports.
    for i in 0..600 {
        line(format!("S-{i:04}"), "Fourth batch", "", "created");
    }
    line("P-0003".into(), "Renamed later", "", "updated");
    let report = expect_json(csv(&app, "", &body).await, 200).await;
    let got: Vec<(u64, String, String)> = outcomes(&report)
        .into_iter()
        .map(|(line, reference, result)| (line, reference.as_str().unwrap().to_owned(), result))
        .collect();
    let want: Vec<(u64, String, String)> = (2_u64..)
        .zip(expected)
        .map(|(line, (reference, result))| (line, reference, result))
        .collect();
    assert_eq!(got.len(), want.len());
    for (got, want) in got.iter().zip(&want) {
        assert_eq!(got, want, "{}", error_of(&report, got.0));
    }
    assert_eq!(totals(&report), (2098, 2, 1));
    assert_eq!(error_of(&report, 1501)["error"], "not_found", "{report}");
    assert_eq!(customer(&app, "P-0007").await.unwrap()["name"], "Renamed");
    let child = customer(&app, "R-CHILD").await.unwrap();
    let parent = customer(&app, "P-0001").await.unwrap();
    assert_eq!(child["parentCustomer"]["id"], parent["id"], "{child}");
    assert!(customer(&app, "R-ORPHAN").await.is_none());
    assert!(customer(&app, "S-0599").await.is_some());
    assert_eq!(
        customer(&app, "P-0003").await.unwrap()["name"],
        "Renamed later"
    );
}
