//! Every customer property of the OpenAPI document is written, then read back in JSON and XML.
//!
//! A customer field lives in five places that must agree: the request schema (`CustomerForm`),
//! the input parser, the store's columns on both databases, the response DTO and its schema
//! (`CustomerDto`). A field forgotten in one of them is dropped without a word: the client
//! gets its `200` and the value is gone. So this test reads both schemas from the running
//! server and holds a table with one sample per `CustomerForm` property: what to send on
//! creation and in a `PATCH`, and what the customer must then show. Free text and booleans get
//! values made from the schema and from a new customer's defaults, and need no entry unless
//! their order matters; the rest are written out. Any other property without a sample fails
//! the test ("add a sample for X"), so a new field cannot be forgotten here either.
//! Properties that are not stored as such (`useExternalId`, `documents`, `imageFile`) are in
//! the table too, with how they can be seen.
//!
//! The other direction: every `CustomerDto` property is in the response, with a type its
//! schema allows, and the response has nothing the schema does not describe (down to the
//! nested links, contacts, projects and documents); the XML has the same properties.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "tests panic on a broken environment"
)]

use std::collections::BTreeSet;
use std::fmt;
use std::io::Cursor;

use credence_e2e::{TestApp, content_type, expect_json, on_both_backends};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, Response};
use serde_json::{Map, Value, json};

on_both_backends!(
    every_form_property_is_created_patched_and_read_back,
    every_dto_property_is_in_the_response,
);

const CUSTOMERS: &str = "/api/v1.0/customers";

/// Creates a customer in one multipart body holding every property (the only encoding that
/// can carry `imageFile`), then changes each property with a `PATCH` of its own, in JSON
/// (`imageFile` in multipart), reading the customer back after each step.
async fn every_form_property_is_created_patched_and_read_back(app: TestApp) {
    let setup = Setup::new(&app).await;
    let creation = setup.creation();
    let created = expect_json(
        send(
            &app,
            Method::POST,
            CUSTOMERS,
            &creation,
            Encoding::Multipart,
        )
        .await,
        201,
    )
    .await;
    let path = format!("{CUSTOMERS}/{}", created["id"]);
    let mut shown = creation_shows(&setup.samples);
    assert_not_defaults(&shown, &setup.bare);
    let mut reading = read_and_check(&app, &path, &shown, "after the creation").await;

    for sample in &setup.samples {
        assert_the_patch_changes_something(sample, &reading.json);
        if sample.property == "documents" {
            // Attachments are listed oldest first by the second they were made (ties by
            // uuid): the second attachment must come in a later second to be listed last.
            tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        }
        let response = send(&app, Method::PATCH, &path, &sample.update, Encoding::Json).await;
        expect_json(response, 200).await;
        shown.retain(|s| !sample.update.shows.iter().any(|(r, _)| *r == s.response));
        shown.extend(Shown::all(sample, &sample.update));
        let stage = format!("after the PATCH of {}", sample.property);
        reading = read_and_check(&app, &path, &shown, &stage).await;
    }

    let logo = reading.json["logo"].as_str().expect("a logo URL");
    let served = app.get(logo).await;
    assert_eq!(served.status().as_u16(), 200, "GET {logo}");
    assert_eq!(
        served.bytes().await.expect("the logo").to_vec(),
        setup.updated_logo,
        "the logo URL serves the image of the last imageFile"
    );
}

/// Creates a customer from one JSON body with every property (the logo follows in a
/// multipart `PATCH`: JSON cannot carry a file), checks it shows them, then checks the
/// response against the `CustomerDto` schema.
async fn every_dto_property_is_in_the_response(app: TestApp) {
    let setup = Setup::new(&app).await;
    let mut creation = setup.creation();
    let logo_patch = Write {
        image: creation.image.take(),
        ..Write::default()
    };
    let created = expect_json(
        send(&app, Method::POST, CUSTOMERS, &creation, Encoding::Json).await,
        201,
    )
    .await;
    let path = format!("{CUSTOMERS}/{}", created["id"]);
    expect_json(
        send(&app, Method::PATCH, &path, &logo_patch, Encoding::Json).await,
        200,
    )
    .await;
    let reading = read(&app, &path).await;
    check_response_schema(&setup.schemas, &reading);
    check(
        &reading,
        &creation_shows(&setup.samples),
        "after a JSON creation",
    );
}

// ---------------------------------------------------------------------------------------
// The table.
// ---------------------------------------------------------------------------------------

/// One `CustomerForm` property: what creation sends and a `PATCH` then changes.
#[derive(Debug, Clone)]
struct Sample {
    property: String,
    create: Write,
    update: Write,
    /// For a property the customer does not store as such: how it can be seen.
    note: &'static str,
}

/// One write of a sample: the body members to send, and what the customer shows afterwards.
#[derive(Debug, Clone, Default)]
struct Write {
    /// The property, and any member it needs beside it.
    body: Map<String, Value>,
    /// The multipart-only `imageFile` part: a file name and its bytes.
    image: Option<(String, Vec<u8>)>,
    /// Response property → what it must read.
    shows: Vec<(String, Expect)>,
}

