//! `AuthService` over mocked ports: keys become principals, and key management stays in scope.
#![allow(clippy::unwrap_used, reason = "test helpers panic on broken fixtures")]

use std::sync::Arc;

use chrono::{DateTime, Utc};
use credence_domain::access::credentials::{ApiKey, ApiKeySecret, KeyId};
use credence_domain::customers::reference_data::{Label, User};
use credence_domain::ports::{
    MockClock, MockCustomerRepository, MockKeyStore, MockRecordRepository, MockSecretSource,
    StoreError, WriteError,
};
use credence_domain::services::{AuthService, AuthenticateError, ManageKeysError};
use credence_domain::values::Reference;
use credence_domain::{CustomerId, Principal, Role, UserId};

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).unwrap()
}

fn user(id: i64, role: Role, customer: Option<i64>) -> User {
    User {
        id: UserId(id),
        reference: Reference::new(format!("u{id}")).unwrap(),
        name: Label::new("User").unwrap(),
        email: None,
        role,
        customer_id: customer.map(CustomerId),
    }
}

fn key(user: i64, revoked: bool) -> ApiKey {
    ApiKey {
        id: KeyId(1),
        user_id: UserId(user),
        prefix: "ck_00000000".into(),
        name: None,
        created_at: now(),
        last_used_at: None,
        revoked_at: revoked.then(now),
    }
}

fn service(
    keys: MockKeyStore,
    users: MockRecordRepository<User>,
    customers: MockCustomerRepository,
) -> AuthService {
    let mut clock = MockClock::new();
    clock.expect_now().returning(now);
    let mut secrets = MockSecretSource::new();
    secrets.expect_random_bytes().returning(|| Ok([42; 32]));
    AuthService::new(
        Arc::new(keys),
        Arc::new(users),
        Arc::new(customers),
        Arc::new(clock),
        Arc::new(secrets),
    )
}

#[tokio::test]
async fn a_live_key_becomes_its_users_principal() {
    let secret = ApiKeySecret::from_random([1; 32]);
    let expected_hash = secret.hash();
    let mut keys = MockKeyStore::new();
    keys.expect_find_by_hash().returning(move |hash, _| {
        assert_eq!(*hash, expected_hash, "looked up by hash");
        Ok(Some((key(5, false), user(5, Role::Reseller, Some(9)))))
    });
    let auth = service(
        keys,
        MockRecordRepository::new(),
        MockCustomerRepository::new(),
    );
    let principal = auth.authenticate(secret.expose()).await.unwrap();
    assert_eq!(
        principal,
        Principal::new(Some(UserId(5)), Role::Reseller, Some(CustomerId(9)))
    );
}

#[tokio::test]
async fn unknown_revoked_and_malformed_keys_are_refused() {
    let mut keys = MockKeyStore::new();
    let mut seq = mockall::Sequence::new();
    keys.expect_find_by_hash()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(None));
    keys.expect_find_by_hash()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(Some((key(5, true), user(5, Role::Admin, None)))));
    let auth = service(
        keys,
        MockRecordRepository::new(),
        MockCustomerRepository::new(),
    );
    let presented = ApiKeySecret::from_random([2; 32]);
    assert!(matches!(
        auth.authenticate(presented.expose()).await,
        Err(AuthenticateError::UnknownKey)
    ));
    assert!(matches!(
        auth.authenticate(presented.expose()).await,
        Err(AuthenticateError::Revoked)
    ));
    assert!(
        matches!(
            auth.authenticate("x").await,
            Err(AuthenticateError::UnknownKey)
        ),
        "no lookup for junk"
    );
}

