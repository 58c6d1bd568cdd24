//! `HEAD` wherever `GET` works: the request is routed as a `GET`, and the server writes the
//! answer's status and headers without its body (the connection remembers the method the
//! client sent).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;

/// Routes a `HEAD` as a `GET`.
///
/// # Errors
/// Whatever the rest of the chain returns, unchanged.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    next.call(req).await
}
