//! Checkpoint files that are not what they claim, found by the `checkpoint` fuzz target
//! (`fuzz/`): each must load as a `CorruptCheckpoint` error naming the file, never panic. The
//! inputs live in `fuzz/seeds/checkpoint/`, where they also seed the fuzzer.

use std::sync::Arc;

use object_store::ObjectStoreExt;
use object_store::memory::InMemory;
use object_store::path::Path;
use url::Url;

use crate::error::LogError;
use crate::location::TableLocation;
use crate::snapshot::{Snapshot, SnapshotOptions};

/// Loads a table whose log is only `bytes` as the classic checkpoint of version 1.
async fn load_checkpoint(bytes: &'static [u8]) -> Result<Snapshot, LogError> {
    let store = Arc::new(InMemory::new());
    store
        .put(
            &Path::from("t/_delta_log/00000000000000000001.checkpoint.parquet"),
            bytes.into(),
        )
        .await
        .unwrap();
    let url = Url::parse("memory:///t").unwrap();
    let location = Arc::new(TableLocation::from_store(url, store, Path::from("t")));
    Snapshot::load_with(location, None, SnapshotOptions::with_statistics()).await
}

fn reason(result: Result<Snapshot, LogError>) -> String {
    match result {
        Err(LogError::CorruptCheckpoint {
            version: 1,
            path,
            reason,
        }) => {
            assert!(
                path.ends_with("00000000000000000001.checkpoint.parquet"),
                "{path}"
            );
            reason
        }
        other => panic!("expected a corrupt checkpoint, got {other:?}"),
    }
}

/// An offset index whose first page starts before its column chunk: the Parquet reader
/// subtracted the chunk's start from it and overflowed.
#[tokio::test]
async fn an_offset_index_outside_its_column_chunk_is_corrupt() {
    let bytes =
        include_bytes!("../../../../fuzz/seeds/checkpoint/offset-index-before-chunk.parquet");
    let reason = reason(load_checkpoint(bytes).await);
    assert!(reason.contains("the offset index puts page"), "{reason}");
}

/// A column chunk whose footer gives it a negative start or length: the Parquet reader
/// asserted on it when fetching the chunk.
#[tokio::test]
async fn a_column_chunk_with_a_negative_byte_range_is_corrupt() {
    let bytes =
        include_bytes!("../../../../fuzz/seeds/checkpoint/negative-column-chunk-range.parquet");
    let reason = reason(load_checkpoint(bytes).await);
    assert!(reason.contains("starts at byte"), "{reason}");
}

/// A map column whose key and value children have different lengths: the Parquet reader
/// unwrapped the mismatch (a panic) while decoding it.
#[tokio::test]
async fn a_map_with_children_of_different_lengths_is_corrupt() {
    let bytes = include_bytes!("../../../../fuzz/seeds/checkpoint/map-children-lengths.parquet");
    let reason = reason(load_checkpoint(bytes).await);
    assert!(reason.contains("the Parquet decoder failed"), "{reason}");
}
