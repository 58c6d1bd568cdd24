//! Reference data repositories: categories, segmentations, payment types, regions,
//! currencies and users. Each kind has a private row type converting into its domain record.
//!
//! Deletes rely on the foreign keys: a row still pointed to by a customer or a child row
//! fails with a foreign-key violation, which becomes `RemoveError::InUse`.

use async_trait::async_trait;
use credence_domain::ids::{
    CategoryId, CustomerId, PaymentTypeId, RegionId, SegmentationId, UserId,
};
use credence_domain::listing::{Page, PageRequest, fold};
use credence_domain::ports::{RecordRepository, RemoveError, StoreError, WriteError};
use credence_domain::principal::Role;
use credence_domain::reference_data::{
    Category, CategoryDraft, Currency, CurrencyDraft, Label, LabelDraft, PaymentType,
    ROOT_CATEGORY, Region, RegionDraft, Segmentation, User, UserDraft,
};
use credence_domain::values::{CurrencyCode, Email, ExchangeRate, Reference};
use diesel::prelude::*;

use crate::Store;
use crate::database::AnyConnection;
use crate::error::Failure;
use crate::schema::{
    currencies, customer_categories, customer_segmentations, payment_types, regions, users,
};

fn reference(text: String) -> Result<Reference, Failure> {
    Reference::new(text).map_err(|e| Failure::corrupt("reference", e))
}

fn label(text: &str) -> Result<Label, Failure> {
    Label::new(text).map_err(|e| Failure::corrupt("name", e))
}

fn limits(page: PageRequest) -> (i64, i64) {
    (
        i64::from(page.max()),
        i64::try_from(page.offset()).unwrap_or(i64::MAX),
    )
}

fn total(count: i64) -> u64 {
    u64::try_from(count).unwrap_or(0)
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = customer_categories)]
pub(crate) struct CategoryRow {
    id: i64,
    reference: String,
    name: String,
    parent_id: Option<i64>,
}

