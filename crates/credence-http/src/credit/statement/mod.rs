//! `GET /customers/{id}/account/statement`: an account's figures for a period and its
//! entries, streamed as the store reads them.
//!
//! The use case runs on its own task and hands its output over two channels: the figures
//! (once, first) and the entries (a page at a time, at most two pages waiting). The answer's
//! headers are written when the figures arrive, so an error found before them (a customer
//! out of scope, a bad period) is an ordinary error answer; one found after them can only
//! cut the body short, which a client sees as a broken transfer, never as a shorter
//! statement.

mod body;
pub(crate) mod dto;

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use credence_domain::access::scope::Function;
use credence_domain::credit::{LedgerEntry, StatementSink, StatementSummary};
use credence_domain::services::CreditError;
use futures_util::{StreamExt, stream};
use tokio::sync::{mpsc, oneshot};

use crate::AppState;
use crate::body::authorize;
use crate::caller::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::openapi::StatementParams;
use crate::query::{Params, STATEMENT_PARAMS};
use body::Layout;
use dto::StatementDto;

/// The opening balance, for a CSV reader that sees only the rows.
const OPENING: HeaderName = HeaderName::from_static("credence-opening-balance");
/// The closing balance.
const CLOSING: HeaderName = HeaderName::from_static("credence-closing-balance");

/// Pages of entries read ahead of the client, at most.
const PAGES_AHEAD: usize = 2;

/// Hands a statement from the store's reading thread to the response.
struct ChannelSink {
    summary: Option<oneshot::Sender<StatementSummary>>,
    pages: mpsc::Sender<Vec<LedgerEntry>>,
}

impl StatementSink for ChannelSink {
    fn summary(&mut self, summary: StatementSummary) -> bool {
        self.summary
            .take()
            .is_some_and(|sender| sender.send(summary).is_ok())
    }

    fn entries(&mut self, entries: Vec<LedgerEntry>) -> bool {
        // The store reads on a blocking thread, which may wait here for the client.
        self.pages.blocking_send(entries).is_ok()
    }
}

/// A customer's statement for a period: the account as the period opened and closed, what
/// moved its balance, and every entry of the period, oldest first. The period runs from
/// `from` (included) to `to` (excluded); a bound left out comes from the calendar month (UTC)
/// of the other, and with neither the period is the current month. `Accept: text/csv` writes the entries as CSV, with the opening and closing
/// balances in the `Credence-Opening-Balance` and `Credence-Closing-Balance` headers.
#[utoipa::path(
    get,
    path = "/api/v1.0/customers/{id}/account/statement",
    tag = "accounts",
    params(("id" = String, Path, description = "The customer's numeric id or UUID"), StatementParams),
    responses(
        (status = 200, description = "The statement; opening + totals = closing",
            headers(
                ("Credence-Opening-Balance" = String, description = "The balance as the period opened"),
                ("Credence-Closing-Balance" = String, description = "The balance as the period closed"),
            ),
            content((StatementDto = "application/json"), (StatementDto = "application/xml"), (String = "text/csv"))),
        (status = 400, description = "invalid_datetime_format, invalid_param (`to` not after `from`)", body = ErrorBody),
        (status = 403, description = "The caller's role may not use the back office", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub(crate) async fn get_statement(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    authorize(&caller, Function::BackOffice)?;
    let bounds = Params::parse(req.query_string(), STATEMENT_PARAMS)?.statement_bounds()?;
    let key = crate::input::customer_key(&id)?;
    let layout = Layout::of(&req);
    let (summary_tx, summary_rx) = oneshot::channel();
    let (pages_tx, pages) = mpsc::channel(PAGES_AHEAD);
    let sink = ChannelSink {
        summary: Some(summary_tx),
        pages: pages_tx,
    };
    let accounts = state.services.accounts.clone();
    let principal = caller.principal.clone();
    let reader = actix_web::rt::spawn(async move {
        accounts
            .statement(&principal, &key, bounds, Box::new(sink))
            .await
    });
    let Ok(summary) = summary_rx.await else {
        // The use case ended before the figures: its answer says why.
        return Err(match reader.await {
            Ok(Err(error)) => error.into(),
            Ok(Ok(())) => ApiError::server_error(&NoFigures),
            Err(died) => ApiError::server_error(&died),
        });
    };
    let head = layout
        .head(&summary)
        .map_err(|e| ApiError::server_error(e.as_ref()))?;
    let figure = |money: credence_domain::credit::Money| {
        HeaderValue::from_str(&money.amount().to_string()).map_err(|e| ApiError::server_error(&e))
    };
    let mut response = HttpResponse::Ok();
    response
        .insert_header((header::CONTENT_TYPE, layout.content_type()))
        .insert_header((header::VARY, HeaderValue::from_static("accept")))
        .insert_header((OPENING, figure(summary.opening().balance)?))
        .insert_header((CLOSING, figure(summary.closing().balance)?));
    let rest = Rest {
        layout,
        pages,
        reader: Some(reader),
        first: true,
    };
    let body = stream::once(async move { Ok::<_, std::io::Error>(head) })
        .chain(stream::unfold(rest, Rest::next));
    Ok(response.streaming(body))
}

/// The figures never came though the use case succeeded (a bug).
#[derive(Debug, thiserror::Error)]
#[error("the statement ended without its figures")]
struct NoFigures;

/// The statement was cut short after its headers were written.
#[derive(Debug, thiserror::Error)]
#[error("the statement could not be read to its end")]
struct CutShort;

/// What is left to write after the figures.
struct Rest {
    layout: Layout,
    pages: mpsc::Receiver<Vec<LedgerEntry>>,
    reader: Option<actix_web::rt::task::JoinHandle<Result<(), CreditError>>>,
    first: bool,
}

impl Rest {
    /// The next piece of the body: a page of entries; once they are all read, the end if
    /// the use case succeeded, an error (which cuts the transfer) if it did not.
    async fn next(mut self) -> Option<(Result<Bytes, std::io::Error>, Self)> {
        if let Some(page) = self.pages.recv().await {
            let piece = self
                .layout
                .entries(&page, self.first)
                .map_err(std::io::Error::other);
            self.first = false;
            return Some((piece, self));
        }
        let reader = self.reader.take()?;
        match reader.await {
            Ok(Ok(())) => Some((Ok(self.layout.tail()), self)),
            Ok(Err(error)) => {
                tracing::error!(error = %error, "a statement was cut short");
                Some((Err(std::io::Error::other(CutShort)), self))
            }
            Err(died) => {
                tracing::error!(error = %died, "a statement was cut short");
                Some((Err(std::io::Error::other(CutShort)), self))
            }
        }
    }
}

pub(crate) fn register(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/customers/{id}/account/statement").route(web::get().to(get_statement)),
    );
}
