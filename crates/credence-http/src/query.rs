//! Query strings of the list routes: the strict parameter check (every unknown
//! parameter is named in one `400 invalid_param`), paging, the customer filters, and the
//! `previous`/`next` links of the `paging` object.

use crate::input::{parse_bool, parse_decimal};
use crate::wording::WireError;
use chrono::{DateTime, Datelike, NaiveDateTime, Timelike, Utc};
use credence_domain::catalog::TaskState;
use credence_domain::credit::{
    AccountQuery, AccountSort, EntryKind, LedgerFilter, PeriodBounds, ReservationFilter,
    Utilization,
};
use credence_domain::customers::search::{SearchQuery, SearchTerms};
use credence_domain::customers::{CustomerFilter, CustomerQuery, CustomerSort};
use credence_domain::listing::{Order, PageRequest, TextPattern, TimeRange};
use credence_domain::ports::TaskFilter;

use crate::dto::PagingDto;
use crate::error::ApiError;

/// The parameters of `GET /customers`.
pub(crate) const CUSTOMER_PARAMS: &[&str] = &[
    "max",
    "offset",
    "sort",
    "order",
    "dateCreated_gt",
    "dateCreated_gte",
    "dateCreated_lt",
    "dateCreated_lte",
    "lastUpdated_gt",
    "lastUpdated_gte",
    "lastUpdated_lt",
    "lastUpdated_lte",
    "reference",
    "name",
    "categoryReference",
    "isActive",
];

/// The parameters of `GET /customers/search`.
pub(crate) const SEARCH_PARAMS: &[&str] = &["q", "inactive", "max", "offset"];

/// The parameters of the reference-data lists.
pub(crate) const PAGE_PARAMS: &[&str] = &["max", "offset"];

/// The parameters of `GET .../account`.
pub(crate) const ACCOUNT_PARAMS: &[&str] = &["at"];

/// The parameters of `GET /accounts`.
pub(crate) const ACCOUNT_LIST_PARAMS: &[&str] = &[
    "max",
    "offset",
    "sort",
    "order",
    "overLimit",
    "utilizationAbove",
];

/// The parameters of an account's statement.
pub(crate) const STATEMENT_PARAMS: &[&str] = &["from", "to"];

/// The parameters of an account's ledger (`type` last: the reservations take the rest).
pub(crate) const LEDGER_PARAMS: &[&str] = &[
    "max",
    "offset",
    "dateCreated_gt",
    "dateCreated_gte",
    "dateCreated_lt",
    "dateCreated_lte",
    "type",
];

/// The parameters of an account's reservations: the ledger's but for `type`.
pub(crate) const RESERVATION_PARAMS: &[&str] = match LEDGER_PARAMS.split_last() {
    Some((_, rest)) => rest,
    None => &[],
};

/// The parameters of the marketplace's task list.
pub(crate) const TASK_PARAMS: &[&str] =
    &["max", "offset", "state", "created_from", "created_until"];

/// The decoded pairs of a query string, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params {
    pairs: Vec<(String, String)>,
    /// Every name looked up, for the test that ties each parser to the parameters its
    /// OpenAPI description documents.
    #[cfg(test)]
    looked_up: std::cell::RefCell<Vec<String>>,
}

impl Params {
    /// Decodes a query string strictly (see [`crate::strict::form_pairs`]) and refuses any
    /// parameter not in `allowed`.
    ///
    /// # Errors
    /// `400 invalid_param` naming every unknown parameter, or the parameter that is not
    /// strictly percent-encoded UTF-8 or holds a character XML cannot carry.
    pub(crate) fn parse(query: &str, allowed: &[&str]) -> Result<Self, ApiError> {
        let pairs = crate::strict::form_pairs(query.as_bytes(), "parameter")?;
        let mut unknown: Vec<String> = Vec::new();
        for (key, _) in &pairs {
            if !allowed.contains(&key.as_str()) && !unknown.contains(key) {
                unknown.push(key.clone());
            }
        }
        if !unknown.is_empty() {
            return Err(ApiError::unknown_params(&unknown));
        }
        Ok(Self {
            pairs,
            #[cfg(test)]
            looked_up: std::cell::RefCell::default(),
        })
    }

    /// The last value given for `name`.
    fn get(&self, name: &str) -> Option<&str> {
        #[cfg(test)]
        self.looked_up.borrow_mut().push(name.to_owned());
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The last non-blank value given for `name`.
    pub(crate) fn non_blank(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.trim().is_empty())
    }

