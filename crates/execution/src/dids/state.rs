//! The DID module's keys and records (defined in `civitas-types`, where light clients read
//! them too).

pub use civitas_types::did_doc::DidMeta;
pub(crate) use civitas_types::did_doc::{doc_key, meta_key, version_key};
