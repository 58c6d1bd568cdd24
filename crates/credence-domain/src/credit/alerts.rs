//! Credit alerts: thresholds of an account's available credit. A movement that takes
//! `available` from at least a threshold to below it fires the threshold once; it is armed
//! again when `available` is back at or above it.

use super::Money;

/// The most thresholds one account may have.
pub const MAX_ALERTS: usize = 10;

/// What a movement does to one threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crossing {
    /// The threshold fired: write its event.
    pub fires: bool,
    /// Whether it is armed after the movement.
    pub armed: bool,
}

/// The rule for one threshold and one movement from `before` to `after`, all in the
/// account's currency. A threshold that fired is armed again by any state at or above it,
/// seen before or after a movement, so a limit raised between two movements re-arms it too.
#[must_use]
pub fn crossing(armed: bool, before: Money, after: Money, threshold: Money) -> Crossing {
    let (before, after, threshold) = (before.minor(), after.minor(), threshold.minor());
    let armed = armed || before >= threshold;
    let fires = armed && before >= threshold && after < threshold;
    Crossing {
        fires,
        armed: !fires && (armed || after >= threshold),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::CurrencyCode;

    fn eur(minor: i64) -> Money {
        Money::from_minor(minor, CurrencyCode::parse("EUR").unwrap())
    }

    #[test]
    fn fires_once_per_crossing_and_rearms_on_the_way_up() {
        let t = eur(1000);
        let down = crossing(true, eur(1500), eur(900), t);
        assert_eq!(
            down,
            Crossing {
                fires: true,
                armed: false
            }
        );
        // Further down: already fired, nothing.
        assert_eq!(
            crossing(false, eur(900), eur(100), t),
            Crossing {
                fires: false,
                armed: false
            }
        );
        // Back up to the threshold: armed again, silently.
        assert_eq!(
            crossing(false, eur(100), eur(1000), t),
            Crossing {
                fires: false,
                armed: true
            }
        );
        // And down again: fires again.
        assert_eq!(
            crossing(true, eur(1000), eur(999), t),
            Crossing {
                fires: true,
                armed: false
            }
        );
    }

    #[test]
    fn a_state_at_or_above_before_the_movement_rearms_it() {
        // Fired earlier; a raised limit put `available` back above it; this movement drops it.
        assert!(crossing(false, eur(2000), eur(500), eur(1000)).fires);
        // Set while already below: it fires only after `available` has been back up.
        assert!(!crossing(true, eur(500), eur(400), eur(1000)).fires);
    }
}