    pub(crate) fn int(&self, name: &'static str) -> Result<Option<i64>, ApiError> {
        self.non_blank(name)
            .map(|v| {
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| ApiError::invalid_param_type(name))
            })
            .transpose()
    }

    /// `max` and `offset`.
    ///
    /// # Errors
    /// `400 invalid_param_type` for non-integers, `400 invalid_param` out of range.
    pub(crate) fn page(&self) -> Result<PageRequest, ApiError> {
        let max = self.int("max")?;
        let offset = self.int("offset")?;
        Ok(PageRequest::new(max, offset)?)
    }

    /// The filters as given, in order, for the paging links.
    fn filters(&self) -> Vec<(&str, &str)> {
        let mut seen: Vec<(&str, &str)> = Vec::new();
        for (k, v) in &self.pairs {
            if PAGE_PARAMS.contains(&k.as_str()) || k == "sort" || k == "order" {
                continue;
            }
            // The last value wins, at the place of the first occurrence.
            if let Some(entry) = seen.iter_mut().find(|(key, _)| key == k) {
                entry.1 = v;
            } else {
                seen.push((k, v));
            }
        }
        seen
    }

    /// The task list filters: `state`, and `created_from`/`created_until` (ISO-8601). The
    /// customer is the service's business.
    ///
    /// # Errors
    /// `400 invalid_param` for an unknown state, `400 invalid_datetime_format`.
    pub(crate) fn task_filter(&self) -> Result<TaskFilter, ApiError> {
        let state = self
            .non_blank("state")
            .map(|text| {
                TaskState::parse(text.trim()).ok_or_else(|| {
                    ApiError::invalid_param(format!(
                        "The state {text} is not one of submitted, in_progress, finished, cancelled."
                    ))
                })
            })
            .transpose()?;
        let at = |name: &str| self.non_blank(name).map(parse_datetime).transpose();
        Ok(TaskFilter {
            customer: None,
            state,
            created_from: at("created_from")?,
            created_until: at("created_until")?,
        })
    }

    /// The filters as given, as the `&k=v` tail of the paging links.
    pub(crate) fn filter_tail(&self) -> String {
        let mut tail = String::new();
        for (k, v) in self.filters() {
            tail.push('&');
            tail.push_str(&serde_urlencoded::to_string([(k, v)]).unwrap_or_default());
        }
        tail
    }

    /// The whole customer list request.
    ///
    /// # Errors
    /// `400` for a bad page, sort, order, date or boolean.
    pub(crate) fn customer_query(&self) -> Result<CustomerQuery, ApiError> {
        let page = self.page()?;
        let (sort, order) = self.sort_and_order(sort_key)?;
        let pattern = |name: &str| self.non_blank(name).map(TextPattern::parse);
        let filter = CustomerFilter {
            date_created: self.range("dateCreated")?,
            last_updated: self.range("lastUpdated")?,
            reference: pattern("reference"),
            name: pattern("name"),
            category_reference: pattern("categoryReference"),
            is_active: self
                .non_blank("isActive")
                .map(|v| parse_bool("isActive", v))
                .transpose()?,
            // Scope is the domain's business: the service narrows it for resellers.
            within: None,
        };
        Ok(CustomerQuery {
            filter,
            sort,
            order,
            page,
        })
    }

    /// The whole search request: `q` (required), `inactive` (if supplied, inactive customers
    /// are included, so a bare `inactive` counts as `true`) and the page.
    ///
    /// # Errors
    /// `400 missing_param` without `q`, `400 invalid_param` for an unusable one, `400` for a
    /// bad page or boolean.
    pub(crate) fn search_query(&self) -> Result<SearchQuery, ApiError> {
        let q = self.get("q").ok_or(WireError::Missing("q"))?;
        let terms = SearchTerms::parse(q)?;
        let include_inactive = match self.get("inactive") {
            None => false,
            Some(v) if v.trim().is_empty() => true,
            Some(v) => parse_bool("inactive", v)?,
        };
        Ok(SearchQuery {
            terms,
            include_inactive,
            // Scope is the domain's business: the service narrows it for resellers.
            within: None,
            page: self.page()?,
        })
    }

    /// The `paging` object of a search: the links carry `q` and `inactive` as given.
    pub(crate) fn search_paging(&self, query: &SearchQuery, total: u64) -> PagingDto {
        paging(
            "/api/v1.0/customers/search",
            query.page,
            total,
            &self.filter_tail(),
        )
    }

    /// The ledger's filters: `dateCreated_*` as the customer list's, and `type`.
    ///
    /// # Errors
    /// `400 invalid_param` for a bad date or a type that is none of the entry kinds.
    pub(crate) fn ledger_filter(&self) -> Result<LedgerFilter, ApiError> {
        let kind = self
            .non_blank("type")
            .map(|text| {
                EntryKind::parse(text.trim()).ok_or_else(|| {
                    let names: Vec<&str> = EntryKind::ALL.iter().map(|k| k.as_str()).collect();
                    WireError::invalid(
                        "type",
                        format!("The type {text} is not one of {}.", names.join(", ")),
                    )
                })
            })
            .transpose()?;
        Ok(LedgerFilter {
            date_created: self.range("dateCreated")?,
            kind,
        })
    }

    /// `at`: the instant an account is asked for, as the list filters read dates; `None` for
    /// now.
    ///
    /// # Errors
    /// `400 invalid_datetime_format` for a date that is not ISO-8601.
    pub(crate) fn instant(&self) -> Result<Option<DateTime<Utc>>, ApiError> {
        self.non_blank("at").map(parse_datetime).transpose()
    }

    /// A statement's `from` and `to`, each left out when absent or blank.
    ///
    /// # Errors
    /// `400 invalid_datetime_format` for a bad instant.
    pub(crate) fn statement_bounds(&self) -> Result<PeriodBounds, ApiError> {
        let at = |name| self.non_blank(name).map(parse_datetime).transpose();
        Ok(PeriodBounds {
            from: at("from")?,
            to: at("to")?,
        })
    }

    /// The reservations' filter: `dateCreated_*` as the customer list's.
    ///
    /// # Errors
    /// `400 invalid_param` for a bad date.
    pub(crate) fn reservation_filter(&self) -> Result<ReservationFilter, ApiError> {
        Ok(ReservationFilter {
            date_created: self.range("dateCreated")?,
        })
    }

    fn range(&self, field: &str) -> Result<TimeRange, ApiError> {
        // Blank, as every other parameter, is left out.
        let at = |op: &str| {
            self.non_blank(&format!("{field}_{op}"))
                .map(parse_datetime)
                .transpose()
        };
        Ok(TimeRange {
            gt: at("gt")?,
            gte: at("gte")?,
            lt: at("lt")?,
            lte: at("lte")?,
        })
    }

    /// The `paging` object of a customer list.
    pub(crate) fn customer_paging(&self, query: &CustomerQuery, total: u64) -> PagingDto {
        let sort = (sort_name(query.sort), query.order);
        self.sorted_paging("/api/v1.0/customers", sort, query.page, total)
    }

    /// The whole `/accounts` request; the scope is the service's business.
    ///
    /// # Errors
    /// `400` for a bad page, sort, order, boolean or utilization.
    pub(crate) fn account_query(&self) -> Result<AccountQuery, ApiError> {
        let page = self.page()?;
        let (sort, order) = self.sort_and_order(account_sort)?;
        let over_limit = self
            .non_blank("overLimit")
            .map(|v| parse_bool("overLimit", v))
            .transpose()?;
        let utilization_above = self
            .non_blank("utilizationAbove")
            .map(utilization)
            .transpose()?;
        Ok(AccountQuery {
            over_limit,
            utilization_above,
            within: None,
            sort,
            order,
            page,
        })
    }

    /// `sort`, read by `parse`, and `order`; each its default when left out.
    fn sort_and_order<S: Default>(
        &self,
        parse: fn(&str) -> Result<S, WireError>,
    ) -> Result<(S, Order), ApiError> {
        let sort = self.non_blank("sort").map(parse).transpose()?;
        let order = self.non_blank("order").map(order).transpose()?;
        Ok((sort.unwrap_or_default(), order.unwrap_or_default()))
    }

    /// The `paging` object of `/accounts`.
    pub(crate) fn account_paging(&self, query: &AccountQuery, total: u64) -> PagingDto {
        let sort = (account_sort_name(query.sort), query.order);
        self.sorted_paging("/api/v1.0/accounts", sort, query.page, total)
    }

    /// The `paging` object of a sorted list at `path`: its links carry the sort, the order
    /// and the filters.
    fn sorted_paging(
        &self,
        path: &str,
        (sort, order): (&str, Order),
        page: PageRequest,
        total: u64,
    ) -> PagingDto {
        let mut tail = format!("&sort={sort}&order={}", order_name(order));
        for (k, v) in self.filters() {
            tail.push('&');
            tail.push_str(&serde_urlencoded::to_string([(k, v)]).unwrap_or_default());
        }
        paging(path, page, total, &tail)
    }
}

