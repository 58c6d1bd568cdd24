//! `POST /api/v1.0/customers/import`: many customers upserted by reference from one CSV or
//! NDJSON body, with a report of what each line did.
//!
//! The body is read chunk by chunk as it arrives ([`lines`]); lines are handed to the
//! domain's import ([`credence_domain::services::ImportRun`]) in batches of
//! [`BATCH_LINES`], so at most one batch of lines, one chunk and the report are held at
//! once, never the whole body. Each line is judged exactly as `POST
//! /customers/reference/{reference}` judges its body and answers the same errors; a line
//! that cannot be read fails alone, with its line number.
//!
//! The answer is `200` with the report, except an atomic import in which a line failed:
//! `422` with the same report, and nothing applied. More than [`MAX_IMPORT_LINES`] lines is
//! `413`: an atomic import or a dry run then applied nothing; otherwise the batches before
//! the limit stay applied (running the import again is safe: it upserts, and opening
//! balances are posted only on creation).

pub(crate) mod csv_lines;
pub(crate) mod lines;
pub(crate) mod ndjson_lines;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap};
use actix_web::{HttpRequest, HttpResponse, mime, web};
use credence_domain::access::scope::Function;
use credence_domain::customers::import::{BATCH_LINES, MAX_IMPORT_LINES};
use credence_domain::services::{ImportMode, ImportRowError, ImportRun, Imported};
use futures_util::StreamExt;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::body::authorize;
use crate::caller::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::input::parse_bool;
use crate::query::Params;
use lines::{Format, Line, LineReader};

/// Registers the route; before `/customers/{id}`, so `import` is never read as an id.
pub(crate) fn register(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/customers/import").route(web::post().to(import_customers)));
}

/// The query parameters of an import.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(dead_code, reason = "documents the parameters; `Params` reads them")]
pub(crate) struct ImportParams {
    /// `true`: every line is checked as it would be applied, in one transaction that is
    /// rolled back; the report says what would happen, nothing is written.
    #[param(rename = "dryRun", value_type = Option<bool>)]
    dry_run: Option<String>,
    /// `true`: all lines in one transaction, applied only if none fails (else `422`).
    #[param(value_type = Option<bool>)]
    atomic: Option<String>,
}

/// The query parameters an import accepts.
const IMPORT_PARAMS: &[&str] = &["dryRun", "atomic"];

/// What a line did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ImportResult {
    /// The customer was created (with its opening balance).
    Created,
    /// The customer existed and was updated (its opening balance ignored).
    Updated,
    /// The line was not applied; `error` says why.
    Failed,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub(crate) struct ImportLineDto {
    /// The line's number in the body: in CSV the header is line 1, so the first customer
    /// is line 2; in NDJSON the first line is line 1. Blank lines are counted, not reported.
    #[schema(example = 2)]
    pub(crate) line: u64,
    /// The line's reference, when it has a readable one.
    #[schema(example = "C-1001")]
    pub(crate) reference: Option<String>,
    /// What the line did (in a dry run or a failed atomic import: what it would have done).
    pub(crate) result: ImportResult,
    /// Why the line failed: the error the single-customer route would answer.
    pub(crate) error: Option<ErrorBody>,
}

/// The answer of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ImportReportDto {
    /// Whether this was a dry run.
    pub(crate) dry_run: bool,
    /// Whether the import was all or nothing.
    pub(crate) atomic: bool,
    /// Whether the created and updated lines were written: `false` for a dry run and for an
    /// atomic import with a failed line.
    pub(crate) applied: bool,
    /// Lines that created a customer.
    pub(crate) created: u64,
    /// Lines that updated a customer.
    pub(crate) updated: u64,
    /// Lines that failed.
    pub(crate) failed: u64,
    /// Every line, in order.
    pub(crate) lines: Vec<ImportLineDto>,
}

/// Imports customers from CSV or NDJSON, upserting each by `reference`.
///
/// CSV: a header line of the customer's field names (as in its JSON body, e.g.
/// `reference,name,creditLimit`), then one customer a line; values are text, read as form
/// fields are (an empty value is a blank field). NDJSON: one customer object a line.
/// Either may give `openingBalance`: positive posts a payment, negative a charge, described
/// `opening balance`, only when the line creates the customer. At most 100000 lines.
#[utoipa::path(
    post,
    path = "/api/v1.0/customers/import",
    tag = "customers",
    params(ImportParams),
    request_body(
        description = "CSV with a header line, or NDJSON (one customer object a line)",
        content((String = "text/csv"), (String = "application/x-ndjson"))
    ),
    responses(
        (status = 200, description = "The report: each line created, updated or failed", body = ImportReportDto),
        (status = 400, description = "A bad query parameter or CSV header", body = ErrorBody),
        (status = 413, description = "More than 100000 lines, or a line over 1 MiB", body = ErrorBody),
        (status = 415, description = "Neither text/csv nor application/x-ndjson", body = ErrorBody),
        (status = 422, description = "Atomic import with a failed line: the report, nothing applied", body = ImportReportDto),
    )
)]
pub(crate) async fn import_customers(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    authorize(&caller, Function::BackOffice)?;
    let params = Params::parse(req.query_string(), IMPORT_PARAMS)?;
    let flag = |name: &'static str| -> Result<bool, ApiError> {
        Ok(params
            .non_blank(name)
            .map(|v| parse_bool(name, v))
            .transpose()?
            .unwrap_or(false))
    };
    let mode = ImportMode {
        atomic: flag("atomic")?,
        dry_run: flag("dryRun")?,
    };
    let Some(format) = format_of(req.headers())? else {
        // No content type: only an empty body is an import (of nothing); anything else
        // needs its format named.
        while let Some(chunk) = payload.next().await {
            if chunk.is_ok_and(|c| !c.is_empty()) {
                return Err(unsupported("(none)"));
            }
        }
        return answer(StatusCode::OK, &Report::new(mode).body);
    };
    let mut run = state.services.imports.start(&caller.principal, mode)?;
    let mut reader = LineReader::new(format, &caller.principal);
    let mut report = Report::new(mode);
    let mut pending: Vec<Line> = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::invalid_param(format!("The request body could not be read: {e}."))
        })?;
        reader.push(&chunk, &mut pending)?;
        report.check_limit(pending.len())?;
        while pending.len() >= BATCH_LINES {
            let rest = pending.split_off(BATCH_LINES);
            let batch = std::mem::replace(&mut pending, rest);
            report.apply(&mut run, batch).await?;
        }
    }
    reader.finish(&mut pending)?;
    report.check_limit(pending.len())?;
    report.apply(&mut run, pending).await?;
    report.body.applied = run.finish().await?;
    let status = if mode.atomic && report.body.failed > 0 {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    answer(status, &report.body)
}

