//! Documents: their metadata rows, which customers carry them, and the
//! [`DocumentStore`] adapter.
//!
//! An attach is one transaction that locks the customer row first (PostgreSQL; SQLite's
//! `BEGIN IMMEDIATE` already serializes writers), so the count check and the insert cannot
//! race another attach, a customer update that attaches, or an archive. Customer writes
//! attach their [`DocumentLinks`] with [`apply_links`], inside their own transaction.

pub(crate) mod blobs;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use credence_domain::documents::logo::LogoName;
use credence_domain::documents::{
    BlobKey, Document, DocumentContent, ExternalUrl, FileName, MetadataChange, MimeType,
};
use credence_domain::events::{EventEncoder, EventObject, EventType};
use credence_domain::ids::{CustomerId, UserId};
use credence_domain::ports::{AttachError, DocumentLinks, DocumentStore, StoreError};
use credence_domain::values::FreeText;
use diesel::prelude::*;
use uuid::Uuid;

use crate::Store;
use crate::customers::{lock_live_customer, to_db_time};
use crate::database::inner::OnInner as _;
use crate::database::{AnyConnection, Database};
use crate::error::{Failure, Outcome};
use crate::events::Outbox;
use crate::schema::{customer_documents, customers, documents};

/// A `documents` row, read and written whole.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = documents, treat_none_as_default_value = false)]
pub(crate) struct DocumentRow {
    uuid: String,
    file_name: String,
    mime_type: String,
    description: Option<String>,
    internal: bool,
    blob_key: Option<String>,
    size: Option<i64>,
    thumbnail_key: Option<String>,
    content_url: Option<String>,
    thumb_url: Option<String>,
    creator_id: Option<i64>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// The metadata columns a change writes: those it names (`Some`), and `updated_at`.
#[derive(AsChangeset)]
#[diesel(table_name = documents)]
struct MetadataColumns<'a> {
    file_name: Option<&'a str>,
    description: Option<Option<&'a str>>,
    internal: Option<bool>,
    updated_at: NaiveDateTime,
}

impl DocumentRow {
    fn new(document: &Document) -> Result<Self, Failure> {
        let (blob_key, size, thumbnail_key, content_url, thumb_url) = match &document.content {
            DocumentContent::Stored {
                blob,
                size,
                thumbnail,
            } => (
                Some(blob.as_str().to_owned()),
                Some(i64::try_from(*size).map_err(|e| Failure::corrupt("document size", e))?),
                thumbnail.as_ref().map(|t| t.as_str().to_owned()),
                None,
                None,
            ),
            DocumentContent::External { url, thumb_url } => (
                None,
                None,
                None,
                Some(url.as_str().to_owned()),
                thumb_url.as_ref().map(|t| t.as_str().to_owned()),
            ),
        };
        Ok(Self {
            uuid: document.uuid.to_string(),
            file_name: document.file_name.as_str().to_owned(),
            mime_type: document.mime_type.as_str().to_owned(),
            description: document.description.as_ref().map(|d| d.as_str().to_owned()),
            internal: document.internal,
            blob_key,
            size,
            thumbnail_key,
            content_url,
            thumb_url,
            creator_id: document.creator.map(UserId::get),
            created_at: to_db_time(document.created_at),
            updated_at: to_db_time(document.updated_at),
        })
    }

    fn into_domain(self) -> Result<Document, Failure> {
        let content = match (self.blob_key, self.content_url) {
            (Some(blob), None) => DocumentContent::Stored {
                blob: BlobKey::from_trusted(blob),
                size: self
                    .size
                    .and_then(|s| u64::try_from(s).ok())
                    .ok_or_else(|| Failure::corrupt("document size", "missing or negative"))?,
                thumbnail: self.thumbnail_key.map(BlobKey::from_trusted),
            },
            (None, Some(url)) => DocumentContent::External {
                url: ExternalUrl::from_trusted(url),
                thumb_url: self.thumb_url.map(ExternalUrl::from_trusted),
            },
            _ => {
                return Err(Failure::corrupt(
                    "document content",
                    "needs exactly one of blob_key and content_url",
                ));
            }
        };
        Ok(Document {
            uuid: Uuid::parse_str(&self.uuid).map_err(|e| Failure::corrupt("document uuid", e))?,
            file_name: FileName::from_trusted(self.file_name),
            mime_type: MimeType::from_trusted(self.mime_type),
            description: self.description.map(FreeText::from_trusted),
            internal: self.internal,
            content,
            creator: self.creator_id.map(UserId),
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
        })
    }
}

