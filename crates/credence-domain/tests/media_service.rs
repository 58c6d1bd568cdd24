//! Documents and logos over mocked ports: the order in which bytes and rows are written (a
//! crash between two steps must never leave a row pointing at missing bytes), who sees what,
//! and that images are checked before anything is stored.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test fixtures")]

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use credence_domain::customers::reference_data::{
    Category, Currency, PaymentType, Region, Segmentation, User,
};
use credence_domain::customers::{Customer, CustomerChanges, CustomerData, CustomerKey};
use credence_domain::documents::logo::{
    IMAGE_BOUNDS, ImageError, ImageKind, LogoName, LogoUpload, Upload,
};
use credence_domain::documents::{BlobKey, DocumentContent, DocumentLimits, DocumentRule};
use credence_domain::field::Field;
use credence_domain::fixtures::{eur, root_category, stored_customer};
use credence_domain::input::InputError;
use credence_domain::ports::{
    AttachError, MockBlobStore, MockClock, MockCustomerRepository, MockDocumentStore,
    MockImageRenderer, MockRecordRepository, StoreError,
};
use credence_domain::services::{
    CreateCustomerError, CustomerService, DocumentError, DocumentService, Media, ReferencePorts,
};
use credence_domain::values::{CustomerName, Reference};
use credence_domain::{CustomerId, Principal, Role, Settings, UserId};
use mockall::Sequence;
use uuid::Uuid;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10";

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_471_338_230, 737_000_000).unwrap()
}

fn clock() -> Arc<MockClock> {
    let mut clock = MockClock::new();
    clock.expect_now().returning(now);
    Arc::new(clock)
}

fn limits() -> DocumentLimits {
    DocumentLimits {
        max_bytes: 1024,
        max_per_customer: 2,
    }
}

#[derive(Default)]
struct Ports {
    customers: MockCustomerRepository,
    documents: MockDocumentStore,
    blobs: MockBlobStore,
    images: MockImageRenderer,
}

impl Ports {
    fn media(
        documents: MockDocumentStore,
        blobs: MockBlobStore,
        images: MockImageRenderer,
    ) -> Media {
        Media {
            documents: Arc::new(documents),
            blobs: Arc::new(blobs),
            images: Arc::new(images),
            limits: limits(),
        }
    }

    fn documents(self) -> DocumentService {
        DocumentService::new(
            Arc::new(self.customers),
            Self::media(self.documents, self.blobs, self.images),
            clock(),
        )
    }

    fn customers(self) -> CustomerService {
        let mut categories = MockRecordRepository::<Category>::new();
        categories
            .expect_find_by_reference()
            .returning(|_| Ok(Some(root_category())));
        let refs = ReferencePorts {
            categories: Arc::new(categories),
            segmentations: Arc::new(MockRecordRepository::<Segmentation>::new()),
            payment_types: Arc::new(MockRecordRepository::<PaymentType>::new()),
            regions: Arc::new(MockRecordRepository::<Region>::new()),
            currencies: Arc::new(MockRecordRepository::<Currency>::new()),
            users: Arc::new(MockRecordRepository::<User>::new()),
        };
        let settings = Settings {
            organization: "entity1".into(),
            currency: eur(),
            credit_limit_approval_above: None,
        };
        CustomerService::new(
            Arc::new(self.customers),
            refs,
            clock(),
            settings,
            Self::media(self.documents, self.blobs, self.images),
        )
    }
}

fn admin() -> Principal {
    Principal::new(Some(UserId(1)), Role::Admin, None)
}

fn reseller(user: i64) -> Principal {
    Principal::new(Some(UserId(user)), Role::Reseller, Some(CustomerId(10)))
}

fn upload(name: &str, bytes: &[u8]) -> Upload {
    Upload {
        file_name: Some(name.into()),
        bytes: bytes.to_vec(),
    }
}

