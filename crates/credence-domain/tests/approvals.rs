//! `LimitApprovals` over mocked ports: which limit changes wait (raises above the threshold,
//! valued exactly at the account currency's rate), and who may decide a request.
#![allow(clippy::unwrap_used, reason = "test helpers panic on broken fixtures")]

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use credence_domain::credit::{
    CreditAccount, LimitRequest, LimitRequestError, LimitRequestId, LimitRequestStatus, Money,
};
use credence_domain::customers::reference_data::{Currency, User};
use credence_domain::customers::{AccountHolder, CustomerKey};
use credence_domain::fixtures::{customer_data, eur, root_category, stored_customer};
use credence_domain::ports::{
    AdmitError, MockAccountLedger, MockClock, MockCustomerRepository, MockLimitRequests,
    MockRecordRepository, Precondition,
};
use credence_domain::services::{
    AccountService, ApprovalError, CreditError, LimitApprovals, LimitOutcome,
};
use credence_domain::values::{CurrencyCode, ExchangeRate, Reference};
use credence_domain::{CustomerId, Principal, Role, UserId};
use rust_decimal::Decimal;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).unwrap()
}

fn usd() -> CurrencyCode {
    CurrencyCode::parse("USD").unwrap()
}

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn admin(user: i64) -> Principal {
    Principal::new(Some(UserId(user)), Role::Admin, None)
}

fn user(id: i64) -> User {
    User {
        id: UserId(id),
        reference: Reference::new(format!("u{id}")).unwrap(),
        name: credence_domain::customers::reference_data::Label::new("U").unwrap(),
        email: None,
        role: Role::Admin,
        customer_id: None,
    }
}

fn request(requested_by: Option<i64>) -> LimitRequest {
    LimitRequest {
        id: LimitRequestId(7),
        customer: CustomerId(1),
        requested: Money::from_minor(5_000_000, eur()),
        previous: Money::from_minor(100_000, eur()),
        requested_by: requested_by.map(user),
        reason: None,
        created_at: now(),
        status: LimitRequestStatus::Pending,
        decided_by: None,
        decided_at: None,
        decision_reason: None,
    }
}

/// The service over an account of customer 1 in `currency` with a limit of `limit_minor`,
/// USD at 0.9 EUR and EUR at 1; `ledger` and `requests` carry the expectations of a test.
fn approvals(
    currency: CurrencyCode,
    limit_minor: i64,
    mut ledger: MockAccountLedger,
    requests: MockLimitRequests,
    above: Option<&str>,
) -> LimitApprovals {
    let mut customers = MockCustomerRepository::new();
    customers.expect_holder().returning(move |_| {
        let mut holder = AccountHolder::from(&stored_customer(
            1,
            customer_data("c1", "C", root_category(), eur()),
            now(),
        ));
        holder.currency = currency;
        Ok(Some(holder))
    });
    ledger.expect_account().returning(move |id, _| {
        Ok(Some(CreditAccount::from_minor(
            id,
            currency,
            0,
            limit_minor,
            0,
        )))
    });
    let mut currencies = MockRecordRepository::<Currency>::new();
    currencies.expect_get().returning(|code| {
        let rate = if code == usd() { "0.9" } else { "1" };
        Ok(Some(Currency {
            code,
            exchange_rate: ExchangeRate::parse(rate).unwrap(),
            is_organization_currency: code == eur(),
        }))
    });
    let mut clock = MockClock::new();
    clock.expect_now().returning(now);
    let (customers, clock) = (Arc::new(customers), Arc::new(clock));
    let currencies = Arc::new(currencies);
    let accounts = AccountService::new(
        Arc::new(ledger),
        customers.clone(),
        currencies.clone(),
        clock.clone(),
        chrono::TimeDelta::minutes(15),
    );
    LimitApprovals::new(
        accounts,
        Arc::new(requests),
        customers,
        currencies,
        clock,
        above.map(dec),
    )
}

/// A ledger that expects the limit to be set to `minor`, once.
fn applies(minor: i64) -> MockAccountLedger {
    let mut ledger = MockAccountLedger::new();
    ledger
        .expect_set_credit_limit()
        .times(1)
        .returning(move |id, limit, _, _, _, _| {
            assert_eq!(limit.minor_units(), minor);
            Ok(CreditAccount::from_minor(id, limit.currency(), 0, minor, 0))
        });
    ledger
}

