//! The customer use cases: list, search, get, `me`, create, update, upsert by UUID, replace,
//! delete, projects and logos.

mod errors;
mod logos;
mod projects;
mod saving;

pub use errors::{
    CreateCustomerError, DeleteCustomerError, GetCustomerError, ListCustomersError, ProjectError,
    UpdateCustomerError,
};
use errors::{Failure, SaveFailure, unknown_document};
use saving::Extras;

use std::sync::Arc;

use rust_decimal::Decimal;
use uuid::Uuid;

use crate::access::principal::{Principal, Role};
use crate::access::scope::{back_office_tree, reaches, uses_back_office};
use crate::customers::CustomerData;
use crate::customers::hierarchy::may_link;
use crate::customers::reference_data::{
    Category, Currency, PaymentType, ROOT_CATEGORY, Record, Region, Segmentation, User,
};
use crate::customers::search::{ScoredCustomer, SearchQuery};
use crate::customers::{
    Customer, CustomerChanges, CustomerKey, CustomerQuery, CustomerRule, CustomerSummary, Defaults,
    MAX_PROJECTS, OwnControl, Project, RefKey, Resolved, Revision, project_name,
};
use crate::documents::logo::{IMAGE_BOUNDS, LogoName, LogoUpload, LogoVariant};
use crate::documents::service::{Media, hide_internal, may_see};
use crate::documents::{BlobKey, DocumentLink};
use crate::field::Field;
use crate::ids::{
    CategoryId, CustomerId, PaymentTypeId, ProjectId, RegionId, SegmentationId, UserId,
};
use crate::input::InputError;
use crate::listing::Page;
use crate::ports::{
    Clock, CustomerRepository, DocumentLinks, NewCustomer, RecordRepository, RemoveError,
    StoreError, WriteError,
};
use crate::settings::Settings;
use crate::values::Reference;
use chrono::{DateTime, Utc};

/// How many times a write that keeps losing races to other writes of the same customer reads
/// it again before giving up (`412`). Each loss means another write got through, so a write
/// fails only after this many others succeeded while it was trying.
const WRITE_ATTEMPTS: usize = 32;

/// The outcome of an upsert: the customer, and whether it was created (201) or updated (200).
#[derive(Debug, Clone, PartialEq)]
pub struct Saved {
    /// The customer as stored.
    pub customer: Customer,
    /// `true` when the call created it.
    pub created: bool,
}

/// The reference-data ports a customer's id-valued fields are resolved through.
#[derive(Clone)]
pub struct ReferencePorts {
    /// Customer categories.
    pub categories: Arc<dyn RecordRepository<Category>>,
    /// Segmentations.
    pub segmentations: Arc<dyn RecordRepository<Segmentation>>,
    /// Payment types.
    pub payment_types: Arc<dyn RecordRepository<PaymentType>>,
    /// Regions.
    pub regions: Arc<dyn RecordRepository<Region>>,
    /// Configured currencies.
    pub currencies: Arc<dyn RecordRepository<Currency>>,
    /// Users.
    pub users: Arc<dyn RecordRepository<User>>,
}

impl std::fmt::Debug for ReferencePorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReferencePorts").finish_non_exhaustive()
    }
}

/// Customers as the back office sees them.
#[derive(Clone)]
pub struct CustomerService {
    customers: Arc<dyn CustomerRepository>,
    refs: ReferencePorts,
    clock: Arc<dyn Clock>,
    settings: Settings,
    media: Media,
}

