//! Loading deletion vectors: inline vectors built with the encoder, files in memory and on
//! local disk, and every way a vector can be broken.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use object_store::ObjectStoreExt;
use object_store::path::Path;
use proptest::prelude::*;
use roaring::RoaringTreemap;
use tarn_log::TableLocation;
use tarn_protocol::actions::DeletionVectorDescriptor;
use uuid::Uuid;

use super::*;
use crate::Error;

const SMALL_DV: &str = "deletion_vector_61d16c75-6994-46b7-a15b-8b538852e50e.bin";

fn fixture(table: &str) -> PathBuf {
    std::fs::canonicalize(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"),
    )
    .unwrap()
    .join("tables")
    .join(table)
}

/// table-with-dv-small's descriptor: rows 0 and 9, first vector of its file.
fn small_descriptor() -> DeletionVectorDescriptor {
    DeletionVectorDescriptor {
        storage_type: "u".to_owned(),
        path_or_inline_dv: "vBn[lx{q8@P<9BNH/isA".to_owned(),
        offset: Some(1),
        size_in_bytes: 36,
        cardinality: 2,
    }
}

/// A copy of table-with-dv-small's DV file in a fresh directory, changed by `edit`.
fn local_copy(edit: impl FnOnce(&mut Vec<u8>)) -> (tempfile::TempDir, TableLocation) {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(fixture("table-with-dv-small").join(SMALL_DV)).unwrap();
    edit(&mut bytes);
    std::fs::write(dir.path().join(SMALL_DV), bytes).unwrap();
    let location = TableLocation::parse(dir.path().to_str().unwrap()).unwrap();
    (dir, location)
}

/// The resolver of a table with nothing registered.
fn resolver(location: &TableLocation) -> tarn_log::PathResolver {
    tarn_log::PathResolver::for_location(std::sync::Arc::new(location.clone()))
}

/// A table location in its own in-memory store.
fn memory_table() -> TableLocation {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    TableLocation::parse(&format!("memory://dv-load-tests-{n}/t")).unwrap()
}

async fn put(location: &TableLocation, relative: &str, bytes: impl Into<Bytes>) -> Path {
    let path = location.child_path(relative);
    location
        .store()
        .put(&path, bytes.into().into())
        .await
        .unwrap();
    path
}

/// The reason of a `DeletionVector` error, checking that it names `path_suffix`.
fn reason(result: crate::Result<DeletionVector>, path_suffix: &str) -> String {
    match result {
        Err(Error::DeletionVector { path, reason, .. }) => {
            assert!(
                path.ends_with(path_suffix),
                "{path} does not name {path_suffix}"
            );
            reason
        }
        other => panic!("expected a DeletionVector error, got {other:?}"),
    }
}

fn rows(dv: &DeletionVector) -> Vec<u64> {
    dv.iter().collect()
}

#[tokio::test]
async fn loads_the_small_fixture_in_place() {
    let location = TableLocation::parse(fixture("table-with-dv-small").to_str().unwrap()).unwrap();
    let dv = load_deletion_vector(&resolver(&location), &small_descriptor())
        .await
        .unwrap();
    assert_eq!(rows(&dv), [0, 9]);
    assert_eq!(dv.len(), 2);
    assert!(dv.contains(0) && dv.contains(9) && !dv.contains(1));
}

#[tokio::test]
async fn missing_file() {
    let (dir, location) = local_copy(|_| {});
    std::fs::remove_file(dir.path().join(SMALL_DV)).unwrap();
    let reason = reason(
        load_deletion_vector(&resolver(&location), &small_descriptor()).await,
        SMALL_DV,
    );
    assert_eq!(reason, "file not found");
    // The message an operator sees names the absolute local path.
    let err = load_deletion_vector(&resolver(&location), &small_descriptor())
        .await
        .unwrap_err()
        .to_string();
    let expected = format!(
        "cannot load deletion vector {}: file not found",
        dir.path().join(SMALL_DV).display()
    );
    assert_eq!(err, expected);
}

