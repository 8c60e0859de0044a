//! The store registry: which locations besides a table's root its log may name files in, and
//! the one resolver every such path goes through.
//!
//! A Delta log names files by path: data files (`add.path`, `remove.path`), deletion vector
//! files (`u` relative to the table, `p` absolute), checkpoint sidecars. A crafted log could
//! name any file the process can read (`file:///etc/passwd`); a tiered table legitimately
//! names files in another bucket. [`PathResolver::resolve`] decides between the two, by these
//! rules (spec/format.md, "File paths"):
//!
//! - a relative path is under the table's root and never leaves it (`..` is refused);
//! - an absolute URI, or a `/`-rooted path (on the table's own store), is opened only if it
//!   lies strictly under the table's root or under a registered location: one the caller
//!   put in the table's [`StoreRegistry`], or one the table declares in its `tarn.archive`
//!   domain when the caller trusts such declarations ([`DeclaredLocations`]);
//! - paths are normalised first ([`tarn_protocol::store_location`]: decoded once, `.` and
//!   `..` applied) and prefixes match on whole segments;
//! - anything else is an error that names the path and opens nothing:
//!   [`LogError::PathOutsideTable`](crate::LogError::PathOutsideTable) for a place on a known
//!   store outside every location, [`LogError::UnregisteredStore`](crate::LogError::UnregisteredStore)
//!   for a store nothing is registered on.
//!
//! The registry builds stores the way a table's own store is built; a caller may
//! also register a store it built itself. Resolving never does I/O.

pub(crate) mod build;
mod registry;
mod resolve;
mod verified;

pub use registry::StoreRegistry;
pub use resolve::{DeclaredLocations, PathResolver, ResolvedPath};
pub use verified::VerifiedStore;

#[cfg(test)]
mod tests;
