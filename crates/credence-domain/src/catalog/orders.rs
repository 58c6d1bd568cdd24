//! The catalog and orders: products for everyone authenticated, managed by admins;
//! task templates and tasks for a customer principal's own customer; task states driven by
//! operators. Submitting a task admits its cost in the transaction that creates it.

use std::sync::Arc;

use rust_decimal::Decimal;

use crate::access::principal::Principal;
use crate::access::scope::Function;
use crate::catalog::{
    AttributeProblem, AttributeValue, CatalogRule, Product, ProductCode, ProductDraft, Task,
    TaskDraft, TaskId, TaskState, TaskTemplate, TemplateDraft, TransitionError,
};
use crate::customers::{AccountHolder, Customer, CustomerKey};
use crate::ids::CustomerId;
use crate::input::InputError;
use crate::listing::{Page, PageRequest};
use crate::ports::{
    AdmitError, Clock, Conditioned, CustomerRepository, MoveTaskError, Precondition,
    ProductCatalog, StoreError, TaskBoard, TaskFilter,
};

use crate::credit::service::{AccountService, CreditError, ReserveRequest};

/// Why a catalog or order use case failed.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    /// The caller's role may not use this function: `403`.
    #[error("{}", crate::services::FORBIDDEN)]
    Forbidden,
    /// No such product, template or task (in the caller's scope): `404`.
    #[error("The {noun} with the code {key} doesn't exist.")]
    NotFound {
        /// `product`, `task template`, `task`.
        noun: &'static str,
        /// The code or id as given.
        key: String,
    },
    /// Bad input: `400`.
    #[error(transparent)]
    Input(#[from] InputError),
    /// Attribute values that do not fit the product: `400`, each naming its attribute.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join(" "))]
    Attributes(Vec<AttributeProblem>),
    /// The product is withdrawn: `422 product_unavailable`.
    #[error("The product {0} is not available.")]
    ProductUnavailable(ProductCode),
    /// A credit refusal or another account outcome.
    #[error(transparent)]
    Credit(#[from] CreditError),
    /// The product or template changed since the client read it (its `If-Match` no longer
    /// holds): `412 precondition_failed`. Names `product` or `task template`.
    #[error("The {0} has changed since it was read; read it again and repeat the change.")]
    Changed(&'static str),
    /// A move the task state machine does not allow: `409`.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a conditioned write answered, or [`OrderError::Changed`] naming `noun`.
fn met<T>(written: Conditioned<T>, noun: &'static str) -> Result<T, OrderError> {
    match written {
        Conditioned::Done(answer) => Ok(answer),
        Conditioned::Unmet => Err(OrderError::Changed(noun)),
    }
}

/// A task order as the customer sends it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubmitTask {
    /// The template's code.
    pub template: String,
    /// The customer's own reference.
    pub customer_ref: Option<String>,
    /// Input items.
    pub input: Vec<AttributeValue>,
    /// Units (>= 1).
    pub quantity: u32,
    /// The caller's idempotency key, scoped.
    pub idempotency: Option<String>,
}

/// Products, templates and tasks.
#[derive(Clone)]
pub struct OrderService {
    catalog: Arc<dyn ProductCatalog>,
    board: Arc<dyn TaskBoard>,
    customers: Arc<dyn CustomerRepository>,
    accounts: AccountService,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for OrderService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderService").finish_non_exhaustive()
    }
}

impl OrderService {
    /// Wires the service.
    #[must_use]
    pub fn new(
        catalog: Arc<dyn ProductCatalog>,
        board: Arc<dyn TaskBoard>,
        customers: Arc<dyn CustomerRepository>,
        accounts: AccountService,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            catalog,
            board,
            customers,
            accounts,
            clock,
        }
    }

    /// Products: the available ones for customers, all of them for admins (`all`).
    ///
    /// # Errors
    /// [`OrderError::Forbidden`] when a non-admin asks for withdrawn products too.
    pub async fn products(
        &self,
        principal: &Principal,
        all: bool,
    ) -> Result<Vec<Product>, OrderError> {
        if all && !principal.is_admin() {
            return Err(OrderError::Forbidden);
        }
        Ok(self.catalog.products(!all).await?)
    }

    /// One product as the back office manages it, price included, withdrawn or not: for
    /// admins only, as its writes are.
    ///
    /// # Errors
    /// [`OrderError::Forbidden`] for non-admins; [`OrderError::NotFound`].
    pub async fn managed_product(
        &self,
        principal: &Principal,
        code: &str,
    ) -> Result<Product, OrderError> {
        if !Function::Operations.admits(principal) {
            return Err(OrderError::Forbidden);
        }
        self.product(principal, code).await
    }

    /// One product as the marketplace shows it to any key, withdrawn ones included (they
    /// stay readable by URI).
    ///
    /// # Errors
    /// [`OrderError::NotFound`].
    pub async fn product(&self, _principal: &Principal, code: &str) -> Result<Product, OrderError> {
        let code = ProductCode::new(code).map_err(|_| not_found("product", code))?;
        self.catalog
            .product(&code)
            .await?
            .ok_or_else(|| not_found("product", code.as_str()))
    }

    /// Creates or replaces a product (admins) while `only_if` holds of the one stored; `true`
    /// when it created it.
    ///
    /// # Errors
    /// [`OrderError::Forbidden`] for non-admins; [`OrderError::Input`] for a bad draft;
    /// [`OrderError::Changed`] when `only_if` does not hold.
    pub async fn save_product(
        &self,
        principal: &Principal,
        code: &str,
        draft: ProductDraft,
        only_if: Precondition<Product>,
    ) -> Result<(Product, bool), OrderError> {
        if !principal.is_admin() {
            return Err(OrderError::Forbidden);
        }
        let code = ProductCode::new(code)?;
        let draft = draft.validate()?;
        met(
            self.catalog.save_product(&code, &draft, only_if).await?,
            "product",
        )
    }

    /// Withdraws a product (admins) while `only_if` holds of it: it can no longer be ordered
    /// but stays readable.
    ///
    /// # Errors
    /// [`OrderError::NotFound`]; [`OrderError::Changed`] when `only_if` does not hold.
    pub async fn withdraw_product(
        &self,
        principal: &Principal,
        code: &str,
        only_if: Precondition<Product>,
    ) -> Result<(), OrderError> {
        if !principal.is_admin() {
            return Err(OrderError::Forbidden);
        }
        let code = ProductCode::new(code).map_err(|_| not_found("product", code))?;
        if met(
            self.catalog.withdraw_product(&code, only_if).await?,
            "product",
        )? {
            Ok(())
        } else {
            Err(not_found("product", code.as_str()))
        }
    }

    /// The caller's templates.
    ///
    /// # Errors
    /// [`OrderError::NotFound`] for a principal bound to no customer.
    pub async fn templates(&self, principal: &Principal) -> Result<Vec<TaskTemplate>, OrderError> {
        let customer = own_customer(principal)?;
        Ok(self.board.templates(customer).await?)
    }

    /// One of the caller's templates.
    ///
    /// # Errors
    /// [`OrderError::NotFound`].
    pub async fn template(
        &self,
        principal: &Principal,
        code: &str,
    ) -> Result<TaskTemplate, OrderError> {
        let customer = own_customer(principal)?;
        self.board
            .template(customer, code)
            .await?
            .ok_or_else(|| not_found("task template", code))
    }

    /// Creates or replaces one of the caller's templates, its values checked against the
    /// product, while `only_if` holds of the one stored; `true` when it created it.
    ///
    /// # Errors
    /// [`OrderError::Attributes`] listing every failing attribute; [`OrderError::Changed`]
    /// when `only_if` does not hold.
    pub async fn save_template(
        &self,
        principal: &Principal,
        code: &str,
        draft: TemplateDraft,
        only_if: Precondition<TaskTemplate>,
    ) -> Result<(TaskTemplate, bool), OrderError> {
        let customer = own_customer(principal)?;
        let valid_code = (1..=64).contains(&code.len())
            && code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid_code {
            return Err(InputError::from(CatalogRule::TemplateCode).into());
        }
        if draft.name.trim().is_empty() {
            return Err(InputError::from(CatalogRule::TemplateNameRequired).into());
        }
        let product =
            self.catalog
                .product(&draft.product)
                .await?
                .ok_or_else(|| InputError::NotFound {
                    noun: "product",
                    key: draft.product.to_string(),
                })?;
        product
            .check_values(&draft.attributes)
            .map_err(OrderError::Attributes)?;
        met(
            self.board
                .save_template(customer, code, &draft, only_if)
                .await?,
            "task template",
        )
    }

    /// Deletes one of the caller's templates while `only_if` holds of it.
    ///
    /// # Errors
    /// [`OrderError::NotFound`]; [`OrderError::Changed`] when `only_if` does not hold.
    pub async fn delete_template(
        &self,
        principal: &Principal,
        code: &str,
        only_if: Precondition<TaskTemplate>,
    ) -> Result<(), OrderError> {
        let customer = own_customer(principal)?;
        if met(
            self.board.delete_template(customer, code, only_if).await?,
            "task template",
        )? {
            Ok(())
        } else {
            Err(not_found("task template", code))
        }
    }

    /// Submits a task from one of the caller's templates: checks the template's values against
    /// the product as it is now, prices it (unit price × quantity), admits it against the
    /// paying account and creates it, in one transaction.
    ///
    /// The store creates the task only while the product is still the one checked and priced;
    /// when it was changed or withdrawn in between, the task is checked and priced again on
    /// the product as it is then (a few times at most, then `503`).
    ///
    /// # Errors
    /// [`OrderError::Attributes`] listing every attribute the product no longer accepts;
    /// [`OrderError::Credit`] with `CreditError::Refused` and both amounts when it does not fit.
    pub async fn submit(
        &self,
        principal: &Principal,
        order: SubmitTask,
    ) -> Result<Task, OrderError> {
        const ATTEMPTS: usize = 3;
        let customer = self.own(principal).await?;
        if order.quantity == 0 {
            return Err(InputError::from(CatalogRule::QuantityBelowOne).into());
        }
        let template = self
            .board
            .template(customer.id, &order.template)
            .await?
            .ok_or_else(|| InputError::NotFound {
                noun: "task template",
                key: order.template.clone(),
            })?;
        for _ in 0..ATTEMPTS {
            let product = self.priced_product(&template).await?;
            let amount = product
                .price
                .amount()
                .checked_mul(Decimal::from(order.quantity))
                .ok_or(CatalogRule::QuantityTooLarge)
                .map_err(InputError::from)?;
            let request = ReserveRequest {
                amount,
                currency: Some(product.price.currency()),
                description: Some(format!("task from template {}", template.code)),
                expires_in: Some(30 * 24 * 3600),
                idempotency: order.idempotency.clone(),
            };
            let admission = self
                .accounts
                .prepare_admission(principal, &AccountHolder::from(&customer), request)
                .await?;
            let draft = TaskDraft {
                customer: customer.id,
                customer_ref: order.customer_ref.clone(),
                template: template.code.clone(),
                product,
                input: order.input.clone(),
                quantity: order.quantity,
            };
            match self.board.submit(&draft, &admission).await {
                Ok(task) => return Ok(task),
                Err(AdmitError::Unmet) => {}
                Err(error) => {
                    return Err(crate::credit::service::refusal_of(error, &admission).into());
                }
            }
        }
        Err(StoreError::Unavailable(
            "the product kept changing while the task was submitted".into(),
        )
        .into())
    }

    /// The template's product as it is now, if it can be ordered with the template's values.
    /// The product may have changed since the template was saved: its values are checked
    /// against the product as it is now.
    async fn priced_product(&self, template: &TaskTemplate) -> Result<Product, OrderError> {
        let product = self
            .catalog
            .product(&template.product)
            .await?
            .ok_or_else(|| not_found("product", template.product.as_str()))?;
        if !product.available {
            return Err(OrderError::ProductUnavailable(product.code));
        }
        product
            .check_values(&template.attributes)
            .map_err(OrderError::Attributes)?;
        Ok(product)
    }

    /// One page of the caller's tasks.
    ///
    /// # Errors
    /// [`OrderError::NotFound`] for a principal bound to no customer.
    pub async fn tasks(
        &self,
        principal: &Principal,
        mut filter: TaskFilter,
        page: PageRequest,
    ) -> Result<Page<Task>, OrderError> {
        filter.customer = Some(own_customer(principal)?);
        Ok(self.board.tasks(&filter, page).await?)
    }

    /// One of the caller's tasks.
    ///
    /// # Errors
    /// [`OrderError::NotFound`].
    pub async fn task(&self, principal: &Principal, id: TaskId) -> Result<Task, OrderError> {
        let customer = own_customer(principal)?;
        match self.board.task(id).await? {
            Some(task) if task.customer == customer => Ok(task),
            _ => Err(not_found("task", &id.to_string())),
        }
    }

    /// Cancels one of the caller's tasks while it is not finished: its credit is released.
    ///
    /// # Errors
    /// [`OrderError::Transition`] for a finished or cancelled task.
    pub async fn cancel(&self, principal: &Principal, id: TaskId) -> Result<Task, OrderError> {
        let task = self.task(principal, id).await?;
        self.move_task(principal, task, TaskState::Cancelled).await
    }

    /// Moves any task (operators): `finished` captures its reservation, `cancelled` releases it.
    ///
    /// # Errors
    /// [`OrderError::Forbidden`] for non-admins; [`OrderError::Transition`].
    pub async fn set_state(
        &self,
        principal: &Principal,
        id: TaskId,
        to: TaskState,
    ) -> Result<Task, OrderError> {
        if !principal.is_admin() {
            return Err(OrderError::Forbidden);
        }
        let task = self
            .board
            .task(id)
            .await?
            .ok_or_else(|| not_found("task", &id.to_string()))?;
        self.move_task(principal, task, to).await
    }

    async fn move_task(
        &self,
        principal: &Principal,
        task: Task,
        to: TaskState,
    ) -> Result<Task, OrderError> {
        task.state.move_to(to)?;
        match self
            .board
            .move_task(
                task.id,
                task.state,
                to,
                principal.user_id(),
                self.clock.now(),
            )
            .await
        {
            Ok(moved) => Ok(moved),
            Err(MoveTaskError::NotFound) => Err(not_found("task", &task.id.to_string())),
            // A racing move won: report the move from the state it is in now.
            Err(MoveTaskError::Conflict) => {
                let now = self
                    .board
                    .task(task.id)
                    .await?
                    .map_or(task.state, |t| t.state);
                Err(TransitionError { from: now, to }.into())
            }
            Err(MoveTaskError::Store(e)) => Err(e.into()),
        }
    }

    async fn own(&self, principal: &Principal) -> Result<Customer, OrderError> {
        let key = CustomerKey::Id(own_customer(principal)?);
        self.customers
            .get(&key)
            .await?
            .ok_or_else(|| not_found("customer", &key.to_string()))
    }
}

fn own_customer(principal: &Principal) -> Result<CustomerId, OrderError> {
    principal
        .customer_id()
        .ok_or_else(|| not_found("customer", "me"))
}

fn not_found(noun: &'static str, key: &str) -> OrderError {
    OrderError::NotFound {
        noun,
        key: key.to_owned(),
    }
}
