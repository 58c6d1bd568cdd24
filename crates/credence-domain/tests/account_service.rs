//! `AccountService` over mocked ports: who pays, who may order, and exact money in and out.
#![allow(clippy::unwrap_used, reason = "test helpers panic on broken fixtures")]

use std::sync::Arc;

use chrono::{DateTime, Utc};
use credence_domain::credit::{
    CreditAccount, CreditRefused, Money, Reservation, ReservationId, ReservationStatus,
};
use credence_domain::customers::reference_data::Currency;
use credence_domain::customers::{AccountHolder, Customer, CustomerKey, CustomerSummary};
use credence_domain::fixtures::{customer_data, eur, root_category, stored_customer};
use credence_domain::ports::{
    AdmitError, MockAccountLedger, MockClock, MockCustomerRepository, MockRecordRepository,
    Precondition,
};
use credence_domain::services::{AccountService, CreditError, ReserveRequest};
use credence_domain::values::{CurrencyCode, CustomerName, ExchangeRate, FreeText, Reference};
use credence_domain::{CustomerId, Principal, Role};
use rust_decimal::Decimal;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).unwrap()
}

fn customer(id: i64, parent: Option<i64>, bill_with_parent: bool) -> Customer {
    let mut data = customer_data(&format!("c{id}"), "C", root_category(), eur());
    data.parent = parent.map(|p| CustomerSummary {
        id: CustomerId(p),
        reference: Reference::new(format!("c{p}")).unwrap(),
        name: CustomerName::new("P").unwrap(),
    });
    data.bill_with_parent = bill_with_parent;
    stored_customer(id, data, now())
}

fn service(
    customers: MockCustomerRepository,
    ledger: MockAccountLedger,
    currencies: MockRecordRepository<Currency>,
) -> AccountService {
    let mut clock = MockClock::new();
    clock.expect_now().returning(now);
    AccountService::new(
        Arc::new(ledger),
        Arc::new(customers),
        Arc::new(currencies),
        Arc::new(clock),
        chrono::TimeDelta::minutes(15),
    )
}

fn reservation(account: i64, customer: i64, amount: Money) -> Reservation {
    Reservation {
        id: ReservationId(1),
        account: CustomerId(account),
        customer: CustomerId(customer),
        amount,
        captured: None,
        status: ReservationStatus::Open,
        description: None,
        expires_at: now(),
        created_at: now(),
        closed_at: None,
    }
}

fn holder(customer: Customer) -> AccountHolder {
    AccountHolder::from(&customer)
}

fn request(amount: Decimal) -> ReserveRequest {
    ReserveRequest {
        amount,
        ..ReserveRequest::default()
    }
}

#[tokio::test]
async fn a_child_billed_with_its_parent_reserves_on_the_parents_account() {
    let mut customers = MockCustomerRepository::new();
    // 3 bills with 2, which bills with 1, which pays for itself.
    customers.expect_holder().returning(|key| match key {
        CustomerKey::Id(id) if id.get() == 3 => Ok(Some(holder(customer(3, Some(2), true)))),
        CustomerKey::Id(id) if id.get() == 2 => Ok(Some(holder(customer(2, Some(1), true)))),
        CustomerKey::Id(id) if id.get() == 1 => Ok(Some(holder(customer(1, None, false)))),
        _ => Ok(None),
    });
    let mut ledger = MockAccountLedger::new();
    ledger.expect_admit().times(1).returning(|admission, _| {
        assert_eq!(
            (admission.account, admission.customer, admission.amount),
            (CustomerId(1), CustomerId(3), Money::from_minor(1250, eur()))
        );
        assert_eq!(
            admission.expires_at,
            now() + chrono::TimeDelta::minutes(15),
            "the default expiry"
        );
        Ok(reservation(1, 3, admission.amount))
    });
    let service = service(customers, ledger, MockRecordRepository::new());
    let held = service
        .reserve(
            &Principal::system_admin(),
            &CustomerKey::Id(CustomerId(3)),
            request(Decimal::new(1250, 2)),
            Precondition::none(),
        )
        .await
        .unwrap();
    assert_eq!(held.account, CustomerId(1));
    assert_eq!(
        held.amount.currency().code(),
        "EUR",
        "the amount is in the paying account's currency"
    );
}

#[tokio::test]
async fn an_order_whose_account_was_archived_meanwhile_names_the_customer_asked_for() {
    let mut customers = MockCustomerRepository::new();
    customers.expect_holder().returning(|key| match key {
        CustomerKey::Reference(r) if r == "c3" => Ok(Some(holder(customer(3, Some(1), true)))),
        CustomerKey::Id(id) if id.get() == 1 => Ok(Some(holder(customer(1, None, false)))),
        _ => Ok(None),
    });
    let mut ledger = MockAccountLedger::new();
    ledger
        .expect_admit()
        .returning(|_, _| Err(AdmitError::NoAccount));
    let service = service(customers, ledger, MockRecordRepository::new());
    let asked = CustomerKey::Reference("c3".into());
    let error = service
        .reserve(
            &Principal::system_admin(),
            &asked,
            request(Decimal::new(5, 0)),
            Precondition::none(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&error, CreditError::NotFound(key) if *key == asked),
        "the customer as the client named it, not the paying parent: {error:?}"
    );
}