/// A sort of `/accounts` by its wire name.
fn account_sort_name(sort: AccountSort) -> &'static str {
    match sort {
        AccountSort::CustomerId => "customerId",
        AccountSort::Available => "available",
        AccountSort::Utilization => "utilization",
        AccountSort::Balance => "balance",
        AccountSort::CreditLimit => "creditLimit",
        AccountSort::Reserved => "reserved",
    }
}

/// Parses the `sort` of `/accounts`.
fn account_sort(text: &str) -> Result<AccountSort, WireError> {
    AccountSort::ALL
        .into_iter()
        .find(|sort| account_sort_name(*sort) == text)
        .ok_or_else(|| {
            let names: Vec<&str> = AccountSort::ALL
                .into_iter()
                .map(account_sort_name)
                .collect();
            WireError::invalid(
                "sort",
                format!(
                    "The parameter sort must be one of {}, not {text}.",
                    names.join(", ")
                ),
            )
        })
}

/// Parses `utilizationAbove`: a share of the limit, `0` to `100`.
fn utilization(text: &str) -> Result<Utilization, WireError> {
    let refused = || {
        WireError::invalid(
            "utilizationAbove",
            format!(
                "The parameter utilizationAbove must be a number from 0 to 100 with at most {} decimals, not {text}.",
                credence_domain::credit::UTILIZATION_SCALE
            ),
        )
    };
    let share = parse_decimal("utilizationAbove", text).map_err(|_| refused())?;
    Utilization::new(share).map_err(|_| refused())
}

