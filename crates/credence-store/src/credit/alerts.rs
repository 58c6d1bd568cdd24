//! Credit alerts inside a movement's transaction: the thresholds an account's available
//! credit fell below fire their event once, and are armed again once it is back up.
//!
//! The movement's own `UPDATE` returns `has_alerts`, so an account without alerts costs
//! nothing more; the thresholds of one with alerts are read and changed here, under the
//! account row's lock the movement already holds.

// Split from the parent module, whose imports it shares.
use super::*;

use credence_domain::credit::crossing;
use credence_domain::events::ThresholdCrossing;

use crate::schema::account_alerts;

/// The account row as a movement's `UPDATE` left it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct After {
    pub(crate) balance: i64,
    pub(crate) reserved: i64,
    pub(crate) credit_limit: i64,
    pub(crate) has_alerts: bool,
}

/// Fires the thresholds the movement `entry` took `available` below, highest first, and
/// re-arms those it is back above.
pub(crate) fn check_alerts(
    conn: &mut AnyConnection,
    m: &Movement<'_>,
    entry: &LedgerEntry,
    after: After,
) -> Result<(), Failure> {
    let money = |minor: i64| Money::from_minor(minor, m.currency);
    let available_after = after
        .balance
        .checked_add(after.credit_limit)
        .and_then(|sum| sum.checked_sub(after.reserved))
        .ok_or_else(|| overflow(m.account))?;
    let available_before = available_after
        .checked_sub(m.balance_delta)
        .and_then(|sum| sum.checked_add(m.reserved_delta))
        .ok_or_else(|| overflow(m.account))?;
    let thresholds: Vec<(i64, bool)> = account_alerts::table
        .filter(account_alerts::account_id.eq(m.account))
        .order(account_alerts::threshold.desc())
        .select((account_alerts::threshold, account_alerts::armed))
        .load(conn)?;
    for (threshold, armed) in thresholds {
        let step = crossing(
            armed,
            money(available_before),
            money(available_after),
            money(threshold),
        );
        if step.armed != armed {
            diesel::update(account_alerts::table.find((m.account, threshold)))
                .set(account_alerts::armed.eq(step.armed))
                .execute(conn)?;
        }
        if step.fires {
            let crossed = ThresholdCrossing {
                threshold: money(threshold),
                available: money(available_after),
                movement: entry.clone(),
            };
            m.outbox.record(
                conn,
                EventType::AccountThresholdCrossed,
                entry.account,
                EventObject::Threshold(&crossed),
                m.at,
            )?;
        }
    }
    Ok(())
}

/// The account's thresholds, highest first; `None` when there is no account.
pub(crate) fn alerts_of(
    conn: &mut AnyConnection,
    account: i64,
) -> Result<Option<Vec<Money>>, Failure> {
    let Some(currency) = accounts::table
        .find(account)
        .select(accounts::currency)
        .first::<String>(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let currency = parse_currency(&currency)?;
    let thresholds: Vec<i64> = account_alerts::table
        .filter(account_alerts::account_id.eq(account))
        .order(account_alerts::threshold.desc())
        .select(account_alerts::threshold)
        .load(conn)?;
    Ok(Some(
        thresholds
            .into_iter()
            .map(|t| Money::from_minor(t, currency))
            .collect(),
    ))
}

/// Replaces the account's thresholds, all armed; `false` when there is no account. The
/// account row is locked first, as by every writer of an account.
pub(crate) fn replace_alerts(
    conn: &mut AnyConnection,
    account: i64,
    thresholds: &[Money],
) -> Result<bool, Failure> {
    let Some(locked) = lock_account(conn, account)? else {
        return Ok(false);
    };
    let currency = locked.currency()?;
    if let Some(other) = thresholds.iter().find(|t| t.currency() != currency) {
        return Err(other_currency(account, currency, other.currency()));
    }
    diesel::delete(account_alerts::table.filter(account_alerts::account_id.eq(account)))
        .execute(conn)?;
    for threshold in thresholds {
        diesel::insert_into(account_alerts::table)
            .values((
                account_alerts::account_id.eq(account),
                account_alerts::threshold.eq(threshold.minor()),
                account_alerts::armed.eq(true),
            ))
            .execute(conn)?;
    }
    diesel::update(accounts::table.find(account))
        .set(accounts::has_alerts.eq(!thresholds.is_empty()))
        .execute(conn)?;
    Ok(true)
}
