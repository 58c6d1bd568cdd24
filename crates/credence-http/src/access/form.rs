//! The body of a key creation as the API reads it, and the source of its OpenAPI schema.

use utoipa::ToSchema;

use crate::body::BodyFields;
use crate::input::given;
use crate::wording::WireError;

/// The body of a key creation (`POST /users/{id}/keys`).
#[derive(Debug, Clone, PartialEq, Eq, ToSchema)]
pub(crate) struct KeyForm {
    /// A label, to tell keys apart (blank is none).
    #[schema(example = "billing job")]
    pub(crate) name: Option<String>,
}

impl KeyForm {
    /// Reads the body.
    ///
    /// # Errors
    /// `invalid_param_type` naming `name` for a structured value.
    pub(crate) fn read(fields: &BodyFields) -> Result<Self, WireError> {
        Ok(Self {
            name: given(fields, "name")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reader_reads_every_property_of_its_schema() {
        crate::schema_check::readers_read_every_property(
            &[("KeyForm", |f| KeyForm::read(f).map(drop))],
            |_| "ci",
        );
    }
}