#[tokio::test]
async fn corrupted_checksum() {
    // Byte 20 is inside the bitmap (the frame is bytes 1..45).
    let (_dir, location) = local_copy(|bytes| bytes[20] ^= 0x40);
    let reason = reason(
        load_deletion_vector(&resolver(&location), &small_descriptor()).await,
        SMALL_DV,
    );
    assert!(
        reason
            .starts_with("vector at offset 1: checksum mismatch: expected 0x2a671846, computed 0x"),
        "{reason}"
    );
}

#[tokio::test]
async fn corrupted_stored_checksum() {
    let (_dir, location) = local_copy(|bytes| {
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
    });
    let reason = reason(
        load_deletion_vector(&resolver(&location), &small_descriptor()).await,
        SMALL_DV,
    );
    assert_eq!(
        reason,
        "vector at offset 1: checksum mismatch: expected 0x2a671847, computed 0x2a671846"
    );
}

#[tokio::test]
async fn wrong_magic_with_a_valid_checksum() {
    // Bytes 5..9 are the magic number (little-endian); the checksum is recomputed so that the
    // magic number check is the one that fails.
    let (_dir, location) = local_copy(|bytes| {
        bytes[8] ^= 0x01;
        let crc = crc32fast::hash(&bytes[5..41]);
        bytes[41..45].copy_from_slice(&crc.to_be_bytes());
    });
    let reason = reason(
        load_deletion_vector(&resolver(&location), &small_descriptor()).await,
        SMALL_DV,
    );
    assert_eq!(
        reason,
        format!(
            "vector at offset 1: wrong magic number: expected 1681511377, found {}",
            PORTABLE_MAGIC ^ (1 << 24)
        )
    );
}

#[tokio::test]
async fn truncated_files() {
    for len in [44, 30, 5, 1] {
        let (_dir, location) = local_copy(|bytes| bytes.truncate(len));
        let reason = reason(
            load_deletion_vector(&resolver(&location), &small_descriptor()).await,
            SMALL_DV,
        );
        assert_eq!(
            reason,
            format!(
                "vector at offset 1: truncated: the file is {len} bytes, the vector needs bytes \
                 1..45"
            )
        );
    }
    // A frame entirely past the end of the file.
    let (_dir, location) = local_copy(|_| {});
    let past_end = DeletionVectorDescriptor {
        offset: Some(100),
        ..small_descriptor()
    };
    let reason = reason(
        load_deletion_vector(&resolver(&location), &past_end).await,
        SMALL_DV,
    );
    assert_eq!(
        reason,
        "vector at offset 100: truncated: the file is 45 bytes, the vector needs bytes 100..144"
    );
}

#[tokio::test]
async fn truncated_in_memory() {
    let location = memory_table();
    let bytes = std::fs::read(fixture("table-with-dv-small").join(SMALL_DV)).unwrap();
    put(&location, SMALL_DV, bytes[..40].to_vec()).await;
    let reason = reason(
        load_deletion_vector(&resolver(&location), &small_descriptor()).await,
        SMALL_DV,
    );
    assert!(
        reason.contains("truncated: the file is 40 bytes"),
        "{reason}"
    );
}

#[tokio::test]
async fn cardinality_mismatch() {
    let location = TableLocation::parse(fixture("table-with-dv-small").to_str().unwrap()).unwrap();
    let descriptor = DeletionVectorDescriptor {
        cardinality: 3,
        ..small_descriptor()
    };
    let reason = reason(
        load_deletion_vector(&resolver(&location), &descriptor).await,
        SMALL_DV,
    );
    assert_eq!(
        reason,
        "vector at offset 1: cardinality mismatch: the descriptor says 3 deleted rows, the \
         bitmap holds 2"
    );
}

