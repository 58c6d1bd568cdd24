//! What an import reads once instead of once a line: the reference data its lines resolve
//! (the root category, the caller's user, currencies, categories, payment types...), and,
//! for each batch, the customers its lines name by reference.
//!
//! Both are decorators of the unit's own ports, wired under the unchanged use cases, so a
//! line is judged by exactly the rules and texts of the single-customer routes; they only
//! answer some reads from memory:
//!
//! - [`MemoRecords`] remembers every reference-data row (or its absence) it was asked for,
//!   for the whole import: an import writes customers, never reference data, so what it
//!   read stays true for it. A row another client changes meanwhile is seen as it was when
//!   the import first needed it (a row deleted meanwhile fails the write that points to it,
//!   as the foreign key says).
//! - [`BatchCustomers`] answers `get` by reference from one query for the whole batch
//!   (`WHERE reference IN (...)`) made before the batch's first line, and the account holder
//!   of a customer the line has just created from the customer its insert returned. A
//!   reference is forgotten as soon as a line writes it (or tries to): the next read of it
//!   goes to the database again, which then answers with what the line did, or with what
//!   another client did meanwhile (a creation that lost a race is retried as an update, as
//!   on the single route).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::customers::reference_data::Record;
use crate::customers::search::{ScoredCustomer, SearchQuery};
use crate::customers::service::ReferencePorts;
use crate::customers::{
    AccountHolder, Customer, CustomerData, CustomerKey, CustomerQuery, Revision,
};
use crate::ids::{CustomerId, UserId};
use crate::listing::{Page, PageRequest};
use crate::ports::{
    CustomerRepository, DocumentLinks, NewCustomer, Precondition, RecordRepository, RemoveError,
    StoreError, WriteError,
};

/// Locks a memo; a panic elsewhere cannot leave one half-written (each update is one insert
/// or remove), so a poisoned lock is used as it is.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The rows of one kind of reference data an import has read, by `id:` or `ref:` key.
type Memo<R> = Arc<Mutex<HashMap<String, Option<R>>>>;

/// The memos of every kind of reference data, kept for the whole import.
#[derive(Default, Clone)]
pub(crate) struct ReferenceMemos {
    categories: Memo<crate::customers::reference_data::Category>,
    segmentations: Memo<crate::customers::reference_data::Segmentation>,
    payment_types: Memo<crate::customers::reference_data::PaymentType>,
    regions: Memo<crate::customers::reference_data::Region>,
    currencies: Memo<crate::customers::reference_data::Currency>,
    users: Memo<crate::customers::reference_data::User>,
}

impl ReferenceMemos {
    /// The unit's reference ports, each answering what the import read before from memory.
    pub(crate) fn wrap(&self, refs: ReferencePorts) -> ReferencePorts {
        ReferencePorts {
            categories: MemoRecords::wrap(refs.categories, &self.categories),
            segmentations: MemoRecords::wrap(refs.segmentations, &self.segmentations),
            payment_types: MemoRecords::wrap(refs.payment_types, &self.payment_types),
            regions: MemoRecords::wrap(refs.regions, &self.regions),
            currencies: MemoRecords::wrap(refs.currencies, &self.currencies),
            users: MemoRecords::wrap(refs.users, &self.users),
        }
    }
}

/// A reference-data port that reads each row once (see the module docs). Lists and writes
/// go to the port as they are.
pub(crate) struct MemoRecords<R: Record> {
    inner: Arc<dyn RecordRepository<R>>,
    memo: Memo<R>,
}

impl<R: Record> MemoRecords<R> {
    fn wrap(inner: Arc<dyn RecordRepository<R>>, memo: &Memo<R>) -> Arc<dyn RecordRepository<R>> {
        Arc::new(Self {
            inner,
            memo: Arc::clone(memo),
        })
    }

    fn remembered(&self, key: &str) -> Option<Option<R>> {
        lock(&self.memo).get(key).cloned()
    }

    fn remember(&self, key: String, row: Option<R>) {
        lock(&self.memo).insert(key, row);
    }
}