/// Every sort key of the customer list, in the order the API lists them.
const SORT_KEYS: [CustomerSort; 5] = [
    CustomerSort::Id,
    CustomerSort::Reference,
    CustomerSort::Name,
    CustomerSort::DateCreated,
    CustomerSort::LastUpdated,
];

/// A sort key's wire name: the API's name of the field it sorts by.
fn sort_name(sort: CustomerSort) -> &'static str {
    match sort {
        CustomerSort::Id => "id",
        CustomerSort::Reference => "reference",
        CustomerSort::Name => "name",
        CustomerSort::DateCreated => "dateCreated",
        CustomerSort::LastUpdated => "lastUpdated",
    }
}

/// Parses `sort`: a sort key's wire name, exactly.
fn sort_key(text: &str) -> Result<CustomerSort, WireError> {
    SORT_KEYS
        .into_iter()
        .find(|sort| sort_name(*sort) == text)
        .ok_or_else(|| {
            let names: Vec<&str> = SORT_KEYS.into_iter().map(sort_name).collect();
            WireError::invalid(
                "sort",
                format!(
                    "The parameter sort must be one of {}, not {text}.",
                    names.join(", ")
                ),
            )
        })
}

/// A sort direction's wire name.
fn order_name(order: Order) -> &'static str {
    match order {
        Order::Asc => "asc",
        Order::Desc => "desc",
    }
}

/// Parses `order`: `asc` or `desc`, in any case.
fn order(text: &str) -> Result<Order, WireError> {
    match text.to_ascii_lowercase().as_str() {
        "asc" => Ok(Order::Asc),
        "desc" => Ok(Order::Desc),
        _ => Err(WireError::invalid(
            "order",
            format!("The parameter order must be asc or desc, not {text}."),
        )),
    }
}

