//! Statements: what an account held when a period opened and when it closed, and what moved
//! it in between.
//!
//! A period runs from `from` (included) to `to` (excluded), so consecutive months share no
//! entry and miss none. The figures are read from the ledger in one snapshot and held to the
//! rule every statement must keep — the opening plus the period's movements is the closing —
//! when they are put together: a statement that breaks it is never written.

use chrono::{DateTime, Datelike, TimeZone, Utc};

use super::{EntryKind, LedgerEntry, Money};
use crate::ids::CustomerId;

/// A statement's span of time: from `from` (included) to `to` (excluded), `from` first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

/// Why two instants make no period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the period must end after it starts")]
pub struct EmptyPeriod;

impl Period {
    /// The period from `from` up to (not including) `to`.
    ///
    /// # Errors
    /// [`EmptyPeriod`] unless `from` comes before `to`.
    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Self, EmptyPeriod> {
        if from < to {
            Ok(Self { from, to })
        } else {
            Err(EmptyPeriod)
        }
    }

    /// The calendar month (UTC) that holds `at`.
    #[must_use]
    pub fn month_of(at: DateTime<Utc>) -> Self {
        let first = |year: i32, month: u32| Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0).single();
        let (year, month) = (at.year(), at.month());
        let next = if month == 12 {
            first(year + 1, 1)
        } else {
            first(year, month + 1)
        };
        match (first(year, month), next) {
            (Some(from), Some(to)) => Self { from, to },
            // Only at the very end of chrono's calendar: the month then runs to its end.
            _ => Self {
                from: at,
                to: DateTime::<Utc>::MAX_UTC,
            },
        }
    }

    /// The first instant in the period.
    #[must_use]
    pub fn from(&self) -> DateTime<Utc> {
        self.from
    }

    /// The first instant after the period.
    #[must_use]
    pub fn to(&self) -> DateTime<Utc> {
        self.to
    }
}

/// The bounds a client asked a period to have. A bound left out is taken from the calendar
/// month (UTC) of the other one (`from` alone runs to the end of its month, `to` alone from
/// the start of the month it ends in); with neither, the period is the current month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeriodBounds {
    /// The first instant, if asked.
    pub from: Option<DateTime<Utc>>,
    /// The first instant after, if asked.
    pub to: Option<DateTime<Utc>>,
}

impl PeriodBounds {
    /// The period, with what was left out filled in (see [`PeriodBounds`]); `now` names the
    /// current month.
    ///
    /// # Errors
    /// [`EmptyPeriod`] unless it starts before it ends.
    pub fn period(self, now: DateTime<Utc>) -> Result<Period, EmptyPeriod> {
        let (from, to) = match (self.from, self.to) {
            (Some(from), Some(to)) => (from, to),
            (Some(from), None) => (from, Period::month_of(from).to()),
            (None, Some(to)) => {
                let last = to
                    .checked_sub_signed(chrono::TimeDelta::seconds(1))
                    .unwrap_or(to);
                (Period::month_of(last).from(), to)
            }
            (None, None) => {
                let month = Period::month_of(now);
                (month.from(), month.to())
            }
        };
        Period::new(from, to)
    }
}

/// What an account held at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// The balance.
    pub balance: Money,
    /// The amount reserved for orders not yet captured, released or expired.
    pub reserved: Money,
}

/// The sums of one period's ledger entries of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindSum {
    /// The kind.
    pub kind: EntryKind,
    /// The sum of the entries' balance changes.
    pub balance: Money,
    /// The sum of the entries' reserved changes.
    pub reserved: Money,
}

/// What the period's movements did to the balance, each kind's changes summed with their
/// sign: payments raise it, charges and captures lower it, adjustments go either way. So the
/// closing balance is the opening one plus all four.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    /// Money received.
    pub payments: Money,
    /// Costs posted directly (negative or zero).
    pub charges: Money,
    /// Corrections.
    pub adjustments: Money,
    /// Reservations turned into costs (negative or zero).
    pub captured: Money,
}