impl Write {
    /// Sends `value` as `property`.
    fn send(property: &str, value: Value) -> Self {
        Self::default().and_send(property, value)
    }

    /// Sends `value` as `property`, which reads back unchanged under the same name.
    fn echo(property: &str, value: Value) -> Self {
        Self::send(property, value.clone()).show(property, value)
    }

    /// Also sends `value` as `property`.
    fn and_send(mut self, property: &str, value: Value) -> Self {
        self.body.insert(property.to_owned(), value);
        self
    }

    /// The response property `property` must then read `value`.
    fn show(mut self, property: &str, value: Value) -> Self {
        self.shows.push((property.to_owned(), Expect::Is(value)));
        self
    }
}

/// What one response property must read.
#[derive(Debug, Clone)]
enum Expect {
    /// This value; an object needs only the members given (the server adds ids and stamps).
    Is(Value),
    /// A text ending with this (a logo's URL starts with a stamp the server makes).
    EndsWith(String),
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Is(value) => write!(f, "{value}"),
            Self::EndsWith(end) => write!(f, "a text ending with {end:?}"),
        }
    }
}

/// The samples, one per `CustomerForm` property, in the schema type's order. Creation sends
/// `useExternalId: true`, so its id-valued properties are references; each `PATCH` sends
/// one property alone, so there they are ids.
fn samples(form: &Map<String, Value>, bare: &Value, fx: &Fixtures) -> Vec<Sample> {
    let mut t = Table {
        form,
        bare,
        samples: Vec::new(),
    };
    let [cat_a, cat_b] = &fx.categories;
    let [seg_a, seg_b] = &fx.segmentations;
    let [user_a, user_b] = &fx.users;
    let [region_a, region_b] = &fx.regions;
    let [parent_a, parent_b] = &fx.parents;
    let [cash, cheque, card] = &fx.payment_types;
    t.text("reference");
    t.text("name");
    t.flag("isActive");
    t.given(
        "categoryId",
        category(cat_a, Write::send("categoryId", cat_a["reference"].clone())),
        category(cat_b, Write::send("categoryId", id_text(cat_b))),
    );
    t.given(
        "isSubCustomer",
        // The parent is parentCustomer's, in the same creation body.
        Write::echo("isSubCustomer", json!(true)),
        Write::echo("isSubCustomer", json!(false)).show("parentCustomer", Value::Null),
    );
    t.given(
        "parentCustomer",
        parent(
            parent_a,
            Write::send("parentCustomer", parent_a["reference"].clone()),
        ),
        parent(parent_b, Write::send("parentCustomer", id_text(parent_b))),
    );
    t.flag("billWithParent");
    t.given(
        "customerSegmentationId",
        segmentation(
            seg_a,
            Write::send("customerSegmentationId", seg_a["reference"].clone()),
        ),
        segmentation(seg_b, Write::send("customerSegmentationId", id_text(seg_b))),
    );
    t.given(
        "userId",
        user(user_a, Write::send("userId", user_a["reference"].clone())),
        user(user_b, Write::send("userId", id_text(user_b))),
    );
    t.flag("isSameAddress");
    t.given(
        "billingCountry",
        Write::send("billingCountry", json!("France")).show("billingCountry", json!("FR")),
        Write::send("billingCountry", json!("deu")).show("billingCountry", json!("DE")),
    );
    t.text("billingCity");
    t.text("billingPostalCode");
    t.text("billingAddress");
    t.echo("billingLat", json!(48.8566), json!(-33.8688));
    t.echo("billingLng", json!(2.3522), json!(-151.2093));
    t.given(
        "country",
        Write::send("country", json!("Japan")).show("country", json!("JP")),
        Write::send("country", json!("br")).show("country", json!("BR")),
    );
    t.text("city");
    t.text("postalCode");
    t.text("address");
    t.echo("latitude", json!(35.6762), json!(-22.9068));
    t.echo("longitude", json!(139.6503), json!(-43.1729));
    t.echo(
        "email",
        json!("every.field+created@example.com"),
        json!("every.field+updated@example.org"),
    );
    t.echo(
        "website",
        json!("https://every-field.example.com/created"),
        json!("http://every-field.example.org/updated?a=1&b=<2>"),
    );
    t.given(
        "creditLimit",
        Write::send("creditLimit", json!(1234.5))
            .show("creditLimit", exact("1234.50"))
            .show("isCredit", json!(true)),
        Write::send("creditLimit", exact("99.99")).show("creditLimit", exact("99.99")),
    );
    t.echo("dueDateConfigNumber", json!(30), json!(45));
    t.given(
        "dueDateConfigType",
        Write::echo("dueDateConfigType", json!("daysAfterEndOfInvoiceMonth")),
        Write::send("dueDateConfigType", json!("1"))
            .show("dueDateConfigType", json!("daysAfterInvoiceDate")),
    );
    t.given(
        "currency",
        Write::send("currency", json!("gbp")).show("currency", json!("GBP")),
        Write::send("currency", json!("usd")).show("currency", json!("USD")),
    );
    t.given(
        "paymentTypes",
        Write::send(
            "paymentTypes",
            json!([{"id": cash["reference"]}, {"id": cheque["reference"]}]),
        )
        .show(
            "paymentTypes",
            json!([link(cash, "paymentTypes"), link(cheque, "paymentTypes")]),
        ),
        Write::send("paymentTypes", json!([{"id": id_text(card)}]))
            .show("paymentTypes", json!([link(card, "paymentTypes")])),
    );
    t.given(
        "regionId",
        // A region has no reference: with useExternalId it is named by its id too.
        region(region_a, Write::send("regionId", id_text(region_a))),
        region(region_b, Write::send("regionId", id_text(region_b))),
    );
    t.text("customerRisk");
    t.given(
        "customerRiskColor",
        Write::send("customerRiskColor", json!("#1be9d8"))
            .show("customerRiskColor", json!("#1BE9D8")),
        Write::send("customerRiskColor", json!("#a0B1c2"))
            .show("customerRiskColor", json!("#A0B1C2")),
    );
    t.flag("onHold");
    t.text("onHoldReason");
    t.echo(
        "contacts",
        json!([{"name": "Ann «Created»", "email": "ann@example.com", "phone": "+33 1 23 45 67 89"}]),
        json!([
            {"name": "Bob & Co", "email": null, "phone": "+1 555 0100"},
            {"name": null, "email": "cy@example.org", "phone": null},
        ]),
    );
    t.given(
        "customerProjects",
        Write::echo("customerProjects", json!([{"name": "Floor installation"}])),
        Write::echo(
            "customerProjects",
            json!([{"name": "Floor installation"}, {"name": "Roof & <gutters>"}]),
        ),
    );
    t.with_note(
        "useExternalId",
        "not stored: it makes the id-valued properties of its body references, so it is seen \
         through them resolving (creation names every row by reference)",
        category(cat_a, Write::send("useExternalId", json!(true))),
        category(
            cat_a,
            Write::send("useExternalId", json!(true))
                .and_send("categoryId", cat_a["reference"].clone()),
        ),
    );
    t.with_note(
        "documents",
        "not stored as a field: it attaches documents (adding to those attached), which \
         `documents` lists, oldest attachment first (by the second; ties by uuid)",
        Write::send("documents", json!([fx.link_document.clone()]))
            .show("documents", json!([fx.link_document_shown.clone()])),
        Write::send("documents", json!([{"uuid": fx.upload["uuid"]}])).show(
            "documents",
            json!([fx.link_document_shown.clone(), fx.upload_shown.clone()]),
        ),
    );
    t.with_note(
        "imageFile",
        "multipart only: stored as the logo, seen as the `logo` URL (which serves these bytes)",
        logo("every-field-created.png", fx.created_logo.clone()),
        logo("every-field-updated.jpg", fx.updated_logo.clone()),
    );
    t.plain_rest();
    t.samples
}

