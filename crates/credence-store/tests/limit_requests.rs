//! The four-eyes limit requests' contract, on SQLite always and on PostgreSQL when
//! `CREDENCE_TEST_POSTGRES_URL` is set: a request waits without touching the limit, a second
//! one replaces it, an approval applies it once with a history row naming the requester and
//! the approver, a rejection keeps the limit, each step writes its event, and of two racing
//! approvals exactly one applies.
#![allow(clippy::unwrap_used, reason = "a failed step fails the test")]

use credence_domain::credit::{
    CreditAccount, Decision, LimitRequest, LimitRequestError, LimitRequestFilter, LimitRequestId,
    LimitRequestStatus, NewLimitRequest,
};
use credence_domain::customers::Customer;
use credence_domain::customers::reference_data::User;
use credence_domain::events::{EventFeed, EventQuery, EventType};
use credence_domain::ids::{CustomerId, UserId};
use credence_domain::listing::PageRequest;
use credence_domain::ports::{AccountLedger, LimitRequests, Precondition};
use credence_domain::values::CreditLimit;
use credence_store::test_support::TestDb;
use credence_store::{Database, PoolOptions, Store};

mod common;
use common::{admin, at, data, eur, insert, store_for};

fn lr(store: &Store) -> &dyn LimitRequests {
    store
}

async fn account_with(store: &Store, reference: &str, limit: i64) -> Customer {
    let mut data = data(store, reference, reference).await;
    data.credit_limit = CreditLimit::from_minor_units(limit, eur()).unwrap();
    insert(store, data, at(0)).await
}

fn ask(account: CustomerId, minor: i64, by: &User, now: i64) -> NewLimitRequest {
    NewLimitRequest {
        account,
        requested: CreditLimit::from_minor_units(minor, eur()).unwrap(),
        requested_by: Some(by.id),
        reason: Some(format!("raise to {minor}")),
        now: at(now),
    }
}

fn approval(request: LimitRequestId, by: &User, now: i64) -> Decision {
    Decision {
        request,
        by: by.id,
        rejection: None,
        now: at(now),
    }
}

async fn limit_of(store: &Store, account: CustomerId) -> i64 {
    AccountLedger::account(store, account, at(100))
        .await
        .unwrap()
        .unwrap()
        .credit_limit()
        .minor()
}

async fn listed(
    store: &Store,
    filter: LimitRequestFilter,
) -> (u64, Vec<(i64, LimitRequestStatus)>) {
    let page = lr(store)
        .requests(filter, PageRequest::new(Some(50), None).unwrap())
        .await
        .unwrap();
    let items = page.items.iter().map(|r| (r.id.0, r.status)).collect();
    (page.total, items)
}

fn pending() -> LimitRequestFilter {
    LimitRequestFilter {
        status: Some(LimitRequestStatus::Pending),
        within: None,
    }
}