#[async_trait]
impl<R: Record> RecordRepository<R> for MemoRecords<R> {
    async fn list(&self, page: PageRequest) -> Result<Page<R>, StoreError> {
        self.inner.list(page).await
    }

    async fn get(&self, id: R::Id) -> Result<Option<R>, StoreError> {
        let key = format!("id:{id}");
        if let Some(row) = self.remembered(&key) {
            return Ok(row);
        }
        let row = self.inner.get(id).await?;
        self.remember(key, row.clone());
        Ok(row)
    }

    async fn find_by_reference(&self, reference: &str) -> Result<Option<R>, StoreError> {
        let key = format!("ref:{reference}");
        if let Some(row) = self.remembered(&key) {
            return Ok(row);
        }
        let row = self.inner.find_by_reference(reference).await?;
        self.remember(key, row.clone());
        Ok(row)
    }

    async fn create(&self, draft: R::Draft) -> Result<R, WriteError> {
        self.inner.create(draft).await
    }

    async fn update(
        &self,
        id: R::Id,
        draft: R::Draft,
        only_if: Precondition<R>,
    ) -> Result<Option<R>, WriteError> {
        self.inner.update(id, draft, only_if).await
    }

    async fn delete(&self, id: R::Id) -> Result<bool, RemoveError> {
        self.inner.delete(id).await
    }
}

/// The unit's customer port with one batch's customers read ahead (see the module docs).
pub(crate) struct BatchCustomers {
    inner: Arc<dyn CustomerRepository>,
    /// By reference: the live customer, or `None` for a reference no live customer had.
    /// A reference missing here was not read ahead, or was written since.
    known: Mutex<HashMap<String, Option<Customer>>>,
    /// The customers the current line created, as their accounts see them.
    created: Mutex<HashMap<CustomerId, AccountHolder>>,
}

impl BatchCustomers {
    pub(crate) fn new(inner: Arc<dyn CustomerRepository>) -> Self {
        Self {
            inner,
            known: Mutex::new(HashMap::new()),
            created: Mutex::new(HashMap::new()),
        }
    }

    /// Starts a batch: `references` are what its lines name, `found` the live customers
    /// among them, read in one query.
    pub(crate) fn read_ahead(&self, references: Vec<String>, found: Vec<Customer>) {
        let mut known = lock(&self.known);
        known.clear();
        known.extend(references.into_iter().map(|r| (r, None)));
        for customer in found {
            known.insert(customer.data.reference.as_str().to_owned(), Some(customer));
        }
    }

    /// A line has ended (kept or undone): what it created is no longer its own.
    pub(crate) fn line_ended(&self) {
        lock(&self.created).clear();
    }

    fn forget(&self, reference: &str) {
        lock(&self.known).remove(reference);
    }
}

#[async_trait]
impl CustomerRepository for BatchCustomers {
    async fn list(&self, query: &CustomerQuery) -> Result<Page<Customer>, StoreError> {
        self.inner.list(query).await
    }

    async fn search(&self, query: &SearchQuery) -> Result<Page<ScoredCustomer>, StoreError> {
        self.inner.search(query).await
    }

    async fn get(&self, key: &CustomerKey) -> Result<Option<Customer>, StoreError> {
        if let CustomerKey::Reference(reference) = key
            && let Some(customer) = lock(&self.known).get(reference).cloned()
        {
            return Ok(customer);
        }
        self.inner.get(key).await
    }

    async fn holder(&self, key: &CustomerKey) -> Result<Option<AccountHolder>, StoreError> {
        if let CustomerKey::Id(id) = key
            && let Some(holder) = lock(&self.created).get(id).cloned()
        {
            return Ok(Some(holder));
        }
        self.inner.holder(key).await
    }

    async fn ancestors(&self, id: CustomerId) -> Result<Vec<CustomerId>, StoreError> {
        self.inner.ancestors(id).await
    }

