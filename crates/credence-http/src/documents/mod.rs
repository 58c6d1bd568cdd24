//! Documents and customer logos on the wire: upload, metadata, download, attach and detach
//! routes, the metadata body they read, and the document representation.

pub(crate) mod dto;
pub(crate) mod form;
pub(crate) mod handlers;