/// A task's admission refused because the account is gone names the ordering customer, not
/// the parent paying for it.
#[test]
fn a_missing_account_is_named_by_the_customer_the_order_was_for() {
    use credence_domain::credit::service::refusal_of;
    use credence_domain::ports::Admission;
    let admission = Admission {
        account: CustomerId(1),
        customer: CustomerId(3),
        amount: Money::from_minor(500, eur()),
        description: None,
        expires_at: now(),
        user: None,
        now: now(),
        idempotency: None,
    };
    let error = refusal_of(AdmitError::NoAccount, &admission);
    assert!(
        matches!(error, CreditError::NotFound(CustomerKey::Id(id)) if id == CustomerId(3)),
        "{error:?}"
    );
}

#[tokio::test]
async fn refusals_carry_both_amounts_as_money() {
    let mut customers = MockCustomerRepository::new();
    customers
        .expect_holder()
        .returning(|_| Ok(Some(holder(customer(1, None, false)))));
    let mut ledger = MockAccountLedger::new();
    ledger.expect_admit().returning(|_, _| {
        Err(AdmitError::Refused(CreditRefused {
            available: Money::from_minor(1200, eur()),
            requested: Money::from_minor(5000, eur()),
        }))
    });
    let service = service(customers, ledger, MockRecordRepository::new());
    let error = service
        .reserve(
            &Principal::system_admin(),
            &CustomerKey::Id(CustomerId(1)),
            request(Decimal::new(50, 0)),
            Precondition::none(),
        )
        .await
        .unwrap_err();
    match error {
        CreditError::Refused {
            available,
            requested,
        } => {
            assert_eq!(
                (
                    available.amount().to_string(),
                    requested.amount().to_string()
                ),
                ("12.00".into(), "50.00".into())
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn customers_on_hold_inactive_or_out_of_scope_never_reach_the_ledger() {
    let mut customers = MockCustomerRepository::new();
    customers.expect_holder().returning(|key| {
        let mut c = customer(
            match key {
                CustomerKey::Id(id) => id.get(),
                _ => 0,
            },
            None,
            false,
        );
        match c.id.get() {
            1 => {
                c.data.on_hold = true;
                c.data.texts.on_hold_reason = FreeText::new("unpaid", 255).unwrap();
            }
            2 => c.data.is_active = false,
            _ => {}
        }
        Ok(Some(holder(c)))
    });
    customers.expect_ancestors().returning(|_| Ok(Vec::new()));
    let mut ledger = MockAccountLedger::new();
    ledger.expect_admit().never();
    let service = service(customers, ledger, MockRecordRepository::new());
    let admin = Principal::system_admin();
    let key = |id| CustomerKey::Id(CustomerId(id));
    assert!(
        matches!(service.reserve(&admin, &key(1), request(Decimal::ONE), Precondition::none()).await, Err(CreditError::OnHold(Some(r))) if r == "unpaid")
    );
    assert!(matches!(
        service
            .reserve(&admin, &key(2), request(Decimal::ONE), Precondition::none())
            .await,
        Err(CreditError::Inactive)
    ));
    assert!(
        matches!(
            service
                .reserve(
                    &admin,
                    &key(3),
                    request(Decimal::new(1, 3)),
                    Precondition::none()
                )
                .await,
            Err(CreditError::Input(_))
        ),
        "finer than a cent"
    );
    let reseller = Principal::new(None, Role::Reseller, Some(CustomerId(99)));
    assert!(matches!(
        service
            .reserve(
                &reseller,
                &key(3),
                request(Decimal::ONE),
                Precondition::none()
            )
            .await,
        Err(CreditError::NotFound(_))
    ));
    let customer_key = Principal::new(None, Role::Customer, Some(CustomerId(3)));
    assert!(matches!(
        service
            .reserve(
                &customer_key,
                &key(3),
                request(Decimal::ONE),
                Precondition::none()
            )
            .await,
        Err(CreditError::Forbidden)
    ));
}

#[tokio::test]
async fn costs_in_another_currency_are_converted_with_bankers_rounding() {
    let mut customers = MockCustomerRepository::new();
    customers
        .expect_holder()
        .returning(|_| Ok(Some(holder(customer(1, None, false)))));
    let mut currencies = MockRecordRepository::<Currency>::new();
    currencies.expect_get().returning(|code| {
        let rate = if code.code() == "USD" { "0.9" } else { "1" };
        Ok(Some(Currency {
            code,
            exchange_rate: ExchangeRate::parse(rate).unwrap(),
            is_organization_currency: code.code() == "EUR",
        }))
    });
    let mut ledger = MockAccountLedger::new();
    ledger
        .expect_account()
        .returning(|id, _| Ok(Some(CreditAccount::from_minor(id, eur(), 0, 1000, 78))));
    let service = service(customers, ledger, currencies);
    let usd = Some(CurrencyCode::parse("USD").unwrap());
    // 10.25 USD = 9.225 EUR, half to even: 9.22 EUR; 10.00 − 0.78 available leaves 0.00.
    let quote = service
        .quote(
            &Principal::system_admin(),
            &CustomerKey::Id(CustomerId(1)),
            Decimal::new(1025, 2),
            usd,
        )
        .await
        .unwrap();
    assert_eq!(quote.requested.amount().to_string(), "9.22");
    assert_eq!(
        (quote.admitted, quote.remaining.amount().to_string()),
        (true, "0.00".into())
    );
    let over = service
        .quote(
            &Principal::system_admin(),
            &CustomerKey::Id(CustomerId(1)),
            Decimal::new(1026, 2),
            usd,
        )
        .await
        .unwrap();
    assert!(!over.admitted, "9.23 EUR does not fit in 9.22");
}