impl CategoryRow {
    pub(crate) fn into_domain(self) -> Result<Category, Failure> {
        Ok(Category {
            id: CategoryId(self.id),
            reference: reference(self.reference)?,
            name: label(&self.name)?,
            parent_id: self.parent_id.map(CategoryId),
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = customer_segmentations)]
pub(crate) struct SegmentationRow {
    id: i64,
    reference: String,
    name: String,
}

impl SegmentationRow {
    pub(crate) fn into_domain(self) -> Result<Segmentation, Failure> {
        Ok(Segmentation {
            id: SegmentationId(self.id),
            reference: reference(self.reference)?,
            name: label(&self.name)?,
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = payment_types)]
pub(crate) struct PaymentTypeRow {
    id: i64,
    reference: String,
    name: String,
}

impl PaymentTypeRow {
    pub(crate) fn into_domain(self) -> Result<PaymentType, Failure> {
        Ok(PaymentType {
            id: PaymentTypeId(self.id),
            reference: reference(self.reference)?,
            name: label(&self.name)?,
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = regions)]
pub(crate) struct RegionRow {
    id: i64,
    name: String,
    parent_id: Option<i64>,
}

impl RegionRow {
    pub(crate) fn into_domain(self) -> Result<Region, Failure> {
        Ok(Region {
            id: RegionId(self.id),
            name: label(&self.name)?,
            parent_id: self.parent_id.map(RegionId),
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
pub(crate) struct UserRow {
    id: i64,
    reference: String,
    name: String,
    email: Option<String>,
    role: String,
    customer_id: Option<i64>,
}

impl UserRow {
    pub(crate) fn into_domain(self) -> Result<User, Failure> {
        Ok(User {
            id: UserId(self.id),
            reference: reference(self.reference)?,
            name: label(&self.name)?,
            email: self
                .email
                .map(|e| Email::new(&e))
                .transpose()
                .map_err(|e| Failure::corrupt("user e-mail", e))?,
            role: Role::parse(&self.role)
                .ok_or_else(|| Failure::corrupt("user role", self.role.as_str()))?,
            customer_id: self.customer_id.map(CustomerId),
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = currencies)]
struct CurrencyRow {
    code: String,
    exchange_rate: String,
    is_organization: bool,
}

impl CurrencyRow {
    fn into_domain(self) -> Result<Currency, Failure> {
        Ok(Currency {
            code: CurrencyCode::parse(&self.code)
                .map_err(|e| Failure::corrupt("currency code", e))?,
            exchange_rate: ExchangeRate::parse(&self.exchange_rate)
                .map_err(|e| Failure::corrupt("exchange rate", e))?,
            is_organization_currency: self.is_organization,
        })
    }
}

/// The id of the root category, under which parentless categories go.
fn root_category(conn: &mut AnyConnection) -> Result<i64, Failure> {
    Ok(customer_categories::table
        .filter(customer_categories::reference.eq(ROOT_CATEGORY))
        .select(customer_categories::id)
        .first(conn)?)
}

/// A category's parent as stored: the draft's, else the root (except for the root itself).
fn category_parent(
    conn: &mut AnyConnection,
    draft: &CategoryDraft,
) -> Result<Option<i64>, Failure> {
    match draft.parent_id {
        Some(parent) => Ok(Some(parent.get())),
        None if draft.reference.as_str() == ROOT_CATEGORY => Ok(None),
        None => root_category(conn).map(Some),
    }
}

fn load_category(conn: &mut AnyConnection, id: i64) -> Result<Option<Category>, Failure> {
    customer_categories::table
        .find(id)
        .select(CategoryRow::as_select())
        .first(conn)
        .optional()?
        .map(CategoryRow::into_domain)
        .transpose()
}

#[async_trait]
impl RecordRepository<Category> for Store {
    async fn list(&self, page: PageRequest) -> Result<Page<Category>, StoreError> {
        let (limit, offset) = limits(page);
        Ok(self
            .database()
            .read(move |conn| {
                let count: i64 = customer_categories::table.count().get_result(conn)?;
                let items = customer_categories::table
                    .order(customer_categories::id)
                    .limit(limit)
                    .offset(offset)
                    .select(CategoryRow::as_select())
                    .load(conn)?
                    .into_iter()
                    .map(CategoryRow::into_domain)
                    .collect::<Result<_, _>>()?;
                Ok(Page {
                    items,
                    total: total(count),
                })
            })
            .await?)
    }

    async fn get(&self, id: CategoryId) -> Result<Option<Category>, StoreError> {
        Ok(self
            .database()
            .read(move |conn| load_category(conn, id.get()))
            .await?)
    }

    async fn find_by_reference(&self, text: &str) -> Result<Option<Category>, StoreError> {
        let text = text.to_owned();
        Ok(self
            .database()
            .read(move |conn| {
                customer_categories::table
                    .filter(customer_categories::reference.eq(text))
                    .select(CategoryRow::as_select())
                    .first(conn)
                    .optional()?
                    .map(CategoryRow::into_domain)
                    .transpose()
            })
            .await?)
    }

    async fn create(&self, draft: CategoryDraft) -> Result<Category, WriteError> {
        Ok(self
            .database()
            .write(move |conn| {
                let parent = category_parent(conn, &draft)?;
                let id: i64 = diesel::insert_into(customer_categories::table)
                    .values((
                        customer_categories::reference.eq(draft.reference.as_str()),
                        customer_categories::reference_folded.eq(fold(draft.reference.as_str())),
                        customer_categories::name.eq(draft.name.as_str()),
                        customer_categories::parent_id.eq(parent),
                    ))
                    .returning(customer_categories::id)
                    .get_result(conn)?;
                load_category(conn, id)?
                    .ok_or_else(|| Failure::corrupt("category", "vanished after insert"))
            })
            .await?)
    }

    async fn update(
        &self,
        id: CategoryId,
        draft: CategoryDraft,
    ) -> Result<Option<Category>, WriteError> {
        Ok(self
            .database()
            .write(move |conn| {
                let parent = category_parent(conn, &draft)?;
                let updated = diesel::update(customer_categories::table.find(id.get()))
                    .set((
                        customer_categories::reference.eq(draft.reference.as_str()),
                        customer_categories::reference_folded.eq(fold(draft.reference.as_str())),
                        customer_categories::name.eq(draft.name.as_str()),
                        customer_categories::parent_id.eq(parent),
                    ))
                    .execute(conn)?;
                if updated == 0 {
                    return Ok(None);
                }
                load_category(conn, id.get())
            })
            .await?)
    }

    async fn delete(&self, id: CategoryId) -> Result<bool, RemoveError> {
        Ok(self
            .database()
            .write(move |conn| {
                Ok(diesel::delete(customer_categories::table.find(id.get())).execute(conn)? > 0)
            })
            .await?)
    }
}

/// Segmentations and payment types have the same shape: `(id, reference, name)`.
macro_rules! label_repository {
    ($kind:ident, $id:ident, $row:ident, $table:ident) => {
        #[async_trait]
        impl RecordRepository<$kind> for Store {
            async fn list(&self, page: PageRequest) -> Result<Page<$kind>, StoreError> {
                let (limit, offset) = limits(page);
                Ok(self
                    .database()
                    .read(move |conn| {
                        let count: i64 = $table::table.count().get_result(conn)?;
                        let items = $table::table
                            .order($table::id)
                            .limit(limit)
                            .offset(offset)
                            .select($row::as_select())
                            .load(conn)?
                            .into_iter()
                            .map($row::into_domain)
                            .collect::<Result<_, _>>()?;
                        Ok(Page {
                            items,
                            total: total(count),
                        })
                    })
                    .await?)
            }

            async fn get(&self, id: $id) -> Result<Option<$kind>, StoreError> {
                Ok(self
                    .database()
                    .read(move |conn| {
                        $table::table
                            .find(id.get())
                            .select($row::as_select())
                            .first(conn)
                            .optional()?
                            .map($row::into_domain)
                            .transpose()
                    })
                    .await?)
            }

            async fn find_by_reference(&self, text: &str) -> Result<Option<$kind>, StoreError> {
                let text = text.to_owned();
                Ok(self
                    .database()
                    .read(move |conn| {
                        $table::table
                            .filter($table::reference.eq(text))
                            .select($row::as_select())
                            .first(conn)
                            .optional()?
                            .map($row::into_domain)
                            .transpose()
                    })
                    .await?)
            }

            async fn create(&self, draft: LabelDraft) -> Result<$kind, WriteError> {
                Ok(self
                    .database()
                    .write(move |conn| {
                        diesel::insert_into($table::table)
                            .values((
                                $table::reference.eq(draft.reference.as_str()),
                                $table::name.eq(draft.name.as_str()),
                            ))
                            .returning($table::all_columns)
                            .get_result::<$row>(conn)?
                            .into_domain()
                    })
                    .await?)
            }

            async fn update(
                &self,
                id: $id,
                draft: LabelDraft,
            ) -> Result<Option<$kind>, WriteError> {
                Ok(self
                    .database()
                    .write(move |conn| {
                        diesel::update($table::table.find(id.get()))
                            .set((
                                $table::reference.eq(draft.reference.as_str()),
                                $table::name.eq(draft.name.as_str()),
                            ))
                            .returning($table::all_columns)
                            .get_result::<$row>(conn)
                            .optional()?
                            .map($row::into_domain)
                            .transpose()
                    })
                    .await?)
            }

            async fn delete(&self, id: $id) -> Result<bool, RemoveError> {
                Ok(self
                    .database()
                    .write(move |conn| {
                        Ok(diesel::delete($table::table.find(id.get())).execute(conn)? > 0)
                    })
                    .await?)
            }
        }
    };
}

label_repository!(
    Segmentation,
    SegmentationId,
    SegmentationRow,
    customer_segmentations
);
label_repository!(PaymentType, PaymentTypeId, PaymentTypeRow, payment_types);

#[async_trait]
impl RecordRepository<Region> for Store {
    async fn list(&self, page: PageRequest) -> Result<Page<Region>, StoreError> {
        let (limit, offset) = limits(page);
        Ok(self
            .database()
            .read(move |conn| {
                let count: i64 = regions::table.count().get_result(conn)?;
                let items = regions::table
                    .order(regions::id)
                    .limit(limit)
                    .offset(offset)
                    .select(RegionRow::as_select())
                    .load(conn)?
                    .into_iter()
                    .map(RegionRow::into_domain)
                    .collect::<Result<_, _>>()?;
                Ok(Page {
                    items,
                    total: total(count),
                })
            })
            .await?)
    }

    async fn get(&self, id: RegionId) -> Result<Option<Region>, StoreError> {
        Ok(self
            .database()
            .read(move |conn| {
                regions::table
                    .find(id.get())
                    .select(RegionRow::as_select())
                    .first(conn)
                    .optional()?
                    .map(RegionRow::into_domain)
                    .transpose()
            })
            .await?)
    }

    async fn find_by_reference(&self, text: &str) -> Result<Option<Region>, StoreError> {
        match text.trim().parse::<i64>() {
            Ok(id) => RecordRepository::<Region>::get(self, RegionId(id)).await,
            Err(_) => Ok(None),
        }
    }

    async fn create(&self, draft: RegionDraft) -> Result<Region, WriteError> {
        Ok(self
            .database()
            .write(move |conn| {
                diesel::insert_into(regions::table)
                    .values((
                        regions::name.eq(draft.name.as_str()),
                        regions::parent_id.eq(draft.parent_id.map(RegionId::get)),
                    ))
                    .returning(regions::all_columns)
                    .get_result::<RegionRow>(conn)?
                    .into_domain()
            })
            .await?)
    }

    async fn update(&self, id: RegionId, draft: RegionDraft) -> Result<Option<Region>, WriteError> {
        Ok(self
            .database()
            .write(move |conn| {
                diesel::update(regions::table.find(id.get()))
                    .set((
                        regions::name.eq(draft.name.as_str()),
                        regions::parent_id.eq(draft.parent_id.map(RegionId::get)),
                    ))
                    .returning(regions::all_columns)
                    .get_result::<RegionRow>(conn)
                    .optional()?
                    .map(RegionRow::into_domain)
                    .transpose()
            })
            .await?)
    }

    async fn delete(&self, id: RegionId) -> Result<bool, RemoveError> {
        Ok(self
            .database()
            .write(move |conn| Ok(diesel::delete(regions::table.find(id.get())).execute(conn)? > 0))
            .await?)
    }
}

#[async_trait]
impl RecordRepository<Currency> for Store {
    async fn list(&self, page: PageRequest) -> Result<Page<Currency>, StoreError> {
        let (limit, offset) = limits(page);
        Ok(self
            .database()
            .read(move |conn| {
                let count: i64 = currencies::table.count().get_result(conn)?;
                let items = currencies::table
                    .order(currencies::code)
                    .limit(limit)
                    .offset(offset)
                    .select(CurrencyRow::as_select())
                    .load(conn)?
                    .into_iter()
                    .map(CurrencyRow::into_domain)
                    .collect::<Result<_, _>>()?;
                Ok(Page {
                    items,
                    total: total(count),
                })
            })
            .await?)
    }

    async fn get(&self, code: CurrencyCode) -> Result<Option<Currency>, StoreError> {
        Ok(self
            .database()
            .read(move |conn| {
                currencies::table
                    .find(code.code())
                    .select(CurrencyRow::as_select())
                    .first(conn)
                    .optional()?
                    .map(CurrencyRow::into_domain)
                    .transpose()
            })
            .await?)
    }

    async fn find_by_reference(&self, text: &str) -> Result<Option<Currency>, StoreError> {
        match CurrencyCode::parse(text) {
            Ok(code) => RecordRepository::<Currency>::get(self, code).await,
            Err(_) => Ok(None),
        }
    }

    async fn create(&self, draft: CurrencyDraft) -> Result<Currency, WriteError> {
        Ok(self
            .database()
            .write(move |conn| {
                diesel::insert_into(currencies::table)
                    .values((
                        currencies::code.eq(draft.code.code()),
                        currencies::exchange_rate.eq(draft.exchange_rate.value().to_string()),
                        currencies::is_organization.eq(false),
                    ))
                    .returning(currencies::all_columns)
                    .get_result::<CurrencyRow>(conn)?
                    .into_domain()
            })
            .await?)
    }

    async fn update(
        &self,
        code: CurrencyCode,
        draft: CurrencyDraft,
    ) -> Result<Option<Currency>, WriteError> {
        Ok(self
            .database()
            .write(move |conn| {
                diesel::update(currencies::table.find(code.code()))
                    .set((
                        currencies::code.eq(draft.code.code()),
                        currencies::exchange_rate.eq(draft.exchange_rate.value().to_string()),
                    ))
                    .returning(currencies::all_columns)
                    .get_result::<CurrencyRow>(conn)
                    .optional()?
                    .map(CurrencyRow::into_domain)
                    .transpose()
            })
            .await?)
    }

    async fn delete(&self, code: CurrencyCode) -> Result<bool, RemoveError> {
        Ok(self
            .database()
            .write(move |conn| {
                Ok(diesel::delete(currencies::table.find(code.code())).execute(conn)? > 0)
            })
            .await?)
    }
}

#[async_trait]
impl RecordRepository<User> for Store {
    async fn list(&self, page: PageRequest) -> Result<Page<User>, StoreError> {
        let (limit, offset) = limits(page);
        Ok(self
            .database()
            .read(move |conn| {
                let count: i64 = users::table.count().get_result(conn)?;
                let items = users::table
                    .order(users::id)
                    .limit(limit)
                    .offset(offset)
                    .select(UserRow::as_select())
                    .load(conn)?
                    .into_iter()
                    .map(UserRow::into_domain)
                    .collect::<Result<_, _>>()?;
                Ok(Page {
                    items,
                    total: total(count),
                })
            })
            .await?)
    }

    async fn get(&self, id: UserId) -> Result<Option<User>, StoreError> {
        Ok(self
            .database()
            .read(move |conn| {
                users::table
                    .find(id.get())
                    .select(UserRow::as_select())
                    .first(conn)
                    .optional()?
                    .map(UserRow::into_domain)
                    .transpose()
            })
            .await?)
    }

    async fn find_by_reference(&self, text: &str) -> Result<Option<User>, StoreError> {
        let text = text.to_owned();
        Ok(self
            .database()
            .read(move |conn| {
                users::table
                    .filter(users::reference.eq(text))
                    .select(UserRow::as_select())
                    .first(conn)
                    .optional()?
                    .map(UserRow::into_domain)
                    .transpose()
            })
            .await?)
    }

    async fn create(&self, draft: UserDraft) -> Result<User, WriteError> {
        Ok(self
            .database()
            .write(move |conn| {
                diesel::insert_into(users::table)
                    .values((
                        users::reference.eq(draft.reference.as_str()),
                        users::name.eq(draft.name.as_str()),
                        users::email.eq(draft.email.as_ref().map(Email::as_str)),
                        users::role.eq(draft.role.as_str()),
                        users::customer_id.eq(draft.customer_id.map(CustomerId::get)),
                    ))
                    .returning(users::all_columns)
                    .get_result::<UserRow>(conn)?
                    .into_domain()
            })
            .await?)
    }

    async fn update(&self, id: UserId, draft: UserDraft) -> Result<Option<User>, WriteError> {
        Ok(self
            .database()
            .write(move |conn| {
                diesel::update(users::table.find(id.get()))
                    .set((
                        users::reference.eq(draft.reference.as_str()),
                        users::name.eq(draft.name.as_str()),
                        users::email.eq(draft.email.as_ref().map(Email::as_str)),
                        users::role.eq(draft.role.as_str()),
                        users::customer_id.eq(draft.customer_id.map(CustomerId::get)),
                    ))
                    .returning(users::all_columns)
                    .get_result::<UserRow>(conn)
                    .optional()?
                    .map(UserRow::into_domain)
                    .transpose()
            })
            .await?)
    }

    async fn delete(&self, id: UserId) -> Result<bool, RemoveError> {
        Ok(self
            .database()
            .write(move |conn| Ok(diesel::delete(users::table.find(id.get())).execute(conn)? > 0))
            .await?)
    }
}