/// The report as JSON.
fn answer(status: StatusCode, report: &ImportReportDto) -> Result<HttpResponse, ApiError> {
    let bytes = serde_json::to_vec(report)
        .map_err(|e| ApiError::from(credence_domain::ports::StoreError::Unexpected(Box::new(e))))?;
    Ok(HttpResponse::build(status)
        .content_type(mime::APPLICATION_JSON)
        .body(bytes))
}

/// `415`: the content type is not one an import reads.
fn unsupported(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        format!("The content type {what} is not supported: use text/csv or application/x-ndjson."),
    )
}

/// The format a `Content-Type` names; `None` when there is none.
fn format_of(headers: &HeaderMap) -> Result<Option<Format>, ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| unsupported("(unreadable)"))?;
    let parsed: mime::Mime = text.parse().map_err(|_| unsupported("(unreadable)"))?;
    match (parsed.type_().as_str(), parsed.subtype().as_str()) {
        ("text", "csv") => Ok(Some(Format::Csv)),
        ("application", "x-ndjson") => Ok(Some(Format::Ndjson)),
        _ => Err(unsupported(parsed.essence_str())),
    }
}

/// The report as it grows, and the line count it enforces.
struct Report {
    body: ImportReportDto,
    seen: u64,
}

impl Report {
    fn new(mode: ImportMode) -> Self {
        Self {
            body: ImportReportDto {
                dry_run: mode.dry_run,
                atomic: mode.atomic,
                applied: false,
                created: 0,
                updated: 0,
                failed: 0,
                lines: Vec::new(),
            },
            seen: 0,
        }
    }

    /// Refuses the body once it holds more than [`MAX_IMPORT_LINES`] lines.
    fn check_limit(&self, pending: usize) -> Result<(), ApiError> {
        if self.seen + pending as u64 > MAX_IMPORT_LINES {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("An import holds at most {MAX_IMPORT_LINES} lines."),
            ));
        }
        Ok(())
    }

    /// Applies a batch: its readable lines go to the domain, in order; every line gets its
    /// entry in the report.
    async fn apply(&mut self, run: &mut ImportRun, batch: Vec<Line>) -> Result<(), ApiError> {
        self.seen += batch.len() as u64;
        let mut rows = Vec::with_capacity(batch.len());
        let mut entries = Vec::with_capacity(batch.len());
        for line in batch {
            match line.row {
                Ok(row) => {
                    rows.push(row);
                    entries.push((line.line, line.reference, None));
                }
                Err(error) => {
                    run.reject();
                    entries.push((line.line, line.reference, Some(error)));
                }
            }
        }
        let mut results = run.apply(rows).await?.into_iter();
        for (line, reference, unread) in entries {
            let outcome = match unread {
                Some(error) => Err(error),
                None => match results.next() {
                    Some(Ok(done)) => Ok(done),
                    Some(Err(ImportRowError::Customer(e))) => Err(e.into()),
                    Some(Err(ImportRowError::OpeningBalance(e))) => Err(e.into()),
                    None => Err(ApiError::from(
                        credence_domain::ports::StoreError::Unexpected(
                            "the import answered fewer lines than it was given".into(),
                        ),
                    )),
                },
            };
            self.push(line, reference, outcome);
        }
        Ok(())
    }

    fn push(&mut self, line: u64, reference: Option<String>, outcome: Result<Imported, ApiError>) {
        let (result, error) = match outcome {
            Ok(Imported::Created) => {
                self.body.created += 1;
                (ImportResult::Created, None)
            }
            Ok(Imported::Updated) => {
                self.body.updated += 1;
                (ImportResult::Updated, None)
            }
            Err(error) => {
                self.body.failed += 1;
                (ImportResult::Failed, Some(error.body().clone()))
            }
        };
        self.body.lines.push(ImportLineDto {
            line,
            reference,
            result,
            error,
        });
    }
}
