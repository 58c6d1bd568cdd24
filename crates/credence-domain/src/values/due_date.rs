//! Payment terms: when an invoice falls due.

use chrono::{Datelike, Days, NaiveDate};

/// How the due date is counted. Clients send `1`/`2` or the names; we write back the names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DueDateType {
    /// `1`: a number of days after the invoice date.
    DaysAfterInvoiceDate,
    /// `2`: a number of days after the end of the invoice's month.
    DaysAfterEndOfInvoiceMonth,
}

impl DueDateType {
    /// Parses `1`, `2` or the names, case-insensitively.
    ///
    /// # Errors
    /// [`DueDateError::UnknownType`] for anything else.
    pub fn parse(text: &str) -> Result<Self, DueDateError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "1" | "daysafterinvoicedate" => Ok(Self::DaysAfterInvoiceDate),
            "2" | "daysafterendofinvoicemonth" => Ok(Self::DaysAfterEndOfInvoiceMonth),
            _ => Err(DueDateError::UnknownType(text.to_owned())),
        }
    }

    /// The name written back to clients.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DaysAfterInvoiceDate => "daysAfterInvoiceDate",
            Self::DaysAfterEndOfInvoiceMonth => "daysAfterEndOfInvoiceMonth",
        }
    }
}

/// Why payment terms were refused (the HTTP adapter words it with the fields' wire names).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DueDateError {
    /// Neither `1`, `2` nor one of the names.
    #[error("the due-date type {0} is neither 1, 2 nor the name of one")]
    UnknownType(String),
    /// Negative or absurdly far.
    #[error(
        "a number of due days must be between 0 and {}",
        DueDateTerms::MAX_DAYS
    )]
    NumberOutOfRange,
}

/// A number of days counted one of two ways.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DueDateTerms {
    days: u32,
    kind: DueDateType,
}

impl DueDateTerms {
    /// The longest term we accept, ten years.
    pub const MAX_DAYS: i64 = 3650;

    /// Builds terms from a number of days and a type.
    ///
    /// # Errors
    /// [`DueDateError::NumberOutOfRange`] outside 0..=3650.
    pub fn new(days: i64, kind: DueDateType) -> Result<Self, DueDateError> {
        let days = u32::try_from(days)
            .ok()
            .filter(|d| i64::from(*d) <= Self::MAX_DAYS)
            .ok_or(DueDateError::NumberOutOfRange)?;
        Ok(Self { days, kind })
    }

    /// The number of days.
    #[must_use]
    pub fn days(&self) -> u32 {
        self.days
    }

    /// How they are counted.
    #[must_use]
    pub fn kind(&self) -> DueDateType {
        self.kind
    }

    /// The date an invoice issued on `invoice_date` falls due.
    #[must_use]
    pub fn due_date(&self, invoice_date: NaiveDate) -> NaiveDate {
        let start = match self.kind {
            DueDateType::DaysAfterInvoiceDate => invoice_date,
            DueDateType::DaysAfterEndOfInvoiceMonth => last_day_of_month(invoice_date),
        };
        start
            .checked_add_days(Days::new(u64::from(self.days)))
            .unwrap_or(NaiveDate::MAX)
    }
}

fn last_day_of_month(date: NaiveDate) -> NaiveDate {
    let (year, month) = if date.month() == 12 {
        (date.year() + 1, 1)
    } else {
        (date.year(), date.month() + 1)
    };
    NaiveDate::from_ymd_opt(year, month, 1)
        .and_then(|first_of_next| first_of_next.pred_opt())
        .unwrap_or(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn counts_days_after_the_invoice_date() {
        let terms = DueDateTerms::new(7, DueDateType::DaysAfterInvoiceDate).unwrap();
        assert_eq!(terms.due_date(day(2016, 8, 16)), day(2016, 8, 23));
        assert_eq!(terms.due_date(day(2016, 12, 28)), day(2017, 1, 4));
    }

    #[test]
    fn counts_days_after_the_end_of_the_invoice_month() {
        let terms = DueDateTerms::new(3, DueDateType::DaysAfterEndOfInvoiceMonth).unwrap();
        assert_eq!(
            terms.due_date(day(2016, 2, 10)),
            day(2016, 3, 3),
            "leap February ends on the 29th"
        );
        assert_eq!(terms.due_date(day(2015, 2, 10)), day(2015, 3, 3));
        assert_eq!(terms.due_date(day(2016, 12, 31)), day(2017, 1, 3));
        let zero = DueDateTerms::new(0, DueDateType::DaysAfterEndOfInvoiceMonth).unwrap();
        assert_eq!(zero.due_date(day(2016, 4, 1)), day(2016, 4, 30));
    }

    #[test]
    fn parses_numbers_and_names_and_bounds_the_days() {
        assert_eq!(
            DueDateType::parse("1"),
            Ok(DueDateType::DaysAfterInvoiceDate)
        );
        assert_eq!(
            DueDateType::parse("daysAfterEndOfInvoiceMonth"),
            Ok(DueDateType::DaysAfterEndOfInvoiceMonth)
        );
        assert!(DueDateType::parse("3").is_err());
        assert_eq!(
            DueDateTerms::new(-1, DueDateType::DaysAfterInvoiceDate),
            Err(DueDateError::NumberOutOfRange)
        );
        assert_eq!(
            DueDateTerms::new(3651, DueDateType::DaysAfterInvoiceDate),
            Err(DueDateError::NumberOutOfRange)
        );
    }
}