/// A statement whose figures disagree: the opening plus the movements is not the closing.
/// Only a broken ledger or a broken reader can produce one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a statement does not add up: opening {opening:?} plus movements {moved:?} is not closing {closing:?}"
)]
pub struct Unbalanced {
    opening: Standing,
    moved: Vec<KindSum>,
    closing: Standing,
}

/// An account's figures for one period, which always add up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementSummary {
    account: CustomerId,
    period: Period,
    opening: Standing,
    closing: Standing,
    totals: Totals,
}

impl StatementSummary {
    /// Puts the figures of `account` together: `opening` as the period opened, `moved` the
    /// period's sums by kind (each kind at most once), `closing` as it closed.
    ///
    /// # Errors
    /// [`Unbalanced`] when opening plus movements is not closing, in the balance or in the
    /// reserved amount, or the amounts are in more than one currency.
    pub fn new(
        account: CustomerId,
        period: Period,
        opening: Standing,
        moved: &[KindSum],
        closing: Standing,
    ) -> Result<Self, Unbalanced> {
        let unbalanced = || Unbalanced {
            opening,
            moved: moved.to_vec(),
            closing,
        };
        let currency = opening.balance.currency();
        let zero = Money::zero(currency);
        let sum_of = |kinds: &[EntryKind]| {
            moved
                .iter()
                .filter(|sum| kinds.contains(&sum.kind))
                .try_fold(zero, |total, sum| total.checked_add(sum.balance))
        };
        let totals = Totals {
            payments: sum_of(&[EntryKind::Payment]).ok_or_else(unbalanced)?,
            charges: sum_of(&[EntryKind::Charge]).ok_or_else(unbalanced)?,
            adjustments: sum_of(&[EntryKind::Adjustment]).ok_or_else(unbalanced)?,
            captured: sum_of(&[EntryKind::Capture]).ok_or_else(unbalanced)?,
        };
        let balance = moved
            .iter()
            .try_fold(opening.balance, |total, sum| total.checked_add(sum.balance));
        let reserved = moved.iter().try_fold(opening.reserved, |total, sum| {
            total.checked_add(sum.reserved)
        });
        // Only the four kinds above move the balance; a balance change of another kind would
        // be left out of the totals.
        let others_still = moved.iter().all(|sum| {
            sum.balance.is_zero()
                || matches!(
                    sum.kind,
                    EntryKind::Payment
                        | EntryKind::Charge
                        | EntryKind::Adjustment
                        | EntryKind::Capture
                )
        });
        if balance != Some(closing.balance) || reserved != Some(closing.reserved) || !others_still {
            return Err(unbalanced());
        }
        Ok(Self {
            account,
            period,
            opening,
            closing,
            totals,
        })
    }

    /// The account.
    #[must_use]
    pub fn account(&self) -> CustomerId {
        self.account
    }

    /// The period.
    #[must_use]
    pub fn period(&self) -> Period {
        self.period
    }

    /// What the account held as the period opened.
    #[must_use]
    pub fn opening(&self) -> Standing {
        self.opening
    }

    /// What the account held as the period closed.
    #[must_use]
    pub fn closing(&self) -> Standing {
        self.closing
    }

    /// What moved the balance.
    #[must_use]
    pub fn totals(&self) -> Totals {
        self.totals
    }
}

/// Where a statement goes while the store reads it: first its figures, then its entries,
/// oldest first, a page at a time, so a statement of any length is never held whole. Each
/// call answers whether to go on (`false`: the reader has gone, stop reading).
pub trait StatementSink: Send {
    /// The figures, before any entry.
    fn summary(&mut self, summary: StatementSummary) -> bool;

    /// The next entries of the period.
    fn entries(&mut self, entries: Vec<LedgerEntry>) -> bool;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::CurrencyCode;

