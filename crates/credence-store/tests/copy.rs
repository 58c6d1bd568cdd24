//! `credence copy`: a SQLite database holding every kind of data, written through the store's
//! ports, copied to PostgreSQL and back to a new SQLite file (PostgreSQL skipped when
//! `CREDENCE_TEST_POSTGRES_URL` is not set; SQLite to SQLite then) comes back row for row;
//! the PostgreSQL copy answers the ports as the source does and hands out new ids after the
//! copied ones. A non-empty target is refused unless forced, and so are unmigrated or
//! missing targets and a copy of a database onto itself.
#![allow(clippy::unwrap_used, reason = "a failed step fails the test")]

use std::fmt::Write as _;

use chrono::{DateTime, TimeDelta, Utc};
use credence_domain::access::credentials::{ApiKeySecret, KeyDraft};
use credence_domain::access::principal::Role;
use credence_domain::catalog::{
    AttributeKind, AttributeOption, AttributeValue, Locale, Localized, ProductAttribute,
    ProductCode, ProductDraft, TaskDraft, TemplateDraft,
};
use credence_domain::credit::{Decision, EntryKind, LedgerFilter, Money, NewLimitRequest};
use credence_domain::customers::reference_data::{Label, LabelDraft, PaymentType, User};
use credence_domain::customers::{Address, Contact, CustomerKey, CustomerQuery, Project};
use credence_domain::documents::{
    BlobKey, Document, DocumentContent, ExternalUrl, FileName, MimeType,
};
use credence_domain::events::{EventFeed, EventQuery};
use credence_domain::ids::UserId;
use credence_domain::listing::PageRequest;
use credence_domain::ports::{
    AccountLedger, CustomerRepository, IdempotencyStore, KeyRegistry, KeyStore, LimitRequests,
    Posting, Precondition, ProductCatalog, RecordRepository, TaskBoard, TaskFilter,
};
use credence_domain::values::{CreditLimit, FreeText, Latitude, Longitude, Reference};
use credence_domain::webhooks::{
    AttemptReport, DeliveryStore, EventSelection, NewEndpoint, SendOutcome, WebhookSecret,
    WebhookStore, WebhookUrl,
};
use credence_store::test_support::TestDb;
use credence_store::{
    CopyError, CopyOptions, CopyReport, Database, PoolOptions, Store, copy_database, sqlite_dump,
};
use uuid::Uuid;

mod common;
use common::{admission, at, data, eur, insert, store_for, user_draft};

fn cr(store: &Store) -> &dyn CustomerRepository {
    store
}

fn text(value: &str) -> Option<FreeText> {
    Some(FreeText::from_trusted(value.to_owned()))
}

fn texts(pairs: &[(Locale, &str)]) -> Localized {
    pairs.iter().map(|(l, t)| (*l, (*t).to_owned())).collect()
}

fn money(minor: i64) -> Money {
    Money::from_minor(minor, eur())
}

fn limit(minor: i64) -> CreditLimit {
    CreditLimit::from_minor_units(minor, eur()).unwrap()
}

/// A time with a fraction of a second, which every copy must keep to the microsecond.
fn precise(seconds: i64, micros: i64) -> DateTime<Utc> {
    at(seconds) + TimeDelta::microseconds(micros)
}

fn product() -> ProductDraft {
    ProductDraft {
        titles: texts(&[(Locale::En, "Text"), (Locale::De, "Text (de)")]),
        descriptions: texts(&[(Locale::Fr, "Un texte « accentué »")]),
        available: true,
        price: money(100),
        attributes: vec![
            ProductAttribute {
                code: "language".to_owned(),
                kind: AttributeKind::Option(vec![AttributeOption {
                    titles: texts(&[(Locale::En, "German")]),
                    value: "de".to_owned(),
                }]),
                is_mandatory: true,
                titles: texts(&[(Locale::En, "Language")]),
                helps: Localized::new(),
            },
            ProductAttribute {
                code: "keywords".to_owned(),
                kind: AttributeKind::String {
                    min_length: Some(3),
                    max_length: Some(90),
                },
                is_mandatory: false,
                titles: texts(&[(Locale::En, "Keywords")]),
                helps: texts(&[(Locale::En, "comma separated \"words\"")]),
            },
        ],
    }
}

