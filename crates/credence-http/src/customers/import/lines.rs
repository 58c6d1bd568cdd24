//! From raw lines to the domain's import rows: the body's format is split into lines
//! ([`super::csv_lines`], [`super::ndjson_lines`]), each line becomes the same
//! [`BodyFields`] a single customer's body would, and [`customer_changes`] judges it by the
//! single-customer routes' rules, with their error texts. A line that cannot be read is
//! that line's failure, never the body's.
//!
//! The names a line may use are the customer body's ([`CustomerForm`]'s schema, so a field
//! added there is importable at once) and `openingBalance`; any other name fails the line
//! (in CSV, the whole header: `400`), because a misspelt column would otherwise drop its
//! values silently on every line. `imageFile` is a multipart upload and has no place here.

use std::collections::HashSet;

use credence_domain::Principal;
use credence_domain::services::ImportRow;
use serde_json::Value;
use utoipa::PartialSchema;
use utoipa::openapi::{RefOr, Schema};

use crate::body::{BodyFields, RawField, from_json};
use crate::customers::form::{CustomerForm, customer_changes};
use crate::customers::import::csv_lines::{CsvRecord, CsvSplitter};
use crate::customers::import::ndjson_lines::{NdjsonLine, NdjsonSplitter};
use crate::error::ApiError;
use crate::input::parse_decimal;
use crate::strict;
use crate::wording::WireError;

/// The wire name of a line's opening balance.
pub(crate) const OPENING_BALANCE_FIELD: &str = "openingBalance";

/// The body formats an import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `text/csv`: a header of field names, then one customer a line.
    Csv,
    /// `application/x-ndjson`: one customer object a line.
    Ndjson,
}

/// One line, read.
#[derive(Debug)]
pub(crate) struct Line {
    /// Its number in the body (CSV: the header is line 1).
    pub(crate) line: u64,
    /// Its reference, when it has a readable one (also for a line that fails).
    pub(crate) reference: Option<String>,
    /// The row to apply, or why the line cannot be.
    pub(crate) row: Result<ImportRow, ApiError>,
}

/// The names a line may use.
fn known_fields() -> HashSet<String> {
    let mut names = HashSet::new();
    if let RefOr::T(Schema::Object(object)) = CustomerForm::schema() {
        names.extend(object.properties.keys().cloned());
    }
    names.remove("imageFile");
    names.insert(OPENING_BALANCE_FIELD.to_owned());
    names
}

fn unknown_field(name: &str) -> ApiError {
    ApiError::invalid_param(format!(
        "{} is not a field of a customer.",
        strict::printable(name)
    ))
}

/// Reads a body's lines as its chunks arrive.
#[derive(Debug)]
pub(crate) struct LineReader {
    format: Format,
    principal: Principal,
    known: HashSet<String>,
    csv: CsvSplitter,
    header: Option<Vec<String>>,
    ndjson: NdjsonSplitter,
}

impl LineReader {
    /// A reader for `format`, judging lines as `principal`'s writes.
    pub(crate) fn new(format: Format, principal: &Principal) -> Self {
        Self {
            format,
            principal: principal.clone(),
            known: known_fields(),
            csv: CsvSplitter::default(),
            header: None,
            ndjson: NdjsonSplitter::default(),
        }
    }

    /// Adds a chunk of the body and appends the lines it completed to `out`.
    ///
    /// # Errors
    /// `413` for a line past the length limit; `400` for a CSV header that cannot be used.
    pub(crate) fn push(&mut self, chunk: &[u8], out: &mut Vec<Line>) -> Result<(), ApiError> {
        match self.format {
            Format::Csv => {
                let mut records = Vec::new();
                self.csv.push(chunk, &mut records)?;
                self.csv_lines(records, out)
            }
            Format::Ndjson => {
                let mut lines = Vec::new();
                self.ndjson.push(chunk, &mut lines)?;
                out.extend(lines.into_iter().map(|l| self.ndjson_line(l)));
                Ok(())
            }
        }
    }

