//! Writing a statement a piece at a time: its figures, then each page of entries as the
//! store reads it, then the end. JSON and XML hold the figures and an `entries` list; CSV
//! holds one row an entry under a header row, with the figures in response headers.

use actix_web::HttpRequest;
use actix_web::http::header::{Accept, Header};
use actix_web::mime;
use actix_web::web::Bytes;
use credence_domain::credit::{LedgerEntry, StatementSummary};

use crate::credit::dto::LedgerEntryDto;
use crate::credit::statement::dto::StatementHeadDto;
use crate::dto::timestamp;
use crate::negotiate::{Format, xml_element};

/// The columns of a statement's CSV: the ledger entry's wire names.
const COLUMNS: [&str; 10] = [
    "id",
    "date",
    "kind",
    "amount",
    "reservedDelta",
    "balance",
    "reservedAmount",
    "description",
    "reservationId",
    "userId",
];

/// How a statement is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// `{"customerId", …, "totals", "entries": […]}`.
    Json,
    /// `<statement>…<entries><entry>…</entry></entries></statement>`.
    Xml,
    /// A header row, then one row an entry.
    Csv,
}

/// A statement could not be written (a bug: every value it writes is the server's own).
pub(crate) type WriteFailure = Box<dyn std::error::Error + Send + Sync>;

impl Layout {
    /// `text/csv` when the client ranks it first, else the API's usual JSON or XML.
    pub(crate) fn of(req: &HttpRequest) -> Self {
        let first = Accept::parse(req)
            .ok()
            .and_then(|accept| accept.ranked().into_iter().next());
        if first.is_some_and(|m| m.type_() == mime::TEXT && m.subtype() == mime::CSV) {
            return Self::Csv;
        }
        match Format::of(req) {
            Format::Json => Self::Json,
            Format::Xml => Self::Xml,
        }
    }

    /// The answer's `Content-Type`.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Xml => "application/xml; charset=utf-8",
            Self::Csv => "text/csv; charset=utf-8",
        }
    }

    /// What comes before the entries.
    pub(crate) fn head(self, summary: &StatementSummary) -> Result<Bytes, WriteFailure> {
        let head = serde_json::to_value(StatementHeadDto::new(summary))?;
        match self {
            Self::Json => {
                let mut text = serde_json::to_string(&head)?;
                // The figures' object, left open for the entries.
                text.pop();
                text.push_str(",\"entries\":[");
                Ok(Bytes::from(text))
            }
            Self::Xml => {
                let mut bytes = br#"<?xml version="1.0" encoding="UTF-8"?><statement>"#.to_vec();
                if let Some(fields) = head.as_object() {
                    for (name, value) in fields {
                        bytes.extend(xml_element(name, value)?);
                    }
                }
                bytes.extend_from_slice(b"<entries>");
                Ok(Bytes::from(bytes))
            }
            Self::Csv => csv_rows(std::iter::once(COLUMNS.map(str::to_owned))),
        }
    }

    /// One page of entries; `first` for the period's first page.
    pub(crate) fn entries(
        self,
        entries: &[LedgerEntry],
        first: bool,
    ) -> Result<Bytes, WriteFailure> {
        match self {
            Self::Json => {
                let mut text = String::new();
                for (n, entry) in entries.iter().enumerate() {
                    if !(first && n == 0) {
                        text.push(',');
                    }
                    text.push_str(&serde_json::to_string(&LedgerEntryDto::from(entry))?);
                }
                Ok(Bytes::from(text))
            }
            Self::Xml => {
                let mut bytes = Vec::new();
                for entry in entries {
                    let value = serde_json::to_value(LedgerEntryDto::from(entry))?;
                    bytes.extend(xml_element("entry", &value)?);
                }
                Ok(Bytes::from(bytes))
            }
            Self::Csv => csv_rows(entries.iter().map(csv_row)),
        }
    }

    /// What closes the statement.
    pub(crate) fn tail(self) -> Bytes {
        match self {
            Self::Json => Bytes::from_static(b"]}"),
            Self::Xml => Bytes::from_static(b"</entries></statement>"),
            Self::Csv => Bytes::new(),
        }
    }
}

