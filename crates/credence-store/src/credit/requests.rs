//! Four-eyes credit-limit requests: a raise above the approval threshold waits in
//! `credit_limit_requests` until another admin decides it.
//!
//! Every write takes the account's event turn ([`Outbox::open`]) and then locks the account
//! row, the common lock order of the credit writes. A new request marks the account's pending
//! one `replaced` before it is inserted (a partial unique index keeps one pending request per
//! account, whatever races). A decision leaves `pending` with one conditional
//! `UPDATE ... WHERE status = 'pending'` in the transaction that also sets the limit, writes
//! the history row and the events: of two racing approvals, the second finds no pending row
//! once the first committed (PostgreSQL re-checks the condition on the locked row; SQLite runs
//! writers one at a time) and moves nothing.

use async_trait::async_trait;
use chrono::NaiveDateTime;
use credence_domain::credit::{
    CreditAccount, Decision, LimitRequest, LimitRequestError, LimitRequestFilter, LimitRequestId,
    LimitRequestStatus, Money, NewLimitRequest,
};
use credence_domain::events::{EventObject, EventType};
use credence_domain::ids::{CustomerId, UserId};
use credence_domain::listing::{Page, PageRequest};
use credence_domain::ports::{LimitRequests, Precondition, StoreError};
use credence_domain::values::CreditLimit;
use diesel::prelude::*;

use super::rows::parse_currency;
use super::{account_meets, lock_account, set_approved_limit};
use crate::Store;
use crate::customers::{subtree_of, to_db_time, users_by_id};
use crate::database::{AnyConnection, Db};
use crate::error::Failure;
use crate::events::Outbox;
use crate::paging;
use crate::schema::credit_limit_requests as requests;

const PENDING: &str = "pending";

#[derive(Queryable, Selectable)]
#[diesel(table_name = requests)]
struct RequestRow {
    id: i64,
    account_id: i64,
    currency: String,
    requested_limit: i64,
    previous_limit: i64,
    requested_by: Option<i64>,
    reason: Option<String>,
    status: String,
    decided_by: Option<i64>,
    decided_at: Option<NaiveDateTime>,
    decision_reason: Option<String>,
    created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = requests)]
struct NewRequestRow<'a> {
    account_id: i64,
    currency: &'a str,
    requested_limit: i64,
    previous_limit: i64,
    requested_by: Option<i64>,
    reason: Option<&'a str>,
    status: &'a str,
    created_at: NaiveDateTime,
}

/// The rows as the domain sees them, with the users who asked and decided loaded in one
/// query. A user deleted since shows as no one: the request keeps the change, not the person.
fn assemble(conn: &mut AnyConnection, rows: Vec<RequestRow>) -> Result<Vec<LimitRequest>, Failure> {
    let people = users_by_id(
        conn,
        rows.iter()
            .flat_map(|row| [row.requested_by, row.decided_by]),
    )?;
    let person = |id: Option<i64>| id.and_then(|id| people.get(&id).cloned());
    rows.into_iter()
        .map(|row| {
            let currency = parse_currency(&row.currency)?;
            let status = LimitRequestStatus::parse(&row.status).ok_or_else(|| {
                Failure::corrupt("limit request", format!("status {}", row.status))
            })?;
            Ok(LimitRequest {
                id: LimitRequestId(row.id),
                customer: CustomerId(row.account_id),
                requested: Money::from_minor(row.requested_limit, currency),
                previous: Money::from_minor(row.previous_limit, currency),
                requested_by: person(row.requested_by),
                reason: row.reason,
                created_at: row.created_at.and_utc(),
                status,
                decided_by: person(row.decided_by),
                decided_at: row.decided_at.map(|at| at.and_utc()),
                decision_reason: row.decision_reason,
            })
        })
        .collect()
}

fn row_of(conn: &mut AnyConnection, id: i64) -> Result<Option<RequestRow>, Failure> {
    Ok(requests::table
        .find(id)
        .select(RequestRow::as_select())
        .first(conn)
        .optional()?)
}

