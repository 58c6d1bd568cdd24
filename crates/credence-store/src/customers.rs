//! The customer repository: rows, the list query with its filters, and the batched loading
//! of what a page of customers points to.
//!
//! Writes put the customer row, its payment types, its contacts and its projects in one
//! transaction (projects keep the ids they already have, so a rename keeps its id), and
//! attach the write's document links in that same transaction
//! ([`crate::documents::apply_links`]); the live-reference rule lives in a partial unique
//! index, so racing inserts end in `DuplicateReference` whatever the timing.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use credence_domain::customers::reference_data::{
    Category, PaymentType, Region, Segmentation, User,
};
use credence_domain::customers::search::{ScoredCustomer, SearchQuery};
use credence_domain::customers::{
    AccountHolder, Address, Contact, Customer, CustomerData, CustomerFilter, CustomerKey,
    CustomerQuery, CustomerSort, CustomerSummary, CustomerTexts, Project, Revision,
};
use credence_domain::documents::Document;
use credence_domain::documents::logo::LogoName;
use credence_domain::events::{EventObject, EventType};
use credence_domain::ids::{CustomerId, ProjectId, UserId};
use credence_domain::listing::{Order, Page, TextPattern, fold};
use credence_domain::ports::{
    CustomerRepository, DocumentLinks, NewCustomer, RemoveError, StoreError, WriteError,
};
use credence_domain::values::{
    CountryCode, CreditLimit, CurrencyCode, CustomerName, DueDateTerms, DueDateType, Email,
    FreeText, Latitude, Longitude, Reference, RiskColor, Website,
};
use diesel::prelude::*;
use uuid::Uuid;

use crate::Store;
use crate::credit::{
    AccountRow, expire_account, lock_account, lock_and_set_limit, record_limit, set_locked_limit,
};
use crate::customers::records::{CategoryRow, PaymentTypeRow, RegionRow, SegmentationRow, UserRow};
use crate::database::fixed::Fixed;
use crate::database::inner::OnInner as _;
use crate::database::{AnyConnection, Db};
use crate::documents::{apply_links, documents_of};
use crate::error::{Failure, Outcome};
use crate::events::Outbox;
use crate::schema::{
    accounts, customer_categories, customer_contacts, customer_payment_types, customer_projects,
    customer_segmentations, customers, payment_types, regions, reservations, users,
};

mod assemble;
mod held_text;
mod import;
mod query;
pub(crate) mod records;
mod rows;
mod search;
mod substring;
mod update_statement;

pub(crate) use assemble::*;
pub(crate) use query::*;
pub(crate) use rows::*;

pub(crate) use search::fill_terms;
use search::{Terms, delete_terms, rewrite_terms, search_customers, write_terms};
use update_statement::{StoredKeys, update_row};

/// The statement-cache key of a customer's insert ([`Fixed`]).
struct InsertCustomer;

/// The statement-cache key of a new customer's account insert ([`Fixed`]).
struct InsertAccount;

/// From this many matches on, a filtered page is found by walking the sort index and testing
/// each row: among so many, a page's worth comes soon, where reading every match through the
/// filter's own index would mean sorting them all.
pub(crate) const MANY_MATCHES: i64 = 10_000;

/// Furthest walk up a customer tree; deeper trees are a bug, not data.
const MAX_DEPTH: usize = 1000;

/// Timestamps are stored in whole seconds, UTC, as the domain promises.
pub(crate) fn to_db_time(at: DateTime<Utc>) -> NaiveDateTime {
    DateTime::from_timestamp(at.timestamp(), 0)
        .unwrap_or(at)
        .naive_utc()
}

