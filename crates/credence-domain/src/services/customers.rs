//! The customer use cases of seed 002 (with 003's `me` and 004's PUT-upsert).

use std::sync::Arc;

use rust_decimal::Decimal;
use uuid::Uuid;

use super::documents::{Media, may_see};
use super::scope::{reaches, uses_back_office};
use crate::customer::CustomerData;
use crate::customer::{
    Customer, CustomerInput, CustomerKey, CustomerQuery, CustomerSummary, Defaults, MAX_PROJECTS,
    Project, RefKey, Resolved, ValidatedInput, project_name,
};
use crate::document::{BlobKey, DocumentLink};
use crate::field::Field;
use crate::hierarchy::may_link;
use crate::ids::{
    CategoryId, CustomerId, PaymentTypeId, ProjectId, RegionId, SegmentationId, UserId,
};
use crate::input::InputError;
use crate::listing::Page;
use crate::logo::{IMAGE_BOUNDS, LogoName, LogoUpload, LogoVariant};
use crate::ports::{
    Clock, CustomerRepository, DocumentLinks, NewCustomer, RecordRepository, RemoveError,
    StoreError, WriteError,
};
use crate::principal::{Principal, Role};
use crate::reference_data::{
    Category, Currency, PaymentType, ROOT_CATEGORY, Record, Region, Segmentation, User,
};
use crate::search::{ScoredCustomer, SearchQuery};
use crate::settings::Settings;
use chrono::{DateTime, Utc};