#[tokio::test]
async fn size_mismatch_and_bad_offsets() {
    let location = TableLocation::parse(fixture("table-with-dv-small").to_str().unwrap()).unwrap();
    let descriptor = DeletionVectorDescriptor {
        size_in_bytes: 35,
        ..small_descriptor()
    };
    let reason1 = reason(
        load_deletion_vector(&resolver(&location), &descriptor).await,
        SMALL_DV,
    );
    assert_eq!(
        reason1,
        "vector at offset 1: size mismatch: the descriptor says 35 bytes, the file's size \
         prefix says 36"
    );
    for offset in [0, -3] {
        let descriptor = DeletionVectorDescriptor {
            offset: Some(offset),
            ..small_descriptor()
        };
        let reason = reason(
            load_deletion_vector(&resolver(&location), &descriptor).await,
            SMALL_DV,
        );
        assert!(
            reason.contains(&format!("offset {offset} is not")),
            "{reason}"
        );
    }
    let descriptor = DeletionVectorDescriptor {
        size_in_bytes: -1,
        ..small_descriptor()
    };
    let reason = reason(
        load_deletion_vector(&resolver(&location), &descriptor).await,
        SMALL_DV,
    );
    assert!(reason.contains("negative sizeInBytes"), "{reason}");
}

#[tokio::test]
async fn absent_offset_means_the_first_vector() {
    let location = TableLocation::parse(fixture("table-with-dv-small").to_str().unwrap()).unwrap();
    let descriptor = DeletionVectorDescriptor {
        offset: None,
        ..small_descriptor()
    };
    let dv = load_deletion_vector(&resolver(&location), &descriptor)
        .await
        .unwrap();
    assert_eq!(rows(&dv), [0, 9]);
}

#[tokio::test]
async fn unsupported_file_version() {
    let (_dir, location) = local_copy(|bytes| bytes[0] = 2);
    let reason = reason(
        load_deletion_vector(&resolver(&location), &small_descriptor()).await,
        SMALL_DV,
    );
    assert_eq!(
        reason,
        "unsupported deletion vector file format version 2 (expected 1)"
    );
}

#[tokio::test]
async fn several_vectors_in_one_file_with_a_prefix() {
    let location = memory_table();
    let vectors = [
        DeletionVector::from_rows([0, 1, 2]).unwrap(),
        DeletionVector::from_rows([5, 1 << 32, (1 << 40) + 7]).unwrap(),
        DeletionVector::from_treemap(RoaringTreemap::from_iter(0..100_000u64)).unwrap(),
    ];
    let mut builder = DeletionVectorFileBuilder::new();
    let stored: Vec<_> = vectors.iter().map(|v| builder.push(v).unwrap()).collect();
    let uuid = Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
    let relative = relative_file_path("xY", &uuid);
    assert_eq!(
        relative,
        "xY/deletion_vector_01234567-89ab-cdef-0123-456789abcdef.bin"
    );
    put(&location, &relative, builder.finish()).await;
    for (vector, stored) in vectors.iter().zip(&stored) {
        let descriptor = stored.relative_descriptor("xY", &uuid);
        let loaded = load_deletion_vector(&resolver(&location), &descriptor)
            .await
            .unwrap();
        assert_eq!(&loaded, vector);
    }
}