/// An entry's CSV row: amounts at the currency's scale, as in JSON.
fn csv_row(entry: &LedgerEntry) -> [String; 10] {
    let text = |value: Option<String>| value.unwrap_or_default();
    [
        entry.id.to_string(),
        timestamp(entry.at),
        entry.kind.as_str().to_owned(),
        entry.balance_delta.amount().to_string(),
        entry.reserved_delta.amount().to_string(),
        entry.balance_after.amount().to_string(),
        entry.reserved_after.amount().to_string(),
        text(entry.description.clone()),
        text(entry.reservation.map(|r| r.0.to_string())),
        text(entry.user.map(|u| u.get().to_string())),
    ]
}

/// Rows written as CSV (quoted where a field needs it).
fn csv_rows(rows: impl Iterator<Item = [String; 10]>) -> Result<Bytes, WriteFailure> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.write_record(&row)?;
    }
    Ok(Bytes::from(
        writer.into_inner().map_err(|e| e.into_error())?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use credence_domain::credit::{EntryKind, KindSum, Money, Period, Standing, StatementSummary};
    use credence_domain::ids::{CustomerId, UserId};
    use credence_domain::values::CurrencyCode;

    fn eur(minor: i64) -> Money {
        Money::from_minor(minor, CurrencyCode::parse("EUR").unwrap())
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn summary() -> StatementSummary {
        let period = Period::new(at("2026-11-01T00:00:00Z"), at("2026-12-01T00:00:00Z")).unwrap();
        let standing = |balance| Standing {
            balance: eur(balance),
            reserved: eur(0),
        };
        let moved = [KindSum {
            kind: EntryKind::Payment,
            balance: eur(1_050),
            reserved: eur(0),
        }];
        StatementSummary::new(
            CustomerId(4),
            period,
            standing(100),
            &moved,
            standing(1_150),
        )
        .unwrap()
    }

    fn payment(id: i64, description: &str) -> LedgerEntry {
        LedgerEntry {
            id,
            account: CustomerId(4),
            kind: EntryKind::Payment,
            balance_delta: eur(525),
            reserved_delta: eur(0),
            balance_after: eur(100 + 525 * id),
            reserved_after: eur(0),
            description: Some(description.to_owned()),
            reservation: None,
            user: Some(UserId(9)),
            at: at("2026-11-03T10:00:00Z"),
        }
    }

    fn written(layout: Layout) -> String {
        let mut bytes = layout.head(&summary()).unwrap().to_vec();
        bytes.extend(
            layout
                .entries(&[payment(1, "wire, \"Nov\"")], true)
                .unwrap(),
        );
        bytes.extend(layout.entries(&[payment(2, "cash")], false).unwrap());
        bytes.extend(layout.tail());
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn json_pieces_make_one_document() {
        let value: serde_json::Value = serde_json::from_str(&written(Layout::Json)).unwrap();
        assert_eq!(value["customerId"], 4);
        assert_eq!(value["openingBalance"].to_string(), "1.00");
        assert_eq!(value["closingBalance"].to_string(), "11.50");
        assert_eq!(value["totals"]["payments"].to_string(), "10.50");
        let entries = value["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1]["description"], "cash");
    }

    #[test]
    fn csv_quotes_what_needs_it_and_keeps_the_scale() {
        let text = written(Layout::Csv);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "id,date,kind,amount,reservedDelta,balance,reservedAmount,description,reservationId,userId"
        );
        assert_eq!(
            lines[1],
            "1,2026-11-03T10:00:00Z,payment,5.25,0.00,6.25,0.00,\"wire, \"\"Nov\"\"\",,9"
        );
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn xml_pieces_make_one_document() {
        let text = written(Layout::Xml);
        assert!(text.starts_with("<?xml"));
        assert!(text.contains("<openingBalance>1.00</openingBalance>"));
        assert!(text.contains("<totals><payments>10.50</payments>"));
        assert_eq!(text.matches("<entry>").count(), 2);
        assert!(text.ends_with("</entries></statement>"));
    }
}