pub(crate) fn get_customer(
    conn: &mut AnyConnection,
    key: &CustomerKey,
) -> Result<Option<Customer>, Failure> {
    let query = live().select(CustomerRow::as_select());
    let query = match key {
        CustomerKey::Id(id) => query.filter(customers::id.eq(id.get())),
        CustomerKey::Uuid(uuid) => query.filter(customers::uuid.eq(uuid.to_string())),
        CustomerKey::Reference(reference) => {
            query.filter(customers::reference.eq(reference.clone()))
        }
    };
    let rows: Vec<CustomerRow> = query.limit(1).load(conn)?;
    Ok(assemble(conn, rows)?.pop())
}

/// The columns of [`AccountHolder`], in its order.
type HolderRow = (i64, bool, bool, Option<String>, Option<i64>, bool, String);

/// One live customer as its account sees it: one row by primary or unique key. Each key's
/// statement is written out (not boxed) so the drivers keep it prepared.
pub(crate) fn holder_of(
    conn: &mut AnyConnection,
    key: &CustomerKey,
) -> Result<Option<AccountHolder>, Failure> {
    let columns = (
        customers::id,
        customers::is_active,
        customers::on_hold,
        customers::on_hold_reason,
        customers::parent_id,
        customers::bill_with_parent,
        customers::currency,
    );
    let live = customers::archived_at.is_null();
    let row: Option<HolderRow> = match key {
        CustomerKey::Id(id) => customers::table
            .filter(customers::id.eq(id.get()))
            .filter(live)
            .select(columns)
            .first(conn)
            .optional()?,
        CustomerKey::Uuid(uuid) => customers::table
            .filter(customers::uuid.eq(uuid.to_string()))
            .filter(live)
            .select(columns)
            .first(conn)
            .optional()?,
        CustomerKey::Reference(reference) => customers::table
            .filter(customers::reference.eq(reference))
            .filter(live)
            .select(columns)
            .first(conn)
            .optional()?,
    };
    row.map(
        |(id, is_active, on_hold, reason, parent, bill_with_parent, currency)| {
            Ok(AccountHolder {
                id: CustomerId(id),
                is_active,
                on_hold,
                on_hold_reason: reason.map(FreeText::from_trusted),
                parent: parent.map(CustomerId),
                bill_with_parent,
                currency: CurrencyCode::parse(&currency)
                    .map_err(|e| Failure::corrupt("customer currency", e))?,
            })
        },
    )
    .transpose()
}
/// Whether a live customer has this id, locking its row until the transaction ends on
/// PostgreSQL: `exclusive` (archiving) conflicts with the shared lock a writer takes on the
/// parent it links to, so a child can never be attached to a parent being archived. SQLite
/// needs no lock: `BEGIN IMMEDIATE` already serializes writers.
pub(crate) fn lock_live_customer(
    conn: &mut AnyConnection,
    id: i64,
    exclusive: bool,
) -> Result<bool, Failure> {
    let query = customers::table
        .filter(customers::id.eq(id))
        .filter(customers::archived_at.is_null())
        .select(customers::id);
    let found = match conn {
        AnyConnection::Postgresql(c) if exclusive => {
            query.for_update().first::<i64>(c).optional()?
        }
        AnyConnection::Postgresql(c) => query.for_key_share().first::<i64>(c).optional()?,
        AnyConnection::Sqlite(c) => query.first::<i64>(c).optional()?,
    };
    Ok(found.is_some())
}

/// Refuses a write whose parent is not a live customer.
fn check_parent(conn: &mut AnyConnection, data: &CustomerData) -> Result<(), Failure> {
    match &data.parent {
        Some(parent) if !lock_live_customer(conn, parent.id.get(), false)? => {
            Err(Failure::Refused(Outcome::Dangling))
        }
        _ => Ok(()),
    }
}

/// The key of the PostgreSQL advisory lock that moves in the hierarchy take in turn. Negative,
/// so it never meets a customer's turn (their ids are positive).
pub(crate) const HIERARCHY_LOCK: i64 = -0x6869_6572; // "hier"

