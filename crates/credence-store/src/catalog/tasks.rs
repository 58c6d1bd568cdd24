//! Task templates and tasks.
//!
//! A task and its credit move together: submitting runs the ledger's own admission
//! ([`crate::credit::admit_in`]) and inserts the task in the same write transaction, and a
//! state change is a conditional update on the state it starts from that captures (finish)
//! or releases (cancel) the task's reservation with the ledger's own settlement
//! ([`crate::credit::settle_in`]) in that transaction. No money rule is written twice, and a
//! racing move loses on the conditional update instead of settling a reservation twice.
//! Both lock the account before the task and its reservation, the store's one lock order.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use credence_domain::catalog::{
    ProductCode, Task, TaskDraft, TaskId, TaskState, TaskTemplate, TemplateDraft,
};
use credence_domain::credit::{Money, ReservationId};
use credence_domain::events::{EventEncoder, EventObject, EventType};
use credence_domain::ids::{CustomerId, UserId};
use credence_domain::listing::{Page, PageRequest};
use credence_domain::ports::{
    Admission, AdmitError, Conditioned, MoveTaskError, Precondition, StoreError, TaskBoard,
    TaskFilter,
};
use credence_domain::values::CurrencyCode;
use diesel::prelude::*;

use super::products::{
    UPSERT_ATTEMPTS, localized_json, parse_localized, parse_values, product_is, values_json,
};
use crate::Store;
use crate::credit::{
    Closing, Refusal, Settle, admit_in, is_unique_violation, lock_account, reservation_by_tag,
    settle_in,
};
use crate::customers::to_db_time;
use crate::database::{AnyConnection, Db};
use crate::error::Failure;
use crate::events::Outbox;
use crate::schema::{task_templates, tasks};

#[derive(Queryable, Selectable)]
#[diesel(table_name = task_templates)]
struct TemplateRow {
    customer_id: i64,
    code: String,
    name: String,
    titles: String,
    descriptions: String,
    product_code: String,
    attributes: String,
}

