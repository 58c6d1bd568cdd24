//! `GET /events` and `GET /events/{id}`: the feed, scoped like customers.

use actix_web::{HttpRequest, web};
use credence_domain::access::scope::Function;
use credence_domain::events::{EventError, EventId, EventQuery, EventType, TypePattern};
use credence_domain::ids::CustomerId;

use crate::AppState;
use crate::body::authorize;
use crate::caller::Caller;
use crate::dto::BASE;
use crate::error::{ApiError, ErrorBody};
use crate::events::dto::{EventDto, EventListDto, FeedPagingDto};
use crate::negotiate::Reply;
use crate::query::Params;
use utoipa::IntoParams;
use utoipa::openapi::Required;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};

/// The parameters of `GET /events`.
pub(crate) const EVENT_PARAMS: &[&str] = &["after", "type", "customerId", "max"];

/// The most events one page holds, and how many when `max` is not given.
const MAX_EVENTS: i64 = 1000;
const DEFAULT_EVENTS: u32 = 100;

pub(crate) fn register(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/events").route(web::get().to(list_events)))
        .service(web::resource("/events/{id}").route(web::get().to(show_event)));
}

impl From<EventError> for ApiError {
    fn from(error: EventError) -> Self {
        match error {
            EventError::Forbidden => Self::forbidden(),
            EventError::NotFound(_) => Self::not_found(error.to_string()),
            EventError::Store(e) => e.into(),
        }
    }
}

/// The parameters of `GET /events`, for the document; `type`'s pattern is written from
/// [`EventType::ALL`], so it names every type and family there is.
pub(crate) struct EventListParams;

impl IntoParams for EventListParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let mut families: Vec<&str> = EventType::ALL
            .iter()
            .filter_map(|kind| kind.as_str().split_once('.').map(|(family, _)| family))
            .collect();
        families.dedup();
        let types: Vec<String> = EventType::ALL
            .iter()
            .map(|kind| kind.as_str().replace('.', r"\."))
            .chain([format!(r"(?:{})\.\*", families.join("|"))])
            .collect();
        let one = format!(r"[ \t]*(?:{})[ \t]*", types.join("|"));
        let text = |pattern: String| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(pattern))
        };
        let integer = |minimum: Option<i64>, maximum: Option<i64>| {
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .minimum(minimum)
                .maximum(maximum)
        };
        let query = |name: &str, description: &str, schema: ObjectBuilder| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(description))
                .schema(Some(schema))
                .build()
        };
        vec![
            query(
                "after",
                "Only events after this one (`evt_…`): the last id of the previous page.",
                text(r"^(?:evt_0*[1-9][0-9]{0,17})?$".to_owned()),
            ),
            query(
                "type",
                "Comma-separated event types; `reservation.*` selects a family.",
                text(format!("^(?:{one}(?:,{one})*)?$")),
            ),
            query(
                "customerId",
                "Only this customer's events.",
                integer(None, None),
            ),
            query(
                "max",
                "At most this many (1 to 1000, default 100).",
                integer(Some(1), Some(MAX_EVENTS)),
            ),
        ]
    }
}

/// Reads `after`, `type`, `customerId` and `max`.
pub(crate) fn event_query(params: &Params) -> Result<EventQuery, ApiError> {
    let after = params
        .non_blank("after")
        .map(|text| {
            EventId::parse(text.trim()).ok_or_else(|| {
                ApiError::invalid_param(format!("after must be an event id (evt_…), not {text}"))
            })
        })
        .transpose()?;
    let types = params
        .non_blank("type")
        .map(|text| {
            text.split(',')
                .map(|t| {
                    TypePattern::parse(t.trim()).map_err(|e| ApiError::invalid_param(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    let customer = params.int("customerId")?.map(CustomerId);
    let max = match params.int("max")? {
        None => DEFAULT_EVENTS,
        Some(n) if (1..=MAX_EVENTS).contains(&n) => u32::try_from(n).unwrap_or(DEFAULT_EVENTS),
        Some(_) => {
            return Err(ApiError::invalid_param(format!(
                "max must be between 1 and {MAX_EVENTS}"
            )));
        }
    };
    Ok(EventQuery {
        after,
        types,
        customer,
        within: None,
        max,
    })
}

/// Lists events oldest first. A reader that pages with `after` sees every event exactly once;
/// the newest events may show a moment late, never out of turn.
#[utoipa::path(
    get,
    path = "/api/v1.0/events",
    tag = "events",
    params(EventListParams),
    responses(
        (status = 200, description = "The next events", content((EventListDto = "application/json"), (EventListDto = "application/xml"))),
        (status = 400, description = "invalid_param (an unknown event type, a malformed `after`, `max` out of range) or invalid_param_type", body = ErrorBody),
        (status = 403, description = "The caller's role may not read events", body = ErrorBody),
    )
)]
pub(crate) async fn list_events(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<Reply, ApiError> {
    authorize(&caller, Function::BackOffice)?;
    let params = Params::parse(req.query_string(), EVENT_PARAMS)?;
    let mut query = event_query(&params)?;
    let max = query.max;
    let asked = max as usize;
    // One more than asked, to tell whether more follow.
    query.max += 1;
    let mut events = state
        .services
        .events
        .list(&caller.principal, &query)
        .await?;
    let has_more = events.len() > asked;
    events.truncate(asked);
    let after = query.after.map(|id| id.to_string());
    let from = events
        .last()
        .map(|event| event.id.to_string())
        .or(after.clone());
    let mut next = format!("{BASE}/events?");
    if let Some(from) = &from {
        next.push_str(&format!("after={from}&"));
    }
    next.push_str(&format!("max={max}"));
    for name in ["type", "customerId"] {
        if let Some(value) = params.non_blank(name) {
            next.push('&');
            next.push_str(&serde_urlencoded::to_string([(name, value)]).unwrap_or_default());
        }
    }
    let dto = EventListDto {
        paging: FeedPagingDto {
            max,
            after,
            next,
            has_more,
        },
        data: events.iter().map(EventDto::from).collect(),
    };
    Reply::list("events", "event", &dto)
}

/// One event.
#[utoipa::path(
    get,
    path = "/api/v1.0/events/{id}",
    tag = "events",
    params(("id" = String, Path, description = "The event's id, `evt_…`")),
    responses(
        (status = 200, description = "The event", content((EventDto = "application/json"), (EventDto = "application/xml"))),
        (status = 403, description = "The caller's role may not read events", body = ErrorBody),
        (status = 404, description = "No such event in the caller's scope", body = ErrorBody),
    )
)]
pub(crate) async fn show_event(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<Reply, ApiError> {
    authorize(&caller, Function::BackOffice)?;
    let not_found = || ApiError::not_found(format!("The event {} doesn't exist.", path.as_str()));
    let id = EventId::parse(path.as_str()).ok_or_else(not_found)?;
    let event = state.services.events.get(&caller.principal, id).await?;
    Reply::ok("event", &EventDto::from(&event))
}
