//! Seed 004's documents and seed 002's logos over real HTTP, on SQLite and PostgreSQL: upload,
//! metadata, attach, detach and download round trips; every image error, an image bomb
//! refused from its header; and the reseller scope.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests panic on a broken environment"
)]

use std::io::Cursor;

use credence_e2e::{
    TestApp, content_type, expect_error, expect_json, expect_not_found, on_both_backends,
};
use credence_store::test_support::TestDb;
use reqwest::multipart::{Form, Part};
use reqwest::{Method, Response};
use serde_json::{Value, json};

on_both_backends!(
    documents_upload_attach_download_and_detach,
    logos_are_checked_by_content_resized_and_served,
    documents_stay_inside_the_callers_scope,
    internal_documents_are_not_shown_to_the_customer_they_are_about,
);

/// A real 800x600 image in `format`, with enough detail not to compress to nothing.
fn image(format: image::ImageFormat) -> Vec<u8> {
    let img = image::RgbImage::from_fn(800, 600, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encodes");
    out.into_inner()
}

fn dimensions(bytes: &[u8]) -> (u32, u32) {
    let img = image::load_from_memory(bytes).expect("decodes");
    (img.width(), img.height())
}

/// A 58-byte BMP whose header claims 60 000 x 60 000 pixels: decoding it would need 10 GB.
fn bmp_bomb() -> Vec<u8> {
    let mut bmp = Vec::with_capacity(58);
    bmp.extend_from_slice(b"BM");
    bmp.extend_from_slice(&58_u32.to_le_bytes()); // file size
    bmp.extend_from_slice(&0_u32.to_le_bytes());
    bmp.extend_from_slice(&54_u32.to_le_bytes()); // pixel data offset
    bmp.extend_from_slice(&40_u32.to_le_bytes()); // BITMAPINFOHEADER
    bmp.extend_from_slice(&60_000_i32.to_le_bytes()); // width
    bmp.extend_from_slice(&60_000_i32.to_le_bytes()); // height
    bmp.extend_from_slice(&1_u16.to_le_bytes()); // planes
    bmp.extend_from_slice(&24_u16.to_le_bytes()); // bits per pixel
    bmp.extend_from_slice(&[0; 24]);
    bmp.extend_from_slice(&[0; 4]);
    bmp
}

fn file(name: &str, bytes: Vec<u8>) -> Part {
    Part::bytes(bytes).file_name(name.to_owned())
}

async fn upload(app: &TestApp, name: &str, bytes: Vec<u8>) -> Value {
    let response = app
        .request(Method::POST, "/api/v1.0/documents/content")
        .multipart(Form::new().part("file", file(name, bytes)))
        .send()
        .await
        .expect("sent");
    let body = expect_json(response, 200).await;
    assert_eq!(body["success"], true, "{body}");
    body["document"].clone()
}

/// Uploads a file named `name` holding its own name with `key`; answers its UUID.
async fn upload_with_key(app: &TestApp, key: &str, name: &str) -> String {
    let response = app
        .with_key(key, Method::POST, "/api/v1.0/documents/content")
        .multipart(Form::new().part("file", file(name, name.as_bytes().to_vec())))
        .send()
        .await
        .expect("sent");
    expect_json(response, 200).await["document"]["uuid"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn empty_200(response: Response) {
    assert_eq!(response.status().as_u16(), 200);
    assert!(response.bytes().await.expect("body").is_empty());
}

async fn bytes_of(app: &TestApp, path: &str) -> (String, Vec<u8>) {
    let response = app.get(path).await;
    assert_eq!(response.status().as_u16(), 200, "GET {path}");
    let kind = content_type(&response);
    (kind, response.bytes().await.expect("body").to_vec())
}

fn uuids(customer: &Value) -> Vec<&str> {
    customer["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .map(|d| d["uuid"].as_str().expect("a uuid"))
        .collect()
}

async fn documents_upload_attach_download_and_detach(app: TestApp) {
    let customer = app.add_customer("DOC-1", "Documented").await;
    let id = customer["id"].as_i64().unwrap();
    assert_eq!(customer["documents"], json!([]));
    let path = format!("/api/v1.0/customers/{id}");

    // Upload: the type comes from the bytes, not the name; images get a thumbnail.
    let png = image(image::ImageFormat::Png);
    let document = upload(&app, "myimage.jpg", png.clone()).await;
    let uuid = document["uuid"].as_str().unwrap().to_owned();
    assert_eq!(document["mimeType"], "image/png");
    assert_eq!(document["size"], png.len());
    assert_eq!(document["fileName"], "myimage.jpg");
    assert_eq!(document["internal"], false);
    assert_eq!(document["description"], Value::Null);
    assert_eq!(
        document["contentUrl"],
        format!("/api/v1.0/documents/{uuid}/content")
    );
    assert_eq!(
        document["thumbUrl"],
        format!("/api/v1.0/documents/{uuid}/thumbnail")
    );
    let (kind, thumb) = bytes_of(&app, document["thumbUrl"].as_str().unwrap()).await;
    assert_eq!(kind, "image/png");
    assert_eq!(dimensions(&thumb), (256, 192));

    // Metadata.
    let updated = app
        .send_ok(
            Method::PUT,
            &format!("/api/v1.0/documents/{uuid}"),
            &json!({"description": "Top secret map to customer site", "internal": true}),
        )
        .await;
    assert_eq!(updated["description"], "Top secret map to customer site");
    assert_eq!(updated["internal"], true);
    assert_eq!(updated["fileName"], "myimage.jpg");
    expect_error(
        app.send_json(
            Method::PUT,
            &format!("/api/v1.0/documents/{uuid}"),
            &json!({"fileName": "../../etc/passwd"}),
        )
        .await,
        400,
        "invalid_param",
        "fileName cannot contain control characters, quotes or slashes.",
    )
    .await;

    // Attach (twice: nothing changes), and the customer lists it.
    let attach = format!("{path}/documents/{uuid}");
    empty_200(app.send_json(Method::PUT, &attach, &json!({})).await).await;
    empty_200(
        app.request(Method::PUT, &attach)
            .send()
            .await
            .expect("sent"),
    )
    .await;
    let shown = app.get_json(&path).await;
    assert_eq!(uuids(&shown), [uuid.as_str()]);
    assert_eq!(
        shown["documents"][0]["description"],
        "Top secret map to customer site"
    );

    // Download: the same bytes, under the sniffed type.
    let (kind, bytes) = bytes_of(&app, &format!("/api/v1.0/documents/{uuid}/content")).await;
    assert_eq!(kind, "image/png");
    assert_eq!(bytes, png);

    // A PDF named .png is a PDF, and gets no thumbnail.
    let pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".to_vec();
    let other = upload(&app, "notes.png", pdf.clone()).await;
    assert_eq!(other["mimeType"], "application/pdf");
    assert_eq!(other["thumbUrl"], Value::Null);
    let (_, bytes) = bytes_of(&app, other["contentUrl"].as_str().unwrap()).await;
    assert_eq!(bytes, pdf);

    // A customer update links an external document; repeating it does not duplicate it.
    let link = json!({"documents": [{
        "contentUrl": "http://www.cbu.edu.zm/downloads/pdf-sample.pdf",
        "mimeType": "application/pdf", "fileName": "pdf-sample.pdf",
        "description": "Very important instructions"
    }]});
    for _ in 0..2 {
        let linked = expect_json(app.post_json(&path, &link).await, 200).await;
        assert_eq!(linked["documents"].as_array().unwrap().len(), 2, "{linked}");
        let external = linked["documents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["uuid"] != uuid.as_str())
            .expect("the link");
        assert_eq!(
            external["contentUrl"],
            "http://www.cbu.edu.zm/downloads/pdf-sample.pdf"
        );
        assert_eq!(external["mimeType"], "application/pdf");
        assert_eq!(external["size"], Value::Null);
    }
    // Nothing is half-written: a bad entry leaves the customer's fields as they were.
    expect_not_found(app.post_json(
            &path,
            &json!({"name": "Renamed", "documents": [{"uuid": "8acac590-cc94-45aa-a237-18a9d268f431"}]}),
        )
        .await, "The document with the id 8acac590-cc94-45aa-a237-18a9d268f431 doesn't exist.").await;
    let shown = app.get_json(&path).await;
    assert_eq!(shown["name"], "Documented");

    // Detach: once, then it is not attached any more.
    empty_200(app.delete(&attach).await).await;
    let shown = app.get_json(&path).await;
    assert_eq!(shown["documents"].as_array().unwrap().len(), 1);
    assert_ne!(uuids(&shown)[0], uuid);
    expect_not_found(
        app.delete(&attach).await,
        &format!("The document with the id {uuid} doesn't exist."),
    )
    .await;
    // The document itself is still there.
    let (_, bytes) = bytes_of(&app, &format!("/api/v1.0/documents/{uuid}/content")).await;
    assert_eq!(bytes, png);

    // Uploads without a file part.
    let response = app
        .request(Method::POST, "/api/v1.0/documents/content")
        .multipart(Form::new().text("description", "no file"))
        .send()
        .await
        .expect("sent");
    expect_error(response, 400, "missing_param", "file parameter is missing").await;
}

async fn create_with_logo(app: &TestApp, reference: &str, logo: Part) -> Response {
    app.request(Method::POST, "/api/v1.0/customers")
        .multipart(
            Form::new()
                .text("reference", reference.to_owned())
                .text("name", "Logo Inc")
                .part("imageFile", logo),
        )
        .send()
        .await
        .expect("sent")
}

async fn logos_are_checked_by_content_resized_and_served(app: TestApp) {
    let png = image(image::ImageFormat::Png);
    let created = expect_json(
        create_with_logo(&app, "LOGO-1", file("logo_color_272x92dp.png", png.clone())).await,
        201,
    )
    .await;
    let id = created["id"].as_i64().unwrap();
    let logo = created["logo"].as_str().expect("a logo URL").to_owned();
    let prefix = format!("/api/v1.0/customers/{id}/logo/");
    let name = logo
        .strip_prefix(&prefix)
        .expect("served under the customer");
    let (stamp, rest) = name.split_once('_').unwrap();
    assert!(
        stamp.chars().all(|c| c.is_ascii_hexdigit() || c == '-'),
        "{name}"
    );
    assert_eq!(rest, "logo_color_272x92dp.png");

    let (kind, original) = bytes_of(&app, &logo).await;
    assert_eq!((kind.as_str(), original), ("image/png", png));
    let (_, small) = bytes_of(&app, &format!("{prefix}small_{name}")).await;
    assert_eq!(dimensions(&small), (64, 48));
    let (_, medium) = bytes_of(&app, &format!("{prefix}medium_{name}")).await;
    assert_eq!(dimensions(&medium), (256, 192));
    expect_not_found(
        app.get(&format!("{prefix}large_{name}")).await,
        &format!("The logo large_{name} doesn't exist."),
    )
    .await;

    // A new logo on update (a JPEG this time) replaces the old one, whose URL goes away.
    let jpeg = image(image::ImageFormat::Jpeg);
    let response = app
        .request(Method::POST, &format!("/api/v1.0/customers/{id}"))
        .multipart(Form::new().part("imageFile", file("new.jpg", jpeg.clone())))
        .send()
        .await
        .expect("sent");
    let updated = expect_json(response, 200).await;
    let new_logo = updated["logo"].as_str().unwrap();
    assert!(new_logo.ends_with("_new.jpg"), "{new_logo}");
    let (kind, bytes) = bytes_of(&app, new_logo).await;
    assert_eq!((kind.as_str(), bytes), ("image/jpeg", jpeg));
    assert_eq!(app.get(&logo).await.status().as_u16(), 404);
    let shown = app.get_json(&format!("/api/v1.0/customers/{id}")).await;
    assert_eq!(shown["logo"], new_logo);

    // Every image error, in the seed's words; none of them creates the customer.
    let pdf = b"%PDF-1.4\nnot an image\n".to_vec();
    expect_error(
        create_with_logo(&app, "LOGO-2", file("looks_like.png", pdf)).await,
        400,
        "unsupported_file_type",
        "image format not supported.",
    )
    .await;
    let mut broken = b"\x89PNG\r\n\x1a\n".to_vec();
    broken.extend_from_slice(&[0x42; 200]);
    expect_error(
        create_with_logo(&app, "LOGO-2", file("broken.png", broken)).await,
        400,
        "unsupported_file_type",
        "image format not supported.",
    )
    .await;
    let mut huge = image(image::ImageFormat::Bmp);
    huge.resize(2 * 1024 * 1024 + 1, 0);
    expect_error(
        create_with_logo(&app, "LOGO-2", file("huge.bmp", huge)).await,
        400,
        "exceeded_file_size",
        "image size should not exceed 2Mo",
    )
    .await;
    let started = std::time::Instant::now();
    let response = create_with_logo(&app, "LOGO-2", file("bomb.bmp", bmp_bomb())).await;
    let body = expect_json(response, 400).await;
    assert_eq!(body["error"], "invalid_param", "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("60000x60000"),
        "{body}"
    );
    // Refused from the header, not decoded: 10 GB of pixels would take far longer than this
    // (a generous bound, not a performance target).
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    expect_not_found(
        app.get("/api/v1.0/customers/reference/LOGO-2").await,
        "The customer with the id LOGO-2 doesn't exist.",
    )
    .await;
}

async fn documents_stay_inside_the_callers_scope(app: TestApp) {
    let reseller = app.add_customer("RS", "Reseller").await;
    let child = app.add_sub_customer("RS-1", "Child", &reseller).await;
    let stranger = app.add_customer("ST", "Stranger").await;
    let key = app.key_for("reseller", &reseller).await;

    // The admin's document, attached to a stranger: the reseller cannot see it.
    let theirs = upload(&app, "contract.txt", b"the stranger's contract".to_vec()).await;
    let theirs = theirs["uuid"].as_str().unwrap();
    empty_200(
        app.request(
            Method::PUT,
            &format!("/api/v1.0/customers/{}/documents/{theirs}", stranger["id"]),
        )
        .send()
        .await
        .expect("sent"),
    )
    .await;
    let not_found = format!("The document with the id {theirs} doesn't exist.");
    for (method, path) in [
        (Method::GET, format!("/api/v1.0/documents/{theirs}")),
        (Method::GET, format!("/api/v1.0/documents/{theirs}/content")),
        (
            Method::PUT,
            format!("/api/v1.0/customers/{}/documents/{theirs}", child["id"]),
        ),
    ] {
        let response = app
            .with_key(&key, method, &path)
            .send()
            .await
            .expect("sent");
        expect_not_found(response, &not_found).await;
    }

    // The reseller's own upload: it may attach it inside its tree, not outside.
    let mine = upload_with_key(&app, &key, "mine.txt").await;
    let response = app
        .with_key(
            &key,
            Method::PUT,
            &format!("/api/v1.0/customers/{}/documents/{mine}", child["id"]),
        )
        .send()
        .await
        .expect("sent");
    empty_200(response).await;
    let response = app
        .with_key(
            &key,
            Method::PUT,
            &format!("/api/v1.0/customers/{}/documents/{mine}", stranger["id"]),
        )
        .send()
        .await
        .expect("sent");
    expect_not_found(
        response,
        &format!("The customer with the id {} doesn't exist.", stranger["id"]),
    )
    .await;
    let shown = app
        .get_json(&format!("/api/v1.0/customers/{}", child["id"]))
        .await;
    assert_eq!(uuids(&shown), [mine.as_str()]);
}

/// An internal document is the operator's note about a customer: a reseller reads and manages
/// its own customer, but is not shown the internal documents about it, by any route; below
/// it, it is the organization and sees them.
async fn internal_documents_are_not_shown_to_the_customer_they_are_about(app: TestApp) {
    let reseller = app.add_customer("RS", "Reseller").await;
    let child = app.add_sub_customer("RS-1", "Child", &reseller).await;
    let key = app.key_for("reseller", &reseller).await;
    let attach = async |customer: &Value, name: &str, internal: bool| -> String {
        let uuid = upload(&app, name, name.as_bytes().to_vec()).await["uuid"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = format!("/api/v1.0/customers/{}/documents/{uuid}", customer["id"]);
        empty_200(app.request(Method::PUT, &path).send().await.expect("sent")).await;
        let flag = json!({"internal": internal});
        app.send_ok(Method::PUT, &format!("/api/v1.0/documents/{uuid}"), &flag)
            .await;
        uuid
    };
    let note = attach(&reseller, "note.txt", true).await;
    let contract = attach(&reseller, "contract.txt", false).await;
    let child_note = attach(&child, "child-note.txt", true).await;

    // The admin sees everything; the reseller its own customer without the note, wherever
    // the customer is shown.
    let own = format!("/api/v1.0/customers/{}", reseller["id"]);
    // Attachments in one second tie, and ties are ordered by UUID: compare them sorted.
    let sorted = |customer: &Value| {
        let mut uuids: Vec<String> = uuids(customer).into_iter().map(str::to_owned).collect();
        uuids.sort();
        uuids
    };
    let mut both = vec![note.clone(), contract.clone()];
    both.sort();
    assert_eq!(sorted(&app.get_json(&own).await), both);
    let by_key = |path: String| {
        let key = key.clone();
        let app = &app;
        async move { expect_json(app.get_with_key(&key, &path).await, 200).await }
    };
    for path in [
        own.clone(),
        "/api/v1.0/customers/me".to_owned(),
        "/api/v1.0/customers/reference/RS".to_owned(),
    ] {
        assert_eq!(uuids(&by_key(path.clone()).await), [&contract], "{path}");
    }
    for list in [
        "/api/v1.0/customers",
        "/api/v1.0/customers/search?q=reseller+child",
    ] {
        let page = by_key(list.to_owned()).await;
        let listed = |customer: &Value| {
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["id"] == customer["id"])
                .unwrap_or_else(|| panic!("{list} shows {}", customer["id"]))
                .clone()
        };
        assert_eq!(uuids(&listed(&reseller)), [&contract], "{list}");
        assert_eq!(
            uuids(&listed(&child)),
            [&child_note],
            "{list}: below its own, it sees them"
        );
    }
    for (method, path) in [
        (Method::POST, own.clone()),
        (Method::POST, "/api/v1.0/customers/reference/RS".to_owned()),
    ] {
        let written = app
            .with_key(&key, method, &path)
            .json(&json!({"name": "Reseller renamed"}))
            .send()
            .await
            .expect("sent");
        assert_eq!(
            uuids(&expect_json(written, 200).await),
            [&contract],
            "{path}"
        );
    }

    // The note itself is not found by the reseller, whichever route it takes.
    let not_found = format!("The document with the id {note} doesn't exist.");
    for (method, path) in [
        (Method::GET, format!("/api/v1.0/documents/{note}")),
        (Method::GET, format!("/api/v1.0/documents/{note}/content")),
        (Method::PUT, format!("/api/v1.0/documents/{note}")),
        (Method::DELETE, format!("{own}/documents/{note}")),
        (
            Method::PUT,
            format!("/api/v1.0/customers/{}/documents/{note}", child["id"]),
        ),
    ] {
        let response = app
            .with_key(&key, method.clone(), &path)
            .json(&json!({"description": "seen"}))
            .send()
            .await
            .expect("sent");
        expect_not_found(response, &not_found).await;
    }
    let shown = by_key(format!("/api/v1.0/documents/{child_note}")).await;
    assert_eq!(shown["internal"], true);
    assert_eq!(sorted(&app.get_json(&own).await), both, "still attached");

    // A note the reseller keeps on its own customer is its own: it sees it.
    let mine = upload_with_key(&app, &key, "mine.txt").await;
    for (method, path, body) in [
        (Method::PUT, format!("{own}/documents/{mine}"), None),
        (
            Method::PUT,
            format!("/api/v1.0/documents/{mine}"),
            Some(json!({"internal": true})),
        ),
    ] {
        let mut request = app.with_key(&key, method, &path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("sent");
        assert_eq!(response.status().as_u16(), 200, "{path}");
    }
    let seen = by_key(own.clone()).await;
    let mut expected = vec![contract.clone(), mine.clone()];
    expected.sort();
    assert_eq!(sorted(&seen), expected, "its own note, not the operator's");

    // Nor is it shown through the event feed: of its own customer, the reseller reads the
    // account's events, not the record's or its documents'.
    app.create(&format!("{own}/account/payments"), &json!({"amount": 10}))
        .await;
    // PostgreSQL shows an event once every older transaction in the cluster has ended: wait
    // for the payment, the newest, and every event before it is there too.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let own_types: Vec<String> = loop {
        let events = by_key("/api/v1.0/events?max=500".to_owned()).await;
        let own_types: Vec<String> = events["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["customerId"] == reseller["id"])
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect();
        if !own_types.is_empty() || tokio::time::Instant::now() > deadline {
            break own_types;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(own_types, ["account.payment"]);
    let admins = app.get_json("/api/v1.0/events?max=500").await;
    let hidden = admins["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["customerId"] == reseller["id"] && e["type"] == "document.attached")
        .expect("the admin reads the note's attachment");
    let path = format!("/api/v1.0/events/{}", hidden["id"].as_str().unwrap());
    assert_eq!(app.get_with_key(&key, &path).await.status(), 404);
}

/// The optional directory adapter (`blob_dir`) and the configurable limits, wired through the
/// real configuration: bytes land as files under the directory and come back the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_directory_and_configured_limits_are_honoured() {
    let dir = std::env::temp_dir().join(format!(
        "credence-e2e-blobs-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let app = TestApp::spawn_configured(std::sync::Arc::new(TestDb::sqlite()), |config| {
        config.blob_dir = Some(dir.clone());
        config.max_document_bytes = 1000;
        config.max_documents_per_customer = 1;
    })
    .await;

    let document = upload(&app, "hello.txt", b"hello, files".to_vec()).await;
    let uuid = document["uuid"].as_str().unwrap();
    assert_eq!(document["mimeType"], "text/plain");
    let on_disk = std::fs::read(dir.join("documents").join(uuid)).expect("a file per blob");
    assert_eq!(on_disk, b"hello, files");
    let (_, bytes) = bytes_of(&app, &format!("/api/v1.0/documents/{uuid}/content")).await;
    assert_eq!(bytes, b"hello, files");

    let response = app
        .request(Method::POST, "/api/v1.0/documents/content")
        .multipart(Form::new().part("file", file("big.bin", vec![7; 1001])))
        .send()
        .await
        .expect("sent");
    let body = expect_json(response, 413).await;
    assert_eq!(body["error"], "payload_too_large", "{body}");

    let customer = app.add_customer("FS-1", "Files").await;
    let attach = |uuid: &str| {
        format!(
            "/api/v1.0/customers/{}/documents/{uuid}",
            customer["id"].as_i64().unwrap()
        )
    };
    empty_200(
        app.request(Method::PUT, &attach(uuid))
            .send()
            .await
            .expect("sent"),
    )
    .await;
    let second = upload(&app, "two.txt", b"two".to_vec()).await;
    let response = app
        .request(Method::PUT, &attach(second["uuid"].as_str().unwrap()))
        .send()
        .await
        .expect("sent");
    expect_error(
        response,
        400,
        "invalid_param",
        "The customer cannot hold more than 1 documents.",
    )
    .await;
    let _ = std::fs::remove_dir_all(&dir);
}