#[tokio::test]
async fn an_upload_stores_its_bytes_before_its_row_and_sniffs_the_type() {
    let mut ports = Ports::default();
    let mut seq = Sequence::new();
    let put_keys = Arc::new(Mutex::new(Vec::new()));
    let keys = Arc::clone(&put_keys);
    ports
        .blobs
        .expect_put()
        .withf(|key, bytes| key.as_str().starts_with("documents/") && bytes == PNG)
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |key, _| {
            keys.lock().unwrap().push(key.clone());
            Ok(())
        });
    ports
        .images
        .expect_render()
        .withf(|_, kind, bounds, boxes| {
            *kind == ImageKind::Png && *bounds == IMAGE_BOUNDS && boxes == [256]
        })
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _, _| Ok(vec![b"thumb".to_vec()]));
    ports
        .blobs
        .expect_put()
        .withf(|key, bytes| key.as_str().ends_with(".thumb") && bytes == b"thumb")
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(()));
    ports
        .documents
        .expect_insert()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(()));

    let document = ports
        .documents()
        .upload(&reseller(7), upload("myimage.pdf", PNG))
        .await
        .unwrap();

    assert_eq!(
        document.mime_type.as_str(),
        "image/png",
        "sniffed, not named"
    );
    assert_eq!(document.file_name.as_str(), "myimage.pdf");
    assert_eq!(document.creator, Some(UserId(7)));
    let DocumentContent::Stored {
        blob,
        size,
        thumbnail,
    } = &document.content
    else {
        panic!("an upload is stored")
    };
    assert_eq!(*size, PNG.len() as u64);
    assert_eq!(blob, &BlobKey::document(document.uuid));
    assert_eq!(put_keys.lock().unwrap().first(), Some(blob));
    assert_eq!(thumbnail.as_ref(), Some(&BlobKey::thumbnail(document.uuid)));
}

#[tokio::test]
async fn a_failed_blob_write_leaves_no_row_and_a_failed_row_leaves_the_bytes_to_the_sweep() {
    let mut ports = Ports::default();
    ports
        .blobs
        .expect_put()
        .returning(|_, _| Err(StoreError::Unexpected("disk full".into())));
    ports.documents.expect_insert().times(0);
    let err = ports
        .documents()
        .upload(&admin(), upload("a.txt", b"hello"))
        .await
        .unwrap_err();
    assert!(matches!(err, DocumentError::Store(_)), "{err:?}");

    let mut ports = Ports::default();
    let mut seq = Sequence::new();
    ports
        .blobs
        .expect_put()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(()));
    ports
        .documents
        .expect_insert()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err(StoreError::Unavailable("connection lost at COMMIT".into())));
    // The row may have been committed unseen: its bytes stay, for the orphan sweep to judge.
    ports.blobs.expect_delete().times(0);
    let err = ports
        .documents()
        .upload(&admin(), upload("a.txt", b"hello"))
        .await
        .unwrap_err();
    assert!(matches!(err, DocumentError::Store(_)), "{err:?}");
}

#[tokio::test]
async fn uploads_over_the_limit_or_empty_touch_nothing() {
    let ports = Ports::default();
    let service = ports.documents();
    let err = service
        .upload(&admin(), upload("big.bin", &[1; 1025]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, DocumentError::TooLarge { max_bytes: 1024 }),
        "{err:?}"
    );
    let err = service
        .upload(&admin(), upload("empty", b""))
        .await
        .unwrap_err();
    assert!(matches!(err, DocumentError::Input(_)), "{err:?}");
    let customer = Principal::new(Some(UserId(3)), Role::Customer, Some(CustomerId(3)));
    let err = service
        .upload(&customer, upload("a.txt", b"x"))
        .await
        .unwrap_err();
    assert!(matches!(err, DocumentError::Forbidden), "{err:?}");
    // Customer keys reach no document route, before any port is asked.
    let err = service.content(&customer, Uuid::nil()).await.unwrap_err();
    assert!(matches!(err, DocumentError::Forbidden), "{err:?}");
}

fn external_document(creator: Option<UserId>) -> credence_domain::documents::Document {
    credence_domain::documents::DocumentLinkInput {
        content_url: Some("https://files.example.com/plan.pdf".into()),
        ..Default::default()
    }
    .validate()
    .map(|link| match link {
        credence_domain::documents::DocumentLink::External(link) => {
            link.into_document(Uuid::new_v4(), creator, now())
        }
        credence_domain::documents::DocumentLink::Existing(_) => unreachable!(),
    })
    .unwrap()
}