/// Writes every kind of data the store keeps, through its ports.
async fn populate(store: &Store) {
    let admin = common::admin(store, "ops").await;
    let cheque = RecordRepository::<PaymentType>::create(
        store,
        LabelDraft {
            reference: Reference::new("cheque").unwrap(),
            name: Label::new("Cheque").unwrap(),
        },
    )
    .await
    .unwrap();

    let mut head = data(store, "HQ", "Société Générale d'Essai").await;
    head.credit_limit = limit(500_000);
    head.billing = Address {
        city: text("Paris"),
        // Doubles that 15 significant digits cannot tell from their neighbours.
        latitude: Some(Latitude::new(48.856_613_f64.next_up()).unwrap()),
        longitude: Some(Longitude::new(0.1 + 0.2).unwrap()),
        ..Address::default()
    };
    head.payment_types = vec![cheque];
    head.contacts = vec![Contact {
        name: text("Anne"),
        email: None,
        phone: text("+33 1"),
    }];
    head.projects = vec![Project {
        id: None,
        name: FreeText::from_trusted("Floor".to_owned()),
    }];
    head.created_by = Some(admin.clone());
    let head = insert(store, head, precise(1, 0)).await;
    let mut branch = data(store, "BR-1", "Branch One").await;
    branch.parent = Some(head.data.summary(head.id));
    branch.credit_limit = limit(100_000);
    let branch = insert(store, branch, at(2)).await;
    let gone = insert(store, data(store, "GONE", "Archived Ltd").await, at(3)).await;
    assert!(store.archive(gone.id, None, at(4)).await.unwrap());
    // A parent written after its child: the child's reference points forward.
    let late = insert(store, data(store, "LATE", "Late Parent").await, at(5)).await;
    let mut moved = cr(store)
        .get(&CustomerKey::Id(branch.id))
        .await
        .unwrap()
        .unwrap();
    moved.data.parent = Some(late.data.summary(late.id));
    cr(store)
        .update(
            branch.id,
            moved.revision,
            &moved.data,
            &credence_domain::ports::DocumentLinks::none(),
            None,
            at(6),
        )
        .await
        .unwrap()
        .unwrap();
    RecordRepository::<User>::create(store, user_draft("shop", Role::Customer, Some(head.id)))
        .await
        .unwrap();

    // Credit: a limit change, postings, reservations in each state, alerts, a request.
    let ledger: &dyn AccountLedger = store;
    ledger
        .set_credit_limit(
            head.id,
            limit(600_000),
            Some(admin.id),
            Some("growth".into()),
            at(7),
            Precondition::none(),
        )
        .await
        .unwrap();
    for (kind, delta) in [
        (EntryKind::Payment, 20_000),
        (EntryKind::Charge, -5_000),
        (EntryKind::Adjustment, 1),
    ] {
        ledger
            .post(
                &Posting {
                    account: head.id,
                    kind,
                    balance_delta: money(delta),
                    description: Some(format!("{kind:?}")),
                    user: Some(admin.id),
                    now: at(8),
                    idempotency: Some(format!("post-{delta}")),
                },
                Precondition::none(),
            )
            .await
            .unwrap();
    }
    let captured = ledger
        .admit(&admission(head.id, 300, 9, 3_600), Precondition::none())
        .await
        .unwrap();
    ledger
        .capture(
            head.id,
            captured.id,
            Some(money(200)),
            None,
            at(10),
            None,
            Precondition::none(),
        )
        .await
        .unwrap();
    let released = ledger
        .admit(&admission(head.id, 400, 9, 3_600), Precondition::none())
        .await
        .unwrap();
    ledger
        .release(
            head.id,
            released.id,
            None,
            at(11),
            Some("rel".into()),
            Precondition::none(),
        )
        .await
        .unwrap();
    ledger
        .admit(&admission(head.id, 500, 12, 20), Precondition::none())
        .await
        .unwrap();
    assert_eq!(ledger.sweep_expired(at(30), 10).await.unwrap(), 1);
    ledger
        .admit(&admission(head.id, 600, 31, 99_999), Precondition::none())
        .await
        .unwrap();
    ledger
        .set_alerts(head.id, &[money(1_000), money(250_000)])
        .await
        .unwrap();
    let requests: &dyn LimitRequests = store;
    let asked = requests
        .create(
            &NewLimitRequest {
                account: branch.id,
                requested: limit(900_000),
                requested_by: Some(admin.id),
                reason: Some("season".into()),
                now: at(32),
            },
            Precondition::none(),
        )
        .await
        .unwrap();
    requests
        .decide(&Decision {
            request: asked.id,
            by: UserId(admin.id.0),
            rejection: Some("no".into()),
            now: at(33),
        })
        .await
        .unwrap();
    requests
        .create(
            &NewLimitRequest {
                account: branch.id,
                requested: limit(800_000),
                requested_by: None,
                reason: None,
                now: at(34),
            },
            Precondition::none(),
        )
        .await
        .unwrap();

    // Idempotency keys and an API key.
    let keys: &dyn IdempotencyStore = store;
    keys.start("u1", "k1", "fp", at(35), at(95)).await.unwrap();
    keys.complete("u1", "k1", 201, "{\"id\":1}", at(36))
        .await
        .unwrap();
    keys.start("u1", "k2", "fp", at(37), at(97)).await.unwrap();
    let secret = ApiKeySecret::from_random([9; 32]);
    store
        .create_key(
            admin.id,
            &KeyDraft {
                prefix: secret.prefix(),
                hash: secret.hash(),
                name: Some("ci".into()),
                now: at(38),
            },
        )
        .await
        .unwrap();

    // The catalog: a product with attributes, a template, a task.
    let text_code = ProductCode::new("text").unwrap();
    let (priced, _) = store
        .save_product(&text_code, &product(), Precondition::none())
        .await
        .unwrap()
        .done()
        .unwrap();
    let board: &dyn TaskBoard = store;
    board
        .save_template(
            head.id,
            "t1",
            &TemplateDraft {
                name: "One".to_owned(),
                titles: texts(&[(Locale::En, "One")]),
                descriptions: Localized::new(),
                product: text_code.clone(),
                attributes: vec![AttributeValue {
                    code: "language".to_owned(),
                    value: "de".to_owned(),
                }],
            },
            Precondition::none(),
        )
        .await
        .unwrap()
        .done()
        .unwrap();
    board
        .submit(
            &TaskDraft {
                customer: head.id,
                customer_ref: Some("PO-1".into()),
                template: "t1".to_owned(),
                product: priced,
                input: vec![AttributeValue {
                    code: "keywords".to_owned(),
                    value: "a, \"b\"".to_owned(),
                }],
                quantity: 2,
            },
            &admission(head.id, 200, 40, 99_999),
        )
        .await
        .unwrap();

    // Documents with their bytes (every byte value), attached to a customer.
    let uuid = Uuid::new_v4();
    let bytes: Vec<u8> = (0..=255).collect();
    store
        .blobs()
        .put(&BlobKey::document(uuid), &bytes)
        .await
        .unwrap();
    let docs = store.documents();
    docs.insert(&Document {
        uuid,
        file_name: FileName::from_trusted("map.png".to_owned()),
        mime_type: MimeType::from_trusted("image/png".to_owned()),
        description: text("Site map"),
        internal: false,
        content: DocumentContent::Stored {
            blob: BlobKey::document(uuid),
            size: 256,
            thumbnail: None,
        },
        creator: Some(admin.id),
        created_at: at(41),
        updated_at: at(41),
    })
    .await
    .unwrap();
    let link = Document {
        uuid: Uuid::new_v4(),
        file_name: FileName::from_trusted("a.pdf".to_owned()),
        mime_type: MimeType::from_trusted("application/pdf".to_owned()),
        description: None,
        internal: true,
        content: DocumentContent::External {
            url: ExternalUrl::from_trusted("https://example.com/a.pdf".to_owned()),
            thumb_url: None,
        },
        creator: None,
        created_at: at(42),
        updated_at: at(42),
    };
    docs.insert(&link).await.unwrap();
    docs.attach(head.id, uuid, 10, at(43)).await.unwrap();
    docs.attach(branch.id, link.uuid, 10, at(44)).await.unwrap();

    // Webhooks: an endpoint with a rotated secret, and attempts recorded at sub-second times.
    let endpoint = store
        .create_endpoint(&NewEndpoint {
            url: WebhookUrl::new("https://203.0.113.10/hooks").unwrap(),
            types: EventSelection::parse(&["*"]).unwrap(),
            description: text("ERP"),
            enabled: true,
            customer: None,
            secret: WebhookSecret::from_random([7; 32]),
            now: at(-100),
        })
        .await
        .unwrap();
    store
        .rotate_secret(
            endpoint.id,
            &WebhookSecret::from_random([8; 32]),
            at(45),
            at(900),
        )
        .await
        .unwrap();
    // On PostgreSQL the feed shows an event once every older transaction in the cluster
    // ended (other tests run beside this one): queue until some are.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while store.queue(1_000, at(1_000)).await.unwrap().deliveries == 0 {
        assert!(std::time::Instant::now() < deadline, "nothing to deliver");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    for (n, claimed) in store
        .claim(3, at(1_000), at(1_030))
        .await
        .unwrap()
        .into_iter()
        .enumerate()
    {
        let micros = i64::try_from(n).unwrap() * 250_001 + 1;
        store
            .record(
                claimed.id,
                claimed.claim,
                &AttemptReport {
                    outcome: SendOutcome::Answered(if n == 0 { 500 } else { 204 }),
                    attempted_at: precise(1_001, micros),
                    duration_ms: 12,
                    retry_at: (n == 0).then(|| precise(1_060, 500_000)),
                    disable_after: 0,
                },
            )
            .await
            .unwrap();
    }
}

