//! The webhook store's contract, on SQLite always and on PostgreSQL when
//! `CREDENCE_TEST_POSTGRES_URL` is set: endpoints round-trip, pages filter by owner, a change
//! touches only the fields it names, a rotation keeps one replaced secret signing until its
//! expiry, and deleting an endpoint removes its secrets.
#![allow(clippy::unwrap_used, reason = "a failed step fails the test")]

use chrono::TimeDelta;
use credence_domain::ids::CustomerId;
use credence_domain::listing::PageRequest;
use credence_domain::values::FreeText;
use credence_domain::webhooks::{
    EndpointChanges, EndpointId, EventSelection, NewEndpoint, WebhookSecret, WebhookStore,
    WebhookUrl,
};
use credence_store::Store;

mod common;
use common::{at, store_for};

async fn customer(store: &Store, reference: &str) -> CustomerId {
    common::customer(store, reference).await.id
}

fn new_endpoint(customer: Option<CustomerId>, seed: u8) -> NewEndpoint {
    NewEndpoint {
        url: WebhookUrl::new("https://203.0.113.10/hooks").unwrap(),
        types: EventSelection::parse(&["reservation.*", "customer.created"]).unwrap(),
        description: FreeText::new("ERP", FreeText::SHORT).unwrap(),
        enabled: true,
        customer,
        secret: WebhookSecret::from_random([seed; 32]),
        now: at(10),
    }
}

async fn endpoints_round_trip_and_page_by_owner(store: Store) {
    let reseller = customer(&store, "RES").await;
    let admins = store.create_endpoint(&new_endpoint(None, 1)).await.unwrap();
    let own = store
        .create_endpoint(&new_endpoint(Some(reseller), 2))
        .await
        .unwrap();
    assert_eq!(admins.url.as_str(), "https://203.0.113.10/hooks");
    assert_eq!(admins.types.names(), ["reservation.*", "customer.created"]);
    assert_eq!(admins.description.as_ref().unwrap().as_str(), "ERP");
    assert!(admins.enabled);
    assert_eq!(admins.customer, None);
    assert_eq!((admins.created_at, admins.updated_at), (at(10), at(10)));
    assert_eq!(own.customer, Some(reseller));
    assert_eq!(store.endpoint(own.id).await.unwrap(), Some(own.clone()));
    assert_eq!(store.endpoint(EndpointId(999_999)).await.unwrap(), None);

    let every = store.endpoints(None, PageRequest::default()).await.unwrap();
    assert_eq!(every.total, 2);
    assert_eq!(every.items, [admins.clone(), own.clone()]);
    let mine = store
        .endpoints(Some(reseller), PageRequest::default())
        .await
        .unwrap();
    assert_eq!((mine.total, mine.items), (1, vec![own]));
    let second = store
        .endpoints(None, PageRequest::new(Some(1), Some(1)).unwrap())
        .await
        .unwrap();
    assert_eq!(second.total, 2);
    assert_eq!(second.items.len(), 1);
    assert_ne!(second.items[0].id, admins.id);
}

async fn a_change_touches_only_what_it_names(store: Store) {
    let endpoint = store.create_endpoint(&new_endpoint(None, 1)).await.unwrap();
    let disabled = store
        .update_endpoint(
            endpoint.id,
            &EndpointChanges {
                enabled: Some(false),
                description: Some(None),
                ..EndpointChanges::default()
            },
            at(20),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(!disabled.enabled);
    assert_eq!(disabled.description, None);
    assert_eq!(disabled.types, endpoint.types);
    assert_eq!(disabled.url, endpoint.url);
    assert_eq!(disabled.updated_at, at(20));
    assert_eq!(disabled.created_at, at(10));
    let changed = store
        .update_endpoint(
            endpoint.id,
            &EndpointChanges {
                types: Some(EventSelection::All),
                enabled: Some(true),
                ..EndpointChanges::default()
            },
            at(30),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.types, EventSelection::All);
    assert!(changed.enabled);
    assert_eq!(changed.disabled_reason, None);
    assert_eq!(
        store
            .update_endpoint(EndpointId(999_999), &EndpointChanges::default(), at(30))
            .await
            .unwrap(),
        None
    );
}

async fn a_rotation_keeps_one_replaced_secret_until_its_expiry(store: Store) {
    let endpoint = store.create_endpoint(&new_endpoint(None, 1)).await.unwrap();
    let first = WebhookSecret::from_random([1; 32]);
    let second = WebhookSecret::from_random([2; 32]);
    let third = WebhookSecret::from_random([3; 32]);
    let grace = TimeDelta::hours(24);
    assert_eq!(
        store.secrets(endpoint.id).await.unwrap().valid_at(at(10)),
        std::slice::from_ref(&first)
    );
    assert!(
        store
            .rotate_secret(endpoint.id, &second, at(100), at(100) + grace)
            .await
            .unwrap()
    );
    let secrets = store.secrets(endpoint.id).await.unwrap();
    assert_eq!(secrets.valid_at(at(100)), [second.clone(), first.clone()]);
    assert_eq!(
        secrets.valid_at(at(100) + grace),
        std::slice::from_ref(&second)
    );
    // A second rotation within the grace: the first secret stops at once.
    assert!(
        store
            .rotate_secret(endpoint.id, &third, at(200), at(200) + grace)
            .await
            .unwrap()
    );
    let secrets = store.secrets(endpoint.id).await.unwrap();
    assert_eq!(secrets.0.len(), 2);
    assert_eq!(secrets.valid_at(at(200)), [third, second]);
    assert!(
        !store
            .rotate_secret(EndpointId(999_999), &first, at(300), at(300) + grace)
            .await
            .unwrap()
    );
}

async fn deleting_an_endpoint_removes_its_secrets(store: Store) {
    let endpoint = store.create_endpoint(&new_endpoint(None, 1)).await.unwrap();
    let kept = store.create_endpoint(&new_endpoint(None, 2)).await.unwrap();
    assert!(store.delete_endpoint(endpoint.id).await.unwrap());
    assert!(!store.delete_endpoint(endpoint.id).await.unwrap());
    assert_eq!(store.endpoint(endpoint.id).await.unwrap(), None);
    assert!(store.secrets(endpoint.id).await.unwrap().0.is_empty());
    assert_eq!(store.secrets(kept.id).await.unwrap().0.len(), 1);
}

credence_store::on_both_stores!(
    endpoints_round_trip_and_page_by_owner,
    a_change_touches_only_what_it_names,
    a_rotation_keeps_one_replaced_secret_until_its_expiry,
    deleting_an_endpoint_removes_its_secrets,
);