#[tokio::test]
async fn documents_are_visible_to_their_creator_and_the_holders_scope_only() {
    let mine = external_document(Some(UserId(7)));
    let theirs = external_document(Some(UserId(8)));
    let (mine_id, theirs_id) = (mine.uuid, theirs.uuid);
    let mut ports = Ports::default();
    ports.documents.expect_get().returning(move |uuid| {
        Ok(Some(if uuid == mine_id {
            mine.clone()
        } else {
            theirs.clone()
        }))
    });
    // Attached only to customer 99, outside reseller 10's tree.
    ports
        .documents
        .expect_holders()
        .returning(|_| Ok(vec![CustomerId(99)]));
    ports
        .customers
        .expect_ancestors()
        .returning(|_| Ok(vec![CustomerId(1)]));
    let service = ports.documents();

    assert_eq!(
        service.get(&reseller(7), mine_id).await.unwrap().uuid,
        mine_id
    );
    let err = service.get(&reseller(7), theirs_id).await.unwrap_err();
    assert!(
        matches!(err, DocumentError::DocumentNotFound(id) if id == theirs_id),
        "{err:?}"
    );
    assert!(service.get(&admin(), theirs_id).await.is_ok());
}

#[tokio::test]
async fn attaching_past_the_limit_is_refused_with_the_limit() {
    let doc = external_document(Some(UserId(1)));
    let uuid = doc.uuid;
    let mut ports = Ports::default();
    ports
        .customers
        .expect_get()
        .returning(|_| Ok(Some(stored(5, customer_data()))));
    ports
        .documents
        .expect_get()
        .returning(move |_| Ok(Some(doc.clone())));
    ports
        .documents
        .expect_attach()
        .withf(move |customer, id, max, _| *customer == CustomerId(5) && *id == uuid && *max == 2)
        .returning(|_, _, _, _| Err(AttachError::TooMany));
    let err = ports
        .documents()
        .attach(&admin(), &CustomerKey::Id(CustomerId(5)), uuid)
        .await
        .unwrap_err();
    assert!(matches!(err, DocumentError::TooMany { max: 2 }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "The customer cannot hold more than 2 documents."
    );
}

fn customer_data() -> CustomerData {
    credence_domain::fixtures::customer_data("LOGO", "Logo Inc", root_category(), eur())
}

fn stored(id: i64, data: CustomerData) -> Customer {
    stored_customer(id, data, now())
}

fn logo_input(bytes: &[u8]) -> CustomerChanges {
    CustomerChanges {
        reference: Field::Value(Reference::new("LOGO").unwrap()),
        name: Field::Value(CustomerName::new("Logo Inc").unwrap()),
        logo: Some(LogoUpload::new(upload("logo color.png", bytes)).unwrap()),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_logo_is_rendered_and_stored_in_three_sizes_before_the_customer_row() {
    let mut ports = Ports::default();
    let mut seq = Sequence::new();
    ports
        .images
        .expect_render()
        .withf(|bytes, kind, bounds, boxes| {
            bytes == PNG && *kind == ImageKind::Png && *bounds == IMAGE_BOUNDS && boxes == [64, 256]
        })
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _, _, _| Ok(vec![b"small".to_vec(), b"medium".to_vec()]));
    let written = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&written);
    ports
        .blobs
        .expect_put()
        .times(3)
        .in_sequence(&mut seq)
        .returning(move |key, bytes| {
            log.lock()
                .unwrap()
                .push((key.as_str().to_owned(), bytes.to_vec()));
            Ok(())
        });
    ports
        .customers
        .expect_insert()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|new| Ok(stored(1, new.data.clone())));

    let customer = ports
        .customers()
        .create(&Principal::system_admin(), logo_input(PNG))
        .await
        .unwrap();

    let name = customer.data.logo.expect("a logo");
    let name = name.as_str();
    let (stamp, rest) = name.split_once('-').unwrap();
    assert_eq!(stamp, "1471338230737");
    assert!(rest.ends_with("_logo_color.png"), "{name}");
    let written = written.lock().unwrap();
    let files: Vec<(&str, &[u8])> = written
        .iter()
        .map(|(k, b)| (k.rsplit('/').next().unwrap(), b.as_slice()))
        .collect();
    let (small, medium) = (format!("small_{name}"), format!("medium_{name}"));
    assert_eq!(
        files,
        [
            (name, PNG),
            (small.as_str(), b"small".as_slice()),
            (medium.as_str(), b"medium".as_slice()),
        ]
    );
}