    /// The body has ended: appends its last lines to `out`.
    ///
    /// # Errors
    /// `400` for a CSV header that cannot be used.
    pub(crate) fn finish(&mut self, out: &mut Vec<Line>) -> Result<(), ApiError> {
        match self.format {
            Format::Csv => {
                let mut records = Vec::new();
                self.csv.finish(&mut records);
                self.csv_lines(records, out)
            }
            Format::Ndjson => {
                let mut lines = Vec::new();
                self.ndjson.finish(&mut lines);
                out.extend(lines.into_iter().map(|l| self.ndjson_line(l)));
                Ok(())
            }
        }
    }

    fn csv_lines(&mut self, records: Vec<CsvRecord>, out: &mut Vec<Line>) -> Result<(), ApiError> {
        for record in records {
            match &self.header {
                None => self.header = Some(self.csv_header(record)?),
                Some(header) => out.push(self.csv_line(header, record)),
            }
        }
        Ok(())
    }

    /// The header: UTF-8 (a leading byte-order mark is dropped), each name known and once.
    fn csv_header(&self, record: CsvRecord) -> Result<Vec<String>, ApiError> {
        let mut names = Vec::with_capacity(record.values.len());
        for (i, value) in record.values.into_iter().enumerate() {
            let mut name = String::from_utf8(value)
                .map_err(|_| ApiError::invalid_param("The CSV header line is not valid UTF-8."))?;
            if i == 0 && name.starts_with('\u{feff}') {
                name.remove(0);
            }
            let name = name.trim().to_owned();
            if !self.known.contains(&name) {
                return Err(unknown_field(&name));
            }
            if names.contains(&name) {
                return Err(ApiError::invalid_param(format!(
                    "The CSV header names the field {name} twice."
                )));
            }
            names.push(name);
        }
        if !names.iter().any(|n| n == "reference") {
            return Err(WireError::Missing("reference").into());
        }
        Ok(names)
    }

    fn csv_line(&self, header: &[String], record: CsvRecord) -> Line {
        let reference = header
            .iter()
            .position(|n| n == "reference")
            .and_then(|i| record.values.get(i))
            .and_then(|v| std::str::from_utf8(v).ok())
            .filter(|r| !r.trim().is_empty())
            .map(str::to_owned);
        let row = csv_fields(header, record.values).and_then(|f| self.row(f));
        Line {
            line: record.line,
            reference,
            row,
        }
    }

    fn ndjson_line(&self, line: NdjsonLine) -> Line {
        let object = ndjson_object(&line.bytes);
        let reference = object.as_ref().ok().and_then(|o| match o.get("reference") {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        });
        let row = object.and_then(|object| {
            if let Some(name) = object.keys().find(|k| !self.known.contains(*k)) {
                return Err(unknown_field(name));
            }
            self.row(BodyFields::new(
                object.into_iter().map(|(k, v)| (k, from_json(v))).collect(),
            ))
        });
        Line {
            line: line.line,
            reference,
            row,
        }
    }

    /// A line's fields as the domain's row, by the single-customer routes' rules.
    fn row(&self, fields: BodyFields) -> Result<ImportRow, ApiError> {
        let reference = match fields.get("reference") {
            Some(RawField::Text(text)) if !text.trim().is_empty() => text.clone(),
            Some(RawField::Json(_)) => return Err(WireError::InvalidType("reference").into()),
            _ => return Err(WireError::Missing("reference").into()),
        };
        let opening_balance = match fields.get(OPENING_BALANCE_FIELD) {
            Some(RawField::Text(text)) if !text.trim().is_empty() => {
                Some(parse_decimal(OPENING_BALANCE_FIELD, text)?)
            }
            Some(RawField::Json(_)) => {
                return Err(WireError::InvalidType(OPENING_BALANCE_FIELD).into());
            }
            _ => None,
        };
        let changes = customer_changes(fields, Some(&reference), &self.principal)?;
        Ok(ImportRow {
            reference,
            changes,
            opening_balance,
        })
    }
}

/// A CSV line's values as text fields, like a form's.
fn csv_fields(header: &[String], values: Vec<Vec<u8>>) -> Result<BodyFields, ApiError> {
    if values.len() != header.len() {
        return Err(ApiError::invalid_param(format!(
            "The line has {} values where the header names {} fields.",
            values.len(),
            header.len()
        )));
    }
    let mut fields = Vec::with_capacity(values.len());
    for (name, value) in header.iter().zip(values) {
        let text = String::from_utf8(value).map_err(|_| {
            ApiError::invalid_param(format!("The value of {name} is not valid UTF-8."))
        })?;
        strict::check_text(name, &text)?;
        fields.push((name.clone(), RawField::Text(text)));
    }
    Ok(BodyFields::new(fields))
}