    fn eur(minor: i64) -> Money {
        Money::from_minor(minor, CurrencyCode::parse("EUR").unwrap())
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn standing(balance: i64, reserved: i64) -> Standing {
        Standing {
            balance: eur(balance),
            reserved: eur(reserved),
        }
    }

    fn sum(kind: EntryKind, balance: i64, reserved: i64) -> KindSum {
        KindSum {
            kind,
            balance: eur(balance),
            reserved: eur(reserved),
        }
    }

    #[test]
    fn a_month_runs_from_its_first_instant_to_the_next_months() {
        let november = Period::month_of(at("2026-11-17T08:30:00Z"));
        assert_eq!(november.from(), at("2026-11-01T00:00:00Z"));
        assert_eq!(november.to(), at("2026-12-01T00:00:00Z"));
        let december = Period::month_of(at("2026-12-31T23:59:59Z"));
        assert_eq!(december.from(), at("2026-12-01T00:00:00Z"));
        assert_eq!(december.to(), at("2027-01-01T00:00:00Z"));
    }

    #[test]
    fn a_bound_left_out_comes_from_the_other_ones_month() {
        let now = at("2026-12-06T04:00:00Z");
        let period = |from: Option<&str>, to: Option<&str>| {
            let bounds = PeriodBounds {
                from: from.map(at),
                to: to.map(at),
            };
            bounds.period(now).map(|p| (p.from(), p.to()))
        };
        let december = (at("2026-12-01T00:00:00Z"), at("2027-01-01T00:00:00Z"));
        assert_eq!(period(None, None), Ok(december));
        assert_eq!(
            period(Some("2026-11-15T10:00:00Z"), None),
            Ok((at("2026-11-15T10:00:00Z"), at("2026-12-01T00:00:00Z")))
        );
        assert_eq!(
            period(None, Some("2026-12-01T00:00:00Z")),
            Ok((at("2026-11-01T00:00:00Z"), at("2026-12-01T00:00:00Z")))
        );
        assert_eq!(
            period(None, Some("2000-01-01T00:00:00Z")),
            Ok((at("1999-12-01T00:00:00Z"), at("2000-01-01T00:00:00Z")))
        );
        assert_eq!(
            period(Some("2026-12-02T00:00:00Z"), Some("2026-12-01T00:00:00Z")),
            Err(EmptyPeriod)
        );
    }

    #[test]
    fn a_period_ends_after_it_starts() {
        let t = at("2026-11-01T00:00:00Z");
        assert_eq!(Period::new(t, t), Err(EmptyPeriod));
        assert!(Period::new(t, t + chrono::TimeDelta::seconds(1)).is_ok());
    }

    #[test]
    fn the_totals_are_each_kinds_balance_changes() {
        let period = Period::month_of(at("2026-11-17T08:30:00Z"));
        let moved = [
            sum(EntryKind::Payment, 10_000, 0),
            sum(EntryKind::Charge, -2_500, 0),
            sum(EntryKind::Reservation, 0, 4_000),
            sum(EntryKind::Capture, -3_000, -4_000),
            sum(EntryKind::Adjustment, 100, 0),
        ];
        let summary = StatementSummary::new(
            CustomerId(7),
            period,
            standing(500, 0),
            &moved,
            standing(5_100, 0),
        )
        .unwrap();
        assert_eq!(
            summary.totals(),
            Totals {
                payments: eur(10_000),
                charges: eur(-2_500),
                adjustments: eur(100),
                captured: eur(-3_000),
            }
        );
    }

    #[test]
    fn figures_that_do_not_add_up_are_refused() {
        let period = Period::month_of(at("2026-11-17T08:30:00Z"));
        let moved = [sum(EntryKind::Payment, 100, 0)];
        assert!(
            StatementSummary::new(
                CustomerId(7),
                period,
                standing(0, 0),
                &moved,
                standing(101, 0)
            )
            .is_err()
        );
        assert!(
            StatementSummary::new(
                CustomerId(7),
                period,
                standing(0, 5),
                &moved,
                standing(100, 0)
            )
            .is_err()
        );
        let stray = [sum(EntryKind::Release, 100, 0)];
        assert!(
            StatementSummary::new(
                CustomerId(7),
                period,
                standing(0, 0),
                &stray,
                standing(100, 0)
            )
            .is_err()
        );
    }
}