/// Whether a write of `data` over customer `id` at revision `read` moves it to another
/// parent, taking the hierarchy's lock (PostgreSQL) when it does. Call it first in the
/// transaction, before the customer's turn: a move then holds nothing another move waits
/// for while it waits for the lock, and a write that keeps the parent takes no lock at all.
/// A row past `read` is `Stale` at once (the revision only moves on): its write would be
/// refused anyway, and its parent as read says nothing about a move.
fn moves(
    conn: &mut AnyConnection,
    id: i64,
    read: Revision,
    data: &CustomerData,
) -> Result<bool, Failure> {
    let Some(parent) = data.parent.as_ref().map(|p| p.id.get()) else {
        return Ok(false);
    };
    let stored: Option<(Option<i64>, i64)> = live()
        .filter(customers::id.eq(id))
        .select((customers::parent_id, customers::revision))
        .first(conn)
        .optional()?;
    let Some((stored_parent, revision)) = stored else {
        return Ok(false);
    };
    if revision != read.get() {
        return Err(Failure::Refused(Outcome::Stale));
    }
    if stored_parent == Some(parent) {
        return Ok(false);
    }
    if let AnyConnection::Postgresql(c) = conn {
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({HIERARCHY_LOCK})")).execute(c)?;
    }
    Ok(true)
}

/// Refuses a move of customer `id` under itself or one of its descendants. The service
/// checks this on its own read, but two moves that each read the tree before the other wrote
/// would both pass there and close a cycle (which a walk down the tree would follow forever).
/// So a move checks again here, holding the hierarchy's lock ([`moves`]): of two racing
/// moves the later one sees the earlier committed. SQLite's writers run one at a time.
fn check_no_cycle(conn: &mut AnyConnection, id: i64, data: &CustomerData) -> Result<(), Failure> {
    let Some(parent) = data.parent.as_ref().map(|p| p.id.get()) else {
        return Ok(());
    };
    if parent == id || ancestors_of(conn, parent)?.contains(&CustomerId(id)) {
        return Err(Failure::Refused(Outcome::OwnAncestor));
    }
    Ok(())
}

fn ancestors_of(conn: &mut AnyConnection, id: i64) -> Result<Vec<CustomerId>, Failure> {
    let parent_of = |conn: &mut AnyConnection, id: i64| -> Result<Option<i64>, Failure> {
        Ok(live()
            .filter(customers::id.eq(id))
            .select(customers::parent_id)
            .first::<Option<i64>>(conn)
            .optional()?
            .flatten())
    };
    let mut found = Vec::new();
    let mut seen = HashSet::from([id]);
    let mut current = parent_of(conn, id)?;
    while let Some(parent) = current {
        let is_live = live()
            .filter(customers::id.eq(parent))
            .select(customers::id)
            .first::<i64>(conn)
            .optional()?;
        if is_live.is_none() || !seen.insert(parent) || found.len() >= MAX_DEPTH {
            break;
        }
        found.push(CustomerId(parent));
        current = parent_of(conn, parent)?;
    }
    Ok(found)
}

/// Whether [`read_written`] reads a customer just inserted or one just updated, with its row
/// and its account's as the writes returned them.
enum Written {
    /// Inserted: no documents yet.
    Inserted(Box<(CustomerRow, AccountRow)>),
    /// Updated: documents attached before stay attached, and are read when the update's
    /// statement saw any (the flag).
    Updated(Box<(CustomerRow, AccountRow)>, bool),
}