fn insert_document(conn: &mut AnyConnection, document: &Document) -> Result<(), Failure> {
    diesel::insert_into(documents::table)
        .values(DocumentRow::new(document)?)
        .execute(conn)?;
    Ok(())
}

/// Attaches a document to a customer, with its event.
fn link(
    conn: &mut AnyConnection,
    outbox: &Outbox<'_>,
    customer: i64,
    uuid: String,
    now: NaiveDateTime,
) -> Result<(), Failure> {
    diesel::insert_into(customer_documents::table)
        .values((
            customer_documents::customer_id.eq(customer),
            customer_documents::document_uuid.eq(&uuid),
            customer_documents::attached_at.eq(now),
        ))
        .execute(conn)?;
    document_event(
        conn,
        outbox,
        EventType::DocumentAttached,
        customer,
        &uuid,
        now,
    )
}

/// Records what happened to a customer's document, the document as it is.
fn document_event(
    conn: &mut AnyConnection,
    outbox: &Outbox<'_>,
    kind: EventType,
    customer: i64,
    uuid: &str,
    now: NaiveDateTime,
) -> Result<(), Failure> {
    let document = documents::table
        .find(uuid)
        .select(DocumentRow::as_select())
        .first(conn)?
        .into_domain()?;
    outbox.record(
        conn,
        kind,
        CustomerId(customer),
        EventObject::Document(&document),
        now,
    )
}

fn attached_count(conn: &mut AnyConnection, customer: i64) -> Result<i64, Failure> {
    Ok(customer_documents::table
        .filter(customer_documents::customer_id.eq(customer))
        .count()
        .get_result(conn)?)
}

/// The documents of each customer, oldest attachment first (ties by UUID), in one query.
pub(crate) fn documents_of(
    conn: &mut AnyConnection,
    customer_ids: &[i64],
) -> Result<HashMap<i64, Vec<Document>>, Failure> {
    let mut found: HashMap<i64, Vec<Document>> = HashMap::new();
    if customer_ids.is_empty() {
        return Ok(found);
    }
    let rows: Vec<(i64, DocumentRow)> = customer_documents::table
        .inner_join(documents::table)
        .filter(customer_documents::customer_id.eq_any(customer_ids.to_vec()))
        .order((
            customer_documents::customer_id,
            customer_documents::attached_at,
            customer_documents::document_uuid,
        ))
        // The row's columns, the same for either backend (`as_select` names one of them).
        .select((
            customer_documents::customer_id,
            <DocumentRow as Selectable<diesel::sqlite::Sqlite>>::construct_selection(),
        ))
        .load_on(conn)?;
    for (customer, row) in rows {
        found.entry(customer).or_default().push(row.into_domain()?);
    }
    Ok(found)
}

/// The documents of one customer, in [`documents_of`]'s order. On SQLite a list of ids is a
/// statement prepared anew for each call; this one is prepared once (it runs after every
/// customer update).
pub(crate) fn documents_of_customer(
    conn: &mut AnyConnection,
    customer: i64,
) -> Result<Vec<Document>, Failure> {
    let rows: Vec<DocumentRow> = customer_documents::table
        .inner_join(documents::table)
        .filter(customer_documents::customer_id.eq(customer))
        .order((
            customer_documents::attached_at,
            customer_documents::document_uuid,
        ))
        .select(<DocumentRow as Selectable<diesel::sqlite::Sqlite>>::construct_selection())
        .load_on(conn)?;
    rows.into_iter().map(DocumentRow::into_domain).collect()
}

