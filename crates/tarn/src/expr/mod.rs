//! Expressions: predicates and projections over table columns.
//!
//! (Being written: parsing from SQL text, evaluation on Arrow batches with SQL null semantics,
//! and three-valued evaluation on file statistics for data skipping.)

mod error;

pub use error::ExprError;