impl TemplateRow {
    fn into_domain(self) -> Result<TaskTemplate, Failure> {
        Ok(TaskTemplate {
            customer: CustomerId(self.customer_id),
            code: self.code,
            name: self.name,
            titles: parse_localized("template titles", &self.titles)?,
            descriptions: parse_localized("template descriptions", &self.descriptions)?,
            product: ProductCode::new(&self.product_code)
                .map_err(|e| Failure::corrupt("template product", e))?,
            attributes: parse_values("template attributes", &self.attributes)?,
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = tasks)]
struct TaskRow {
    id: i64,
    customer_id: i64,
    customer_ref: Option<String>,
    template_code: String,
    product_code: String,
    input: String,
    quantity: i64,
    amount_minor: i64,
    currency: String,
    state: String,
    reservation_id: i64,
    account_id: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl TaskRow {
    fn into_domain(self) -> Result<Task, Failure> {
        let currency = CurrencyCode::parse(&self.currency)
            .map_err(|e| Failure::corrupt("task currency", e))?;
        Ok(Task {
            id: TaskId(self.id),
            customer: CustomerId(self.customer_id),
            customer_ref: self.customer_ref,
            template: self.template_code,
            product: ProductCode::new(&self.product_code)
                .map_err(|e| Failure::corrupt("task product", e))?,
            input: parse_values("task input", &self.input)?,
            quantity: u32::try_from(self.quantity)
                .map_err(|e| Failure::corrupt("task quantity", e))?,
            amount: Money::from_minor(self.amount_minor, currency),
            state: TaskState::parse(&self.state)
                .ok_or_else(|| Failure::corrupt("task state", self.state.as_str()))?,
            reservation: ReservationId(self.reservation_id),
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
        })
    }
}

fn load_template(
    conn: &mut AnyConnection,
    customer: i64,
    code: &str,
) -> Result<Option<TaskTemplate>, Failure> {
    task_templates::table
        .find((customer, code))
        .select(TemplateRow::as_select())
        .first(conn)
        .optional()?
        .map(TemplateRow::into_domain)
        .transpose()
}

/// Whether `only_if` holds of the customer's template `code` (see [`super::meets`]).
fn template_meets(
    conn: &mut AnyConnection,
    customer: CustomerId,
    code: &str,
    only_if: &Precondition<TaskTemplate>,
) -> Result<bool, Failure> {
    let key = (customer.get(), code);
    let lock = |c: &mut diesel::PgConnection| {
        let query = task_templates::table.find(key).select(task_templates::code);
        query.for_update().first::<String>(c).optional()?;
        Ok(())
    };
    super::meets(conn, only_if, lock, |conn| load_template(conn, key.0, code))
}

fn task_row(conn: &mut AnyConnection, id: i64) -> Result<Option<TaskRow>, Failure> {
    Ok(tasks::table
        .find(id)
        .select(TaskRow::as_select())
        .first(conn)
        .optional()?)
}

fn load_task(conn: &mut AnyConnection, id: i64) -> Result<Option<Task>, Failure> {
    task_row(conn, id)?.map(TaskRow::into_domain).transpose()
}

fn task_of_reservation(
    conn: &mut AnyConnection,
    reservation: i64,
) -> Result<Option<Task>, Failure> {
    tasks::table
        .filter(tasks::reservation_id.eq(reservation))
        .select(TaskRow::as_select())
        .first(conn)
        .optional()?
        .map(TaskRow::into_domain)
        .transpose()
}

/// The task an earlier admission with the same idempotency tag created. A tag that names a
/// plain admission (no task) is a client reusing a key for another request: a failure, not a
/// second task on someone else's reservation.
fn task_of_tag(conn: &mut AnyConnection, reservation: i64) -> Result<Task, Failure> {
    task_of_reservation(conn, reservation)?.ok_or_else(|| {
        Failure::Broken(format!(
            "the idempotency tag of reservation {reservation} was used for a task, but it has none"
        ))
    })
}

/// Admits the task's cost and inserts the task, on one connection in one transaction.
fn submit_in(
    conn: &mut AnyConnection,
    outbox: &Outbox<'_>,
    draft: &TaskDraft,
    admission: &Admission,
) -> Result<Result<Task, Refusal>, Failure> {
    // A repeat answers the task its tag made, whatever became of the product since.
    if let Some(tag) = admission.idempotency.as_deref()
        && let Some(done) = reservation_by_tag(conn, tag)?
    {
        return task_of_tag(conn, done.id.0).map(Ok);
    }
    if !product_is(conn, &draft.product)? {
        return Ok(Err(Refusal::Unmet));
    }
    let admitted = match admit_in(conn, outbox, admission, &Precondition::none())? {
        Ok(admitted) => admitted,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let reservation = admitted.reservation;
    if !admitted.fresh {
        return task_of_tag(conn, reservation.id.0).map(Ok);
    }
    let now = to_db_time(admission.now);
    let id: i64 = diesel::insert_into(tasks::table)
        .values((
            tasks::customer_id.eq(draft.customer.get()),
            tasks::customer_ref.eq(draft.customer_ref.as_deref()),
            tasks::template_code.eq(&draft.template),
            tasks::product_code.eq(draft.product.code.as_str()),
            tasks::input.eq(values_json(&draft.input)),
            tasks::quantity.eq(i64::from(draft.quantity)),
            tasks::amount_minor.eq(reservation.amount.minor()),
            tasks::currency.eq(reservation.amount.currency().code()),
            tasks::state.eq(TaskState::Submitted.as_str()),
            tasks::reservation_id.eq(reservation.id.0),
            tasks::account_id.eq(reservation.account.get()),
            tasks::created_at.eq(now),
            tasks::updated_at.eq(now),
        ))
        .returning(tasks::id)
        .get_result(conn)?;
    let task = load_task(conn, id)?
        .ok_or_else(|| Failure::corrupt("task", "vanished right after its insert"))?;
    outbox.record(
        conn,
        EventType::TaskSubmitted,
        task.customer,
        EventObject::Task(&task),
        now,
    )?;
    Ok(Ok(task))
}

/// Why a move did not happen inside its transaction.
enum Unmoved {
    NotFound,
    Conflict,
}

/// Moves a task with a conditional update on `from`, then settles its reservation.
///
/// A reservation that is no longer open (it expired, or was settled through the ledger's own
/// endpoints) is left as it is: a cancel then only moves the state (nothing is held any
/// more), and a finish moves the state and captures nothing, because the credit it held has
/// lapsed and charging it now would bypass the admission; an operator charges it explicitly
/// if needed (logged as a warning). `settle_in` itself expires a reservation found past its
/// time, in this transaction.
fn move_in(
    conn: &mut AnyConnection,
    encoder: &dyn EventEncoder,
    id: i64,
    from: TaskState,
    to: TaskState,
    user: Option<i64>,
    now: NaiveDateTime,
) -> Result<Result<Task, Unmoved>, Failure> {
    // The account before the task and its reservation, the order every writer of an account
    // keeps (a task's account never changes, so reading it unlocked is safe).
    let Some((account, customer)) = tasks::table
        .find(id)
        .select((tasks::account_id, tasks::customer_id))
        .first::<(i64, i64)>(conn)
        .optional()?
    else {
        return Ok(Err(Unmoved::NotFound));
    };
    let outbox = Outbox::open(conn, encoder, &[CustomerId(account), CustomerId(customer)])?;
    let outbox = &outbox;
    lock_account(conn, account)?;
    let moved = diesel::update(
        tasks::table
            .filter(tasks::id.eq(id))
            .filter(tasks::state.eq(from.as_str())),
    )
    .set((tasks::state.eq(to.as_str()), tasks::updated_at.eq(now)))
    .execute(conn)?;
    let Some(row) = task_row(conn, id)? else {
        return Ok(Err(Unmoved::NotFound));
    };
    if moved == 0 {
        return Ok(Err(Unmoved::Conflict));
    }
    let capture = match to {
        TaskState::Finished => Some(None),
        TaskState::Cancelled => None,
        TaskState::Submitted | TaskState::InProgress => {
            let task = row.into_domain()?;
            return state_changed(conn, outbox, task, now).map(Ok);
        }
    };
    let is_finish = capture.is_some();
    match settle_in(
        conn,
        outbox,
        row.account_id,
        row.reservation_id,
        capture,
        Closing {
            user,
            now,
            idempotency: None,
        },
        &Precondition::none(),
    )? {
        Ok(_) => {}
        Err(Settle::NotOpen) if is_finish => tracing::warn!(
            task = id,
            reservation = row.reservation_id,
            "task finished on a reservation that is no longer open: nothing captured"
        ),
        Err(Settle::NotOpen) => {}
        Err(Settle::NotFound | Settle::Exceeds | Settle::Unmet) => {
            return Err(Failure::corrupt(
                "task",
                format!(
                    "{id} points to reservation {} it cannot settle",
                    row.reservation_id
                ),
            ));
        }
    }
    let task =
        load_task(conn, id)?.ok_or_else(|| Failure::corrupt("task", "vanished during its move"))?;
    state_changed(conn, outbox, task, now).map(Ok)
}

/// Records a task's move, after the reservation's own event when it settled one.
fn state_changed(
    conn: &mut AnyConnection,
    outbox: &Outbox<'_>,
    task: Task,
    now: NaiveDateTime,
) -> Result<Task, Failure> {
    outbox.record(
        conn,
        EventType::TaskStateChanged,
        task.customer,
        EventObject::Task(&task),
        now,
    )?;
    Ok(task)
}

fn filtered(filter: &TaskFilter) -> tasks::BoxedQuery<'static, Db> {
    let mut query = tasks::table.into_boxed();
    if let Some(customer) = filter.customer {
        query = query.filter(tasks::customer_id.eq(customer.get()));
    }
    if let Some(state) = filter.state {
        query = query.filter(tasks::state.eq(state.as_str()));
    }
    if let Some(from) = filter.created_from {
        query = query.filter(tasks::created_at.ge(to_db_time(from)));
    }
    if let Some(until) = filter.created_until {
        query = query.filter(tasks::created_at.le(to_db_time(until)));
    }
    query
}

#[async_trait]
impl TaskBoard for Store {
    async fn templates(&self, customer: CustomerId) -> Result<Vec<TaskTemplate>, StoreError> {
        Ok(self
            .database()
            .read(move |conn| {
                task_templates::table
                    .filter(task_templates::customer_id.eq(customer.get()))
                    .order(task_templates::code)
                    .select(TemplateRow::as_select())
                    .load(conn)?
                    .into_iter()
                    .map(TemplateRow::into_domain)
                    .collect()
            })
            .await?)
    }

    async fn template(
        &self,
        customer: CustomerId,
        code: &str,
    ) -> Result<Option<TaskTemplate>, StoreError> {
        let code = code.to_owned();
        Ok(self
            .database()
            .read(move |conn| load_template(conn, customer.get(), &code))
            .await?)
    }

    async fn save_template(
        &self,
        customer: CustomerId,
        code: &str,
        draft: &TemplateDraft,
        only_if: Precondition<TaskTemplate>,
    ) -> Result<Conditioned<(TaskTemplate, bool)>, StoreError> {
        let only_if = Arc::new(only_if);
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (code, draft, only_if) = (code.to_owned(), draft.clone(), only_if.clone());
            let now = self.db_now();
            let result = self
                .database()
                .write(move |conn| {
                    if !template_meets(conn, customer, &code, &only_if)? {
                        return Ok(Conditioned::Unmet);
                    }
                    let (titles, descriptions) = (
                        localized_json(&draft.titles),
                        localized_json(&draft.descriptions),
                    );
                    let attributes = values_json(&draft.attributes);
                    let fields = (
                        task_templates::name.eq(&draft.name),
                        task_templates::titles.eq(&titles),
                        task_templates::descriptions.eq(&descriptions),
                        task_templates::product_code.eq(draft.product.as_str()),
                        task_templates::attributes.eq(&attributes),
                        task_templates::updated_at.eq(now),
                    );
                    let updated =
                        diesel::update(task_templates::table.find((customer.get(), &code)))
                            .set(fields)
                            .execute(conn)?;
                    let created = updated == 0;
                    if created {
                        diesel::insert_into(task_templates::table)
                            .values((
                                task_templates::customer_id.eq(customer.get()),
                                task_templates::code.eq(&code),
                                fields,
                                task_templates::created_at.eq(now),
                            ))
                            .execute(conn)?;
                    }
                    let template =
                        load_template(conn, customer.get(), &code)?.ok_or_else(|| {
                            Failure::corrupt("template", "vanished right after its save")
                        })?;
                    Ok(Conditioned::Done((template, created)))
                })
                .await;
            match result {
                // A racing first save inserted the row meanwhile: this one now updates it.
                Err(failure) if is_unique_violation(&failure) && attempts < UPSERT_ATTEMPTS => {}
                other => return Ok(other?),
            }
        }
    }

    async fn delete_template(
        &self,
        customer: CustomerId,
        code: &str,
        only_if: Precondition<TaskTemplate>,
    ) -> Result<Conditioned<bool>, StoreError> {
        let code = code.to_owned();
        Ok(self
            .database()
            .write(move |conn| {
                if !template_meets(conn, customer, &code, &only_if)? {
                    return Ok(Conditioned::Unmet);
                }
                let deleted = diesel::delete(task_templates::table.find((customer.get(), &code)))
                    .execute(conn)?;
                Ok(Conditioned::Done(deleted > 0))
            })
            .await?)
    }

    async fn submit(&self, task: &TaskDraft, admission: &Admission) -> Result<Task, AdmitError> {
        let (draft, tagged) = (task.clone(), admission.clone());
        let events = self.events.clone();
        let result = self
            .database()
            .write(move |conn| {
                let parties = [tagged.account, tagged.customer, draft.customer];
                let outbox = Outbox::open(conn, &*events, &parties)?;
                submit_in(conn, &outbox, &draft, &tagged)
            })
            .await;
        match result {
            Ok(Ok(task)) => Ok(task),
            Ok(Err(refusal)) => Err(self.refused(admission, refusal.into()).await),
            // A racing twin with the same tag committed first (PostgreSQL): answer its task.
            Err(failure) if is_unique_violation(&failure) => {
                let Some(tag) = admission.idempotency.clone() else {
                    return Err(AdmitError::Store(failure.into()));
                };
                self.database()
                    .read(move |conn| match reservation_by_tag(conn, &tag)? {
                        Some(reservation) => task_of_tag(conn, reservation.id.0).map(Some),
                        None => Ok(None),
                    })
                    .await?
                    .ok_or_else(|| AdmitError::Store(failure.into()))
            }
            Err(failure) => Err(AdmitError::Store(failure.into())),
        }
    }

    async fn tasks(
        &self,
        filter: &TaskFilter,
        page: PageRequest,
    ) -> Result<Page<Task>, StoreError> {
        let filter = filter.clone();
        let (limit, offset) = crate::paging::bounds(page);
        Ok(self
            .database()
            .read(move |conn| {
                let count: i64 = filtered(&filter).count().get_result(conn)?;
                let items = filtered(&filter)
                    .order(tasks::id.desc())
                    .limit(limit)
                    .offset(offset)
                    .select(TaskRow::as_select())
                    .load(conn)?
                    .into_iter()
                    .map(TaskRow::into_domain)
                    .collect::<Result<_, _>>()?;
                Ok(crate::paging::page(items, count))
            })
            .await?)
    }

    async fn task(&self, id: TaskId) -> Result<Option<Task>, StoreError> {
        Ok(self
            .database()
            .read(move |conn| load_task(conn, id.0))
            .await?)
    }

    async fn move_task(
        &self,
        id: TaskId,
        from: TaskState,
        to: TaskState,
        user: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<Task, MoveTaskError> {
        let (user, now) = (user.map(UserId::get), to_db_time(now));
        let events = self.events.clone();
        match self
            .database()
            .write(move |conn| move_in(conn, &*events, id.0, from, to, user, now))
            .await
        {
            Ok(Ok(task)) => Ok(task),
            Ok(Err(Unmoved::NotFound)) => Err(MoveTaskError::NotFound),
            Ok(Err(Unmoved::Conflict)) => Err(MoveTaskError::Conflict),
            Err(failure) => Err(MoveTaskError::Store(failure.into())),
        }
    }
}