/// Requests that expect one new request for `minor`.
fn waits(minor: i64) -> MockLimitRequests {
    let mut requests = MockLimitRequests::new();
    requests.expect_create().times(1).returning(move |new, _| {
        assert_eq!(new.requested.minor_units(), minor);
        assert_eq!(new.requested_by, Some(UserId(1)));
        Ok(request(Some(1)))
    });
    requests
}

async fn change(service: &LimitApprovals, limit: &str) -> LimitOutcome {
    service
        .change_limit(
            &admin(1),
            &CustomerKey::Id(CustomerId(1)),
            dec(limit),
            None,
            Precondition::none(),
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn a_raise_above_the_threshold_waits_and_at_it_applies() {
    let service = approvals(
        eur(),
        100,
        applies(1_000_000),
        MockLimitRequests::new(),
        Some("10000"),
    );
    assert!(matches!(
        change(&service, "10000.00").await,
        LimitOutcome::Applied(_)
    ));
    let service = approvals(
        eur(),
        100,
        MockAccountLedger::new(),
        waits(1_000_001),
        Some("10000"),
    );
    assert!(matches!(
        change(&service, "10000.01").await,
        LimitOutcome::Pending(_)
    ));
}

/// A condition on the account (`If-Match`) goes with the change to the port that writes it,
/// which tests it under the account's lock: the ledger for a change that applies, the
/// requests for a raise that waits. Either's `Unmet` is `Changed`.
#[tokio::test]
async fn a_change_goes_ahead_only_while_the_account_is_as_read() {
    let limit_is = |minor: i64| {
        Precondition::new(move |account: Option<&CreditAccount>| {
            account.is_some_and(|a| a.credit_limit().minor() == minor)
        })
    };
    let change_if = |service: LimitApprovals, limit: &'static str, only_if| async move {
        let key = CustomerKey::Id(CustomerId(1));
        service
            .change_limit(&admin(1), &key, dec(limit), None, only_if)
            .await
    };
    let mut requests = MockLimitRequests::new();
    requests
        .expect_create()
        .times(1)
        .withf(|_, only_if| only_if.is_set())
        .returning(|_, _| Err(LimitRequestError::Unmet));
    let service = approvals(
        eur(),
        100,
        MockAccountLedger::new(),
        requests,
        Some("10000"),
    );
    let stale = change_if(service, "20000", limit_is(999)).await;
    assert!(matches!(stale, Err(CreditError::Changed)), "{stale:?}");
    // A change that applies passes the condition on.
    let mut ledger = MockAccountLedger::new();
    ledger
        .expect_set_credit_limit()
        .times(1)
        .withf(|_, _, _, _, _, only_if| only_if.is_set())
        .returning(|_, _, _, _, _, _| Err(AdmitError::Unmet));
    let service = approvals(eur(), 100, ledger, MockLimitRequests::new(), None);
    let refused = change_if(service, "50", limit_is(100)).await;
    assert!(matches!(refused, Err(CreditError::Changed)), "{refused:?}");
}

/// 20,000 down to 15,000 is a lowering only while the limit is still 20,000: it applies on
/// that condition, and when a lowering to 5,000 got in first, the change is decided again
/// and, now a raise above the threshold, waits for approval instead of applying.
#[tokio::test]
async fn a_lowering_overtaken_by_another_is_decided_again() {
    let account = |minor: i64| CreditAccount::from_minor(CustomerId(1), eur(), 0, minor, 0);
    let reads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut ledger = MockAccountLedger::new();
    ledger.expect_account().returning(move |_, _| {
        let read = reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(Some(account(if read == 0 { 2_000_000 } else { 500_000 })))
    });
    ledger
        .expect_set_credit_limit()
        .times(1)
        .withf(move |_, limit, _, _, _, only_if| {
            limit.minor_units() == 1_500_000
                && only_if.holds(Some(&account(2_000_000)))
                && only_if.holds(Some(&account(1_500_000)))
                && !only_if.holds(Some(&account(500_000)))
        })
        .returning(|_, _, _, _, _, _| Err(AdmitError::Unmet));
    let service = approvals(eur(), 2_000_000, ledger, waits(1_500_000), Some("10000"));
    assert!(matches!(
        change(&service, "15000").await,
        LimitOutcome::Pending(_)
    ));
}

/// 11,000 USD is 9,900 EUR, under the threshold of 10,000: it applies only while the account
/// is still in USD. When its currency became EUR in between, the same amount is decided again
/// and, now 11,000 EUR, waits for approval instead of applying unapproved.
#[tokio::test]
async fn a_change_of_currency_in_between_makes_the_limit_decided_again() {
    let account = |currency| CreditAccount::from_minor(CustomerId(1), currency, 0, 0, 0);
    let reads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut ledger = MockAccountLedger::new();
    ledger.expect_account().returning(move |_, _| {
        let read = reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(Some(account(if read == 0 { usd() } else { eur() })))
    });
    ledger
        .expect_set_credit_limit()
        .times(1)
        .withf(move |_, _, _, _, _, only_if| {
            only_if.holds(Some(&account(usd()))) && !only_if.holds(Some(&account(eur())))
        })
        .returning(|_, _, _, _, _, _| Err(AdmitError::Unmet));
    let service = approvals(usd(), 0, ledger, waits(1_100_000), Some("10000"));
    assert!(matches!(
        change(&service, "11000").await,
        LimitOutcome::Pending(_)
    ));
}

#[tokio::test]
async fn another_currency_is_valued_exactly_at_its_rate() {
    // 11,111.11 USD at 0.9 is 9,999.999 EUR: at most the threshold, it applies.
    let service = approvals(
        usd(),
        100,
        applies(1_111_111),
        MockLimitRequests::new(),
        Some("10000"),
    );
    assert!(matches!(
        change(&service, "11111.11").await,
        LimitOutcome::Applied(_)
    ));
    // 11,111.12 USD is 10,000.008 EUR: above it (rounding to cents would have said equal).
    let service = approvals(
        usd(),
        100,
        MockAccountLedger::new(),
        waits(1_111_112),
        Some("10000"),
    );
    assert!(matches!(
        change(&service, "11111.12").await,
        LimitOutcome::Pending(_)
    ));
}

#[tokio::test]
async fn lowerings_apply_and_without_a_threshold_everything_does() {
    // 20,000 down to 15,000: above the threshold, but a lowering.
    let service = approvals(
        eur(),
        2_000_000,
        applies(1_500_000),
        MockLimitRequests::new(),
        Some("10000"),
    );
    assert!(matches!(
        change(&service, "15000").await,
        LimitOutcome::Applied(_)
    ));
    let service = approvals(
        eur(),
        100,
        applies(100_000_000),
        MockLimitRequests::new(),
        None,
    );
    assert!(matches!(
        change(&service, "1000000").await,
        LimitOutcome::Applied(_)
    ));
}

#[tokio::test]
async fn only_another_admin_with_a_user_decides() {
    let decide = |principal: Principal, requested_by: Option<i64>| async move {
        let mut requests = MockLimitRequests::new();
        requests
            .expect_request()
            .returning(move |_| Ok(Some(request(requested_by))));
        requests.expect_decide().returning(|decision| {
            assert_eq!(decision.by, UserId(2));
            let mut decided = request(Some(1));
            decided.status = LimitRequestStatus::Approved;
            decided.decided_by = Some(user(2));
            Ok(decided)
        });
        let service = approvals(
            eur(),
            100,
            MockAccountLedger::new(),
            requests,
            Some("10000"),
        );
        service.approve(&principal, LimitRequestId(7)).await
    };
    assert!(matches!(
        decide(admin(1), Some(1)).await,
        Err(ApprovalError::OwnRequest)
    ));
    assert!(matches!(
        decide(Principal::system_admin(), Some(1)).await,
        Err(ApprovalError::NoIdentity)
    ));
    let reseller = Principal::new(Some(UserId(2)), Role::Reseller, Some(CustomerId(1)));
    assert!(matches!(
        decide(reseller, Some(1)).await,
        Err(ApprovalError::Forbidden)
    ));
    let approved = decide(admin(2), Some(1)).await.unwrap();
    assert_eq!(approved.status, LimitRequestStatus::Approved);
    // A request by a key without a user is decided by any admin user.
    assert!(decide(admin(2), None).await.is_ok());
}