/// Why a list failed.
#[derive(Debug, thiserror::Error)]
pub enum ListCustomersError {
    /// The caller's role may not use this function: `403`.
    #[error("{}", super::FORBIDDEN)]
    Forbidden,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a show failed.
#[derive(Debug, thiserror::Error)]
pub enum GetCustomerError {
    /// The caller's role may not use this function: `403`.
    #[error("{}", super::FORBIDDEN)]
    Forbidden,
    /// `404 not_found`, naming the id or reference as given.
    #[error("The customer with the id {0} doesn't exist.")]
    NotFound(CustomerKey),
    /// `404 not_found`: the customer has no logo file of this name.
    #[error("The logo {0} doesn't exist.")]
    LogoNotFound(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a creation failed.
#[derive(Debug, thiserror::Error)]
pub enum CreateCustomerError {
    /// The caller's role may not use this function: `403`.
    #[error("{}", super::FORBIDDEN)]
    Forbidden,
    /// Bad input (400 or 404, see [`InputError`]).
    #[error(transparent)]
    Input(#[from] InputError),
    /// A live customer has the reference: `400 not_unique`.
    #[error("reference already used")]
    DuplicateReference,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an update, an upsert or a replacement failed.
#[derive(Debug, thiserror::Error)]
pub enum UpdateCustomerError {
    /// The caller's role may not use this function: `403`.
    #[error("{}", super::FORBIDDEN)]
    Forbidden,
    /// The customer to update does not exist.
    #[error("The customer with the id {0} doesn't exist.")]
    NotFound(CustomerKey),
    /// Bad input (400 or 404, see [`InputError`]).
    #[error(transparent)]
    Input(#[from] InputError),
    /// Another live customer has the reference: `400 not_unique`.
    #[error("reference already used")]
    DuplicateReference,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a delete failed.
#[derive(Debug, thiserror::Error)]
pub enum DeleteCustomerError {
    /// The caller's role may not use this function: `403`.
    #[error("{}", super::FORBIDDEN)]
    Forbidden,
    /// The customer does not exist.
    #[error("The customer with the id {0} doesn't exist.")]
    NotFound(CustomerKey),
    /// Live sub-customers still hang below it: `400 delete_failed`.
    #[error("Failed to delete instance.")]
    HasSubCustomers,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a project operation (`/customers/{id}/projects...`) failed.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// The caller's role may not use this function: `403`.
    #[error("{}", super::FORBIDDEN)]
    Forbidden,
    /// The customer does not exist, or is outside the caller's scope: `404`.
    #[error("The customer with the id {0} doesn't exist.")]
    CustomerNotFound(CustomerKey),
    /// The customer has no project with this id: `404`.
    #[error("The project with the id {0} doesn't exist.")]
    ProjectNotFound(ProjectId),
    /// Bad input: a blank or long name, or one project too many.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The customer's reference was taken by a concurrent write: `400 not_unique`.
    #[error("reference already used")]
    DuplicateReference,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<WriteError> for ProjectError {
    fn from(e: WriteError) -> Self {
        match e {
            // The customer row is written back unchanged: its references were valid a moment
            // ago, so these only happen when a concurrent write changed them.
            WriteError::DuplicateReference => Self::DuplicateReference,
            WriteError::DanglingReference => Self::Input(dangling()),
            WriteError::AccountInUse => Self::Input(currency_locked()),
            WriteError::TooManyDocuments => Self::Input(too_many_documents()),
            WriteError::UnknownDocument(uuid) => Self::Input(unknown_document(uuid)),
            WriteError::Store(e) => Self::Store(e),
        }
    }
}

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

/// Input errors and store failures, before they become an operation's own error.
enum Failure {
    Input(InputError),
    Store(StoreError),
}

impl From<InputError> for Failure {
    fn from(e: InputError) -> Self {
        Self::Input(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<Failure> for CreateCustomerError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Input(e) => Self::Input(e),
            Failure::Store(e) => Self::Store(e),
        }
    }
}

impl From<Failure> for UpdateCustomerError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Input(e) => Self::Input(e),
            Failure::Store(e) => Self::Store(e),
        }
    }
}

fn currency_locked() -> InputError {
    InputError::invalid(
        "currency",
        "The currency cannot change while the account holds a balance or reservations.",
    )
}

fn too_many_documents() -> InputError {
    InputError::invalid(
        "documents",
        "The customer cannot hold more documents than the configured limit.",
    )
}

fn unknown_document(uuid: Uuid) -> InputError {
    InputError::NotFound {
        noun: "document",
        key: uuid.to_string(),
    }
}

fn dangling() -> InputError {
    InputError::invalid(
        "customer",
        "A row this customer refers to was deleted meanwhile; please retry.",
    )
}

impl From<WriteError> for CreateCustomerError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::DuplicateReference => Self::DuplicateReference,
            WriteError::DanglingReference => Self::Input(dangling()),
            WriteError::AccountInUse => Self::Input(currency_locked()),
            WriteError::TooManyDocuments => Self::Input(too_many_documents()),
            WriteError::UnknownDocument(uuid) => Self::Input(unknown_document(uuid)),
            WriteError::Store(e) => Self::Store(e),
        }
    }
}

impl From<WriteError> for UpdateCustomerError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::DuplicateReference => Self::DuplicateReference,
            WriteError::DanglingReference => Self::Input(dangling()),
            WriteError::AccountInUse => Self::Input(currency_locked()),
            WriteError::TooManyDocuments => Self::Input(too_many_documents()),
            WriteError::UnknownDocument(uuid) => Self::Input(unknown_document(uuid)),
            WriteError::Store(e) => Self::Store(e),
        }
    }
}

/// What a write carries besides the customer's fields: a new logo, documents to attach.
struct Extras {
    logo: Option<LogoUpload>,
    links: Vec<DocumentLink>,
}

impl Extras {
    fn take(input: &mut ValidatedInput) -> Self {
        Self {
            logo: input.logo.take(),
            links: std::mem::take(&mut input.documents),
        }
    }
}

/// Why a customer write failed, before it becomes an operation's own error.
enum SaveFailure {
    Input(InputError),
    Write(WriteError),
}

impl From<InputError> for SaveFailure {
    fn from(e: InputError) -> Self {
        Self::Input(e)
    }
}

impl From<StoreError> for SaveFailure {
    fn from(e: StoreError) -> Self {
        Self::Write(WriteError::Store(e))
    }
}

impl From<WriteError> for SaveFailure {
    fn from(e: WriteError) -> Self {
        Self::Write(e)
    }
}

impl From<SaveFailure> for CreateCustomerError {
    fn from(f: SaveFailure) -> Self {
        match f {
            SaveFailure::Input(e) => Self::Input(e),
            SaveFailure::Write(e) => e.into(),
        }
    }
}

