//! The service around the API: health, the OpenAPI document and the offline Swagger UI.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests panic on a broken environment"
)]

use credence_e2e::{TestApp, expect_json, on_both_backends};

on_both_backends!(
    health_openapi_and_docs,
    reference_data_crud_follows_the_same_conventions
);

async fn health_openapi_and_docs(app: TestApp) {
    assert_eq!(app.get("/health/live").await.status().as_u16(), 200);
    assert_eq!(app.get("/health/ready").await.status().as_u16(), 200);
    let doc = app.get_json("/openapi.json").await;
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    assert!(
        doc["paths"]["/api/v1.0/customers"].is_object(),
        "customers are documented"
    );
    let docs = app.get("/docs/").await;
    assert_eq!(docs.status().as_u16(), 200);
    let html = docs.text().await.expect("html");
    assert!(
        html.to_lowercase().contains("swagger"),
        "the UI is served from the binary"
    );
    let unknown = app.get("/api/v1.0/nothing-here").await;
    assert_eq!(expect_json(unknown, 404).await["error"], "not_found");
}

async fn reference_data_crud_follows_the_same_conventions(app: TestApp) {
    let root = app.get_json("/api/v1.0/customerCategories").await;
    assert_eq!(root["paging"]["total"], 1);
    assert_eq!(root["data"][0]["reference"], "root");
    let root_id = root["data"][0]["id"].clone();
    let created = app
        .create(
            "/api/v1.0/customerCategories",
            &serde_json::json!({"reference": "jewelry", "name": "Jewelry"}),
        )
        .await;
    assert_eq!(
        created["parentId"], root_id,
        "new categories hang from the root"
    );
    let path = format!("/api/v1.0/customerCategories/{}", created["id"]);
    assert_eq!(created["href"], path);
    let renamed = expect_json(
        app.post_json(
            &path,
            &serde_json::json!({"name": "Jewelry and accessories"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(renamed["reference"], "jewelry", "updates are partial");
    assert_eq!(renamed["name"], "Jewelry and accessories");
    let dup = expect_json(
        app.post_json(
            "/api/v1.0/customerCategories",
            &serde_json::json!({"reference": "jewelry", "name": "Again"}),
        )
        .await,
        400,
    )
    .await;
    assert_eq!(dup["error"], "not_unique");
    let own = expect_json(
        app.post_json(&path, &serde_json::json!({"parentId": created["id"]}))
            .await,
        404,
    )
    .await;
    assert_eq!(own["error"], "not_found");
    expect_json(app.delete(&path).await, 200).await;
    assert_eq!(
        expect_json(app.get(&path).await, 404).await["error"],
        "not_found"
    );
    let root_path = format!("/api/v1.0/customerCategories/{root_id}");
    assert_eq!(
        expect_json(app.delete(&root_path).await, 400).await["error"],
        "delete_failed",
        "the root stays"
    );

    let user = app.create("/api/v1.0/users", &serde_json::json!({"reference": "emp-1", "name": "Emp", "email": "e@example.com", "role": "admin"})).await;
    assert_eq!(user["role"], "admin");
    assert_eq!(
        expect_json(
            app.post_json(
                "/api/v1.0/users",
                &serde_json::json!({"reference": "emp-2", "name": "Emp", "role": "pope"})
            )
            .await,
            400
        )
        .await["error"],
        "invalid_param"
    );
    let region = app
        .create(
            "/api/v1.0/regions",
            &serde_json::json!({"name": "California"}),
        )
        .await;
    let sub = app
        .create(
            "/api/v1.0/regions",
            &serde_json::json!({"name": "Bay Area", "parentId": region["id"]}),
        )
        .await;
    assert_eq!(sub["parentId"], region["id"]);
    let segs = app.get_json("/api/v1.0/customerSegmentations?max=1").await;
    assert_eq!(segs["paging"]["total"], 0);
    assert_eq!(
        expect_json(app.get("/api/v1.0/paymentTypes?max=5000").await, 400).await["error"],
        "invalid_param"
    );
}