#[tokio::test]
async fn bad_images_are_refused_before_anything_is_written() {
    // Not an image at all: refused by content, without decoding, before any use case runs.
    let err = LogoUpload::new(upload("logo.png", b"%PDF-1.4 not a logo")).unwrap_err();
    assert_eq!(err, InputError::UnsupportedFileType);
    assert_eq!(err.to_string(), "image format not supported.");

    // Over 2 MB.
    let mut big = PNG.to_vec();
    big.resize(2 * 1024 * 1024 + 1, 0);
    let err = LogoUpload::new(upload("big.png", &big)).unwrap_err();
    assert_eq!(err.to_string(), "image size should not exceed 2Mo");

    // A bomb: the renderer refuses it from its header; nothing is stored.
    let mut ports = Ports::default();
    ports.images.expect_render().returning(|_, _, _, _| {
        Err(ImageError::TooManyPixels {
            width: 100_000,
            height: 100_000,
        })
    });
    ports.blobs.expect_put().times(0);
    ports.customers.expect_insert().times(0);
    let err = ports
        .customers()
        .create(&Principal::system_admin(), logo_input(PNG))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            CreateCustomerError::Input(InputError::Document(DocumentRule::ImagePixels { .. }))
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_refused_insert_drops_the_new_logo_and_a_new_logo_drops_the_old_one() {
    use credence_domain::ports::WriteError;
    // Refused: nothing was written, so the new renditions go at once. A store failure may have
    // committed unseen: they stay, for the orphan sweep to judge.
    for (failure, drops) in [
        (WriteError::DuplicateReference, 3),
        (
            WriteError::Store(StoreError::Unavailable("lost at COMMIT".into())),
            0,
        ),
    ] {
        let mut ports = Ports::default();
        ports
            .images
            .expect_render()
            .returning(|_, _, _, _| Ok(vec![Vec::new(), Vec::new()]));
        ports.blobs.expect_put().times(3).returning(|_, _| Ok(()));
        let failure = Mutex::new(Some(failure));
        ports
            .customers
            .expect_insert()
            .returning(move |_| Err(failure.lock().unwrap().take().unwrap()));
        let deleted = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&deleted);
        ports.blobs.expect_delete().returning(move |key| {
            log.lock().unwrap().push(key.as_str().to_owned());
            Ok(())
        });
        assert!(
            ports
                .customers()
                .create(&Principal::system_admin(), logo_input(PNG))
                .await
                .is_err()
        );
        assert_eq!(deleted.lock().unwrap().len(), drops);
    }

    // An update with a new logo: the old renditions go once the row points to the new ones.
    let mut ports = customer_4_with_a_logo();
    let mut seq = Sequence::new();
    ports
        .blobs
        .expect_put()
        .times(3)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(()));
    ports
        .customers
        .expect_update()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|id, _, data, _, _, _| Ok(Some(stored(id.get(), data.clone()))));
    let deleted = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&deleted);
    ports
        .blobs
        .expect_delete()
        .times(3)
        .in_sequence(&mut seq)
        .returning(move |key| {
            log.lock().unwrap().push(key.as_str().to_owned());
            Ok(())
        });
    let updated = new_logo_for_customer_4(ports).await.unwrap();
    let new_name = updated.data.logo.unwrap();
    assert!(
        new_name.as_str().starts_with("1471338230737-"),
        "{new_name:?}"
    );
    assert!(new_name.as_str().ends_with("_new.png"), "{new_name:?}");
    let deleted = deleted.lock().unwrap();
    assert!(
        deleted.iter().all(|k| k.ends_with("1_old.png")),
        "{deleted:?}"
    );
}

#[tokio::test]
async fn a_refused_update_drops_its_new_logo_and_one_that_may_have_committed_keeps_both() {
    use credence_domain::ports::WriteError;
    // Refused: the row still names the old logo, so the new renditions go at once. A store
    // failure may have committed unseen: whether the row names the new renditions or the old
    // ones is unknown, so neither goes.
    for (failure, drops) in [
        (WriteError::DuplicateReference, 3),
        (
            WriteError::Store(StoreError::Unavailable("lost at COMMIT".into())),
            0,
        ),
    ] {
        let mut ports = customer_4_with_a_logo();
        ports.blobs.expect_put().times(3).returning(|_, _| Ok(()));
        let failure = Mutex::new(Some(failure));
        ports
            .customers
            .expect_update()
            .times(1)
            .returning(move |_, _, _, _, _, _| Err(failure.lock().unwrap().take().unwrap()));
        let deleted = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&deleted);
        ports.blobs.expect_delete().returning(move |key| {
            log.lock().unwrap().push(key.as_str().to_owned());
            Ok(())
        });
        assert!(new_logo_for_customer_4(ports).await.is_err());
        let deleted = deleted.lock().unwrap();
        assert_eq!(deleted.len(), drops);
        assert!(
            deleted.iter().all(|k| k.ends_with("_new.png")),
            "{deleted:?}"
        );
    }
}