/// What the ports answer about the data [`populate`] wrote, as text.
async fn answers(store: &Store) -> String {
    let mut out = String::new();
    let page = PageRequest::new(Some(1_000), None).unwrap();
    let customers = cr(store).list(&CustomerQuery::default()).await.unwrap();
    writeln!(out, "{customers:?}").unwrap();
    for customer in &customers.items {
        let id = customer.id;
        let ledger: &dyn AccountLedger = store;
        writeln!(out, "{:?}", ledger.account(id, at(2_000)).await.unwrap()).unwrap();
        writeln!(
            out,
            "{:?}",
            ledger
                .ledger(id, LedgerFilter::default(), page)
                .await
                .unwrap()
        )
        .unwrap();
        writeln!(
            out,
            "{:?}",
            ledger
                .reservations(id, Default::default(), page)
                .await
                .unwrap()
        )
        .unwrap();
        writeln!(out, "{:?}", ledger.limit_history(id, page).await.unwrap()).unwrap();
        writeln!(out, "{:?}", ledger.alerts(id).await.unwrap()).unwrap();
        writeln!(out, "{:?}", store.templates(id).await.unwrap()).unwrap();
    }
    writeln!(out, "{:?}", store.products(false).await.unwrap()).unwrap();
    writeln!(
        out,
        "{:?}",
        store.tasks(&TaskFilter::default(), page).await.unwrap()
    )
    .unwrap();
    writeln!(out, "{:?}", store.every_key().await.unwrap()).unwrap();
    writeln!(out, "{:?}", store.endpoints(None, page).await.unwrap()).unwrap();
    let feed = store
        .events(&EventQuery {
            after: None,
            types: Vec::new(),
            customer: None,
            within: None,
            max: 1_000,
        })
        .await
        .unwrap();
    writeln!(out, "{feed:?}").unwrap();
    out
}

