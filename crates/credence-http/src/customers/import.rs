//! `POST /api/v1.0/customers/import`: many customers upserted by reference from one CSV or
//! NDJSON body, with a report of what each line did.
//!
//! The body is read chunk by chunk as it arrives ([`lines`]); lines are handed to the
//! domain's import ([`credence_domain::services::ImportRun`]) in batches of the size it
//! asks for ([`ImportRun::batch_lines`]), so at most one batch of lines (per lane), one
//! chunk and the report are held at once, never the whole body. Each line is judged exactly as `POST
//! /customers/reference/{reference}` judges its body and answers the same errors; a line
//! that cannot be read fails alone, with its line number.
//!
//! The answer is `200` with the report, except an atomic import in which a line failed:
//! `422` with the same report, and nothing applied. More than [`MAX_IMPORT_LINES`] lines is
//! `413`: an atomic import or a dry run then applied nothing; otherwise the batches before
//! the limit stay applied (running the import again is safe: it upserts, and opening
//! balances are posted only on creation).

pub(crate) mod csv_lines;
mod lanes;
pub(crate) mod lines;
pub(crate) mod ndjson_lines;

use std::time::Duration;

use actix_web::error::InternalError;
use actix_web::http::header::{self, HeaderMap};
use actix_web::http::{ConnectionType, StatusCode};
use actix_web::rt::time::timeout;
use actix_web::{HttpRequest, HttpResponse, mime, web};
use credence_domain::access::scope::Function;
use credence_domain::customers::import::MAX_IMPORT_LINES;
use credence_domain::services::{ImportMode, ImportRow, ImportRowError, ImportRun, Imported};
use futures_util::StreamExt;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::body::authorize;
use crate::caller::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::input::parse_bool;
use crate::negotiate::error_for;
use crate::query::Params;
use lanes::Lanes;
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
    // Boxed: most lines have none, and a report holds up to 100,000 lines.
    pub(crate) error: Option<Box<ErrorBody>>,
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
) -> Result<HttpResponse, actix_web::Error> {
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
                return Err(closing(&req, unsupported("(none)")));
            }
        }
        return Ok(answer(StatusCode::OK, &Report::new(mode).body)?);
    };
    let run = state
        .services
        .imports
        .start(&caller.principal, mode)
        .map_err(ApiError::from)?;
    let step = state.config.request_timeout;
    let report = import_body(run, &caller, mode, format, step, &mut payload)
        .await
        .map_err(|error| closing(&req, error))?;
    let status = if mode.atomic && report.failed > 0 {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(answer(status, &report)?)
}

/// An error answered while the body may still be arriving, with the connection closed: the
/// rest of the body would otherwise be read as the next request, and a client that reuses
/// the connection would find it gone.
fn closing(req: &HttpRequest, error: ApiError) -> actix_web::Error {
    let mut response = error_for(
        req.method().as_str(),
        req.path(),
        crate::negotiate::Format::of(req),
        &error,
    );
    error.add_headers(&mut response);
    response
        .head_mut()
        .set_connection_type(ConnectionType::Close);
    InternalError::from_response(error, response).into()
}

/// Reads the body as it arrives and applies its lines batch by batch; answers the report.
async fn import_body(
    mut run: ImportRun,
    caller: &Caller,
    mode: ImportMode,
    format: Format,
    step: Duration,
    payload: &mut web::Payload,
) -> Result<ImportReportDto, ApiError> {
    let mut reader = LineReader::new(format, &caller.principal);
    let mut report = Report::new(mode);
    let mut pending: Vec<Line> = Vec::new();
    // Each step (the next part of the body, one batch) gets the configured deadline; the
    // import as a whole only the long one the deadline middleware gives this route, so a
    // large import that keeps moving is never cut for its size.
    let mut lanes = Lanes::new(run.lanes(), step);
    let batch_lines = run.batch_lines();
    while let Some(chunk) = timeout(step, payload.next())
        .await
        .map_err(|_| ApiError::body_timeout(step))?
    {
        let chunk = chunk.map_err(|e| {
            ApiError::invalid_param(format!("The request body could not be read: {e}."))
        })?;
        reader.push(&chunk, &mut pending)?;
        report.check_limit(pending.len())?;
        while pending.len() >= batch_lines {
            let rest = pending.split_off(batch_lines);
            let batch = std::mem::replace(&mut pending, rest);
            lanes.submit(&mut report, &mut run, batch).await?;
        }
    }
    reader.finish(&mut pending)?;
    report.check_limit(pending.len())?;
    lanes.submit(&mut report, &mut run, pending).await?;
    lanes.drain(&mut report).await?;
    report.body.applied = run.finish().await?;
    Ok(report.body)
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

/// A line as the report will show it: its number, its reference, and the error of a line
/// that could not be read (`None`: the domain's result decides).
type Entry = (u64, Option<String>, Option<ApiError>);

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

    /// [`Self::apply`] within `step`: a batch that takes longer is answered `503
    /// request_timeout` (its transaction is rolled back when the unit is dropped).
    async fn apply_within(
        &mut self,
        step: Duration,
        run: &mut ImportRun,
        batch: Vec<Line>,
    ) -> Result<(), ApiError> {
        timeout(step, self.apply(run, batch))
            .await
            .map_err(|_| ApiError::request_timeout(step))?
    }

    /// Applies a batch: its readable lines go to the domain, in order; every line gets its
    /// entry in the report.
    async fn apply(&mut self, run: &mut ImportRun, batch: Vec<Line>) -> Result<(), ApiError> {
        let (rows, entries) = self.split(run, batch);
        let results = run.apply(rows).await?;
        self.merge(entries, results);
        Ok(())
    }

    /// Counts a batch's lines and parts them: the readable lines' rows for the domain, and
    /// every line's entry, with the error of a line that could not be read.
    fn split(&mut self, run: &mut ImportRun, batch: Vec<Line>) -> (Vec<ImportRow>, Vec<Entry>) {
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
        (rows, entries)
    }

    /// Reports a batch's lines, in order: the domain's results for the readable ones.
    fn merge(&mut self, entries: Vec<Entry>, results: Vec<Result<Imported, ImportRowError>>) {
        let mut results = results.into_iter();
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
                (ImportResult::Failed, Some(Box::new(error.body().clone())))
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