/// Customer 4, whose logo is `1_old.png`, and a renderer that renders any image.
fn customer_4_with_a_logo() -> Ports {
    let mut ports = Ports::default();
    let mut current = customer_data();
    current.logo = Some(LogoName::from_trusted("1_old.png".into()));
    let current = stored(4, current);
    ports
        .customers
        .expect_get()
        .returning(move |_| Ok(Some(current.clone())));
    ports
        .images
        .expect_render()
        .returning(|_, _, _, _| Ok(vec![Vec::new(), Vec::new()]));
    ports
}

/// An update of customer 4 that sends only a new logo.
async fn new_logo_for_customer_4(
    ports: Ports,
) -> Result<Customer, credence_domain::services::UpdateCustomerError> {
    let input = CustomerChanges {
        logo: Some(LogoUpload::new(upload("new.png", PNG)).unwrap()),
        ..Default::default()
    };
    ports
        .customers()
        .update(
            &Principal::system_admin(),
            &CustomerKey::Id(CustomerId(4)),
            input,
            None,
        )
        .await
}

fn key(name: &str) -> BlobKey {
    BlobKey::from_trusted(name.to_owned())
}

#[tokio::test]
async fn the_orphan_sweep_deletes_only_unreferenced_old_keys_and_pages_with_a_cursor() {
    let page = || vec![key("documents/a"), key("documents/b"), key("logos/c/x.png")];

    // A full page: the two keys no row names are deleted, the sweep goes on after the last.
    let mut ports = Ports::default();
    let mut seq = Sequence::new();
    ports
        .blobs
        .expect_list()
        .withf(|after, written_before, limit| {
            after.map(BlobKey::as_str) == Some("cursor")
                && *written_before == now() - chrono::TimeDelta::hours(1)
                && *limit == 3
        })
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |_, _, _| Ok(page()));
    ports
        .documents
        .expect_referenced()
        .withf(move |keys| keys == page().as_slice())
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(vec![key("documents/b")]));
    let deleted = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&deleted);
    ports.blobs.expect_delete().times(2).returning(move |k| {
        seen.lock().unwrap().push(k.as_str().to_owned());
        Ok(())
    });
    let (count, next) = ports
        .documents()
        .sweep_orphans(Some(key("cursor")), 3)
        .await
        .unwrap();
    assert_eq!(count, 2);
    assert_eq!(next, Some(key("logos/c/x.png")));
    assert_eq!(*deleted.lock().unwrap(), ["documents/a", "logos/c/x.png"]);

    // A short page ends the pass: the next sweep starts over.
    let mut ports = Ports::default();
    ports
        .blobs
        .expect_list()
        .withf(|after, _, limit| after.is_none() && *limit == 5)
        .times(1)
        .returning(move |_, _, _| Ok(page()));
    ports
        .documents
        .expect_referenced()
        .times(1)
        .returning(|keys| Ok(keys.to_vec()));
    ports.blobs.expect_delete().times(0);
    let (count, next) = ports.documents().sweep_orphans(None, 5).await.unwrap();
    assert_eq!((count, next), (0, None));

    // An empty listing asks nothing more.
    let mut ports = Ports::default();
    ports
        .blobs
        .expect_list()
        .times(1)
        .returning(|_, _, _| Ok(Vec::new()));
    ports.documents.expect_referenced().times(0);
    let (count, next) = ports.documents().sweep_orphans(None, 5).await.unwrap();
    assert_eq!((count, next), (0, None));

    // When the rows cannot be read, nothing is deleted.
    let mut ports = Ports::default();
    ports
        .blobs
        .expect_list()
        .returning(move |_, _, _| Ok(page()));
    ports
        .documents
        .expect_referenced()
        .returning(|_| Err(StoreError::Unexpected("gone".into())));
    ports.blobs.expect_delete().times(0);
    assert!(ports.documents().sweep_orphans(None, 3).await.is_err());
}