/// A customer just written in this transaction from `data`, exactly as [`get_customer`]
/// reads it, from its rows (as the inserts returned them, or read by primary key) instead
/// of a query per kind of row it points to: what it points to (category, parent,
/// segmentation, region, creator, payment types) is what its data holds, the rows the
/// write was resolved against, and its contacts are written as they are. Its documents are
/// read when it was updated (they stay attached across updates). One with projects or new
/// documents, whose ids only the database knows, is read whole.
fn read_written(
    conn: &mut AnyConnection,
    id: i64,
    data: &CustomerData,
    links: &DocumentLinks,
    written: Written,
) -> Result<Customer, Failure> {
    if !data.projects.is_empty() || !links.existing.is_empty() || !links.external.is_empty() {
        return get_customer(conn, &CustomerKey::Id(CustomerId(id)))?
            .ok_or_else(|| Failure::corrupt("customer", "vanished right after its write"));
    }
    let (row, account, documents) = match written {
        Written::Inserted(rows) => {
            let (row, account) = *rows;
            (row, account, Vec::new())
        }
        Written::Updated(rows, documented) => {
            let (row, account) = *rows;
            let documents = if documented {
                crate::documents::documents_of_customer(conn, id)?
            } else {
                Vec::new()
            };
            (row, account, documents)
        }
    };
    let related = Related {
        categories: HashMap::from([(data.category.id.get(), data.category.clone())]),
        segmentations: data
            .segmentation
            .iter()
            .map(|s| (s.id.get(), s.clone()))
            .collect(),
        regions: data
            .region
            .iter()
            .map(|r| (r.id.get(), r.clone()))
            .collect(),
        users: data
            .created_by
            .iter()
            .map(|u| (u.id.get(), u.clone()))
            .collect(),
        parents: data
            .parent
            .iter()
            .map(|p| (p.id.get(), p.clone()))
            .collect(),
    };
    row.into_domain(
        &related,
        account,
        data.payment_types.clone(),
        data.contacts.clone(),
        Vec::new(),
        documents,
    )
}

/// Opens a new customer's account: no money, the customer's limit and currency. Answers
/// its row as inserted.
fn create_account(
    conn: &mut AnyConnection,
    id: i64,
    data: &CustomerData,
    now: NaiveDateTime,
) -> Result<AccountRow, Failure> {
    let limit = data.credit_limit.minor_units();
    let account = Fixed::<_, InsertAccount>::new(
        diesel::insert_into(accounts::table)
            .values((
                accounts::customer_id.eq(id),
                accounts::currency.eq(data.currency.code()),
                accounts::balance.eq(0_i64),
                accounts::credit_limit.eq(limit),
                accounts::reserved.eq(0_i64),
                accounts::updated_at.eq(now),
            ))
            .returning(<AccountRow as Selectable<Db>>::construct_selection()),
    )
    .get_result_on::<AccountRow>(conn)?;
    record_limit(
        conn,
        id,
        None,
        limit,
        (data.created_by.as_ref().map(|u| u.id.get()), None),
        now,
    )?;
    Ok(account)
}

/// Carries a customer update to its account: a changed limit (with its history row), and a
/// changed currency, which only an account without money may follow. Answers the account's
/// row as written.
fn update_account(
    conn: &mut AnyConnection,
    outbox: &Outbox<'_>,
    id: i64,
    data: &CustomerData,
    by: Option<UserId>,
    now: NaiveDateTime,
) -> Result<AccountRow, Failure> {
    let by = (by.map(UserId::get), None);
    let (mut account, set) = lock_and_set_limit(conn, outbox, id, data.credit_limit, by, now)?
        .ok_or_else(|| Failure::corrupt("customer", format!("{id} has no account")))?;
    if set {
        return Ok(account);
    }
    let currency = data.currency.code();
    if account.currency != currency {
        if account.balance != 0 || account.reserved != 0 {
            return Err(Failure::Refused(Outcome::AccountInUse));
        }
        account = diesel::update(accounts::table.find(id))
            .set((
                accounts::currency.eq(currency),
                accounts::updated_at.eq(now),
            ))
            .returning(<AccountRow as Selectable<Db>>::construct_selection())
            .get_result::<AccountRow>(conn)?;
    }
    set_locked_limit(conn, outbox, account, data.credit_limit, by, None, now)
}