/// An NDJSON line as a JSON object (strictly: see [`strict::json`]).
fn ndjson_object(bytes: &[u8]) -> Result<serde_json::Map<String, Value>, ApiError> {
    if std::str::from_utf8(bytes).is_err() {
        return Err(ApiError::invalid_param("The line is not valid UTF-8."));
    }
    match strict::json(bytes)? {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::invalid_param("The line must be a JSON object.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(format: Format, body: &[u8]) -> Result<Vec<Line>, ApiError> {
        let mut reader = LineReader::new(format, &Principal::system_admin());
        let mut out = Vec::new();
        for chunk in body.chunks(7) {
            reader.push(chunk, &mut out)?;
        }
        reader.finish(&mut out)?;
        Ok(out)
    }

    fn error(line: &Line) -> String {
        line.row
            .as_ref()
            .unwrap_err()
            .body()
            .error_description
            .clone()
    }

    #[test]
    fn the_customer_body_fields_and_the_opening_balance_are_known() {
        let known = known_fields();
        for name in [
            "reference",
            "name",
            "creditLimit",
            "paymentTypes",
            "openingBalance",
        ] {
            assert!(known.contains(name), "{name}");
        }
        assert!(!known.contains("imageFile"));
    }

    #[test]
    fn csv_lines_become_rows_with_their_line_numbers() {
        let lines = read(
            Format::Csv,
            b"\xef\xbb\xbfreference,name,openingBalance\nC1,Acme,12.50\nC2,Beta,\n",
        )
        .unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].line, 2);
        let row = lines[0].row.as_ref().unwrap();
        assert_eq!(row.reference, "C1");
        assert_eq!(row.opening_balance, Some("12.50".parse().unwrap()));
        assert_eq!(lines[1].row.as_ref().unwrap().opening_balance, None);
    }

    #[test]
    fn bad_csv_lines_fail_alone() {
        let lines = read(
            Format::Csv,
            b"reference,name\nC1\n\xff,x\nC3,Ok\n,Nameless\nC5,\"x\x01\"\n",
        )
        .unwrap();
        assert_eq!(lines.len(), 5);
        assert!(error(&lines[0]).contains("1 values where the header names 2"));
        assert!(error(&lines[1]).contains("not valid UTF-8"));
        assert!(lines[2].row.is_ok());
        assert_eq!(
            lines[3].row.as_ref().unwrap_err().body().error,
            "missing_param"
        );
        assert_eq!(lines[4].reference.as_deref(), Some("C5"));
        assert!(error(&lines[4]).contains("U+0001"));
    }

    #[test]
    fn a_csv_header_with_an_unknown_or_repeated_name_is_refused() {
        let unknown = read(Format::Csv, b"reference,nmae\nC1,x\n").unwrap_err();
        assert_eq!(unknown.status().as_u16(), 400);
        assert!(unknown.body().error_description.contains("nmae"));
        let twice = read(Format::Csv, b"reference,name,name\n").unwrap_err();
        assert!(twice.body().error_description.contains("twice"));
        let no_reference = read(Format::Csv, b"name\nx\n").unwrap_err();
        assert_eq!(no_reference.body().error, "missing_param");
    }

    #[test]
    fn ndjson_lines_fail_alone() {
        let lines = read(
            Format::Ndjson,
            b"{\"reference\":\"N1\",\"name\":\"A\"}\n[1]\n{\"reference\":\"N3\",\"nmae\":\"x\"}\n{bad\n{\"name\":\"x\"}\n",
        )
        .unwrap();
        assert_eq!(lines.len(), 5);
        assert!(lines[0].row.is_ok());
        assert!(error(&lines[1]).contains("JSON object"));
        assert_eq!(lines[2].reference.as_deref(), Some("N3"));
        assert!(error(&lines[2]).contains("nmae"));
        assert!(error(&lines[3]).contains("not valid JSON"));
        assert_eq!(
            lines[4].row.as_ref().unwrap_err().body().error,
            "missing_param"
        );
    }
}