/// Builds the samples, checking each against the schema.
struct Table<'a> {
    form: &'a Map<String, Value>,
    /// A customer created with `reference` and `name` only.
    bare: &'a Value,
    samples: Vec<Sample>,
}

impl<'a> Table<'a> {
    /// Free text: made from the property's name (an `enum`'s values or the `maxLength` when
    /// the schema gives them), with characters JSON and XML must escape.
    fn text(&mut self, property: &str) {
        let schema = self.schema(property);
        assert!(
            allows(schema, "string"),
            "{property} is no longer text in CustomerForm ({schema}): give it a sample of its own"
        );
        let created = derived_text(property, schema, &self.bare[property], "created");
        let updated = derived_text(property, schema, &Value::String(created.clone()), "updated");
        self.given(
            property,
            Write::echo(property, json!(created)),
            Write::echo(property, json!(updated)),
        );
    }

    /// A boolean: the opposite of a new customer's default, then the default again.
    fn flag(&mut self, property: &str) {
        let schema = self.schema(property);
        assert!(
            allows(schema, "boolean"),
            "{property} is no longer a boolean in CustomerForm ({schema}): give it a sample of its own"
        );
        let default = self.bare[property]
            .as_bool()
            .unwrap_or_else(|| panic!("a new customer shows {property} as a boolean"));
        self.given(
            property,
            Write::echo(property, json!(!default)),
            Write::echo(property, json!(default)),
        );
    }

    /// Samples made from the schema for every property still without one that is plain text
    /// (no `format`, no `enum`; text may be sent as a number or a boolean too) or a boolean,
    /// so adding such a field needs no line here; any other kind is left without a sample,
    /// and the test asks for one.
    fn plain_rest(&mut self) {
        let rest: Vec<&str> = self
            .form
            .keys()
            .map(String::as_str)
            .filter(|p| self.samples.iter().all(|s| s.property != *p))
            .collect();
        for property in rest {
            let schema = self.schema(property);
            let plain = schema.get("format").is_none() && schema.get("enum").is_none();
            if allows(schema, "string") && plain {
                self.text(property);
            } else if allows(schema, "boolean") {
                self.flag(property);
            }
        }
    }