/// Refuses to archive a customer whose account holds money or open reservations (its own, or
/// ones held for it on a parent's account). Reservations already past their time are expired
/// first: they no longer hold anything.
fn check_account_idle(
    conn: &mut AnyConnection,
    outbox: &Outbox<'_>,
    id: i64,
    now: NaiveDateTime,
) -> Result<(), Failure> {
    let account = lock_account(conn, id)?;
    if let Some(locked) = &account {
        expire_account(conn, outbox, locked, now)?;
    }
    let open: i64 = reservations::table
        .filter(reservations::status.eq("open"))
        .filter(reservations::expires_at.gt(now))
        .filter(
            reservations::account_id
                .eq(id)
                .or(reservations::customer_id.eq(id)),
        )
        .count()
        .get_result(conn)?;
    if open > 0 || account.is_some_and(|a| a.balance != 0) {
        return Err(Failure::Refused(Outcome::InUse));
    }
    Ok(())
}

#[async_trait]
impl CustomerRepository for Store {
    async fn list(&self, query: &CustomerQuery) -> Result<Page<Customer>, StoreError> {
        let query = query.clone();
        Ok(self
            .database()
            .read(move |conn| list_customers(conn, &query))
            .await?)
    }

    async fn search(&self, query: &SearchQuery) -> Result<Page<ScoredCustomer>, StoreError> {
        let query = query.clone();
        Ok(self
            .database()
            .read(move |conn| search_customers(conn, &query))
            .await?)
    }

    async fn get(&self, key: &CustomerKey) -> Result<Option<Customer>, StoreError> {
        let key = key.clone();
        Ok(self
            .database()
            .read(move |conn| get_customer(conn, &key))
            .await?)
    }

    async fn holder(&self, key: &CustomerKey) -> Result<Option<AccountHolder>, StoreError> {
        let key = key.clone();
        // One statement by key (every admission and payment asks it first).
        Ok(self
            .database()
            .point_read(move |conn| holder_of(conn, &key))
            .await?)
    }

    async fn ancestors(&self, id: CustomerId) -> Result<Vec<CustomerId>, StoreError> {
        Ok(self
            .database()
            .read(move |conn| ancestors_of(conn, id.get()))
            .await?)
    }