fn request_of(conn: &mut AnyConnection, id: i64) -> Result<LimitRequest, Failure> {
    let row = row_of(conn, id)?
        .ok_or_else(|| Failure::Broken(format!("limit request {id} vanished while written")))?;
    assemble(conn, vec![row])?
        .pop()
        .ok_or_else(|| Failure::Broken(format!("limit request {id} was not assembled")))
}

fn filtered(filter: LimitRequestFilter) -> requests::BoxedQuery<'static, Db> {
    let mut query = requests::table.into_boxed::<Db>();
    if let Some(status) = filter.status {
        query = query.filter(requests::status.eq(status.as_str()));
    }
    if let Some(root) = filter.within {
        query = query.filter(subtree_of("credit_limit_requests.account_id", root.get()));
    }
    query
}

/// Records a request, replacing the account's pending one; the inner `Err` is a refusal.
fn create_in(
    conn: &mut AnyConnection,
    outbox: &Outbox<'_>,
    new: &NewLimitRequest,
    only_if: &Precondition<CreditAccount>,
) -> Result<Result<LimitRequest, LimitRequestError>, Failure> {
    let account = new.account.get();
    let now = to_db_time(new.now);
    let Some(locked) = lock_account(conn, account)? else {
        return Ok(Err(LimitRequestError::NotFound));
    };
    if !account_meets(conn, only_if, &locked, now)? {
        return Ok(Err(LimitRequestError::Unmet));
    }
    if locked.currency()? != new.requested.currency() {
        return Ok(Err(LimitRequestError::OtherCurrency));
    }
    diesel::update(
        requests::table
            .filter(requests::account_id.eq(account))
            .filter(requests::status.eq(PENDING)),
    )
    .set((
        requests::status.eq(LimitRequestStatus::Replaced.as_str()),
        requests::decided_at.eq(now),
    ))
    .execute(conn)?;
    let id: i64 = diesel::insert_into(requests::table)
        .values(NewRequestRow {
            account_id: account,
            currency: new.requested.currency().code(),
            requested_limit: new.requested.minor_units(),
            previous_limit: locked.credit_limit,
            requested_by: new.requested_by.map(UserId::get),
            reason: new.reason.as_deref(),
            status: PENDING,
            created_at: now,
        })
        .returning(requests::id)
        .get_result(conn)?;
    let request = request_of(conn, id)?;
    outbox.record(
        conn,
        EventType::CreditLimitRequestCreated,
        new.account,
        EventObject::LimitRequest(&request),
        now,
    )?;
    Ok(Ok(request))
}

/// The status a request has now.
fn current_status(conn: &mut AnyConnection, id: i64) -> Result<LimitRequestStatus, Failure> {
    let status = requests::table
        .find(id)
        .select(requests::status)
        .first::<String>(conn)?;
    LimitRequestStatus::parse(&status)
        .ok_or_else(|| Failure::corrupt("limit request", format!("status {status}")))
}

