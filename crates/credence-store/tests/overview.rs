//! Accounts across customers (`AccountLedger::overview`), on SQLite always and on PostgreSQL
//! when `CREDENCE_TEST_POSTGRES_URL` is set: the over-limit and utilization filters decide in
//! integers, the sorts order and break ties by customer, a subtree keeps to itself, archived
//! customers' accounts are left out, and the total counts what passes.
#![allow(clippy::unwrap_used, reason = "a failed step fails the test")]

use credence_domain::credit::{AccountQuery, AccountSort, EntryKind, Money, Utilization};
use credence_domain::customers::Customer;
use credence_domain::ids::CustomerId;
use credence_domain::listing::{Order, PageRequest};
use credence_domain::ports::{AccountLedger, CustomerRepository, Posting, Precondition};
use credence_domain::values::CreditLimit;
use credence_store::Store;
use rust_decimal::Decimal;

mod common;
use common::{admission, at, data, eur, insert, store_for};

/// A customer whose account has `limit` cents of credit, `balance` cents posted and
/// `reserved` cents admitted, under `parent` if given.
async fn account(
    store: &Store,
    reference: &str,
    (balance, limit, reserved): (i64, i64, i64),
    parent: Option<&Customer>,
) -> Customer {
    let mut data = data(store, reference, reference).await;
    data.credit_limit = CreditLimit::from_minor_units(limit, eur()).unwrap();
    if let Some(parent) = parent {
        data.parent = Some(parent.data.summary(parent.id));
    }
    let customer = insert(store, data, at(0)).await;
    let ledger: &dyn AccountLedger = store;
    // Admitted first: a charge may take the account past its limit, an admission may not.
    if reserved != 0 {
        ledger
            .admit(
                &admission(customer.id, reserved, 1, 1_000_000),
                Precondition::none(),
            )
            .await
            .unwrap();
    }
    if balance != 0 {
        let kind = if balance > 0 {
            EntryKind::Payment
        } else {
            EntryKind::Charge
        };
        let posting = Posting {
            account: customer.id,
            kind,
            balance_delta: Money::from_minor(balance, eur()),
            description: None,
            user: None,
            now: at(2),
            idempotency: None,
        };
        ledger.post(&posting, Precondition::none()).await.unwrap();
    }
    customer
}

async fn ids(store: &Store, query: AccountQuery) -> (Vec<CustomerId>, u64) {
    let ledger: &dyn AccountLedger = store;
    let page = ledger.overview(&query).await.unwrap();
    let ids = page
        .items
        .iter()
        .map(|line| line.account.customer_id())
        .collect();
    (ids, page.total)
}

fn share(text: &str) -> Option<Utilization> {
    Some(Utilization::new(text.parse::<Decimal>().unwrap()).unwrap())
}

async fn accounts_across_customers_filter_sort_and_scope(store: Store) {
    // (balance, limit, reserved): used = reserved - balance.
    let a = account(&store, "A", (0, 1_000, 800), None).await; // 0.8, available 200
    let b = account(&store, "B", (-1_200, 1_000, 50), None).await; // 1.25, available -250
    let c = account(&store, "C", (500, 1_000, 0), None).await; // -0.5, available 1500
    let d = account(&store, "D", (0, 0, 0), None).await; // no limit, unused
    let e = account(&store, "E", (-10, 0, 0), Some(&a)).await; // no limit, uses 10
    let f = account(&store, "F", (0, 1_000, 801), Some(&a)).await; // 0.801, available 199
    let g = account(&store, "G", (500, 0, 0), None).await; // no limit, prepaid
    let gone = account(&store, "GONE", (0, 500, 0), None).await;
    let customers: &dyn CustomerRepository = &store;
    customers.archive(gone.id, None, at(3)).await.unwrap();

    let all = AccountQuery::default();
    assert_eq!(
        ids(&store, all).await,
        (vec![a.id, b.id, c.id, d.id, e.id, f.id, g.id], 7),
        "archived customers' accounts are left out"
    );
    let over = AccountQuery {
        over_limit: Some(true),
        ..all
    };
    assert_eq!(ids(&store, over).await, (vec![b.id, e.id], 2));
    let within = AccountQuery {
        over_limit: Some(false),
        ..all
    };
    assert_eq!(ids(&store, within).await.1, 5);
    let above = AccountQuery {
        utilization_above: share("0.8"),
        ..all
    };
    assert_eq!(
        ids(&store, above).await,
        (vec![b.id, e.id, f.id], 3),
        "exactly 0.8 is not above 0.8; any use of no limit is above every share"
    );
    let by_available = AccountQuery {
        sort: AccountSort::Available,
        ..all
    };
    assert_eq!(
        ids(&store, by_available).await.0,
        [b.id, e.id, d.id, f.id, a.id, g.id, c.id]
    );
    let by_utilization = AccountQuery {
        sort: AccountSort::Utilization,
        order: Order::Desc,
        ..all
    };
    assert_eq!(
        ids(&store, by_utilization).await.0,
        [e.id, b.id, f.id, a.id, d.id, c.id, g.id],
        "without a limit, any use is above every share and a prepaid balance below every share"
    );
    let by_utilization_up = AccountQuery {
        order: Order::Asc,
        ..by_utilization
    };
    assert_eq!(
        ids(&store, by_utilization_up).await.0,
        [g.id, c.id, d.id, a.id, f.id, b.id, e.id]
    );
    let subtree = AccountQuery {
        within: Some(a.id),
        sort: AccountSort::Reserved,
        order: Order::Desc,
        ..all
    };
    assert_eq!(ids(&store, subtree).await, (vec![f.id, a.id, e.id], 3));
    let second_page = AccountQuery {
        sort: AccountSort::Balance,
        page: PageRequest::new(Some(2), Some(2)).unwrap(),
        ..all
    };
    assert_eq!(ids(&store, second_page).await, (vec![a.id, d.id], 7));
    let none = AccountQuery {
        over_limit: Some(true),
        within: Some(c.id),
        ..all
    };
    assert_eq!(ids(&store, none).await, (vec![], 0));
}

/// Shares a floating-point number cannot tell apart from the threshold are decided in integers.
async fn utilization_threshold_is_exact_to_the_cent(store: Store) {
    let limit = 10_000_000_000_000; // 100 billion in cents: one cent is 1e-13 of it
    let above = account(&store, "ABOVE", (-8_000_000_000_001, limit, 0), None).await;
    let _at = account(&store, "AT", (-8_000_000_000_000, limit, 0), None).await;
    let above_point_eight = AccountQuery {
        utilization_above: share("0.8"),
        ..AccountQuery::default()
    };
    assert_eq!(
        ids(&store, above_point_eight).await,
        (vec![above.id], 1),
        "one cent over 80 % of the limit is above 0.8, exactly 80 % is not"
    );
}

credence_store::on_both_stores!(
    accounts_across_customers_filter_sort_and_scope,
    utilization_threshold_is_exact_to_the_cent
);