async fn event_kinds(store: &Store, customer: CustomerId, expected: usize) -> Vec<&'static str> {
    let query = EventQuery {
        after: None,
        types: Vec::new(),
        customer: Some(customer),
        within: None,
        max: 100,
    };
    // On PostgreSQL the feed shows an event once every older transaction in the cluster has
    // ended (other tests' too), so this waits for the expected ones, up to a generous bound.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let kinds: Vec<&'static str> = store
            .events(&query)
            .await
            .unwrap()
            .iter()
            .map(|e| e.kind.as_str())
            .filter(|k| {
                k.starts_with("credit_limit_request.") || *k == "account.credit_limit_changed"
            })
            .collect();
        if kinds.len() >= expected || tokio::time::Instant::now() > deadline {
            return kinds;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A request keeps the account's limit, records the limit it would replace, and a second one
/// for the same account replaces it; each writes a `created` event.
async fn a_request_waits_and_a_second_replaces_it(store: Store) {
    let requester = admin(&store, "req-1").await;
    let c = account_with(&store, "WAITS", 1_000).await;
    let first = lr(&store)
        .create(&ask(c.id, 900_000, &requester, 10), Precondition::none())
        .await
        .unwrap();
    assert_eq!(first.status, LimitRequestStatus::Pending);
    assert_eq!(
        (first.previous.minor(), first.requested.minor()),
        (1_000, 900_000)
    );
    assert_eq!(first.customer, c.id);
    assert_eq!(
        first.requested_by.as_ref().map(|u| u.id),
        Some(requester.id)
    );
    assert_eq!(first.reason.as_deref(), Some("raise to 900000"));
    assert_eq!(first.created_at, at(10));
    assert_eq!(limit_of(&store, c.id).await, 1_000, "nothing applied yet");

    let second = lr(&store)
        .create(&ask(c.id, 800_000, &requester, 20), Precondition::none())
        .await
        .unwrap();
    let old = lr(&store).request(first.id).await.unwrap().unwrap();
    assert_eq!(old.status, LimitRequestStatus::Replaced);
    assert_eq!(old.decided_at, Some(at(20)));
    assert_eq!(
        listed(&store, pending()).await,
        (1, vec![(second.id.0, LimitRequestStatus::Pending)])
    );
    assert_eq!(
        listed(&store, LimitRequestFilter::default()).await,
        (
            2,
            vec![
                (second.id.0, LimitRequestStatus::Pending),
                (first.id.0, LimitRequestStatus::Replaced)
            ]
        )
    );
    assert_eq!(
        event_kinds(&store, c.id, 2).await,
        [
            EventType::CreditLimitRequestCreated.as_str(),
            EventType::CreditLimitRequestCreated.as_str()
        ]
    );
    assert!(matches!(
        lr(&store)
            .create(
                &ask(CustomerId(424_242), 1, &requester, 30),
                Precondition::none()
            )
            .await,
        Err(LimitRequestError::NotFound)
    ));
    assert!(
        lr(&store)
            .request(LimitRequestId(424_242))
            .await
            .unwrap()
            .is_none()
    );
}

/// An approval applies the requested limit once: the history row names the requester as the
/// changer, the approver, and the request's reason; deciding it again is refused with its
/// status, and nothing moves.
async fn an_approval_applies_once_and_names_both(store: Store) {
    let requester = admin(&store, "req-1").await;
    let approver = admin(&store, "apr-1").await;
    let c = account_with(&store, "APPROVE", 1_000).await;
    let request = lr(&store)
        .create(&ask(c.id, 500_000, &requester, 10), Precondition::none())
        .await
        .unwrap();
    let approved = lr(&store)
        .decide(&approval(request.id, &approver, 20))
        .await
        .unwrap();
    assert_eq!(approved.status, LimitRequestStatus::Approved);
    assert_eq!(
        approved.decided_by.as_ref().map(|u| u.id),
        Some(approver.id)
    );
    assert_eq!(approved.decided_at, Some(at(20)));
    assert_eq!(limit_of(&store, c.id).await, 500_000);
    let history = AccountLedger::limit_history(&store, c.id, PageRequest::new(None, None).unwrap())
        .await
        .unwrap();
    assert_eq!(history.total, 2);
    let newest = &history.items[0];
    assert_eq!(
        (
            newest.previous.map(|m| m.minor()),
            newest.limit.minor(),
            newest.changed_by.as_ref().map(|u| u.id),
            newest.approved_by.as_ref().map(|u| u.id),
            newest.reason.as_deref(),
            newest.at
        ),
        (
            Some(1_000),
            500_000,
            Some(requester.id),
            Some(approver.id),
            Some("raise to 500000"),
            at(20)
        )
    );
    for again in [
        approval(request.id, &approver, 30),
        Decision {
            rejection: Some("too late".into()),
            ..approval(request.id, &approver, 30)
        },
    ] {
        assert!(matches!(
            lr(&store).decide(&again).await,
            Err(LimitRequestError::NotPending(LimitRequestStatus::Approved))
        ));
    }
    assert_eq!(
        AccountLedger::limit_history(&store, c.id, PageRequest::new(None, None).unwrap())
            .await
            .unwrap()
            .total,
        2,
        "a refused decision writes no history"
    );
    assert_eq!(
        event_kinds(&store, c.id, 3).await,
        [
            "credit_limit_request.created",
            "account.credit_limit_changed",
            "credit_limit_request.approved"
        ]
    );
    assert!(matches!(
        lr(&store)
            .decide(&approval(LimitRequestId(424_242), &approver, 30))
            .await,
        Err(LimitRequestError::NotFound)
    ));
}

/// A rejection keeps the limit and the history as they were, records who rejected it and
/// why, and a replaced request can no longer be decided.
async fn a_rejection_keeps_the_limit(store: Store) {
    let requester = admin(&store, "req-1").await;
    let approver = admin(&store, "apr-1").await;
    let c = account_with(&store, "REJECT", 1_000).await;
    let replaced = lr(&store)
        .create(&ask(c.id, 700_000, &requester, 5), Precondition::none())
        .await
        .unwrap();
    let request = lr(&store)
        .create(&ask(c.id, 600_000, &requester, 10), Precondition::none())
        .await
        .unwrap();
    let rejected = lr(&store)
        .decide(&Decision {
            rejection: Some("no collateral".into()),
            ..approval(request.id, &approver, 20)
        })
        .await
        .unwrap();
    assert_eq!(rejected.status, LimitRequestStatus::Rejected);
    assert_eq!(rejected.decision_reason.as_deref(), Some("no collateral"));
    assert_eq!(
        rejected.decided_by.as_ref().map(|u| u.id),
        Some(approver.id)
    );
    assert_eq!(limit_of(&store, c.id).await, 1_000);
    assert_eq!(
        AccountLedger::limit_history(&store, c.id, PageRequest::new(None, None).unwrap())
            .await
            .unwrap()
            .total,
        1
    );
    assert!(matches!(
        lr(&store)
            .decide(&approval(replaced.id, &approver, 30))
            .await,
        Err(LimitRequestError::NotPending(LimitRequestStatus::Replaced))
    ));
    assert_eq!(limit_of(&store, c.id).await, 1_000);
    assert_eq!(
        event_kinds(&store, c.id, 3).await,
        [
            "credit_limit_request.created",
            "credit_limit_request.created",
            "credit_limit_request.rejected"
        ]
    );
}

/// `within` narrows the list to a customer's own requests (and those below it).
async fn the_list_is_scoped_and_filtered(store: Store) {
    let requester = admin(&store, "req-1").await;
    let a = account_with(&store, "SCOPE-A", 1_000).await;
    let b = account_with(&store, "SCOPE-B", 1_000).await;
    let of_a = lr(&store)
        .create(&ask(a.id, 10_000, &requester, 10), Precondition::none())
        .await
        .unwrap();
    let of_b = lr(&store)
        .create(&ask(b.id, 10_000, &requester, 11), Precondition::none())
        .await
        .unwrap();
    let within_a = LimitRequestFilter {
        status: None,
        within: Some(a.id),
    };
    assert_eq!(
        listed(&store, within_a).await,
        (1, vec![(of_a.id.0, LimitRequestStatus::Pending)])
    );
    let approved = LimitRequestFilter {
        status: Some(LimitRequestStatus::Approved),
        within: None,
    };
    assert_eq!(listed(&store, approved).await, (0, vec![]));
    let second = PageRequest::new(Some(1), Some(1)).unwrap();
    let page = lr(&store).requests(pending(), second).await.unwrap();
    assert_eq!(page.total, 2);
    assert_eq!(
        page.items.iter().map(|r| r.id).collect::<Vec<_>>(),
        [of_a.id],
        "newest first: {of_b:?} came first"
    );
}

/// Two admins approving one request at once, through two replicas' stores: exactly one
/// applies it (one history row, one approval event), the other is told it is approved.
async fn racing_approvals_apply_once(db: TestDb) {
    let store = store_for(&db);
    let replica = Store::new(Database::connect(db.url(), PoolOptions::default()).unwrap());
    let requester = admin(&store, "req-1").await;
    let first = admin(&store, "apr-1").await;
    let second = admin(&store, "apr-2").await;
    for round in 0..5_i64 {
        let c = account_with(&store, &format!("RACE-{round}"), 1_000).await;
        let request: LimitRequest = lr(&store)
            .create(
                &ask(c.id, 100_000 + round, &requester, 10),
                Precondition::none(),
            )
            .await
            .unwrap();
        let (by_first, by_second) = (
            approval(request.id, &first, 20),
            approval(request.id, &second, 20),
        );
        let (one, two) = tokio::join!(
            lr(&store).decide(&by_first),
            lr(&replica).decide(&by_second),
        );
        let winners: Vec<UserId> = [(&one, &first), (&two, &second)]
            .iter()
            .filter(|(result, _)| result.is_ok())
            .map(|(_, user)| user.id)
            .collect();
        assert_eq!(winners.len(), 1, "{one:?} / {two:?}");
        let loser = if one.is_ok() { two } else { one };
        assert!(
            matches!(
                loser,
                Err(LimitRequestError::NotPending(LimitRequestStatus::Approved))
            ),
            "{loser:?}"
        );
        assert_eq!(limit_of(&store, c.id).await, 100_000 + round);
        let history = credence_store::test_support::credit_limit_history(db.database(), c.id.get());
        assert_eq!(history, [(None, 1_000), (Some(1_000), 100_000 + round)]);
        let decided = lr(&store).request(request.id).await.unwrap().unwrap();
        assert_eq!(decided.decided_by.map(|u| u.id), winners.first().copied());
        assert_eq!(
            event_kinds(&store, c.id, 3).await,
            [
                "credit_limit_request.created",
                "account.credit_limit_changed",
                "credit_limit_request.approved"
            ]
        );
    }
}

/// A request filed under a condition on the account (`If-Match`) is filed only while the
/// account meets it, tested under the account's lock: a stale one files nothing.
async fn a_request_is_filed_only_while_its_condition_holds(store: Store) {
    let requester = admin(&store, "req-cond").await;
    let c = account_with(&store, "COND", 1_000).await;
    let limit_is = |minor: i64| {
        Precondition::new(move |account: Option<&CreditAccount>| {
            account.is_some_and(|a| a.credit_limit().minor() == minor)
        })
    };
    let asked = ask(c.id, 900_000, &requester, 10);
    let stale = lr(&store).create(&asked, limit_is(5)).await;
    assert!(matches!(stale, Err(LimitRequestError::Unmet)));
    assert_eq!(listed(&store, pending()).await.0, 0, "nothing filed");
    let asked = ask(c.id, 900_000, &requester, 11);
    let filed = lr(&store).create(&asked, limit_is(1_000)).await.unwrap();
    assert_eq!(filed.status, LimitRequestStatus::Pending);
}

credence_store::on_both_stores!(
    a_request_waits_and_a_second_replaces_it,
    an_approval_applies_once_and_names_both,
    a_rejection_keeps_the_limit,
    the_list_is_scoped_and_filtered,
    a_request_is_filed_only_while_its_condition_holds;
    racing_approvals_apply_once,
);