/// Approves or rejects a pending request; the inner `Err` is a refusal.
fn decide_in(
    conn: &mut AnyConnection,
    outbox: &Outbox<'_>,
    row: &RequestRow,
    decision: &Decision,
) -> Result<Result<LimitRequest, LimitRequestError>, Failure> {
    let account = row.account_id;
    let now = to_db_time(decision.now);
    // The account first (the common lock order), then the request.
    let Some(locked) = lock_account(conn, account)? else {
        return Ok(Err(LimitRequestError::NotFound));
    };
    let status = match decision.rejection {
        None => LimitRequestStatus::Approved,
        Some(_) => LimitRequestStatus::Rejected,
    };
    // An approval applies the requested limit in the request's currency: once the account
    // has moved to another one, it no longer can. Checked before anything is written, with
    // the account locked, so the request stays pending (it can still be rejected); a request
    // decided meanwhile still answers as decided.
    let currency = parse_currency(&row.currency)?;
    if status == LimitRequestStatus::Approved && locked.currency()? != currency {
        let now_status = current_status(conn, row.id)?;
        if now_status != LimitRequestStatus::Pending {
            return Ok(Err(LimitRequestError::NotPending(now_status)));
        }
        return Ok(Err(LimitRequestError::OtherCurrency));
    }
    let decided = diesel::update(
        requests::table
            .find(row.id)
            .filter(requests::status.eq(PENDING)),
    )
    .set((
        requests::status.eq(status.as_str()),
        requests::decided_by.eq(decision.by.get()),
        requests::decided_at.eq(now),
        requests::decision_reason.eq(decision.rejection.as_deref()),
    ))
    .execute(conn)?;
    if decided == 0 {
        return Ok(Err(LimitRequestError::NotPending(current_status(
            conn, row.id,
        )?)));
    }
    let kind = if status == LimitRequestStatus::Approved {
        let limit = CreditLimit::from_minor_units(row.requested_limit, currency)
            .map_err(|e| Failure::corrupt("limit request", e))?;
        let by = (row.requested_by, row.reason.as_deref());
        set_approved_limit(
            conn,
            outbox,
            account,
            limit,
            by,
            Some(decision.by.get()),
            now,
        )?;
        EventType::CreditLimitRequestApproved
    } else {
        EventType::CreditLimitRequestRejected
    };
    let request = request_of(conn, row.id)?;
    outbox.record(
        conn,
        kind,
        CustomerId(account),
        EventObject::LimitRequest(&request),
        now,
    )?;
    Ok(Ok(request))
}

#[async_trait]
impl LimitRequests for Store {
    async fn create(
        &self,
        request: &NewLimitRequest,
        only_if: Precondition<CreditAccount>,
    ) -> Result<LimitRequest, LimitRequestError> {
        let request = request.clone();
        let events = self.events.clone();
        self.database()
            .write(move |conn| {
                let outbox = Outbox::open(conn, &*events, &[request.account])?;
                create_in(conn, &outbox, &request, &only_if)
            })
            .await
            .map_err(|f| LimitRequestError::Store(f.into()))?
    }

    async fn request(&self, id: LimitRequestId) -> Result<Option<LimitRequest>, StoreError> {
        Ok(self
            .database()
            .read(move |conn| match row_of(conn, id.0)? {
                Some(row) => Ok(assemble(conn, vec![row])?.pop()),
                None => Ok(None),
            })
            .await?)
    }

    async fn decide(&self, decision: &Decision) -> Result<LimitRequest, LimitRequestError> {
        let decision = decision.clone();
        let events = self.events.clone();
        self.database()
            .write(move |conn| {
                // The account's turn is taken before the transaction's first write.
                let Some(row) = row_of(conn, decision.request.0)? else {
                    return Ok(Err(LimitRequestError::NotFound));
                };
                let outbox = Outbox::open(conn, &*events, &[CustomerId(row.account_id)])?;
                decide_in(conn, &outbox, &row, &decision)
            })
            .await
            .map_err(|f| LimitRequestError::Store(f.into()))?
    }

    async fn requests(
        &self,
        filter: LimitRequestFilter,
        page: PageRequest,
    ) -> Result<Page<LimitRequest>, StoreError> {
        let (limit, offset) = paging::bounds(page);
        Ok(self
            .database()
            .read(move |conn| {
                let count: i64 = filtered(filter).count().get_result(conn)?;
                if count == 0 {
                    return Ok(paging::page(Vec::new(), 0));
                }
                let rows = filtered(filter)
                    .order(requests::id.desc())
                    .limit(limit)
                    .offset(offset)
                    .select(RequestRow::as_select())
                    .load(conn)?;
                Ok(paging::page(assemble(conn, rows)?, count))
            })
            .await?)
    }
}
