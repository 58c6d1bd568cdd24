//! A statement's figures on the wire, and its whole shape for the OpenAPI document.

use credence_domain::credit::StatementSummary;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::credit::dto::{LedgerEntryDto, money};
use crate::dto::timestamp;

/// What moved the balance in the period: each kind's changes summed with their sign, so
/// `closingBalance = openingBalance + payments + charges + adjustments + captured`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TotalsDto {
    /// Money received.
    #[schema(value_type = f64, example = 1500.00)]
    pub payments: Value,
    /// Costs posted directly (zero or negative).
    #[schema(value_type = f64, example = -200.00)]
    pub charges: Value,
    /// Corrections, either way.
    #[schema(value_type = f64, example = 0.00)]
    pub adjustments: Value,
    /// Reservations turned into costs (zero or negative).
    #[schema(value_type = f64, example = -950.00)]
    pub captured: Value,
}

/// A statement's figures: everything but its entries, which follow them on the wire.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatementHeadDto {
    /// The customer whose account it is.
    pub customer_id: i64,
    /// ISO 4217.
    #[schema(example = "EUR")]
    pub currency: String,
    /// The first instant of the period (`YYYY-MM-DDTHH:MM:SSZ`).
    pub from: String,
    /// The first instant after the period.
    pub to: String,
    /// The balance as the period opened.
    #[schema(value_type = f64, example = 1000.00)]
    pub opening_balance: Value,
    /// The reserved amount as the period opened.
    #[schema(value_type = f64, example = 0.00)]
    pub opening_reserved: Value,
    /// The balance as the period closed.
    #[schema(value_type = f64, example = 1350.00)]
    pub closing_balance: Value,
    /// The reserved amount as the period closed.
    #[schema(value_type = f64, example = 400.00)]
    pub closing_reserved: Value,
    /// What moved the balance.
    pub totals: TotalsDto,
}

impl StatementHeadDto {
    /// The figures of a statement.
    pub(crate) fn new(summary: &StatementSummary) -> Self {
        let (opening, closing, totals) = (summary.opening(), summary.closing(), summary.totals());
        Self {
            customer_id: summary.account().get(),
            currency: opening.balance.currency().code().to_owned(),
            from: timestamp(summary.period().from()),
            to: timestamp(summary.period().to()),
            opening_balance: money(opening.balance),
            opening_reserved: money(opening.reserved),
            closing_balance: money(closing.balance),
            closing_reserved: money(closing.reserved),
            totals: TotalsDto {
                payments: money(totals.payments),
                charges: money(totals.charges),
                adjustments: money(totals.adjustments),
                captured: money(totals.captured),
            },
        }
    }
}

/// A statement as JSON and XML: its figures, then every entry of the period, oldest first.
/// Only the OpenAPI document uses it: the answer is written a piece at a time (see the
/// statement's body).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatementDto {
    #[serde(flatten)]
    head: StatementHeadDto,
    /// Every entry of the period, oldest first.
    entries: Vec<LedgerEntryDto>,
}