impl From<SaveFailure> for UpdateCustomerError {
    fn from(f: SaveFailure) -> Self {
        match f {
            SaveFailure::Input(e) => Self::Input(e),
            SaveFailure::Write(e) => e.into(),
        }
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
        match principal.role() {
            Role::Admin => {}
            Role::Reseller => {
                query.filter.within =
                    Some(own_customer(principal).ok_or(ListCustomersError::Forbidden)?)
            }
            Role::Customer => return Err(ListCustomersError::Forbidden),
        }
        Ok(self.customers.list(&query).await?)
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
        match principal.role() {
            Role::Admin => {}
            Role::Reseller => {
                query.within = Some(own_customer(principal).ok_or(ListCustomersError::Forbidden)?)
            }
            Role::Customer => return Err(ListCustomersError::Forbidden),
        }
        Ok(self.customers.search(&query).await?)
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
        self.find_in_scope(principal, key)
            .await?
            .ok_or_else(|| GetCustomerError::NotFound(key.clone()))
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
        // Internal documents are for the organization, not for the customer they are about.
        if principal.role() == Role::Customer {
            customer.documents.retain(|d| !d.internal);
        }
        Ok(customer)
    }

    /// Creates a customer (`POST /customers`).
    ///
    /// # Errors
    /// [`CreateCustomerError`] for bad input or a taken reference.
    pub async fn create(
        &self,
        principal: &Principal,
        input: CustomerInput,
    ) -> Result<Customer, CreateCustomerError> {
        if !uses_back_office(principal) {
            return Err(CreateCustomerError::Forbidden);
        }
        let mut input = self.admit_input(principal, input)?;
        let extras = Extras::take(&mut input);
        let data = self.build(principal, input, None, false).await?;
        Ok(self
            .insert_new(principal, Uuid::new_v4(), data, extras)
            .await?)
    }

    /// Updates the fields the client sent (`POST|PATCH /customers/{id}`).
    ///
    /// # Errors
    /// [`UpdateCustomerError`] for a missing customer, bad input or a taken reference.
    pub async fn update(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        input: CustomerInput,
    ) -> Result<Customer, UpdateCustomerError> {
        if !uses_back_office(principal) {
            return Err(UpdateCustomerError::Forbidden);
        }
        let input = self.admit_input(principal, input)?;
        let current = self
            .find_in_scope(principal, key)
            .await?
            .ok_or_else(|| UpdateCustomerError::NotFound(key.clone()))?;
        self.save_over(principal, &current, input, false).await
    }