/// Attaches a customer write's `links` to `customer` (whose row the caller has written in
/// this transaction): every `existing` document must exist and is attached unless it already
/// is; every `external` one is created and attached unless the customer already carries its
/// URL. The customer may then hold at most `max_per_customer` documents. On an error the
/// caller's transaction rolls back, customer fields included.
pub(crate) fn apply_links(
    conn: &mut AnyConnection,
    outbox: &Outbox<'_>,
    customer: i64,
    links: &DocumentLinks,
    now: DateTime<Utc>,
) -> Result<(), Failure> {
    if links.is_empty() {
        return Ok(());
    }
    let now = to_db_time(now);
    let mut attached: HashSet<String> = customer_documents::table
        .filter(customer_documents::customer_id.eq(customer))
        .select(customer_documents::document_uuid)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    if !links.existing.is_empty() {
        let wanted: Vec<String> = links.existing.iter().map(Uuid::to_string).collect();
        let known: HashSet<String> = documents::table
            .filter(documents::uuid.eq_any(wanted))
            .select(documents::uuid)
            .load::<String>(conn)?
            .into_iter()
            .collect();
        for uuid in &links.existing {
            let key = uuid.to_string();
            if !known.contains(&key) {
                return Err(Failure::Refused(Outcome::UnknownDocument(*uuid)));
            }
            if attached.insert(key.clone()) {
                link(conn, outbox, customer, key, now)?;
            }
        }
    }
    if !links.external.is_empty() {
        let mut carried: HashSet<String> = customer_documents::table
            .inner_join(documents::table)
            .filter(customer_documents::customer_id.eq(customer))
            .filter(documents::content_url.is_not_null())
            .select(documents::content_url.assume_not_null())
            .load::<String>(conn)?
            .into_iter()
            .collect();
        for document in &links.external {
            if let DocumentContent::External { url, .. } = &document.content
                && !carried.insert(url.as_str().to_owned())
            {
                continue;
            }
            insert_document(conn, document)?;
            link(conn, outbox, customer, document.uuid.to_string(), now)?;
        }
    }
    let count = attached_count(conn, customer)?;
    if count > i64::from(links.max_per_customer) {
        return Err(Failure::Refused(Outcome::TooManyDocuments));
    }
    Ok(())
}

fn attach_document(
    conn: &mut AnyConnection,
    outbox: &Outbox<'_>,
    customer: i64,
    uuid: Uuid,
    max: u32,
    now: DateTime<Utc>,
) -> Result<(), Failure> {
    if !lock_live_customer(conn, customer, true)? {
        return Err(Failure::Refused(Outcome::Missing));
    }
    let key = uuid.to_string();
    let exists = documents::table
        .find(&key)
        .select(documents::uuid)
        .first::<String>(conn)
        .optional()?;
    if exists.is_none() {
        return Err(Failure::Refused(Outcome::Missing));
    }
    let already = customer_documents::table
        .find((customer, &key))
        .select(customer_documents::customer_id)
        .first::<i64>(conn)
        .optional()?;
    if already.is_some() {
        return Ok(());
    }
    if attached_count(conn, customer)? >= i64::from(max) {
        return Err(Failure::Refused(Outcome::TooManyDocuments));
    }
    link(conn, outbox, customer, key, to_db_time(now))
}

/// How many keys go into one `IN (...)` list (SQLite bounds the parameters of a statement).
const KEYS_PER_QUERY: usize = 500;

/// The subset of `keys` some row names (see [`DocumentStore::referenced`]): documents'
/// blob and thumbnail keys, then logo renditions, matched in Rust against each customer's
/// current logo name with [`LogoName::variant_of`], so the key format lives in one place.
fn referenced_keys(conn: &mut AnyConnection, keys: &[BlobKey]) -> Result<Vec<BlobKey>, Failure> {
    let mut named: HashSet<String> = HashSet::new();
    for chunk in keys.chunks(KEYS_PER_QUERY) {
        let wanted: Vec<&str> = chunk.iter().map(BlobKey::as_str).collect();
        named.extend(
            documents::table
                .filter(documents::blob_key.eq_any(&wanted))
                .select(documents::blob_key.assume_not_null())
                .load::<String>(conn)?,
        );
        named.extend(
            documents::table
                .filter(documents::thumbnail_key.eq_any(&wanted))
                .select(documents::thumbnail_key.assume_not_null())
                .load::<String>(conn)?,
        );
    }
    // `logos/{customer uuid}/{file}`, by customer.
    let mut renditions: HashMap<&str, Vec<&str>> = HashMap::new();
    for key in keys {
        if let Some((customer, file)) = key
            .as_str()
            .strip_prefix("logos/")
            .and_then(|rest| rest.split_once('/'))
            && !file.contains('/')
        {
            renditions.entry(customer).or_default().push(file);
        }
    }
    let customers_with_logos: Vec<&str> = renditions.keys().copied().collect();
    for chunk in customers_with_logos.chunks(KEYS_PER_QUERY) {
        let logos: Vec<(String, String)> = customers::table
            .filter(customers::uuid.eq_any(chunk))
            .filter(customers::logo.is_not_null())
            .select((customers::uuid, customers::logo.assume_not_null()))
            .load(conn)?;
        for (customer, logo) in logos {
            let logo = LogoName::from_trusted(logo);
            for file in renditions.get(customer.as_str()).into_iter().flatten() {
                if logo.variant_of(file).is_some() {
                    named.insert(format!("logos/{customer}/{file}"));
                }
            }
        }
    }
    Ok(keys
        .iter()
        .filter(|k| named.contains(k.as_str()))
        .cloned()
        .collect())
}

