//! Entry points for the fuzz targets (`fuzz/`, run by `tools/fuzz.sh`): parsers that no public
//! API reaches without a store, a table and a checkpoint around them.
//!
//! Not part of tarn-log's API: hidden from the docs, and free to change with the targets.
//! Everything here must return, whatever the input: a panic is a bug in the parser it calls.

use arrow_array::ArrayRef;
use tarn_protocol::schema::StructType;

use crate::checkpoint::stats_parsed_of;
use crate::files::{num_records_in_json, num_records_in_literal};

/// What tarn-log reads from one file's `stats` JSON document.
#[derive(Debug)]
pub struct StatsReading {
    /// `numRecords`, as a snapshot reads it from the document.
    pub num_records: Option<i64>,
    /// `numRecords`, as a snapshot reads it from the document's JSON string literal in a
    /// commit line (the `"stats"` value, quotes and escapes included).
    pub num_records_from_literal: Option<i64>,
    /// The document as a checkpoint's `stats_parsed` column (one row), for a table of the
    /// given schema.
    pub stats_parsed: Result<ArrayRef, arrow_schema::ArrowError>,
}

/// Reads `stats` as every snapshot and checkpoint does, for a table of `schema`.
pub fn read_stats(schema: &StructType, stats: &str) -> StatsReading {
    let literal = serde_json::to_string(stats).unwrap_or_default();
    StatsReading {
        num_records: num_records_in_json(stats),
        num_records_from_literal: num_records_in_literal(&literal),
        stats_parsed: stats_parsed_of(schema, stats),
    }
}
