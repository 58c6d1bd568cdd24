//! Task templates (a product and its attribute values, saved by a customer) and tasks (an
//! order from a template: priced, admitted against credit, then moved through its states).

use chrono::{DateTime, Utc};

use crate::credit::{Money, ReservationId};
use crate::ids::CustomerId;

use super::product::{Localized, Product, ProductCode};

/// One attribute value of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeValue {
    /// The attribute's code.
    pub code: String,
    /// The value, as text.
    pub value: String,
}

/// A customer's saved configuration of a product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskTemplate {
    /// The owning customer.
    pub customer: CustomerId,
    /// Code, unique per customer.
    pub code: String,
    /// Name.
    pub name: String,
    /// Titles by language.
    pub titles: Localized,
    /// Descriptions by language.
    pub descriptions: Localized,
    /// The product ordered.
    pub product: ProductCode,
    /// Its attribute values (checked against the product).
    pub attributes: Vec<AttributeValue>,
}

/// The fields of a template to create or replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateDraft {
    /// Name.
    pub name: String,
    /// Titles by language.
    pub titles: Localized,
    /// Descriptions by language.
    pub descriptions: Localized,
    /// The product ordered.
    pub product: ProductCode,
    /// Its attribute values.
    pub attributes: Vec<AttributeValue>,
}

/// A task's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaskId(pub i64);

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a task stands: `submitted → in_progress → finished`, or `cancelled` before it finishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskState {
    /// Admitted and waiting.
    Submitted,
    /// Being worked on.
    InProgress,
    /// Done: its reservation was captured.
    Finished,
    /// Called off: its reservation was released.
    Cancelled,
}

/// A move the state machine does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("A task cannot go from {} to {}.", .from.as_str(), .to.as_str())]
pub struct TransitionError {
    /// The current state.
    pub from: TaskState,
    /// The state asked for.
    pub to: TaskState,
}

impl TaskState {
    /// The wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::InProgress => "in_progress",
            Self::Finished => "finished",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses a wire name.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "submitted" => Some(Self::Submitted),
            "in_progress" => Some(Self::InProgress),
            "finished" => Some(Self::Finished),
            "cancelled" => Some(Self::Cancelled),
            _ => None,
        }
    }

    /// The state after moving to `to`, if the machine allows it.
    ///
    /// # Errors
    /// [`TransitionError`] for every other move (finished and cancelled are final).
    pub fn move_to(self, to: Self) -> Result<Self, TransitionError> {
        match (self, to) {
            (Self::Submitted, Self::InProgress)
            | (Self::InProgress, Self::Finished)
            | (Self::Submitted | Self::InProgress, Self::Cancelled) => Ok(to),
            _ => Err(TransitionError { from: self, to }),
        }
    }
}

/// An order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// Row id.
    pub id: TaskId,
    /// The ordering customer.
    pub customer: CustomerId,
    /// The customer's own reference for it.
    pub customer_ref: Option<String>,
    /// The template it was made from.
    pub template: String,
    /// The product ordered.
    pub product: ProductCode,
    /// Input items (`item_code`, `item_content`).
    pub input: Vec<AttributeValue>,
    /// How many units.
    pub quantity: u32,
    /// Price × quantity, in the paying account's currency.
    pub amount: Money,
    /// Where it stands.
    pub state: TaskState,
    /// The credit reserved for it.
    pub reservation: ReservationId,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A task about to be created together with its reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDraft {
    /// The ordering customer.
    pub customer: CustomerId,
    /// The customer's own reference.
    pub customer_ref: Option<String>,
    /// The template.
    pub template: String,
    /// The product as it was read to check and price the task: the store creates the task
    /// only while the stored product is still exactly this one.
    pub product: Product,
    /// Input items.
    pub input: Vec<AttributeValue>,
    /// Units.
    pub quantity: u32,
}

#[cfg(test)]
mod tests {
    use super::TaskState::{Cancelled, Finished, InProgress, Submitted};
    use super::*;

    #[test]
    fn the_state_machine_allows_these_moves_and_no_others() {
        let all = [Submitted, InProgress, Finished, Cancelled];
        let allowed = [
            (Submitted, InProgress),
            (InProgress, Finished),
            (Submitted, Cancelled),
            (InProgress, Cancelled),
        ];
        for from in all {
            for to in all {
                let ok = allowed.contains(&(from, to));
                assert_eq!(
                    from.move_to(to).is_ok(),
                    ok,
                    "{} -> {}",
                    from.as_str(),
                    to.as_str()
                );
            }
        }
        assert_eq!(
            Finished.move_to(Cancelled).unwrap_err().to_string(),
            "A task cannot go from finished to cancelled."
        );
        for state in all {
            assert_eq!(TaskState::parse(state.as_str()), Some(state));
        }
    }
}