#[tokio::test]
async fn absolute_path_in_the_table_store() {
    let location = memory_table();
    let mut builder = DeletionVectorFileBuilder::new();
    let vector = DeletionVector::from_rows([4, 8, 15, 16, 23, 42]).unwrap();
    let stored = builder.push(&vector).unwrap();
    let bytes = builder.finish();
    let inside = Path::from("t/shared-dvs/dv.bin");
    let outside = Path::from("shared-dvs/dv.bin");
    for path in [&inside, &outside] {
        location
            .store()
            .put(path, bytes.clone().into())
            .await
            .unwrap();
    }
    let host = location.url().host_str().unwrap().to_owned();
    let uri = format!("memory://{host}/{inside}");
    let loaded = load_deletion_vector(&resolver(&location), &stored.absolute_descriptor(&uri))
        .await
        .unwrap();
    assert_eq!(loaded, vector);
    // The same store outside the table's root: refused, though the file is there.
    let uri = format!("memory://{host}/{outside}");
    let err = load_deletion_vector(&resolver(&location), &stored.absolute_descriptor(&uri))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Log(tarn_log::LogError::PathOutsideTable { .. })),
        "{err}"
    );

    // A local table with an absolute file:// vector inside it (a name with a space), and one
    // beside it, readable once its directory is registered.
    let dir = tempfile::tempdir().unwrap();
    let table_dir = dir.path().join("table");
    std::fs::create_dir(&table_dir).unwrap();
    let local = TableLocation::parse(table_dir.to_str().unwrap()).unwrap();
    for file in [
        table_dir.join("dv file.bin"),
        dir.path().join("dv file.bin"),
    ] {
        std::fs::write(&file, &bytes).unwrap();
    }
    let inside = url::Url::from_file_path(table_dir.join("dv file.bin")).unwrap();
    assert!(inside.as_str().contains("dv%20file.bin"));
    let loaded = load_deletion_vector(
        &resolver(&local),
        &stored.absolute_descriptor(inside.as_str()),
    )
    .await
    .unwrap();
    assert_eq!(loaded, vector);
    let beside = url::Url::from_file_path(dir.path().join("dv file.bin")).unwrap();
    let err = load_deletion_vector(
        &resolver(&local),
        &stored.absolute_descriptor(beside.as_str()),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, Error::Log(tarn_log::LogError::PathOutsideTable { .. })),
        "{err}"
    );
    let mut stores = tarn_log::StoreRegistry::new();
    stores
        .register(dir.path().to_str().unwrap(), &Default::default())
        .unwrap();
    let registered = local.clone().with_stores(stores);
    let loaded = load_deletion_vector(
        &resolver(&registered),
        &stored.absolute_descriptor(beside.as_str()),
    )
    .await
    .unwrap();
    assert_eq!(loaded, vector);
}

#[tokio::test]
async fn absolute_path_in_another_store() {
    let location = memory_table();
    let descriptor = StoredDeletionVector {
        offset: 1,
        size_in_bytes: 36,
        cardinality: 2,
    }
    .absolute_descriptor("s3://some-bucket/t/dv.bin");
    match load_deletion_vector(&resolver(&location), &descriptor).await {
        Err(Error::Log(tarn_log::LogError::UnregisteredStore { path, store, .. })) => {
            assert_eq!(path, "s3://some-bucket/t/dv.bin");
            assert_eq!(store, "s3://some-bucket");
        }
        other => panic!("expected UnregisteredStore, got {other:?}"),
    }
}

#[tokio::test]
async fn inline_vectors_from_the_encoder() {
    let location = memory_table();
    for rows_in in [
        vec![],
        vec![7],
        vec![3, 4, 7, 11, 18, 29],
        vec![0, u64::from(u32::MAX), 1 << 32, MAX_ROW_INDEX],
    ] {
        let vector = DeletionVector::from_rows(rows_in.iter().copied()).unwrap();
        let descriptor = vector.inline_descriptor().unwrap();
        assert_eq!(descriptor.storage_type, "i");
        assert_eq!(descriptor.offset, None);
        assert_eq!(descriptor.cardinality, rows_in.len() as i64);
        assert_eq!(
            descriptor.size_in_bytes as usize,
            vector.serialize_bitmap().len()
        );
        let loaded = load_deletion_vector(&resolver(&location), &descriptor)
            .await
            .unwrap();
        assert_eq!(rows(&loaded), rows_in);
    }
}