impl std::fmt::Debug for CustomerService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomerService")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl CustomerService {
    /// Wires the service.
    #[must_use]
    pub fn new(
        customers: Arc<dyn CustomerRepository>,
        refs: ReferencePorts,
        clock: Arc<dyn Clock>,
        settings: Settings,
        media: Media,
    ) -> Self {
        Self {
            customers,
            refs,
            clock,
            settings,
            media,
        }
    }

    /// The organization settings (the HTTP adapter shows `organization`).
    #[must_use]
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// One page of customers.
    ///
    /// # Errors
    /// [`ListCustomersError`] when the store fails.
    pub async fn list(
        &self,
        principal: &Principal,
        query: &CustomerQuery,
    ) -> Result<Page<Customer>, ListCustomersError> {
        let mut query = query.clone();
        query.filter.within =
            back_office_tree(principal).map_err(|_| ListCustomersError::Forbidden)?;
        let mut page = self.customers.list(&query).await?;
        for customer in &mut page.items {
            hide_internal(principal, customer);
        }
        Ok(page)
    }

    /// One page of the customers a full-text search finds, best first. The same
    /// roles and scope as [`CustomerService::list`]: a reseller finds only its own tree,
    /// whatever `within` the query carried.
    ///
    /// # Errors
    /// [`ListCustomersError`] for a customer principal or when the store fails.
    pub async fn search(
        &self,
        principal: &Principal,
        query: &SearchQuery,
    ) -> Result<Page<ScoredCustomer>, ListCustomersError> {
        let mut query = query.clone();
        query.within = back_office_tree(principal).map_err(|_| ListCustomersError::Forbidden)?;
        let mut page = self.customers.search(&query).await?;
        for found in &mut page.items {
            hide_internal(principal, &mut found.customer);
        }
        Ok(page)
    }

    /// One customer, by id, UUID or reference.
    ///
    /// # Errors
    /// [`GetCustomerError::NotFound`] when no live customer has the key.
    pub async fn get(
        &self,
        principal: &Principal,
        key: &CustomerKey,
    ) -> Result<Customer, GetCustomerError> {
        if !uses_back_office(principal) {
            return Err(GetCustomerError::Forbidden);
        }
        let mut customer = self
            .find_in_scope(principal, key)
            .await?
            .ok_or_else(|| GetCustomerError::NotFound(key.clone()))?;
        hide_internal(principal, &mut customer);
        Ok(customer)
    }

    /// The caller's own customer (`me`).
    ///
    /// # Errors
    /// [`GetCustomerError::NotFound`] for a principal bound to no customer.
    pub async fn me(&self, principal: &Principal) -> Result<Customer, GetCustomerError> {
        let key = principal
            .customer_id()
            .map(CustomerKey::Id)
            .ok_or_else(|| GetCustomerError::NotFound(CustomerKey::Reference("me".into())))?;
        let mut customer = self
            .customers
            .get(&key)
            .await?
            .ok_or(GetCustomerError::NotFound(key))?;
        hide_internal(principal, &mut customer);
        Ok(customer)
    }

    /// Creates a customer (`POST /customers`).
    ///
    /// # Errors
    /// [`CreateCustomerError`] for bad input or a taken reference.
    pub async fn create(
        &self,
        principal: &Principal,
        input: CustomerChanges,
    ) -> Result<Customer, CreateCustomerError> {
        if !uses_back_office(principal) {
            return Err(CreateCustomerError::Forbidden);
        }
        let mut input = admit_input(principal, input);
        let extras = Extras::take(&mut input);
        let data = self.build(principal, input, None, false).await?;
        Ok(self
            .insert_new(principal, Uuid::new_v4(), data, extras)
            .await?)
    }

    /// Updates the fields the client sent (`POST|PATCH /customers/{id}`). With `expected`
    /// (the revision the client read), only while the customer is still at it.
    ///
    /// # Errors
    /// [`UpdateCustomerError`] for a missing customer, bad input or a taken reference;
    /// [`UpdateCustomerError::Changed`] when the customer is no longer at `expected`.
    pub async fn update(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        input: CustomerChanges,
        expected: Option<Revision>,
    ) -> Result<Customer, UpdateCustomerError> {
        if !uses_back_office(principal) {
            return Err(UpdateCustomerError::Forbidden);
        }
        let input = admit_input(principal, input);
        let current = self
            .find_in_scope(principal, key)
            .await?
            .ok_or_else(|| UpdateCustomerError::NotFound(key.clone()))?;
        self.save_over(principal, current, input, false, expected)
            .await
    }

    /// Creates the customer with this reference, or updates it (`POST /customers/reference/{ref}`).
    /// A creation that loses a race to another one is retried as an update. With `expected`,
    /// only an update of the customer still at that revision.
    ///
    /// # Errors
    /// [`UpdateCustomerError`] for bad input; [`UpdateCustomerError::Changed`] when
    /// `expected` is given and the customer is absent or at another revision.
    pub async fn upsert(
        &self,
        principal: &Principal,
        reference: &str,
        mut input: CustomerChanges,
        expected: Option<Revision>,
    ) -> Result<Saved, UpdateCustomerError> {
        if !uses_back_office(principal) {
            return Err(UpdateCustomerError::Forbidden);
        }
        input.reference = Field::Value(
            Reference::new(reference).map_err(|e| InputError::from(CustomerRule::Reference(e)))?,
        );
        let input = admit_input(principal, input);
        let key = CustomerKey::Reference(reference.to_owned());
        for _ in 0..3 {
            if let Some(current) = self.customers.get(&key).await? {
                // Another tenant's reference: the caller may neither see nor take it.
                if !reaches(self.customers.as_ref(), principal, current.id).await? {
                    return Err(UpdateCustomerError::DuplicateReference);
                }
                let customer = self
                    .save_over(principal, current, input.clone(), false, expected)
                    .await?;
                return Ok(Saved {
                    customer,
                    created: false,
                });
            }
            if expected.is_some() {
                return Err(UpdateCustomerError::Changed);
            }
            let mut attempt = input.clone();
            let extras = Extras::take(&mut attempt);
            let data = self.build(principal, attempt, None, false).await?;
            match self
                .insert_new(principal, Uuid::new_v4(), data, extras)
                .await
            {
                Ok(customer) => {
                    return Ok(Saved {
                        customer,
                        created: true,
                    });
                }
                // Someone created it between our read and our insert: update theirs.
                Err(SaveFailure::Write(WriteError::DuplicateReference)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(UpdateCustomerError::DuplicateReference)
    }

    /// Replaces the whole customer (`PUT /customers/{id|uuid}`): omitted optional fields are
    /// reset, except `creditLimit`, which stays as it is unless named. An unknown UUID creates
    /// the customer with that UUID.
    ///
    /// # Errors
    /// [`UpdateCustomerError`]: an unknown numeric id is `NotFound`; with `expected`, a
    /// customer absent or at another revision is [`UpdateCustomerError::Changed`].
    pub async fn replace(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        input: CustomerChanges,
        expected: Option<Revision>,
    ) -> Result<Saved, UpdateCustomerError> {
        if !uses_back_office(principal) {
            return Err(UpdateCustomerError::Forbidden);
        }
        let mut input = admit_input(principal, input);
        if let Some(current) = self.customers.get(key).await? {
            if !reaches(self.customers.as_ref(), principal, current.id).await? {
                return Err(UpdateCustomerError::NotFound(key.clone()));
            }
            let customer = self
                .save_over(principal, current, input, true, expected)
                .await?;
            return Ok(Saved {
                customer,
                created: false,
            });
        }
        let CustomerKey::Uuid(uuid) = key else {
            return Err(UpdateCustomerError::NotFound(key.clone()));
        };
        if expected.is_some() {
            return Err(UpdateCustomerError::Changed);
        }
        let extras = Extras::take(&mut input);
        let data = self.build(principal, input, None, false).await?;
        let customer = self.insert_new(principal, *uuid, data, extras).await?;
        Ok(Saved {
            customer,
            created: true,
        })
    }

    /// Archives a customer (`DELETE`): it leaves the API and its reference becomes free.
    ///
    /// # Errors
    /// [`DeleteCustomerError::HasSubCustomers`] while live sub-customers exist;
    /// [`DeleteCustomerError::Changed`] when `expected` is given and the customer is no
    /// longer at it.
    pub async fn delete(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        expected: Option<Revision>,
    ) -> Result<(), DeleteCustomerError> {
        if !uses_back_office(principal) {
            return Err(DeleteCustomerError::Forbidden);
        }
        let not_found = || DeleteCustomerError::NotFound(key.clone());
        let customer = self
            .find_in_scope(principal, key)
            .await?
            .ok_or_else(not_found)?;
        // A reseller manages the customers below it, not its own account's existence.
        if principal.customer_id() == Some(customer.id) && !principal.is_admin() {
            return Err(DeleteCustomerError::Forbidden);
        }
        if expected.is_some_and(|revision| revision != customer.revision) {
            return Err(DeleteCustomerError::Changed);
        }
        match self
            .customers
            .archive(customer.id, expected, self.clock.now())
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(not_found()),
            Err(RemoveError::InUse) => Err(DeleteCustomerError::HasSubCustomers),
            Err(RemoveError::Stale) => Err(DeleteCustomerError::Changed),
            Err(RemoveError::Store(e)) => Err(e.into()),
        }
    }

    /// The live customer a key names, if the caller may reach it: outside its scope a
    /// customer does not exist (`404`, exactly as if absent).
    async fn find_in_scope(
        &self,
        principal: &Principal,
        key: &CustomerKey,
    ) -> Result<Option<Customer>, StoreError> {
        let Some(customer) = self.customers.get(key).await? else {
            return Ok(None);
        };
        Ok(reaches(self.customers.as_ref(), principal, customer.id)
            .await?
            .then_some(customer))
    }

    /// Validates a write's `documents` entries: uploaded documents must exist and be visible
    /// to the caller; links become new documents.
    async fn links(
        &self,
        principal: &Principal,
        links: Vec<DocumentLink>,
        now: DateTime<Utc>,
    ) -> Result<DocumentLinks, SaveFailure> {
        let mut out = DocumentLinks {
            existing: Vec::new(),
            external: Vec::new(),
            max_per_customer: self.media.limits.max_per_customer,
        };
        for link in links {
            match link {
                DocumentLink::Existing(uuid) => {
                    let visible = match self.media.documents.get(uuid).await? {
                        Some(document) => {
                            may_see(
                                self.customers.as_ref(),
                                self.media.documents.as_ref(),
                                principal,
                                &document,
                            )
                            .await?
                        }
                        None => false,
                    };
                    if !visible {
                        return Err(unknown_document(uuid).into());
                    }
                    if !out.existing.contains(&uuid) {
                        out.existing.push(uuid);
                    }
                }
                DocumentLink::External(link) => {
                    out.external
                        .push(link.into_document(Uuid::new_v4(), principal.user_id(), now));
                }
            }
        }
        Ok(out)
    }

    /// Builds a customer's data from validated input. `existing` is the stored customer for
    /// an update or a replacement; `partial` says absent fields keep its values (update) rather
    /// than take their defaults (creation, replacement).
    async fn build(
        &self,
        principal: &Principal,
        mut input: CustomerChanges,
        existing: Option<&Customer>,
        partial: bool,
    ) -> Result<crate::customers::CustomerData, Failure> {
        let self_id = existing.map(|c| c.id);
        let reseller_root = match (principal.role(), principal.customer_id()) {
            (Role::Reseller, Some(own)) => Some(own),
            _ => None,
        };
        let moves_own = reseller_root.is_some() && self_id == reseller_root;
        if let Some(own) = reseller_root {
            if moves_own && (input.parent.is_present() || input.is_sub_customer.is_present()) {
                return Err(InputError::from(CustomerRule::ResellerMovesOwn).into());
            }
            // A reseller's customers hang below it: new ones under the reseller itself,
            // replaced ones where they were, unless it names another parent in its tree.
            if !moves_own && !input.parent.is_present() {
                let parent = existing.map_or(Some(own), |c| c.data.parent.as_ref().map(|p| p.id));
                if let Some(parent) = parent {
                    input.parent = Field::Value(RefKey::Id(parent.get()));
                }
            }
        }
        let named: Vec<OwnControl> = OwnControl::ALL
            .into_iter()
            .filter(|control| control.named_in(&input))
            .collect();
        let resolved = self.resolve(principal, &input, self_id).await?;
        let base = existing.filter(|_| partial);
        let defaults = match base {
            // An update keeps what is stored, so the stored values are its defaults.
            Some(current) => Defaults {
                category: current.data.category.clone(),
                currency: current.data.currency,
                created_by: current.data.created_by.clone(),
                credit_limit: current.data.credit_limit.amount(),
            },
            None => {
                let mut defaults = self.defaults(principal).await?;
                // A replacement resets what it omits, except the credit limit and its
                // currency: money changes only when the client names it.
                if let Some(current) = existing {
                    defaults.credit_limit = current.data.credit_limit.amount();
                    defaults.currency = current.data.currency;
                }
                defaults
            }
        };
        let mut data = input.into_data(resolved, base.map(|c| &c.data), &defaults)?;
        if let Some(current) = existing.filter(|_| moves_own) {
            for control in OwnControl::ALL {
                if control.keep(&mut data, &current.data) && named.contains(&control) {
                    return Err(InputError::from(CustomerRule::ResellerControlsOwn(control)).into());
                }
            }
        }
        self.check_limit_raise(existing, &data).await?;
        if moves_own {
            data.parent = existing.and_then(|c| c.data.parent.clone());
        } else if reseller_root.is_some() && data.parent.is_none() {
            return Err(InputError::from(CustomerRule::OutsideReseller).into());
        }
        Ok(data)
    }

    /// With four-eyes limit changes on, a customer write may not raise the credit limit above
    /// the threshold (a new customer's counts as a raise from nothing): that raise is asked
    /// for on the account's limit route, where it waits for another admin.
    async fn check_limit_raise(
        &self,
        existing: Option<&Customer>,
        data: &crate::customers::CustomerData,
    ) -> Result<(), Failure> {
        let Some(above) = self.settings.credit_limit_approval_above else {
            return Ok(());
        };
        let limit = data.credit_limit;
        let raises = existing.is_none_or(|c| {
            let before = c.data.credit_limit;
            before.currency() != limit.currency() || limit.minor_units() > before.minor_units()
        });
        if !raises {
            return Ok(());
        }
        let code = limit.currency();
        let rate = self
            .refs
            .currencies
            .get(code)
            .await?
            .ok_or_else(|| InputError::CurrencyNotConfigured(code.code().to_owned()))?
            .exchange_rate
            .value();
        if crate::credit::approvals::needs_approval(limit, rate, above) {
            return Err(InputError::from(CustomerRule::LimitNeedsApproval).into());
        }
        Ok(())
    }

    async fn defaults(&self, principal: &Principal) -> Result<Defaults, Failure> {
        let category = self
            .refs
            .categories
            .find_by_reference(ROOT_CATEGORY)
            .await?
            .ok_or_else(|| {
                StoreError::Unexpected("the root customer category is missing".into())
            })?;
        let created_by = match principal.user_id() {
            Some(id) => self.refs.users.get(id).await?,
            None => None,
        };
        Ok(Defaults {
            category,
            currency: self.settings.currency,
            created_by,
            credit_limit: Decimal::ZERO,
        })
    }

    async fn resolve(
        &self,
        principal: &Principal,
        input: &CustomerChanges,
        self_id: Option<CustomerId>,
    ) -> Result<Resolved, Failure> {
        let refs = &self.refs;
        let parent = match &input.parent {
            Field::Value(key) => Field::Value(self.resolve_parent(principal, key, self_id).await?),
            Field::Null => Field::Null,
            Field::Absent => Field::Absent,
        };
        let payment_types = match &input.payment_types {
            Field::Value(keys) => {
                let mut types = Vec::with_capacity(keys.len());
                for key in keys {
                    let found = lookup(refs.payment_types.as_ref(), key, PaymentTypeId).await?;
                    if !types.iter().any(|t: &PaymentType| t.id == found.id) {
                        types.push(found);
                    }
                }
                Field::Value(types)
            }
            Field::Null => Field::Null,
            Field::Absent => Field::Absent,
        };
        let currency_configured = match input.requested_currency() {
            Some(code) => refs.currencies.get(code).await?.is_some(),
            None => true,
        };
        Ok(Resolved {
            category: resolve_field(refs.categories.as_ref(), &input.category, CategoryId).await?,
            parent,
            segmentation: resolve_field(
                refs.segmentations.as_ref(),
                &input.segmentation,
                SegmentationId,
            )
            .await?,
            user: resolve_field(refs.users.as_ref(), &input.user, UserId).await?,
            region: resolve_field(refs.regions.as_ref(), &input.region, RegionId).await?,
            payment_types,
            currency_configured,
        })
    }

    async fn resolve_parent(
        &self,
        principal: &Principal,
        key: &RefKey,
        self_id: Option<CustomerId>,
    ) -> Result<CustomerSummary, Failure> {
        let customer_key = match key {
            RefKey::Id(id) => CustomerKey::Id(CustomerId(*id)),
            RefKey::Reference(r) => CustomerKey::Reference(r.clone()),
        };
        let parent = self
            .find_in_scope(principal, &customer_key)
            .await?
            .ok_or_else(|| InputError::NotFound {
                noun: "parent customer",
                key: key.to_string(),
            })?;
        if let Some(child) = self_id {
            let ancestors = if child == parent.id {
                Vec::new()
            } else {
                self.customers.ancestors(parent.id).await?
            };
            if !may_link(&child, &parent.id, &ancestors) {
                return Err(InputError::OwnAncestor("customer").into());
            }
        }
        Ok(parent.data.summary(parent.id))
    }
}

async fn resolve_field<R: Record>(
    repo: &dyn RecordRepository<R>,
    key: &Field<RefKey>,
    to_id: impl Fn(i64) -> R::Id,
) -> Result<Field<R>, Failure> {
    Ok(match key {
        Field::Value(key) => Field::Value(lookup(repo, key, to_id).await?),
        Field::Null => Field::Null,
        Field::Absent => Field::Absent,
    })
}

async fn lookup<R: Record>(
    repo: &dyn RecordRepository<R>,
    key: &RefKey,
    to_id: impl Fn(i64) -> R::Id,
) -> Result<R, Failure> {
    let found = match key {
        RefKey::Id(id) => repo.get(to_id(*id)).await?,
        RefKey::Reference(reference) => repo.find_by_reference(reference).await?,
    };
    found.ok_or_else(|| {
        InputError::NotFound {
            noun: R::NOUN,
            key: key.to_string(),
        }
        .into()
    })
}

/// Whether the caller may name a customer's creator (`user`): admins only. For anyone else
/// the field is ignored, as an unknown field is; adapters ask this before they even read it.
#[must_use]
pub fn may_name_creator(principal: &Principal) -> bool {
    principal.is_admin()
}

/// Drops what the caller may not set (see [`may_name_creator`]).
fn admit_input(principal: &Principal, mut input: CustomerChanges) -> CustomerChanges {
    if !may_name_creator(principal) {
        input.user = Field::Absent;
    }
    input
}