fn sqlite_file(dir: &tempfile::TempDir, name: &str) -> String {
    let url = format!("sqlite://{}", dir.path().join(name).display());
    Database::connect(&url, PoolOptions::default())
        .unwrap()
        .migrate()
        .unwrap();
    url
}

fn copy(from: &str, to: &str, force: bool) -> Result<CopyReport, CopyError> {
    let options = CopyOptions {
        force,
        // Small batches, so every table spans several.
        batch_rows: 3,
        ..CopyOptions::default()
    };
    copy_database(from, to, &options, &mut |_| {})
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_postgres_and_back_keeps_every_row() {
    let source = TestDb::sqlite();
    let store = store_for(&source);
    populate(&store).await;
    let expected = answers(&store).await;
    let dir = tempfile::tempdir().unwrap();
    let back = sqlite_file(&dir, "back.db");
    let (from, to) = (source.url().to_owned(), back.clone());
    let report = match TestDb::postgres() {
        Some(pg) => {
            let (src, url) = (from.clone(), pg.url().to_owned());
            let first = blocking(move || copy(&src, &url, false)).await.unwrap();
            let copied = Store::new(Database::connect(pg.url(), PoolOptions::default()).unwrap());
            assert_eq!(
                answers(&copied).await,
                expected,
                "PostgreSQL answers as SQLite"
            );
            // New rows take ids after the copied ones.
            let next = insert(&copied, data(&copied, "NEW", "New").await, at(5_000)).await;
            let highest = first
                .tables
                .iter()
                .find(|(t, _)| t == "customers")
                .unwrap()
                .1;
            assert!(next.id.get() > i64::try_from(highest).unwrap(), "{next:?}");
            drop(copied);
            // Back from a copy made before the new customer: a fresh database for it.
            let pg_url = pg.url().to_owned();
            let again = TestDb::postgres().unwrap();
            let again_url = again.url().to_owned();
            let src = from.clone();
            blocking(move || copy(&src, &again_url, false))
                .await
                .unwrap();
            let (again_url, back_url) = (again.url().to_owned(), to.clone());
            let report = blocking(move || copy(&again_url, &back_url, false))
                .await
                .unwrap();
            drop(pg_url);
            report
        }
        None => blocking(move || copy(&from, &to, false)).await.unwrap(),
    };
    assert!(report.rows() > 50, "{report:?}");
    assert!(report.entries > 5, "{report:?}");
    let original = sqlite_dump(source.url()).unwrap();
    let returned = sqlite_dump(&back).unwrap();
    assert_eq!(
        original.keys().collect::<Vec<_>>(),
        returned.keys().collect::<Vec<_>>()
    );
    for (table, rows) in &original {
        assert_eq!(rows, &returned[table], "table {table}");
    }
    assert!(original["customers"].len() >= 4);
    assert!(
        original["webhook_deliveries"]
            .iter()
            .any(|r| r.contains(".250002'")),
        "sub-second times are in the data: {:?}",
        original["webhook_deliveries"]
    );
    let back_store = Store::new(Database::connect(&back, PoolOptions::default()).unwrap());
    assert_eq!(answers(&back_store).await, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_holding_data_is_refused_unless_forced() {
    let source = TestDb::sqlite();
    populate(&store_for(&source)).await;
    let mut targets = vec![TestDb::sqlite()];
    targets.extend(TestDb::postgres());
    for target in &targets {
        let other = store_for(target);
        insert(&other, data(&other, "THEIRS", "Theirs").await, at(0)).await;
        let (from, to) = (source.url().to_owned(), target.url().to_owned());
        let refused = blocking(move || copy(&from, &to, false)).await;
        assert!(
            matches!(&refused, Err(CopyError::NotEmpty { table }) if table == "customers"),
            "{refused:?}"
        );
        assert!(refused.unwrap_err().is_refusal());
        assert!(
            cr(&other)
                .get(&CustomerKey::Reference("THEIRS".into()))
                .await
                .unwrap()
                .is_some()
        );

        let (from, to) = (source.url().to_owned(), target.url().to_owned());
        let forced = blocking(move || copy(&from, &to, true)).await.unwrap();
        assert!(forced.rows() > 50);
        let fresh = Store::new(Database::connect(target.url(), PoolOptions::default()).unwrap());
        assert!(
            cr(&fresh)
                .get(&CustomerKey::Reference("THEIRS".into()))
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(answers(&fresh).await, answers(&store_for(&source)).await);
        // And again, over a target holding the same data (the ledger's rows removed too).
        let (from, to) = (source.url().to_owned(), target.url().to_owned());
        blocking(move || copy(&from, &to, true)).await.unwrap();
        assert_eq!(answers(&fresh).await, answers(&store_for(&source)).await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_targets_and_sources_are_refused_before_writing() {
    let source = TestDb::sqlite();
    populate(&store_for(&source)).await;
    let dir = tempfile::tempdir().unwrap();
    let from = source.url().to_owned();

    // A file that does not exist is not created.
    let missing = dir.path().join("missing.db");
    let to = format!("sqlite://{}", missing.display());
    let refused = copy(&from, &to, false);
    assert!(
        matches!(refused, Err(CopyError::MissingFile { .. })),
        "{refused:?}"
    );
    assert!(!missing.exists());

    // An empty, unmigrated file.
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let refused = copy(&from, &format!("sqlite://{}", empty.display()), true);
    assert!(
        matches!(refused, Err(CopyError::Unmigrated { .. })),
        "{refused:?}"
    );
    let refused = copy(&format!("sqlite://{}", empty.display()), &from, true);
    assert!(
        matches!(refused, Err(CopyError::Unmigrated { .. })),
        "{refused:?}"
    );

    // A schema this binary does not know, or one missing migrations.
    let newer = sqlite_file(&dir, "newer.db");
    let db = Database::connect(&newer, PoolOptions::default()).unwrap();
    credence_store::test_support::revert_last_migrations(&db, 1);
    let refused = copy(&from, &newer, true);
    assert!(
        matches!(&refused, Err(CopyError::SchemaVersion { .. })),
        "{refused:?}"
    );
    assert!(refused.unwrap_err().to_string().contains("older"));

    // The same database under two names.
    let same = from.replace("sqlite://", "");
    let refused = copy(&from, &same, true);
    assert!(
        matches!(refused, Err(CopyError::SameDatabase)),
        "{refused:?}"
    );

    // An unknown scheme, an unreachable server.
    let refused = copy(&from, "mysql://localhost/credence", false);
    assert!(matches!(refused, Err(CopyError::Url { .. })), "{refused:?}");
    let refused = copy(&from, "postgres://nobody@127.0.0.1:1/credence", false);
    assert!(
        matches!(refused, Err(CopyError::Connect { .. })),
        "{refused:?}"
    );
    assert!(!refused.unwrap_err().to_string().contains('\n'));

    if let Some(pg) = TestDb::postgres() {
        let refused = copy(pg.url(), pg.url(), true);
        assert!(
            matches!(refused, Err(CopyError::SameDatabase)),
            "{refused:?}"
        );
    }
    // Nothing was written anywhere: the source still answers as it did.
    assert!(sqlite_dump(&from).unwrap()["customers"].len() >= 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_data_comes_to_sqlite_with_the_feed_in_order() {
    let Some(pg) = TestDb::postgres() else { return };
    let store = store_for(&pg);
    populate(&store).await;
    let dir = tempfile::tempdir().unwrap();
    let target = sqlite_file(&dir, "from-postgres.db");
    let (from, to) = (pg.url().to_owned(), target.clone());
    blocking(move || copy(&from, &to, false)).await.unwrap();
    let copied = Store::new(Database::connect(&target, PoolOptions::default()).unwrap());
    let got = answers(&copied).await;
    // PostgreSQL's feed may still hide events of the last transactions (see above).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let expected = answers(&store).await;
        if expected == got || std::time::Instant::now() > deadline {
            assert_eq!(got, expected);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // SQLite orders the feed by id alone: the copied events carry no transaction ids, and
    // the webhook queue's position is one SQLite's own events follow.
    let dump = sqlite_dump(&target).unwrap();
    assert!(!dump["events"].is_empty());
    assert!(
        dump["events"]
            .iter()
            .all(|row| row.split('|').nth(1) == Some("0"))
    );
    let position = &dump["webhook_queue_position"][0];
    assert!(position.starts_with("1|0|"), "{position}");
    let newest = insert(&copied, data(&copied, "AFTER", "After").await, at(9_000)).await;
    let feed = copied
        .events(&EventQuery {
            after: None,
            types: Vec::new(),
            customer: None,
            within: None,
            max: 1_000,
        })
        .await
        .unwrap();
    assert_eq!(feed.last().map(|e| e.customer), Some(newest.id));
    assert!(feed.windows(2).all(|w| w[0].id.0 < w[1].id.0));
}