    /// Creates the customer with this reference, or updates it (`POST /customers/reference/{ref}`).
    /// A creation that loses a race to another one is retried as an update.
    ///
    /// # Errors
    /// [`UpdateCustomerError`] for bad input.
    pub async fn upsert(
        &self,
        principal: &Principal,
        reference: &str,
        mut input: CustomerInput,
    ) -> Result<Saved, UpdateCustomerError> {
        if !uses_back_office(principal) {
            return Err(UpdateCustomerError::Forbidden);
        }
        input.reference = Field::Value(reference.to_owned());
        let input = self.admit_input(principal, input)?;
        let key = CustomerKey::Reference(reference.to_owned());
        for _ in 0..3 {
            if let Some(current) = self.customers.get(&key).await? {
                // Another tenant's reference: the caller may neither see nor take it.
                if !reaches(self.customers.as_ref(), principal, current.id).await? {
                    return Err(UpdateCustomerError::DuplicateReference);
                }
                let customer = self
                    .save_over(principal, &current, input.clone(), false)
                    .await?;
                return Ok(Saved {
                    customer,
                    created: false,
                });
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

    /// Replaces the whole customer (`PUT /customers/{id|uuid}`, seed 004): omitted optional
    /// fields are reset, except `creditLimit`, which stays as it is unless named. An unknown UUID creates the customer with that UUID.
    ///
    /// # Errors
    /// [`UpdateCustomerError`]: an unknown numeric id is `NotFound`.
    pub async fn replace(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        input: CustomerInput,
    ) -> Result<Saved, UpdateCustomerError> {
        if !uses_back_office(principal) {
            return Err(UpdateCustomerError::Forbidden);
        }
        let mut input = self.admit_input(principal, input)?;
        if let Some(current) = self.customers.get(key).await? {
            if !reaches(self.customers.as_ref(), principal, current.id).await? {
                return Err(UpdateCustomerError::NotFound(key.clone()));
            }
            let customer = self.save_over(principal, &current, input, true).await?;
            return Ok(Saved {
                customer,
                created: false,
            });
        }
        let CustomerKey::Uuid(uuid) = key else {
            return Err(UpdateCustomerError::NotFound(key.clone()));
        };
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
    /// [`DeleteCustomerError::HasSubCustomers`] while live sub-customers exist.
    pub async fn delete(
        &self,
        principal: &Principal,
        key: &CustomerKey,
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
        match self.customers.archive(customer.id, self.clock.now()).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(not_found()),
            Err(RemoveError::InUse) => Err(DeleteCustomerError::HasSubCustomers),
            Err(RemoveError::Store(e)) => Err(e.into()),
        }
    }

    /// A customer's projects (`GET /customers/{id}/projects`), in order.
    ///
    /// # Errors
    /// [`ProjectError::CustomerNotFound`] outside the caller's scope.
    pub async fn projects(
        &self,
        principal: &Principal,
        key: &CustomerKey,
    ) -> Result<Vec<Project>, ProjectError> {
        Ok(self.project_owner(principal, key).await?.data.projects)
    }

    /// Adds a project at the end of the customer's list (`POST /customers/{id}/projects`).
    ///
    /// # Errors
    /// [`ProjectError::Input`] for a bad name or a full list.
    pub async fn add_project(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        name: &str,
    ) -> Result<Project, ProjectError> {
        let name = project_name(name)?;
        let mut customer = self.project_owner(principal, key).await?;
        if customer.data.projects.len() >= MAX_PROJECTS {
            return Err(InputError::invalid(
                "customerProjects",
                format!("customerProjects cannot hold more than {MAX_PROJECTS} projects."),
            )
            .into());
        }
        customer.data.projects.push(Project { id: None, name });
        let saved = self.save_projects(&customer).await?;
        // The store keeps the order, so the new project is the last one.
        saved
            .data
            .projects
            .last()
            .cloned()
            .ok_or_else(|| StoreError::Unexpected("the added project was not stored".into()).into())
    }

    /// Renames a project (`PUT /customers/{id}/projects/{pid}`); it keeps its id and place.
    ///
    /// # Errors
    /// [`ProjectError::ProjectNotFound`] when the customer has no such project.
    pub async fn rename_project(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        id: ProjectId,
        name: &str,
    ) -> Result<Project, ProjectError> {
        let name = project_name(name)?;
        let mut customer = self.project_owner(principal, key).await?;
        let project = customer
            .data
            .projects
            .iter_mut()
            .find(|p| p.id == Some(id))
            .ok_or(ProjectError::ProjectNotFound(id))?;
        project.name = name;
        let saved = self.save_projects(&customer).await?;
        saved
            .data
            .projects
            .into_iter()
            .find(|p| p.id == Some(id))
            .ok_or(ProjectError::ProjectNotFound(id))
    }

    /// Removes a project (`DELETE /customers/{id}/projects/{pid}`).
    ///
    /// # Errors
    /// [`ProjectError::ProjectNotFound`] when the customer has no such project.
    pub async fn remove_project(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        id: ProjectId,
    ) -> Result<(), ProjectError> {
        let mut customer = self.project_owner(principal, key).await?;
        let before = customer.data.projects.len();
        customer.data.projects.retain(|p| p.id != Some(id));
        if customer.data.projects.len() == before {
            return Err(ProjectError::ProjectNotFound(id));
        }
        self.save_projects(&customer).await?;
        Ok(())
    }

    /// The customer whose projects the caller works on: the same roles and scope as
    /// [`CustomerService::update`].
    async fn project_owner(
        &self,
        principal: &Principal,
        key: &CustomerKey,
    ) -> Result<Customer, ProjectError> {
        if !uses_back_office(principal) {
            return Err(ProjectError::Forbidden);
        }
        self.find_in_scope(principal, key)
            .await?
            .ok_or_else(|| ProjectError::CustomerNotFound(key.clone()))
    }

    /// Writes the customer back with its changed project list, through the ordinary
    /// `update` port, so the list changes in the customer's own transaction.
    async fn save_projects(&self, customer: &Customer) -> Result<Customer, ProjectError> {
        self.customers
            .update(
                customer.id,
                &customer.data,
                &DocumentLinks::none(),
                // The credit limit is written back unchanged: no history row to sign.
                None,
                self.clock.now(),
            )
            .await?
            .ok_or_else(|| ProjectError::CustomerNotFound(CustomerKey::Id(customer.id)))
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

    /// Validates the input and drops what the caller may not set (`userId` is for admins).
    fn admit_input(
        &self,
        principal: &Principal,
        mut input: CustomerInput,
    ) -> Result<ValidatedInput, InputError> {
        if !principal.is_admin() {
            input.user_id = Field::Absent;
        }
        input.validate()
    }

    async fn save_over(
        &self,
        principal: &Principal,
        current: &Customer,
        mut input: ValidatedInput,
        replace: bool,
    ) -> Result<Customer, UpdateCustomerError> {
        let names_creator = input.user.is_present();
        let extras = Extras::take(&mut input);
        let mut data = self
            .build(principal, input, Some(current), !replace)
            .await?;
        // A replacement resets what the client can write, not who created the customer
        // (only an admin may name another creator, with `userId`).
        if replace && !names_creator {
            data.created_by.clone_from(&current.data.created_by);
        }
        self.update_existing(principal, current, data, extras)
            .await?
            .ok_or_else(|| UpdateCustomerError::NotFound(CustomerKey::Id(current.id)))
    }

    /// Inserts a new customer with its logo and document links. The logo's renditions are
    /// stored first and dropped again if the insert fails: a crash in between leaves
    /// unreferenced bytes, never a customer whose logo has none.
    async fn insert_new(
        &self,
        principal: &Principal,
        uuid: Uuid,
        mut data: CustomerData,
        extras: Extras,
    ) -> Result<Customer, SaveFailure> {
        let now = self.clock.now();
        let links = self.links(principal, extras.links, now).await?;
        let logo = self.store_logo(uuid, extras.logo, now).await?;
        if logo.is_some() {
            data.logo.clone_from(&logo);
        }
        let new = NewCustomer {
            uuid,
            data,
            now,
            links,
        };
        match self.customers.insert(&new).await {
            Ok(customer) => Ok(customer),
            Err(e) => {
                self.drop_logo(uuid, logo.as_ref()).await;
                Err(e.into())
            }
        }
    }

    /// Writes an existing customer's new data, logo and links, then drops the renditions of
    /// a logo the write replaced.
    async fn update_existing(
        &self,
        principal: &Principal,
        current: &Customer,
        mut data: CustomerData,
        extras: Extras,
    ) -> Result<Option<Customer>, SaveFailure> {
        let now = self.clock.now();
        let links = self.links(principal, extras.links, now).await?;
        let logo = self.store_logo(current.uuid, extras.logo, now).await?;
        if logo.is_some() {
            data.logo.clone_from(&logo);
        }
        match self
            .customers
            .update(current.id, &data, &links, principal.user_id(), now)
            .await
        {
            Ok(Some(customer)) => {
                if logo.is_some() && current.data.logo != logo {
                    self.drop_logo(current.uuid, current.data.logo.as_ref())
                        .await;
                }
                Ok(Some(customer))
            }
            Ok(None) => {
                self.drop_logo(current.uuid, logo.as_ref()).await;
                Ok(None)
            }
            Err(e) => {
                self.drop_logo(current.uuid, logo.as_ref()).await;
                Err(e.into())
            }
        }
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

    /// Decodes an uploaded logo within bounds, renders its `small_` and `medium_` copies and
    /// stores all three; returns the name they share.
    async fn store_logo(
        &self,
        customer: Uuid,
        logo: Option<LogoUpload>,
        now: DateTime<Utc>,
    ) -> Result<Option<LogoName>, SaveFailure> {
        let Some(logo) = logo else {
            return Ok(None);
        };
        let boxes: Vec<u32> = LogoVariant::ALL
            .iter()
            .filter_map(|v| v.bounding_box())
            .collect();
        let rendered = self
            .media
            .images
            .render(&logo.bytes, logo.kind, IMAGE_BOUNDS, &boxes)
            .await
            .map_err(InputError::from)?;
        if rendered.len() != boxes.len() {
            return Err(StoreError::Unexpected("the image renderer skipped a size".into()).into());
        }
        let nonce = Uuid::new_v4().as_fields().0;
        let name = LogoName::new(now.timestamp_millis(), nonce, &logo);
        let mut renditions = rendered.into_iter();
        for variant in LogoVariant::ALL {
            let bytes = match variant.bounding_box() {
                None => logo.bytes.clone(),
                Some(_) => renditions.next().unwrap_or_default(),
            };
            let key = BlobKey::logo(customer, &name.file(variant));
            if let Err(e) = self.media.blobs.put(&key, &bytes).await {
                self.drop_logo(customer, Some(&name)).await;
                return Err(e.into());
            }
        }
        Ok(Some(name))
    }

    /// Best-effort removal of a logo's renditions that no row points to (any more).
    async fn drop_logo(&self, customer: Uuid, logo: Option<&LogoName>) {
        let Some(logo) = logo else {
            return;
        };
        for variant in LogoVariant::ALL {
            let key = BlobKey::logo(customer, &logo.file(variant));
            let _ = self.media.blobs.delete(&key).await;
        }
    }

    /// One rendition of a customer's logo (`GET /customers/{id}/logo/{file}`): the bytes and
    /// their media type.
    ///
    /// # Errors
    /// [`GetCustomerError::NotFound`] for a customer outside scope,
    /// [`GetCustomerError::LogoNotFound`] for a file that is not one of its logo's.
    pub async fn logo(
        &self,
        principal: &Principal,
        key: &CustomerKey,
        file: &str,
    ) -> Result<(Vec<u8>, &'static str), GetCustomerError> {
        let customer = self.get(principal, key).await?;
        let not_found = || GetCustomerError::LogoNotFound(file.to_owned());
        let logo = customer.data.logo.as_ref().ok_or_else(not_found)?;
        let variant = logo.variant_of(file).ok_or_else(not_found)?;
        let bytes = self
            .media
            .blobs
            .get(&BlobKey::logo(customer.uuid, &logo.file(variant)))
            .await?
            .ok_or_else(|| {
                StoreError::Unexpected(format!("the logo {file} has no bytes").into())
            })?;
        Ok((bytes, logo.mime()))
    }

    /// Builds a customer's data from validated input. `existing` is the stored customer for
    /// an update or a replacement; `partial` says absent fields keep its values (update) rather
    /// than take their defaults (creation, replacement).
    async fn build(
        &self,
        principal: &Principal,
        mut input: ValidatedInput,
        existing: Option<&Customer>,
        partial: bool,
    ) -> Result<crate::customer::CustomerData, Failure> {
        let self_id = existing.map(|c| c.id);
        let reseller_root = match (principal.role(), principal.customer_id()) {
            (Role::Reseller, Some(own)) => Some(own),
            _ => None,
        };
        let moves_own = reseller_root.is_some() && self_id == reseller_root;
        if let Some(own) = reseller_root {
            if moves_own && (input.parent.is_present() || input.is_sub_customer.is_present()) {
                return Err(InputError::invalid(
                    "parentCustomer",
                    "A reseller cannot move its own customer.",
                )
                .into());
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
        if moves_own {
            data.parent = existing.and_then(|c| c.data.parent.clone());
        } else if reseller_root.is_some() && data.parent.is_none() {
            return Err(InputError::invalid(
                "parentCustomer",
                "A reseller's customers must stay below the reseller.",
            )
            .into());
        }
        Ok(data)
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
        input: &ValidatedInput,
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

/// Customers principals use the back office only through `me`.
fn own_customer(principal: &Principal) -> Option<CustomerId> {
    principal.customer_id()
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