#[tokio::test]
async fn protocol_inline_example() {
    // PROTOCOL.md, JSON Example 3 is not in the portable format (see bitmap.rs): a clear
    // error, not a guess.
    let location = memory_table();
    let protocol = DeletionVectorDescriptor {
        storage_type: "i".to_owned(),
        path_or_inline_dv: "wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L".to_owned(),
        offset: None,
        size_in_bytes: 40,
        cardinality: 6,
    };
    let reason = reason(
        load_deletion_vector(&resolver(&location), &protocol).await,
        "inline",
    );
    assert!(reason.contains("big-endian magic number"), "{reason}");

    // The same rows in the portable format: 44 bytes, 55 characters.
    let dv = DeletionVector::from_rows([3, 4, 7, 11, 18, 29]).unwrap();
    let descriptor = dv.inline_descriptor().unwrap();
    assert_eq!(descriptor.size_in_bytes, 44);
    assert_eq!(descriptor.path_or_inline_dv.len(), 55);
    assert!(
        descriptor
            .path_or_inline_dv
            .ends_with("iXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L"),
        "the 32-bit bitmap's text is the protocol's"
    );
    let loaded = load_deletion_vector(&resolver(&location), &descriptor)
        .await
        .unwrap();
    assert_eq!(rows(&loaded), [3, 4, 7, 11, 18, 29]);
}

#[tokio::test]
async fn broken_inline_vectors() {
    let location = memory_table();
    let good = DeletionVector::from_rows([1, 2, 3])
        .unwrap()
        .inline_descriptor()
        .unwrap();
    let cases = [
        (
            DeletionVectorDescriptor {
                cardinality: 2,
                ..good.clone()
            },
            "cardinality mismatch: the descriptor says 2 deleted rows, the bitmap holds 3",
        ),
        (
            DeletionVectorDescriptor {
                size_in_bytes: good.size_in_bytes + 8,
                ..good.clone()
            },
            "cannot decode the inline bitmap: Z85 text decodes to",
        ),
        (
            DeletionVectorDescriptor {
                path_or_inline_dv: format!(
                    "{} ",
                    &good.path_or_inline_dv[..good.path_or_inline_dv.len() - 1]
                ),
                ..good.clone()
            },
            "cannot decode the inline bitmap: invalid Z85 character ' '",
        ),
        (
            DeletionVectorDescriptor {
                path_or_inline_dv: format!("0{}", &good.path_or_inline_dv[1..]),
                ..good.clone()
            },
            "wrong magic number",
        ),
    ];
    for (descriptor, expected) in cases {
        let reason = reason(
            load_deletion_vector(&resolver(&location), &descriptor).await,
            "inline",
        );
        assert!(reason.starts_with(expected), "{reason} vs {expected}");
    }
    let unknown = DeletionVectorDescriptor {
        storage_type: "q".to_owned(),
        ..good
    };
    let err = load_deletion_vector(&resolver(&location), &unknown)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unknown storage type"), "{err}");
}

fn tokio_block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn file_and_inline_round_trips(
        sets in proptest::collection::vec(
            proptest::collection::vec(
                prop_oneof![0u64..5000, (1u64 << 32)..(1u64 << 32) + 5000, 0..=MAX_ROW_INDEX],
                0..50,
            ),
            1..4,
        )
    ) {
        let location = memory_table();
        let vectors: Vec<DeletionVector> =
            sets.iter().map(|s| DeletionVector::from_rows(s.iter().copied()).unwrap()).collect();
        let mut builder = DeletionVectorFileBuilder::new();
        let stored: Vec<_> = vectors.iter().map(|v| builder.push(v).unwrap()).collect();
        let uuid = Uuid::new_v4();
        let results = tokio_block_on(async {
            put(&location, &relative_file_path("", &uuid), builder.finish()).await;
            let mut results = Vec::new();
            for (vector, stored) in vectors.iter().zip(&stored) {
                let from_file =
                    load_deletion_vector(&resolver(&location), &stored.relative_descriptor("", &uuid)).await;
                let inline = vector.inline_descriptor().unwrap();
                let from_inline = load_deletion_vector(&resolver(&location), &inline).await;
                results.push((from_file.unwrap(), from_inline.unwrap()));
            }
            results
        });
        for (vector, (from_file, from_inline)) in vectors.iter().zip(results) {
            prop_assert_eq!(&from_file, vector);
            prop_assert_eq!(&from_inline, vector);
        }
    }
}