    /// A value that reads back unchanged under the same name.
    fn echo(&mut self, property: &str, created: Value, updated: Value) {
        self.given(
            property,
            Write::echo(property, created),
            Write::echo(property, updated),
        );
    }

    /// A written-out sample.
    fn given(&mut self, property: &str, create: Write, update: Write) {
        self.with_note(property, "", create, update);
    }

    /// A written-out sample, with a note on how the property can be seen.
    fn with_note(&mut self, property: &str, note: &'static str, create: Write, update: Write) {
        self.schema(property);
        assert!(
            self.samples.iter().all(|s| s.property != property),
            "two samples for {property}"
        );
        self.samples.push(Sample {
            property: property.to_owned(),
            create,
            update,
            note,
        });
    }

    fn schema(&self, property: &str) -> &'a Value {
        self.form.get(property).unwrap_or_else(|| {
            panic!("the table has a sample for {property}, which CustomerForm does not describe: remove it")
        })
    }
}

/// A text for `property` unlike `unlike`: an `enum` value when the schema lists some, else
/// made from the name and padded or cut to the schema's `maxLength`, if any.
fn derived_text(property: &str, schema: &Value, unlike: &Value, word: &str) -> String {
    if let Some(values) = schema["enum"].as_array() {
        return values
            .iter()
            .find(|v| *v != unlike)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{property}: no enum value other than {unlike}"))
            .to_owned();
    }
    let text = format!("{property} {word}: «ü» & <1>");
    match schema["maxLength"]
        .as_u64()
        .map(|m| usize::try_from(m).expect("a length"))
    {
        Some(max) => text
            .chars()
            .chain(std::iter::repeat('x'))
            .take(max)
            .collect(),
        None => text,
    }
}

/// `/api/v1.0/<collection>/<id>` with the row's id, reference and name.
fn link(row: &Value, collection: &str) -> Value {
    json!({
        "id": row["id"], "reference": row["reference"], "name": row["name"],
        "href": format!("/api/v1.0/{collection}/{}", row["id"]),
    })
}

/// The row's id as the text `CustomerForm` types id-valued properties as.
fn id_text(row: &Value) -> Value {
    Value::String(row["id"].to_string())
}

/// An exact number (`1234.50` keeps its scale).
fn exact(text: &str) -> Value {
    serde_json::from_str(text).expect("a number")
}

fn category(row: &Value, write: Write) -> Write {
    write
        .show("categoryReference", row["reference"].clone())
        .show("customerCategory", link(row, "customerCategories"))
}

fn segmentation(row: &Value, write: Write) -> Write {
    write
        .show("customerSegmentationReference", row["reference"].clone())
        .show("customerSegmentation", link(row, "customerSegmentations"))
}

fn parent(row: &Value, write: Write) -> Write {
    write
        .show("parentCustomer", link(row, "customers"))
        .show("isSubCustomer", json!(true))
}

fn user(row: &Value, write: Write) -> Write {
    let created_by = json!({
        "userId": row["id"], "reference": row["reference"],
        "href": format!("/api/v1.0/users/{}", row["id"]),
    });
    write.show("createdBy", created_by)
}

fn region(row: &Value, write: Write) -> Write {
    let link = json!({
        "id": row["id"], "name": row["name"],
        "href": format!("/api/v1.0/regions/{}", row["id"]),
    });
    write.show("region", link)
}

fn logo(file_name: &str, bytes: Vec<u8>) -> Write {
    Write {
        image: Some((file_name.to_owned(), bytes)),
        shows: vec![("logo".to_owned(), Expect::EndsWith(format!("_{file_name}")))],
        ..Write::default()
    }
}

// ---------------------------------------------------------------------------------------
// Setting up: the schemas, the rows the samples point to, a bare customer.
// ---------------------------------------------------------------------------------------

/// What both tests start from.
struct Setup {
    /// The live document's `components.schemas`.
    schemas: Value,
    /// A customer created with `reference` and `name` only.
    bare: Value,
    samples: Vec<Sample>,
    /// The image the `imageFile` PATCH sends.
    updated_logo: Vec<u8>,
}

impl Setup {
    async fn new(app: &TestApp) -> Self {
        let document = app.get_json("/openapi.json").await;
        let schemas = document["components"]["schemas"].clone();
        let form = schemas["CustomerForm"]["properties"]
            .as_object()
            .expect("the OpenAPI document describes CustomerForm")
            .clone();
        assert!(
            schemas["CustomerDto"]["properties"].is_object(),
            "the OpenAPI document describes CustomerDto"
        );
        let fixtures = Fixtures::new(app).await;
        let bare = app.add_customer("EF-BARE", "Bare").await;
        let samples = samples(&form, &bare, &fixtures);
        assert_every_property_has_a_sample(&form, &samples);
        assert_the_samples_fit_the_schema(&form, &samples);
        Self {
            schemas,
            bare,
            samples,
            updated_logo: fixtures.updated_logo,
        }
    }

