//! The body of a task's state change as the API reads it, and the source of its OpenAPI
//! schema.

use credence_domain::catalog::TaskState;
use utoipa::ToSchema;

use crate::body::BodyFields;
use crate::input::given;
use crate::wording::WireError;

/// The body of a task's state change (`POST /api/v1.0/tasks/{id}/state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
pub(crate) struct TaskStateForm {
    /// `in_progress`, `finished` or `cancelled` (`submitted` is never a move: `409`).
    #[schema(value_type = crate::openapi::TaskStateName, example = "in_progress")]
    pub(crate) state: TaskState,
}

impl TaskStateForm {
    /// Reads the body.
    ///
    /// # Errors
    /// `missing_param` naming `state`; `invalid_param` for a state that is none of the three.
    pub(crate) fn read(fields: &BodyFields) -> Result<Self, WireError> {
        let text = given(fields, "state")?.ok_or(WireError::Missing("state"))?;
        let state = TaskState::parse(text.trim()).ok_or_else(|| {
            WireError::invalid(
                "state",
                format!("The state {text} is not one of in_progress, finished, cancelled."),
            )
        })?;
        Ok(Self { state })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reader_reads_every_property_of_its_schema() {
        crate::schema_check::readers_read_every_property(
            &[("TaskStateForm", |f| TaskStateForm::read(f).map(drop))],
            |_| "finished",
        );
    }
}
