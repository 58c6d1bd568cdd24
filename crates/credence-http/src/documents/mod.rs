//! Documents and customer logos on the wire: upload, metadata, download, attach and detach
//! routes, and the document representation.

pub(crate) mod dto;
pub(crate) mod handlers;