    async fn insert(&self, customer: &NewCustomer) -> Result<Customer, WriteError> {
        self.forget(customer.data.reference.as_str());
        let inserted = self.inner.insert(customer).await?;
        lock(&self.created).insert(inserted.id, AccountHolder::from(&inserted));
        Ok(inserted)
    }

    async fn update(
        &self,
        id: CustomerId,
        read: Revision,
        data: &CustomerData,
        links: &DocumentLinks,
        by: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<Option<Customer>, WriteError> {
        self.forget(data.reference.as_str());
        self.inner.update(id, read, data, links, by, now).await
    }

    async fn archive(
        &self,
        id: CustomerId,
        read: Option<Revision>,
        now: DateTime<Utc>,
    ) -> Result<bool, RemoveError> {
        self.inner.archive(id, read, now).await
    }
}

#[cfg(test)]
mod tests {
    //! The decorators in front of ports that count their calls.
    #![allow(clippy::unwrap_used, reason = "tests panic on failure")]

    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::customers::reference_data::Category;
    use crate::fixtures::{customer_data, eur, root_category as root, stored_customer};
    use crate::ports::{MockCustomerRepository, MockRecordRepository};

    #[tokio::test]
    async fn reference_data_is_read_once_per_key_absent_rows_too() {
        let reads = Arc::new(AtomicUsize::new(0));
        let mut port = MockRecordRepository::<Category>::new();
        let counted = Arc::clone(&reads);
        port.expect_find_by_reference().returning(move |r| {
            counted.fetch_add(1, Ordering::SeqCst);
            Ok((r == "root").then(root))
        });
        let memo: Memo<Category> = Arc::default();
        let first = MemoRecords::wrap(Arc::new(port), &memo);
        assert_eq!(first.find_by_reference("root").await.unwrap(), Some(root()));
        assert_eq!(first.find_by_reference("none").await.unwrap(), None);
        // A later unit's port shares the memo: nothing is read again.
        let second = MemoRecords::wrap(Arc::new(MockRecordRepository::new()), &memo);
        assert_eq!(
            second.find_by_reference("root").await.unwrap(),
            Some(root())
        );
        assert_eq!(second.find_by_reference("none").await.unwrap(), None);
        assert_eq!(reads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_reference_read_ahead_is_answered_until_it_is_written() {
        let data = customer_data("OLD", "Old", root(), eur());
        let old = stored_customer(7, data.clone(), Utc::now());
        let mut port = MockCustomerRepository::new();
        // Only the read after the write reaches the port.
        port.expect_get().times(1).returning(|_| Ok(None));
        port.expect_update()
            .times(1)
            .returning(|_, _, _, _, _, _| Ok(None));
        port.expect_insert()
            .times(1)
            .returning(|new| Ok(stored_customer(8, new.data.clone(), new.now)));
        let customers = BatchCustomers::new(Arc::new(port));
        customers.read_ahead(vec!["OLD".to_owned(), "NEW".to_owned()], vec![old.clone()]);
        let by = |r: &str| CustomerKey::Reference(r.to_owned());
        assert_eq!(customers.get(&by("NEW")).await.unwrap(), None);
        assert_eq!(customers.get(&by("OLD")).await.unwrap(), Some(old.clone()));
        customers
            .update(
                old.id,
                old.revision,
                &data,
                &DocumentLinks::none(),
                None,
                Utc::now(),
            )
            .await
            .unwrap();
        assert_eq!(customers.get(&by("OLD")).await.unwrap(), None, "read again");

        // The holder of a customer the line created comes from its insert, until the line
        // ends.
        let new = NewCustomer {
            uuid: uuid::Uuid::new_v4(),
            data: customer_data("NEW", "New", root(), eur()),
            now: Utc::now(),
            links: DocumentLinks::none(),
        };
        let created = customers.insert(&new).await.unwrap();
        let holder = customers
            .holder(&CustomerKey::Id(created.id))
            .await
            .unwrap();
        assert_eq!(holder, Some(AccountHolder::from(&created)));
        customers.line_ended();
        assert!(lock(&customers.created).is_empty());
        assert!(!lock(&customers.known).contains_key("NEW"), "forgotten");
    }
}