    /// Every sample's creation members in one body.
    fn creation(&self) -> Write {
        let mut all = Write::default();
        for sample in &self.samples {
            for (property, value) in &sample.create.body {
                let before = all.body.insert(property.clone(), value.clone());
                assert!(before.is_none(), "two samples send {property} on creation");
            }
            if let Some(image) = &sample.create.image {
                assert!(all.image.is_none(), "two samples send an image on creation");
                all.image = Some(image.clone());
            }
        }
        all
    }
}

/// The rows the id-valued properties name: one for creation and one for the `PATCH` (three
/// payment types: two, then one), and the documents and images.
struct Fixtures {
    categories: [Value; 2],
    segmentations: [Value; 2],
    users: [Value; 2],
    regions: [Value; 2],
    parents: [Value; 2],
    payment_types: [Value; 3],
    /// A `documents` entry linking content kept elsewhere, and how the customer shows it.
    link_document: Value,
    link_document_shown: Value,
    /// An uploaded document, and how the customer shows it once attached.
    upload: Value,
    upload_shown: Value,
    created_logo: Vec<u8>,
    updated_logo: Vec<u8>,
}

impl Fixtures {
    async fn new(app: &TestApp) -> Self {
        let post = |path: &'static str, body: Value| async move { app.create(path, &body).await };
        let named = |path: &'static str, reference: &'static str, name: &'static str| {
            post(path, json!({"reference": reference, "name": name}))
        };
        for code in ["GBP", "USD"] {
            post(
                "/api/v1.0/currencies",
                json!({"code": code, "exchangeRate": "1.25"}),
            )
            .await;
        }
        let categories = [
            named("/api/v1.0/customerCategories", "ef-cat-a", "Category A").await,
            named("/api/v1.0/customerCategories", "ef-cat-b", "Category B").await,
        ];
        let segmentations = [
            named(
                "/api/v1.0/customerSegmentations",
                "ef-seg-a",
                "Segmentation A",
            )
            .await,
            named(
                "/api/v1.0/customerSegmentations",
                "ef-seg-b",
                "Segmentation B",
            )
            .await,
        ];
        let users = [
            post(
                "/api/v1.0/users",
                json!({"reference": "ef-user-a", "name": "User A", "role": "admin"}),
            )
            .await,
            post(
                "/api/v1.0/users",
                json!({"reference": "ef-user-b", "name": "User B", "role": "admin"}),
            )
            .await,
        ];
        let regions = [
            post("/api/v1.0/regions", json!({"name": "Région A"})).await,
            post("/api/v1.0/regions", json!({"name": "Region B"})).await,
        ];
        let payment_types = [
            named("/api/v1.0/paymentTypes", "ef-cash", "Cash").await,
            named("/api/v1.0/paymentTypes", "ef-cheque", "Cheque").await,
            named("/api/v1.0/paymentTypes", "ef-card", "Card").await,
        ];
        let parents = [
            named(CUSTOMERS, "EF-PARENT-A", "Parent A").await,
            named(CUSTOMERS, "EF-PARENT-B", "Parent B").await,
        ];
        let link_document = json!({
            "contentUrl": "https://files.example.com/every-field.pdf",
            "mimeType": "application/pdf",
            "fileName": "every-field.pdf",
            "description": "Linked «document» & <notes>",
            "thumbUrl": "https://files.example.com/every-field-thumb.png",
            "internal": true,
        });
        let mut link_document_shown = link_document.clone();
        link_document_shown["size"] = Value::Null;
        let upload = upload_pdf(app).await;
        let upload_shown = json!({
            "uuid": upload["uuid"], "contentUrl": upload["contentUrl"], "size": upload["size"],
            "mimeType": "application/pdf", "fileName": "every-field-upload.pdf", "internal": false,
        });
        Self {
            categories,
            segmentations,
            users,
            regions,
            parents,
            payment_types,
            link_document,
            link_document_shown,
            upload,
            upload_shown,
            created_logo: image(image::ImageFormat::Png),
            updated_logo: image(image::ImageFormat::Jpeg),
        }
    }
}

async fn upload_pdf(app: &TestApp) -> Value {
    let pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".to_vec();
    let part = Part::bytes(pdf).file_name("every-field-upload.pdf");
    let response = app
        .request(Method::POST, "/api/v1.0/documents/content")
        .multipart(Form::new().part("file", part))
        .send()
        .await
        .expect("sent");
    expect_json(response, 200).await["document"].clone()
}

