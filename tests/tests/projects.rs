//! Seed 004's customer projects over real HTTP: in the customer representation (create,
//! update, PUT) and through `/customers/{id}/projects`, with the customer scope rules.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests panic on a broken environment"
)]

use credence_e2e::{TestApp, expect_json, expect_not_found, on_both_backends};
use reqwest::Method;
use serde_json::{Value, json};

on_both_backends!(
    projects_flow_through_the_customer_and_their_routes,
    projects_are_validated_and_scoped,
);

fn names(projects: &Value) -> Vec<&str> {
    projects
        .as_array()
        .expect("a list")
        .iter()
        .map(|p| p["name"].as_str().expect("a name"))
        .collect()
}

async fn projects_flow_through_the_customer_and_their_routes(app: TestApp) {
    let created = app
        .create_customer(&json!({
            "reference": "WW", "name": "Wendy Warner",
            "customerProjects": [{"name": "Floor installation"}, {"name": "General maintenance"}]
        }))
        .await;
    let id = created["id"].as_i64().unwrap();
    assert_eq!(
        names(&created["customerProjects"]),
        ["Floor installation", "General maintenance"]
    );
    let floor = created["customerProjects"][0]["id"].as_i64().unwrap();
    let base = format!("/api/v1.0/customers/{id}/projects");

    // The list, in the paged shape of other lists.
    let list = app.get_json(&base).await;
    assert_eq!(list["paging"]["total"], 2);
    assert_eq!(list["data"], created["customerProjects"]);

    // Add, rename (the id stays), delete.
    let added = app.create(&base, &json!({"name": " Roof "})).await;
    assert_eq!(added["name"], "Roof");
    let roof = added["id"].as_i64().unwrap();
    let renamed = app
        .send_ok(
            Method::PUT,
            &format!("{base}/{floor}"),
            &json!({"name": "Floors"}),
        )
        .await;
    assert_eq!(renamed, json!({"id": floor, "name": "Floors"}));
    let deleted = expect_json(app.delete(&format!("{base}/{roof}")).await, 200).await;
    assert_eq!(deleted["success"], "true");
    let shown = app.get_json(&format!("/api/v1.0/customers/{id}")).await;
    assert_eq!(
        names(&shown["customerProjects"]),
        ["Floors", "General maintenance"]
    );
    assert_eq!(shown["customerProjects"][0]["id"], floor);

    // Unknown projects.
    for (method, path) in [
        (Method::PUT, format!("{base}/{roof}")),
        (Method::DELETE, format!("{base}/{roof}")),
    ] {
        let response = app.send_json(method, &path, &json!({"name": "x"})).await;
        expect_not_found(
            response,
            &format!("The project with the id {roof} doesn't exist."),
        )
        .await;
    }

    // A partial update keeps the list when absent, replaces it when given (unchanged
    // names keep their ids), and clears it with null.
    let path = format!("/api/v1.0/customers/{id}");
    let kept = expect_json(app.post_json(&path, &json!({"comment": "x"})).await, 200).await;
    assert_eq!(kept["customerProjects"], shown["customerProjects"]);
    let replaced = expect_json(
        app.post_json(
            &path,
            &json!({"customerProjects": [{"name": "New"}, {"name": "Floors"}]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(names(&replaced["customerProjects"]), ["New", "Floors"]);
    assert_eq!(replaced["customerProjects"][1]["id"], floor);
    let cleared = expect_json(
        app.post_json(&path, &json!({"customerProjects": null}))
            .await,
        200,
    )
    .await;
    assert_eq!(cleared["customerProjects"], json!([]));

    // PUT resets what it omits.
    app.create(&base, &json!({"name": "Again"})).await;
    let put = app
        .send_ok(
            Method::PUT,
            &path,
            &json!({"reference": "WW", "name": "Wendy Warner"}),
        )
        .await;
    assert_eq!(put["customerProjects"], json!([]));
    let list = app.get_json(&base).await;
    assert_eq!(list["paging"]["total"], 0);
}

async fn projects_are_validated_and_scoped(app: TestApp) {
    let refused = app
        .post_json(
            "/api/v1.0/customers",
            &json!({"reference": "V", "name": "V", "customerProjects": [{"name": " "}]}),
        )
        .await;
    let body = expect_json(refused, 400).await;
    assert_eq!(body["error"], "invalid_param");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("customerProjects"),
        "{body}"
    );
    let too_many: Vec<Value> = (0..101).map(|i| json!({"name": format!("p{i}")})).collect();
    let refused = app
        .post_json(
            "/api/v1.0/customers",
            &json!({"reference": "V", "name": "V", "customerProjects": too_many}),
        )
        .await;
    assert_eq!(expect_json(refused, 400).await["error"], "invalid_param");

    // A reseller reaches the projects of its own tree only.
    let root = app.add_customer("R", "Reseller").await;
    let inside = app
        .create_customer(
            &json!({"reference": "R1", "name": "In", "parentCustomer": root["id"],
            "customerProjects": [{"name": "Inside"}]}),
        )
        .await;
    let outside = app
        .create_customer(
            &json!({"reference": "O", "name": "Out", "customerProjects": [{"name": "Outside"}]}),
        )
        .await;
    let key = app.key_for("reseller", &root).await;
    let in_path = format!("/api/v1.0/customers/{}/projects", inside["id"]);
    let listed = app.get_with_key(&key, &in_path).await;
    assert_eq!(names(&expect_json(listed, 200).await["data"]), ["Inside"]);
    let added = app
        .with_key(&key, Method::POST, &in_path)
        .json(&json!({"name": "Mine"}))
        .send()
        .await
        .unwrap();
    expect_json(added, 201).await;
    let out_id = &outside["id"];
    let out_pid = &outside["customerProjects"][0]["id"];
    for (method, path) in [
        (
            Method::GET,
            format!("/api/v1.0/customers/{out_id}/projects"),
        ),
        (
            Method::POST,
            format!("/api/v1.0/customers/{out_id}/projects"),
        ),
        (
            Method::PUT,
            format!("/api/v1.0/customers/{out_id}/projects/{out_pid}"),
        ),
        (
            Method::DELETE,
            format!("/api/v1.0/customers/{out_id}/projects/{out_pid}"),
        ),
    ] {
        let response = app
            .with_key(&key, method, &path)
            .json(&json!({"name": "Theirs"}))
            .send()
            .await
            .unwrap();
        expect_not_found(
            response,
            &format!("The customer with the id {out_id} doesn't exist."),
        )
        .await;
    }
    let untouched = app
        .get_json(&format!("/api/v1.0/customers/{out_id}/projects"))
        .await;
    assert_eq!(names(&untouched["data"]), ["Outside"]);
}
