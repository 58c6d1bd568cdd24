//! An event as the feed and the webhooks show it, and the objects only events carry.

use credence_domain::events::{Event, Refusal, ThresholdCrossing};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::credit::dto::{LedgerEntryDto, money};
use crate::dto::timestamp;

/// One event.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventDto {
    /// `evt_` and a number.
    #[schema(example = "evt_42")]
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    #[schema(example = "account.payment")]
    pub kind: String,
    /// When the change was applied, `YYYY-MM-DDTHH:MM:SSZ`.
    pub created_at: String,
    /// The customer it happened to (for money, the account holder).
    pub customer_id: i64,
    /// That customer's reference when it happened.
    pub customer_reference: String,
    /// That customer's events counted from 1, without gaps, in the order of the changes.
    pub sequence: i64,
    /// What the event carries.
    pub data: EventDataDto,
}

/// The event's payload.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventDataDto {
    /// The resource after the change, as the API shows it (customer, account, reservation,
    /// ledger entry, task, document), or the refusal or alert itself.
    #[schema(value_type = Object)]
    pub object: Value,
}

impl From<&Event> for EventDto {
    fn from(event: &Event) -> Self {
        Self {
            id: event.id.to_string(),
            kind: event.kind.as_str().to_owned(),
            created_at: timestamp(event.created_at),
            customer_id: event.customer.get(),
            customer_reference: event.customer_reference.clone(),
            sequence: event.sequence,
            data: EventDataDto {
                object: serde_json::from_str(&event.object).unwrap_or(Value::Null),
            },
        }
    }
}

/// A page of the feed, shaped as every back-office list is (`paging`, `data`), its paging a
/// cursor rather than an offset.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventListDto {
    /// Where the page stands and how to go on.
    pub paging: FeedPagingDto,
    /// The events, oldest first.
    pub data: Vec<EventDto>,
}

/// The cursor of a page of the feed.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeedPagingDto {
    /// At most this many events a page.
    pub max: u32,
    /// The event the page starts after; `null` from the oldest event kept.
    #[schema(example = "evt_41")]
    pub after: Option<String>,
    /// The next page, with the same filters: after the last event of this one, or after the
    /// same event as this one when it holds none. Following it always sees every event once.
    #[schema(example = "/api/v1.0/events?after=evt_141&max=100")]
    pub next: String,
    /// Whether more events follow this page now; when `false`, ask `next` again later.
    pub has_more: bool,
}

/// `reservation.refused`: an admission refused for credit (nothing moved).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefusalDto {
    /// The account that would have paid.
    pub account_id: i64,
    /// The customer the order was for.
    pub customer_id: i64,
    /// What was asked for.
    #[schema(value_type = f64, example = 1500.00)]
    pub requested: Value,
    /// What was available.
    #[schema(value_type = f64, example = 200.00)]
    pub available: Value,
    /// ISO 4217.
    pub currency: String,
    /// What the order was for.
    pub description: Option<String>,
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub refused_at: String,
}

impl From<&Refusal> for RefusalDto {
    fn from(r: &Refusal) -> Self {
        Self {
            account_id: r.account.get(),
            customer_id: r.customer.get(),
            requested: money(r.requested),
            available: money(r.available),
            currency: r.requested.currency().code().to_owned(),
            description: r.description.clone(),
            refused_at: timestamp(r.at),
        }
    }
}

/// `account.threshold_crossed`: `available` fell below an alert threshold.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThresholdDto {
    /// The threshold crossed.
    #[schema(value_type = f64, example = 1000.00)]
    pub threshold: Value,
    /// What is available after the movement.
    #[schema(value_type = f64, example = 950.00)]
    pub available: Value,
    /// The movement that crossed it.
    pub movement: LedgerEntryDto,
}

impl From<&ThresholdCrossing> for ThresholdDto {
    fn from(t: &ThresholdCrossing) -> Self {
        Self {
            threshold: money(t.threshold),
            available: money(t.available),
            movement: LedgerEntryDto::from(&t.movement),
        }
    }
}