/// A small real image in `format`.
fn image(format: image::ImageFormat) -> Vec<u8> {
    let img = image::RgbImage::from_fn(80, 60, |x, y| {
        image::Rgb([(x * 3) as u8, (y * 4) as u8, ((x + y) * 2) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encodes");
    out.into_inner()
}

// ---------------------------------------------------------------------------------------
// Checks on the table itself.
// ---------------------------------------------------------------------------------------

fn assert_every_property_has_a_sample(form: &Map<String, Value>, samples: &[Sample]) {
    let missing: Vec<&str> = form
        .keys()
        .filter(|p| samples.iter().all(|s| s.property != **p))
        .map(String::as_str)
        .collect();
    assert!(
        missing.is_empty(),
        "CustomerForm has properties this test has no sample for: add a sample for {}",
        missing.join(", ")
    );
}

/// Every member the samples send has a type its `CustomerForm` schema allows, so the test
/// writes what the document promises works.
fn assert_the_samples_fit_the_schema(form: &Map<String, Value>, samples: &[Sample]) {
    for sample in samples {
        for write in [&sample.create, &sample.update] {
            for (property, value) in &write.body {
                let schema = form.get(property).unwrap_or_else(|| {
                    panic!(
                        "the sample for {} sends {property}, which CustomerForm does not describe",
                        sample.property
                    )
                });
                assert!(
                    has_schema_type(schema, value),
                    "the sample for {} sends {property}: {value}, which CustomerForm types as {schema}",
                    sample.property
                );
            }
            if write.image.is_some() {
                assert_eq!(form["imageFile"]["format"], "binary", "imageFile is a file");
            }
            assert!(
                !write.shows.is_empty(),
                "the sample for {} shows nothing: say what the customer shows afterwards",
                sample.property
            );
        }
    }
}

/// Each creation sample must show something a new customer does not show anyway.
fn assert_not_defaults(shown: &[Shown], bare: &Value) {
    let defaults: Vec<String> = shown
        .iter()
        .filter(|s| json_mismatch(&s.response, &s.expect, bare.get(&s.response)).is_none())
        .map(|s| format!("{} ({} reads {})", s.by, s.response, s.expect))
        .collect();
    assert!(
        defaults.is_empty(),
        "these samples send what a new customer has anyway, so they prove nothing: {}",
        defaults.join("; ")
    );
}

/// Each `PATCH` sample must change what the customer shows.
fn assert_the_patch_changes_something(sample: &Sample, before: &Value) {
    let unchanged: Vec<&str> = sample
        .update
        .shows
        .iter()
        .filter(|(response, expect)| {
            json_mismatch(response, expect, before.get(response)).is_none()
        })
        .map(|(response, _)| response.as_str())
        .collect();
    assert!(
        unchanged.len() < sample.update.shows.len(),
        "the PATCH sample for {} would not be seen: {} already read so",
        sample.property,
        unchanged.join(", ")
    );
}

// ---------------------------------------------------------------------------------------
// Writing and reading back.
// ---------------------------------------------------------------------------------------

/// How a body is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    /// JSON, unless the write carries a file (then multipart: JSON cannot carry one).
    Json,
    /// `multipart/form-data`: scalars as text parts, lists as JSON text.
    Multipart,
}

/// Sends `write`'s members (and file) to `path`.
async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    write: &Write,
    encoding: Encoding,
) -> Response {
    if encoding == Encoding::Json && write.image.is_none() {
        return app
            .send_json(method, path, &Value::Object(write.body.clone()))
            .await;
    }
    let mut form = Form::new();
    for (property, value) in &write.body {
        let text = match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        form = form.text(property.clone(), text);
    }
    if let Some((file_name, bytes)) = &write.image {
        form = form.part(
            "imageFile",
            Part::bytes(bytes.clone()).file_name(file_name.clone()),
        );
    }
    app.request(method, path)
        .multipart(form)
        .send()
        .await
        .expect("sent")
}

/// A response property's expectation, and the `CustomerForm` property that set it.
#[derive(Debug, Clone)]
struct Shown {
    response: String,
    by: String,
    note: &'static str,
    expect: Expect,
}

impl Shown {
    /// What `write`, one of `sample`'s, shows.
    fn all<'a>(sample: &'a Sample, write: &'a Write) -> impl Iterator<Item = Self> + 'a {
        write.shows.iter().map(|(response, expect)| Self {
            response: response.clone(),
            by: sample.property.clone(),
            note: sample.note,
            expect: expect.clone(),
        })
    }
}

/// What the creation shows: every sample's.
fn creation_shows(samples: &[Sample]) -> Vec<Shown> {
    samples
        .iter()
        .flat_map(|sample| Shown::all(sample, &sample.create))
        .collect()
}

/// The customer, as JSON and as XML.
struct Reading {
    json: Value,
    xml: Element,
}

/// Reads the customer in both formats and checks every expectation in each.
async fn read_and_check(app: &TestApp, path: &str, shown: &[Shown], stage: &str) -> Reading {
    let reading = read(app, path).await;
    check(&reading, shown, stage);
    reading
}

/// Checks every expectation in both formats; fails with the list of every property that does
/// not read as expected.
fn check(reading: &Reading, shown: &[Shown], stage: &str) {
    let mut failures = Vec::new();
    for s in shown {
        let written = if s.note.is_empty() {
            format!("(written as {})", s.by)
        } else {
            format!("(written as {}: {})", s.by, s.note)
        };
        let property = &s.response;
        if let Some(why) = json_mismatch(property, &s.expect, reading.json.get(property)) {
            failures.push(format!("JSON {why} {written}"));
        }
        if let Some(why) = xml_mismatch(property, &s.expect, reading.xml.child(property)) {
            failures.push(format!("XML {why} {written}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{stage}, the customer does not read back what was written:\n  {}",
        failures.join("\n  ")
    );
}

async fn read(app: &TestApp, path: &str) -> Reading {
    let get = |accept: &'static str| async move {
        app.request(Method::GET, path)
            .header("accept", accept)
            .send()
            .await
            .expect("sent")
    };
    let json = expect_json(get("application/json").await, 200).await;
    let response = get("application/xml").await;
    assert_eq!(response.status().as_u16(), 200, "GET {path} as XML");
    let content_type = content_type(&response);
    assert!(content_type.contains("xml"), "{content_type}");
    let xml = parse_xml(&response.text().await.expect("a body"));
    assert_eq!(xml.name, "customer", "the XML root");
    Reading { json, xml }
}

/// How the JSON `property` differs from `expect`, if it does.
fn json_mismatch(property: &str, expect: &Expect, actual: Option<&Value>) -> Option<String> {
    let Some(actual) = actual else {
        return Some(format!("{property} is missing, expected {expect}"));
    };
    match expect {
        Expect::Is(expected) => json_difference(actual, expected, property),
        Expect::EndsWith(end) => (!actual.as_str().is_some_and(|t| t.ends_with(end.as_str())))
            .then(|| format!("{property} reads {actual}, expected {expect}")),
    }
}

/// Where `actual` differs from `expected`, objects needing only the members `expected` names.
fn json_difference(actual: &Value, expected: &Value, at: &str) -> Option<String> {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e.iter().find_map(|(k, v)| {
            let at = format!("{at}.{k}");
            match a.get(k) {
                None => Some(format!("{at} is missing, expected {v}")),
                Some(a) => json_difference(a, v, &at),
            }
        }),
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => e
            .iter()
            .zip(a)
            .enumerate()
            .find_map(|(i, (e, a))| json_difference(a, e, &format!("{at}[{i}]"))),
        (e, a) => (e != a).then(|| format!("{at} reads {a}, expected {e}")),
    }
}

/// How the XML element `property` differs from `expect`, if it does.
fn xml_mismatch(property: &str, expect: &Expect, element: Option<&Element>) -> Option<String> {
    match expect {
        Expect::Is(expected) => xml_difference(element, expected, property),
        Expect::EndsWith(end) => match element {
            Some(e) if e.children.is_empty() && e.text.ends_with(end.as_str()) => None,
            Some(e) => Some(format!("<{property}> reads {e}, expected {expect}")),
            None => Some(format!("<{property}> is missing, expected {expect}")),
        },
    }
}

/// Where `element` differs from `expected` written the way the API writes JSON as XML:
/// `null` left out, an array's items as repeated singular elements (`paymentTypes` →
/// `paymentType`).
fn xml_difference(element: Option<&Element>, expected: &Value, at: &str) -> Option<String> {
    let Some(element) = element else {
        return (!expected.is_null()).then(|| format!("<{at}> is missing, expected {expected}"));
    };
    let text = match expected {
        Value::Null => return Some(format!("<{at}> reads {element}, expected none (null)")),
        Value::Object(map) => {
            return map
                .iter()
                .find_map(|(k, v)| xml_difference(element.child(k), v, &format!("{at}/{k}")));
        }
        Value::Array(items) => {
            let item = singular(&element.name);
            if element.children.len() != items.len()
                || element.children.iter().any(|c| c.name != item)
            {
                return Some(format!(
                    "<{at}> reads {element}, expected <{item}>s {expected}"
                ));
            }
            return element
                .children
                .iter()
                .zip(items)
                .enumerate()
                .find_map(|(i, (c, v))| xml_difference(Some(c), v, &format!("{at}/{item}[{i}]")));
        }
        Value::String(text) => text.clone(),
        scalar => scalar.to_string(),
    };
    (!element.children.is_empty() || element.text != text)
        .then(|| format!("<{at}> reads {element}, expected {text}"))
}

fn singular(plural: &str) -> String {
    if let Some(stem) = plural.strip_suffix("ies") {
        format!("{stem}y")
    } else if let Some(stem) = plural.strip_suffix('s') {
        stem.to_owned()
    } else {
        "item".to_owned()
    }
}

// ---------------------------------------------------------------------------------------
// The response schema.
// ---------------------------------------------------------------------------------------

/// The JSON response matches `CustomerDto` (see [`schema_drift`]), and the XML has the same
/// top-level properties, less the `null`s.
fn check_response_schema(schemas: &Value, reading: &Reading) {
    let mut failures = Vec::new();
    let dto = json!({"$ref": "#/components/schemas/CustomerDto"});
    schema_drift(schemas, &dto, &reading.json, "customer", &mut failures);
    let response = reading.json.as_object().expect("a JSON object");
    let in_json: BTreeSet<&str> = response
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, _)| k.as_str())
        .collect();
    let in_xml: BTreeSet<&str> = reading
        .xml
        .children
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    for property in in_json.difference(&in_xml) {
        failures.push(format!(
            "`{property}` is in the JSON response but not in the XML one"
        ));
    }
    for property in in_xml.difference(&in_json) {
        failures.push(format!(
            "`{property}` is in the XML response but not in the JSON one"
        ));
    }
    assert!(
        failures.is_empty(),
        "the customer response and CustomerDto disagree:\n  {}",
        failures.join("\n  ")
    );
}

/// Where `value` (at `path`) and `schema` disagree, down through `$ref`s, `oneOf`s, arrays
/// and objects: a type the schema does not allow, a described property missing from the
/// value, a property of the value the schema does not describe, a required one that is null.
fn schema_drift(
    schemas: &Value,
    schema: &Value,
    value: &Value,
    path: &str,
    failures: &mut Vec<String>,
) {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("a local $ref: {reference}"));
        return schema_drift(schemas, &schemas[name], value, path, failures);
    }
    if let Some(branches) = schema["oneOf"].as_array() {
        match branches.iter().find(|b| has_schema_type(b, value)) {
            Some(branch) => schema_drift(schemas, branch, value, path, failures),
            None => failures.push(format!(
                "`{path}` reads {value}, which {schema} does not allow"
            )),
        }
        return;
    }
    if !has_schema_type(schema, value) {
        failures.push(format!(
            "`{path}` reads {value}, which {schema} does not allow"
        ));
        return;
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            schema_drift(schemas, items, item, &format!("{path}[{i}]"), failures);
        }
    }
    let (Some(properties), Some(object)) = (schema["properties"].as_object(), value.as_object())
    else {
        return;
    };
    for (property, property_schema) in properties {
        let at = format!("{path}.{property}");
        match object.get(property) {
            None => failures.push(format!(
                "the schema describes `{at}`, which the response lacks"
            )),
            Some(v) => schema_drift(schemas, property_schema, v, &at, failures),
        }
    }
    for property in object.keys().filter(|p| !properties.contains_key(*p)) {
        failures.push(format!(
            "the response has `{path}.{property}`, which the schema does not describe"
        ));
    }
    for required in schema["required"].as_array().into_iter().flatten() {
        let required = required.as_str().expect("a property name");
        if object.get(required).is_some_and(Value::is_null) {
            failures.push(format!("`{path}.{required}` is required but reads null"));
        }
    }
}