/// The database [`DocumentStore`] (see [`Store::documents`]).
#[derive(Debug, Clone)]
pub(crate) struct DatabaseDocuments {
    database: Database,
    events: Arc<dyn EventEncoder>,
}

impl Store {
    /// Document metadata and attachments, in this store's database.
    #[must_use]
    pub fn documents(&self) -> Arc<dyn DocumentStore> {
        Arc::new(DatabaseDocuments {
            database: self.database().clone(),
            events: Arc::clone(&self.events),
        })
    }
}

#[async_trait]
impl DocumentStore for DatabaseDocuments {
    async fn insert(&self, document: &Document) -> Result<(), StoreError> {
        let document = document.clone();
        Ok(self
            .database
            .write(move |conn| insert_document(conn, &document))
            .await?)
    }

    async fn get(&self, uuid: Uuid) -> Result<Option<Document>, StoreError> {
        Ok(self
            .database
            .read(move |conn| {
                documents::table
                    .find(uuid.to_string())
                    .select(DocumentRow::as_select())
                    .first(conn)
                    .optional()?
                    .map(DocumentRow::into_domain)
                    .transpose()
            })
            .await?)
    }

    async fn update(
        &self,
        uuid: Uuid,
        change: &MetadataChange,
        now: DateTime<Utc>,
    ) -> Result<Option<Document>, StoreError> {
        let change = change.clone();
        Ok(self
            .database
            .write(move |conn| {
                let columns = MetadataColumns {
                    file_name: change.file_name.as_ref().map(FileName::as_str),
                    description: change
                        .description
                        .as_ref()
                        .map(|d| d.as_ref().map(FreeText::as_str)),
                    internal: change.internal,
                    updated_at: to_db_time(now),
                };
                let key = uuid.to_string();
                let changed = diesel::update(documents::table.find(&key))
                    .set(&columns)
                    .execute(conn)?;
                if changed == 0 {
                    return Ok(None);
                }
                documents::table
                    .find(&key)
                    .select(DocumentRow::as_select())
                    .first(conn)?
                    .into_domain()
                    .map(Some)
            })
            .await?)
    }

    async fn attach(
        &self,
        customer: CustomerId,
        uuid: Uuid,
        max: u32,
        now: DateTime<Utc>,
    ) -> Result<(), AttachError> {
        let events = Arc::clone(&self.events);
        Ok(self
            .database
            .write(move |conn| {
                let outbox = Outbox::open(conn, &*events, &[customer])?;
                attach_document(conn, &outbox, customer.get(), uuid, max, now)
            })
            .await?)
    }

    async fn detach(
        &self,
        customer: CustomerId,
        uuid: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let events = Arc::clone(&self.events);
        Ok(self
            .database
            .write(move |conn| {
                let outbox = Outbox::open(conn, &*events, &[customer])?;
                let key = uuid.to_string();
                let removed =
                    diesel::delete(customer_documents::table.find((customer.get(), &key)))
                        .execute(conn)?;
                if removed > 0 {
                    document_event(
                        conn,
                        &outbox,
                        EventType::DocumentDetached,
                        customer.get(),
                        &key,
                        to_db_time(now),
                    )?;
                }
                Ok(removed > 0)
            })
            .await?)
    }

    async fn holders(&self, uuid: Uuid) -> Result<Vec<CustomerId>, StoreError> {
        Ok(self
            .database
            .read(move |conn| {
                Ok(customer_documents::table
                    .inner_join(customers::table)
                    .filter(customer_documents::document_uuid.eq(uuid.to_string()))
                    .filter(customers::archived_at.is_null())
                    .order(customers::id)
                    .select(customers::id)
                    .load::<i64>(conn)?
                    .into_iter()
                    .map(CustomerId)
                    .collect())
            })
            .await?)
    }

    async fn referenced(&self, keys: &[BlobKey]) -> Result<Vec<BlobKey>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let keys = keys.to_vec();
        Ok(self
            .database
            .read(move |conn| referenced_keys(conn, &keys))
            .await?)
    }
}