#[tokio::test]
async fn resellers_manage_keys_only_inside_their_tree_and_customers_not_at_all() {
    let mut users = MockRecordRepository::<User>::new();
    users.expect_get().returning(|id| {
        Ok(Some(match id.get() {
            1 => user(1, Role::Customer, Some(11)), // below the reseller's customer 10
            2 => user(2, Role::Customer, Some(20)), // another tree
            _ => user(3, Role::Admin, None),
        }))
    });
    let mut customers = MockCustomerRepository::new();
    customers.expect_ancestors().returning(|id| {
        Ok(if id.get() == 11 {
            vec![CustomerId(10)]
        } else {
            vec![]
        })
    });
    let mut keys = MockKeyStore::new();
    keys.expect_create_key().times(1).returning(|user, _| {
        assert_eq!(user, UserId(1));
        Ok(key(1, false))
    });
    let auth = service(keys, users, customers);
    let reseller = Principal::new(Some(UserId(100)), Role::Reseller, Some(CustomerId(10)));
    let created = auth
        .create_key(&reseller, UserId(1), Some("ci".into()))
        .await
        .unwrap();
    assert_eq!(
        created.secret,
        ApiKeySecret::from_random([42; 32]),
        "the secret comes from the secret source"
    );
    for outside in [UserId(2), UserId(3)] {
        let error = auth.create_key(&reseller, outside, None).await.unwrap_err();
        assert!(
            matches!(error, ManageKeysError::NotFound { noun: "user", .. }),
            "{error:?}"
        );
    }
    let customer = Principal::new(Some(UserId(1)), Role::Customer, Some(CustomerId(11)));
    assert!(matches!(
        auth.list_keys(&customer, UserId(1)).await,
        Err(ManageKeysError::Forbidden)
    ));
}

#[tokio::test]
async fn replicas_racing_to_install_the_admin_key_all_start() {
    let secret = "a-long-operator-secret";
    // First look: no key yet. After the losing insert: the winner's key is there.
    let mut looks = 0;
    let mut keys = MockKeyStore::new();
    keys.expect_find_by_hash().times(2).returning(move |_, _| {
        looks += 1;
        Ok((looks > 1).then(|| (key(7, false), user(7, Role::Admin, None))))
    });
    // The losing insert stores neither its user nor its key, so nothing is left to clean up.
    keys.expect_create_user_with_key()
        .times(1)
        .returning(|draft, _| {
            assert_eq!(draft.role, Role::Admin);
            Err(WriteError::Store(StoreError::Unexpected(
                "duplicate key value violates unique constraint".into(),
            )))
        });
    let users = MockRecordRepository::new();
    let auth = service(keys, users, MockCustomerRepository::new());
    auth.ensure_admin_key(secret).await.unwrap();
}

#[tokio::test]
async fn a_failed_admin_key_install_with_no_winner_is_an_error() {
    let mut keys = MockKeyStore::new();
    keys.expect_find_by_hash().returning(|_, _| Ok(None));
    keys.expect_create_user_with_key().returning(|_, _| {
        Err(WriteError::Store(StoreError::Unexpected(
            "disk full".into(),
        )))
    });
    let users = MockRecordRepository::new();
    let auth = service(keys, users, MockCustomerRepository::new());
    assert!(
        auth.ensure_admin_key("a-long-operator-secret")
            .await
            .is_err()
    );
}

#[tokio::test]
async fn an_issued_key_is_stored_with_its_user_under_a_free_reference() {
    use credence_domain::fixtures::{customer_data, eur, root_category, stored_customer};
    use credence_domain::services::IssueKeyError;
    let mut customers = MockCustomerRepository::new();
    customers.expect_get().returning(|key| {
        Ok(
            (key == &credence_domain::customers::CustomerKey::Reference("SHOP".into())).then(
                || {
                    stored_customer(
                        11,
                        customer_data("SHOP", "Shop", root_category(), eur()),
                        now(),
                    )
                },
            ),
        )
    });
    // The first reference drawn is taken; the second is stored, user and key in one write.
    let mut attempts = 0;
    let mut keys = MockKeyStore::new();
    keys.expect_create_user_with_key()
        .times(2)
        .returning(move |draft, key| {
            attempts += 1;
            if attempts == 1 {
                return Err(WriteError::DuplicateReference);
            }
            assert_eq!(
                (draft.role, draft.customer_id),
                (Role::Customer, Some(CustomerId(11)))
            );
            assert_eq!(key.name.as_deref(), Some("till"));
            assert!(draft.reference.as_str().starts_with("key-"));
            Ok((user(5, Role::Customer, Some(11)), self::key(5, false)))
        });
    let auth = service(keys, MockRecordRepository::new(), customers);
    let (user, created) = auth
        .issue_key(Role::Customer, Some("SHOP"), Some("till"))
        .await
        .unwrap();
    assert_eq!((user.id, created.key.user_id), (UserId(5), UserId(5)));
    assert_eq!(created.secret, ApiKeySecret::from_random([42; 32]));

    let unknown = auth.issue_key(Role::Customer, Some("NONE"), None).await;
    assert!(
        matches!(&unknown, Err(IssueKeyError::UnknownCustomer(c)) if c == "NONE"),
        "{unknown:?}"
    );
}
