//! The body of `PUT /documents/{uuid}` as the API reads it: one type, read from any body by
//! the fields' wire names and the source of the request's OpenAPI schema. Its fields stay
//! text on the way to the domain, which checks them once it has found the document, so a
//! missing document is `404` whatever the body holds (decision 0031).

use credence_domain::documents::MetadataInput;
use credence_domain::field::Field;
use utoipa::ToSchema;

use crate::body::BodyFields;
use crate::input::scalar;
use crate::wording::WireError;

/// `PUT /documents/{uuid}`: the metadata to change; absent fields are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DocumentMetadataForm {
    /// `null` or blank clears it.
    #[schema(
        value_type = Option<String>,
        max_length = 4000,
        example = "Top secret map to customer site"
    )]
    pub(crate) description: Field<String>,
    /// Non-blank, at most 255 characters, no quotes, slashes or control characters.
    #[schema(value_type = String, required = false, pattern = "{file_name}", max_length = 255)]
    pub(crate) file_name: Field<String>,
    #[schema(value_type = Option<bool>)]
    pub(crate) internal: Field<String>,
}

impl DocumentMetadataForm {
    /// Reads the body.
    ///
    /// # Errors
    /// `invalid_param_type` naming a field that holds an array or object.
    pub(crate) fn read(fields: &BodyFields) -> Result<Self, WireError> {
        Ok(Self {
            description: scalar(fields, "description")?,
            file_name: scalar(fields, "fileName")?,
            internal: scalar(fields, "internal")?,
        })
    }

    /// The change, for the domain to check and apply.
    pub(crate) fn into_change(self) -> MetadataInput {
        MetadataInput {
            description: self.description,
            file_name: self.file_name,
            internal: self.internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body is read by the names the OpenAPI schema publishes, and by no other.
    #[test]
    fn the_reader_reads_every_property_of_the_schema() {
        let doc = serde_json::to_value(crate::openapi::openapi()).unwrap();
        let properties = doc["components"]["schemas"]["DocumentMetadataForm"]["properties"]
            .as_object()
            .unwrap();
        assert_eq!(properties.len(), 3, "{properties:?}");
        for name in properties.keys() {
            let read = DocumentMetadataForm::read(&BodyFields::from_text(&[(name, "1")]));
            assert_ne!(
                read,
                Ok(DocumentMetadataForm::default()),
                "{name} is in the OpenAPI schema, but the reader does not read it"
            );
        }
    }

    /// The upload's one documented part is the one `POST /documents/content` takes the file
    /// from.
    #[test]
    fn the_upload_schema_names_the_part_that_is_read() {
        assert_eq!(
            crate::schema_check::properties("DocumentUploadForm"),
            [crate::body::DOCUMENT_PART]
        );
    }
}