    async fn insert(&self, customer: &NewCustomer) -> Result<Customer, WriteError> {
        let customer = customer.clone();
        let terms = Terms::of(&customer.data);
        let events = self.events.clone();
        Ok(self
            .database()
            .write(move |conn| {
                check_parent(conn, &customer.data)?;
                held_text::hold_text(conn, None)?;
                let fields = CustomerFields::new(&customer.data, customer.now);
                let row: CustomerRow = Fixed::<_, InsertCustomer>::new(
                    diesel::insert_into(customers::table)
                        .values((
                            &fields,
                            customers::uuid.eq(customer.uuid.to_string()),
                            customers::date_created.eq(to_db_time(customer.now)),
                        ))
                        .returning(<CustomerRow as Selectable<Db>>::construct_selection()),
                )
                .get_result_on::<CustomerRow>(conn)?;
                let id = row.id;
                write_children(conn, id, &customer.data)?;
                write_terms(conn, id, &terms)?;
                let account = create_account(conn, id, &customer.data, to_db_time(customer.now))?;
                let outbox = Outbox::for_new_customer(&*events, CustomerId(id));
                apply_links(conn, &outbox, id, &customer.links, customer.now)?;
                let inserted = Written::Inserted(Box::new((row, account)));
                let created = read_written(conn, id, &customer.data, &customer.links, inserted)?;
                outbox.record(
                    conn,
                    EventType::CustomerCreated,
                    created.id,
                    EventObject::Customer(&created),
                    to_db_time(customer.now),
                )?;
                Ok(created)
            })
            .await?)
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
        let data = data.clone();
        let terms = Terms::of(&data);
        let links = links.clone();
        let events = self.events.clone();
        Ok(self
            .database()
            .write(move |conn| {
                let moving = moves(conn, id.get(), read, &data)?;
                let outbox = Outbox::open(conn, &*events, &[id])?;
                if moving {
                    check_no_cycle(conn, id.get(), &data)?;
                }
                check_parent(conn, &data)?;
                let fields = CustomerFields::new(&data, now);
                // On SQLite, the row's keys and words, read once for the update and the
                // substring index; none for an unknown customer (or on PostgreSQL).
                let stored = StoredKeys::read(conn, id.get())?;
                held_text::hold_text_with(conn, Some(id.get()), |_, _| {
                    Ok(stored.as_ref().and_then(StoredKeys::words))
                })?;
                // The revision is checked and moved on in the write's own statement: of two
                // writes that read the same revision, exactly one changes the row.
                let updated = update_row(conn, &fields, id.get(), read.get(), stored.as_ref())?;
                let Some((row, documented)) = updated else {
                    let exists: i64 = live()
                        .filter(customers::id.eq(id.get()))
                        .count()
                        .get_result(conn)?;
                    return if exists > 0 {
                        Err(Failure::Refused(Outcome::Stale))
                    } else {
                        Ok(None)
                    };
                };
                clear_children(conn, id.get())?;
                write_children(conn, id.get(), &data)?;
                rewrite_terms(conn, id.get(), &terms)?;
                let account = update_account(conn, &outbox, id.get(), &data, by, to_db_time(now))?;
                apply_links(conn, &outbox, id.get(), &links, now)?;
                let written = Written::Updated(Box::new((row, account)), documented);
                let updated = read_written(conn, id.get(), &data, &links, written)?;
                outbox.record(
                    conn,
                    EventType::CustomerUpdated,
                    id,
                    EventObject::Customer(&updated),
                    to_db_time(now),
                )?;
                Ok(Some(updated))
            })
            .await?)
    }

    async fn archive(
        &self,
        id: CustomerId,
        read: Option<Revision>,
        now: DateTime<Utc>,
    ) -> Result<bool, RemoveError> {
        let events = self.events.clone();
        Ok(self
            .database()
            .write(move |conn| {
                let outbox = Outbox::open(conn, &*events, &[id])?;
                if !lock_live_customer(conn, id.get(), true)? {
                    return Ok(false);
                }
                // The customer as it was: the event shows what was deleted.
                let deleted = get_customer(conn, &CustomerKey::Id(id))?
                    .ok_or_else(|| Failure::corrupt("customer", "vanished while locked"))?;
                if read.is_some_and(|revision| revision != deleted.revision) {
                    return Err(Failure::Refused(Outcome::Stale));
                }
                let children: i64 = live()
                    .filter(customers::parent_id.eq(id.get()))
                    .count()
                    .get_result(conn)?;
                if children > 0 {
                    return Err(Failure::Refused(Outcome::InUse));
                }
                check_account_idle(conn, &outbox, id.get(), to_db_time(now))?;
                held_text::hold_text(conn, Some(id.get()))?;
                diesel::update(customers::table.filter(customers::id.eq(id.get())))
                    .set(customers::archived_at.eq(Some(to_db_time(now))))
                    .execute(conn)?;
                // The account stays (its ledger is history) but leaves the account lists.
                diesel::update(accounts::table.filter(accounts::customer_id.eq(id.get())))
                    .set(accounts::live.eq(false))
                    .execute(conn)?;
                // Archived customers leave the search.
                delete_terms(conn, id.get())?;
                outbox.record(
                    conn,
                    EventType::CustomerDeleted,
                    id,
                    EventObject::Customer(&deleted),
                    to_db_time(now),
                )?;
                Ok(true)
            })
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::prefix_successor;

    #[test]
    fn successor_bounds_every_string_with_the_prefix() {
        assert_eq!(prefix_successor("abc").as_deref(), Some("abd"));
        assert_eq!(prefix_successor("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_successor("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(prefix_successor(""), None);
    }
}