/// Parses a filter date: RFC 3339 (such as `YYYY-MM-DDTHH:MM:SSZ`), or the same
/// without an offset, read as UTC. Only instants ISO 8601 can name are taken: chrono reads
/// second `60` as a leap second and accepts year `0000`, and both are refused here (the
/// stores keep neither, so such a filter could only compare wrongly).
fn parse_datetime(text: &str) -> Result<DateTime<Utc>, ApiError> {
    let trimmed = text.trim();
    let (at, naive_time) = match DateTime::parse_from_rfc3339(trimmed) {
        Ok(d) => (d.with_timezone(&Utc), d.naive_local()),
        Err(_) => {
            let n = NaiveDateTime::parse_from_str(trimmed, "%Y-%m-%dT%H:%M:%S")
                .map_err(|_| ApiError::invalid_datetime(text))?;
            (n.and_utc(), n)
        }
    };
    // As written (before any offset moved it): year 1 or later, no leap second.
    if naive_time.year() < 1 || naive_time.nanosecond() >= 1_000_000_000 || at.year() < 1 {
        return Err(ApiError::invalid_datetime(text));
    }
    Ok(at)
}

/// Builds `paging` with links `path?max=M&offset=O` + `tail`, `null` at either end.
pub(crate) fn paging(path: &str, page: PageRequest, total: u64, tail: &str) -> PagingDto {
    let (max, offset) = (u64::from(page.max()), page.offset());
    let link = |offset: u64| format!("{path}?max={max}&offset={offset}{tail}");
    PagingDto {
        total,
        max,
        offset,
        previous: (offset > 0).then(|| link(offset.saturating_sub(max))),
        next: (offset.saturating_add(max) < total).then(|| link(offset + max)),
    }
}

#[cfg(test)]
mod tests {
    use utoipa::IntoParams;

    use super::*;
    use crate::credit::requests::{LimitRequestListParams, REQUEST_PARAMS, status_filter};
    use crate::events::handlers::{EVENT_PARAMS, EventListParams, event_query};
    use crate::openapi::{
        AccountListParams, AccountParams, CustomerListParams, CustomerSearchParams,
        LedgerListParams, PageParams, ReservationListParams, StatementParams, TaskListParams,
    };

    type Reader = fn(&Params) -> Result<(), ApiError>;

