//! The wire shapes every capability shares: paging, lists, the delete answer, the health
//! body, and the helpers that write timestamps, `href`s and amounts. Each capability's own
//! DTOs live beside its handlers (`customers/dto.rs`, `credit/dto.rs`, ...), built from
//! domain values by `From` conversions (out); bodies are read by fallible functions over
//! [`crate::body::BodyFields`] (in: [`crate::input`] and each capability's own readers).
//! Nothing here does I/O.
//!
//! Amounts are written as exact JSON numbers (`5000.00`, never through `f64`): the DTO holds
//! a `serde_json::Number` made from the decimal's text, which `arbitrary_precision` writes
//! verbatim; the XML writer prints the same text.

use chrono::{DateTime, Utc};
use credence_domain::listing::{Page, PageRequest};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::query::paging;

/// The base path of the back-office API.
pub(crate) const BASE: &str = "/api/v1.0";

/// `paging` of every list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PagingDto {
    /// Rows matching, over all pages.
    pub total: u64,
    /// Page size.
    pub max: u64,
    /// Rows skipped.
    pub offset: u64,
    /// Link to the previous page, `null` on the first.
    pub previous: Option<String>,
    /// Link to the next page, `null` on the last.
    pub next: Option<String>,
}

/// A page of a collection.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ListDto<T> {
    /// Paging.
    pub paging: PagingDto,
    /// The rows.
    pub data: Vec<T>,
}

impl<D> ListDto<D> {
    /// One page of the rows listed under `path`, each written by `shape`, with the links to
    /// the pages before and after it.
    pub(crate) fn page<'a, T>(
        path: &str,
        request: PageRequest,
        page: &'a Page<T>,
        shape: impl FnMut(&'a T) -> D,
    ) -> Self {
        Self::filtered(path, "", request, page, shape)
    }

    /// As [`Self::page`], for a list narrowed by filters: `tail` (`&name=value...`) carries
    /// them into the links.
    pub(crate) fn filtered<'a, T>(
        path: &str,
        tail: &str,
        request: PageRequest,
        page: &'a Page<T>,
        shape: impl FnMut(&'a T) -> D,
    ) -> Self {
        Self {
            paging: paging(path, request, page.total, tail),
            data: page.items.iter().map(shape).collect(),
        }
    }

    /// Every row on one page: as many as there are, and no page before or after.
    pub(crate) fn whole(data: Vec<D>) -> Self {
        let total = data.len() as u64;
        Self {
            paging: PagingDto {
                total,
                max: total,
                offset: 0,
                previous: None,
                next: None,
            },
            data,
        }
    }
}

/// The body of a successful delete.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SuccessDto {
    /// Always `"true"`, a string.
    #[schema(example = "true")]
    pub success: &'static str,
    /// Always `Instance deleted successfully`.
    #[schema(example = "Instance deleted successfully")]
    pub success_description: &'static str,
}

impl SuccessDto {
    /// The answer to a delete.
    pub(crate) fn deleted() -> Self {
        Self {
            success: "true",
            success_description: "Instance deleted successfully",
        }
    }
}

/// The body of the health probes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HealthDto {
    /// `ok`, or `unavailable`.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `/api/v1.0/<collection>/<id>`.
pub(crate) fn href(collection: &str, id: impl std::fmt::Display) -> String {
    format!("{BASE}/{collection}/{id}")
}

/// An exact JSON number with the decimal's own scale (`5000.00` stays `5000.00`).
pub(crate) fn exact(amount: Decimal) -> Value {
    let text = amount.to_string();
    text.parse::<serde_json::Number>()
        .map_or(Value::String(text), Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_keep_their_scale() {
        let value = exact(Decimal::new(500_000, 2));
        assert_eq!(serde_json::to_string(&value).unwrap(), "5000.00");
        assert_eq!(
            serde_json::to_string(&exact(Decimal::new(1, 3))).unwrap(),
            "0.001"
        );
    }
}
