//! Who is calling: the [`Caller`] extractor every handler takes and passes to the service.
//!
//! Until authentication exists every request acts as the built-in system administrator.
//! Authentication (the next issue) replaces this extractor's body only: handlers and
//! services already take the principal, so no signature changes.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use credence_domain::Principal;

use crate::error::ApiError;

/// The authenticated principal of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Who is calling.
    pub principal: Principal,
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(_req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(Ok(Self {
            principal: Principal::system_admin(),
        }))
    }
}