/// Whether `value` has a type `schema` allows, at the top level (a `$ref` is an object).
fn has_schema_type(schema: &Value, value: &Value) -> bool {
    if let Some(branches) = schema["oneOf"].as_array() {
        return branches.iter().any(|b| has_schema_type(b, value));
    }
    if schema.get("$ref").is_some() {
        return value.is_object();
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => panic!("a schema without a type: {schema}"),
    };
    types.iter().any(|t| match *t {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        other => panic!("an unknown schema type {other}"),
    })
}

/// Whether `schema`'s `type` names `kind`.
fn allows(schema: &Value, kind: &str) -> bool {
    match &schema["type"] {
        Value::String(t) => t == kind,
        Value::Array(ts) => ts.iter().any(|t| t == kind),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------
// A reader for the API's XML, which has no attributes, comments or mixed content.
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Element {
    name: String,
    text: String,
    children: Vec<Element>,
}

impl Element {
    fn child(&self, name: &str) -> Option<&Self> {
        self.children.iter().find(|c| c.name == name)
    }
}

impl fmt::Display for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}>{}", self.name, self.text)?;
        for child in &self.children {
            write!(f, "{child}")?;
        }
        write!(f, "</{}>", self.name)
    }
}

/// The root element of an XML document.
fn parse_xml(text: &str) -> Element {
    let mut open = vec![Element::default()];
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        let end = start
            + rest[start..]
                .find('>')
                .unwrap_or_else(|| panic!("an unclosed tag in {text}"));
        let tag = &rest[start + 1..end];
        let before = unescape(&rest[..start]);
        open.last_mut()
            .expect("an open element")
            .text
            .push_str(&before);
        rest = &rest[end + 1..];
        if tag.starts_with('?') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let element = open.pop().expect("an open element");
            assert_eq!(element.name, name, "a mismatched end tag in {text}");
            open.last_mut()
                .unwrap_or_else(|| panic!("an end tag too many in {text}"))
                .children
                .push(element);
            continue;
        }
        let name = tag.trim_end_matches('/').split_whitespace().next();
        let element = Element {
            name: name.unwrap_or_default().to_owned(),
            ..Element::default()
        };
        if tag.ends_with('/') {
            open.last_mut()
                .expect("an open element")
                .children
                .push(element);
        } else {
            open.push(element);
        }
    }
    let mut document = open.pop().expect("the document");
    assert!(open.is_empty(), "unclosed elements in {text}");
    assert_eq!(document.children.len(), 1, "one root element in {text}");
    document.children.remove(0)
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let semi = amp + rest[amp..].find(';').expect("an entity ends with ;");
        let entity = &rest[amp + 1..semi];
        let c = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .map_or_else(
                    || entity.strip_prefix('#').and_then(|d| d.parse().ok()),
                    |hex| u32::from_str_radix(hex, 16).ok(),
                )
                .and_then(char::from_u32),
        };
        out.push(c.unwrap_or_else(|| panic!("an unknown entity &{entity};")));
        rest = &rest[semi + 1..];
    }
    out.push_str(rest);
    out
}