    /// The query strings the OpenAPI document describes with a type of their own: that type's
    /// parameters, the names the parser accepts, a query it takes, and what reads it.
    fn described() -> [(
        Vec<utoipa::openapi::path::Parameter>,
        &'static [&'static str],
        &'static str,
        Reader,
    ); 11] {
        [
            (PageParams::into_params(|| None), PAGE_PARAMS, "", |p| {
                p.page().map(drop)
            }),
            (
                CustomerListParams::into_params(|| None),
                CUSTOMER_PARAMS,
                "",
                |p| p.customer_query().map(drop),
            ),
            (
                CustomerSearchParams::into_params(|| None),
                SEARCH_PARAMS,
                "q=horse",
                |p| p.search_query().map(drop),
            ),
            (TaskListParams::into_params(|| None), TASK_PARAMS, "", |p| {
                p.page()?;
                p.task_filter().map(drop)
            }),
            (
                EventListParams::into_params(|| None),
                EVENT_PARAMS,
                "",
                |p| event_query(p).map(drop),
            ),
            (
                LedgerListParams::into_params(|| None),
                LEDGER_PARAMS,
                "",
                |p| {
                    p.page()?;
                    p.ledger_filter().map(drop)
                },
            ),
            (
                AccountParams::into_params(|| None),
                ACCOUNT_PARAMS,
                "",
                |p| p.instant().map(drop),
            ),
            (
                AccountListParams::into_params(|| None),
                ACCOUNT_LIST_PARAMS,
                "",
                |p| p.account_query().map(drop),
            ),
            (
                StatementParams::into_params(|| None),
                STATEMENT_PARAMS,
                "",
                |p| p.statement_bounds().map(drop),
            ),
            (
                ReservationListParams::into_params(|| None),
                RESERVATION_PARAMS,
                "",
                |p| {
                    p.page()?;
                    p.reservation_filter().map(drop)
                },
            ),
            (
                LimitRequestListParams::into_params(|| None),
                REQUEST_PARAMS,
                "",
                |p| {
                    p.page()?;
                    status_filter(p).map(drop)
                },
            ),
        ]
    }

    /// A documented parameter is one the parser accepts and reads, by that name, and it
    /// accepts and reads no other: a drift between a query string and its description fails
    /// here.
    #[test]
    fn the_parsers_read_every_documented_parameter() {
        for (parameters, accepted, query, read) in described() {
            let mut documented: Vec<String> = parameters.into_iter().map(|p| p.name).collect();
            documented.sort();
            let mut allowed: Vec<String> = accepted.iter().map(|n| (*n).to_owned()).collect();
            allowed.sort();
            assert_eq!(
                allowed, documented,
                "accepted but not documented, or the reverse"
            );
            let params = Params::parse(query, accepted).unwrap();
            read(&params).unwrap();
            let mut names = params.looked_up.take();
            names.sort();
            names.dedup();
            assert_eq!(names, documented, "read but not documented, or the reverse");
        }
    }

    #[test]
    fn unknown_parameters_are_all_named() {
        let error =
            Params::parse("max=2&dateCreated_gta=x&foo=1&foo=2", CUSTOMER_PARAMS).unwrap_err();
        assert_eq!(
            error.body().error_description,
            "The parameters [dateCreated_gta, foo] you provided are not valid for this request."
        );
    }

    #[test]
    fn links_follow_the_seed() {
        let params = Params::parse("max=2&offset=2&name=Mar*+J", CUSTOMER_PARAMS).unwrap();
        let query = params.customer_query().unwrap();
        let paging = params.customer_paging(&query, 5);
        assert_eq!(
            paging.previous.as_deref(),
            Some("/api/v1.0/customers?max=2&offset=0&sort=dateCreated&order=asc&name=Mar*+J")
        );
        assert_eq!(
            paging.next.as_deref(),
            Some("/api/v1.0/customers?max=2&offset=4&sort=dateCreated&order=asc&name=Mar*+J")
        );
        let last = params.customer_paging(
            &CustomerQuery {
                page: PageRequest::new(Some(2), Some(4)).unwrap(),
                ..query
            },
            5,
        );
        assert_eq!(last.next, None);
    }

    #[test]
    fn search_links_carry_q_and_inactive() {
        let params = Params::parse("q=horse+%26+co&inactive=true&max=1", SEARCH_PARAMS).unwrap();
        let query = params.search_query().unwrap();
        assert!(query.include_inactive);
        assert_eq!(
            params.search_paging(&query, 3).next.as_deref(),
            Some("/api/v1.0/customers/search?max=1&offset=1&q=horse+%26+co&inactive=true")
        );
        assert!(
            Params::parse("q=a&inactive", SEARCH_PARAMS)
                .unwrap()
                .search_query()
                .unwrap()
                .include_inactive
        );
    }

    #[test]
    fn a_blank_date_filter_is_left_out() {
        let params = Params::parse("dateCreated_gt=&lastUpdated_lte=+", CUSTOMER_PARAMS).unwrap();
        let query = params.customer_query().unwrap();
        assert_eq!(query.filter.date_created, TimeRange::default());
        assert_eq!(query.filter.last_updated, TimeRange::default());
    }

    #[test]
    fn dates_outside_iso_8601_are_refused() {
        for bad in [
            "2023-01-01T00:00:60Z",
            "2016-12-31T23:59:60Z",
            "2023-01-01T00:00:60",
            "0000-01-01T00:00:00Z",
            "0000-06-01T00:00:00",
            "0001-01-01T00:30:00+01:00",
        ] {
            let error = parse_datetime(bad).unwrap_err();
            assert_eq!(error.body().error, "invalid_datetime_format", "{bad}");
        }
        assert!(parse_datetime("0001-01-01T00:00:00Z").is_ok());
        assert!(parse_datetime("9999-12-31T23:59:59Z").is_ok());
    }

    #[test]
    fn filters_are_strictly_decoded() {
        for (query, description) in [
            (
                "name=a%00b",
                "The parameter name holds the character U+0000, which is not allowed.",
            ),
            (
                "reference=%zz",
                "The parameter reference holds a malformed percent-encoding (%zz).",
            ),
            ("name=%C3", "The parameter name is not UTF-8 text."),
        ] {
            let error = Params::parse(query, CUSTOMER_PARAMS).unwrap_err();
            assert_eq!(error.body().error, "invalid_param");
            assert_eq!(error.body().error_description, description);
        }
    }

    #[test]
    fn dates_are_rfc_3339() {
        assert!(parse_datetime("2016-08-16T09:02:13Z").is_ok());
        assert!(parse_datetime("2016-08-16T09:02:13+02:00").is_ok());
        assert_eq!(
            parse_datetime("2016-08-1Z")
                .unwrap_err()
                .body()
                .error_description,
            "Invalid datetime filter (not ISO-8601 formatted): [2016-08-1Z]"
        );
    }
}
