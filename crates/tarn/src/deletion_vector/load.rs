//! Loading the deletion vector a descriptor names: decoding an inline vector, or reading one
//! frame of a DV file with a single ranged GET and verifying it.

use object_store::{GetOptions, ObjectStoreExt};
use tarn_log::{PathResolver, ResolvedPath};
use tarn_protocol::actions::{DeletionVectorDescriptor, DeletionVectorStorage};

use super::bitmap::{DeletionVector, decode_bitmap_array};
use super::descriptor::descriptor_object_path;
use super::file_format::{FILE_FORMAT_VERSION, FRAME_OVERHEAD, checked_bitmap_bytes};
use super::z85;
use crate::error::{Error, Result};

/// The `path` of errors about inline vectors.
const INLINE: &str = "inline";

/// Loads the deleted rows a descriptor names, verified.
///
/// - Inline (`i`): decodes the Z85 text (`sizeInBytes` bytes plus padding) without I/O.
/// - File (`u`, `p`): one ranged GET of the frame at `offset` — the 4-byte size prefix,
///   `sizeInBytes` bitmap bytes and the 4-byte CRC-32 — plus the file's version byte when the
///   vector is the file's first (offset 1), which costs one more byte of the same request.
///   An absent `offset` means the first vector: the protocol says to read it as 0, but byte
///   0 is the format version, so the first vector's frame is at 1 (delta-kernel-rs does the
///   same).
///
/// Then checks the size prefix against `sizeInBytes`, the checksum, the magic number and the
/// bitmap's structure, and that the number of rows equals `cardinality`.
///
/// The file is found through the table's `resolver` (`Snapshot::path_resolver`), which
/// refuses a file outside the table and its registered locations before anything is read.
///
/// Errors: `DeletionVector` naming the file (or `inline`) and the first check that failed
/// (`file not found`, `checksum mismatch: expected X, computed Y`, `truncated: ...`,
/// `wrong magic number: ...`, `cardinality mismatch: ...`); `Storage` when the store fails
/// for another reason; the resolver's `PathOutsideTable` and `UnregisteredStore`.
pub async fn load_deletion_vector(
    resolver: &PathResolver,
    descriptor: &DeletionVectorDescriptor,
) -> Result<DeletionVector> {
    let storage = descriptor.storage().map_err(|e| Error::DeletionVector {
        path: descriptor.path_or_inline_dv.clone(),
        reason: e.to_string(),
        source: None,
    })?;
    match storage {
        DeletionVectorStorage::Inline => load_inline(descriptor),
        DeletionVectorStorage::RelativeUuid | DeletionVectorStorage::AbsolutePath => {
            let file = descriptor_object_path(resolver, descriptor)?.ok_or_else(|| {
                Error::DeletionVector {
                    path: descriptor.path_or_inline_dv.clone(),
                    reason: "a file-backed vector resolved to no file".to_owned(),
                    source: None,
                }
            })?;
            load_from_file(&file, descriptor).await
        }
    }
}

/// Decodes an inline vector. The protocol says an inline descriptor has no `offset`; one that
/// has it anyway is decoded all the same (the offset has nothing to point into).
fn load_inline(descriptor: &DeletionVectorDescriptor) -> Result<DeletionVector> {
    let error = |reason: String| Error::DeletionVector {
        path: INLINE.to_owned(),
        reason,
        source: None,
    };
    let size = usize::try_from(descriptor.size_in_bytes)
        .map_err(|_| error(format!("negative sizeInBytes {}", descriptor.size_in_bytes)))?;
    let bytes = z85::decode_padded(&descriptor.path_or_inline_dv, size)
        .map_err(|e| error(format!("cannot decode the inline bitmap: {e}")))?;
    let vector = decode_bitmap_array(&bytes).map_err(error)?;
    check_cardinality(vector, descriptor).map_err(error)
}

async fn load_from_file(
    file: &ResolvedPath,
    descriptor: &DeletionVectorDescriptor,
) -> Result<DeletionVector> {
    let (path, display) = (file.path(), file.display().to_owned());
    let error = |reason: String| Error::DeletionVector {
        path: display.clone(),
        reason,
        source: None,
    };
    let offset = descriptor.offset.unwrap_or(1);
    let offset = u64::try_from(offset)
        .ok()
        .filter(|&o| o >= 1)
        .ok_or_else(|| {
            error(format!(
                "offset {offset} is not a vector's position (byte 0 is the format version)"
            ))
        })?;
    let size = u64::try_from(descriptor.size_in_bytes)
        .map_err(|_| error(format!("negative sizeInBytes {}", descriptor.size_in_bytes)))?;
    let at = |reason: String| error(format!("vector at offset {offset}: {reason}"));

    // The first vector's frame starts right after the version byte: read that too.
    let start = if offset == 1 { 0 } else { offset };
    let end = offset + size + FRAME_OVERHEAD;
    let store = file.store();
    let (bytes, file_size) = match store
        .get_opts(path, GetOptions::new().with_range(Some(start..end)))
        .await
    {
        Ok(result) => {
            let file_size = result.meta.size;
            let bytes = result.bytes().await.map_err(|source| Error::Storage {
                path: display.clone(),
                source,
            })?;
            (bytes, file_size)
        }
        Err(object_store::Error::NotFound { .. }) => {
            return Err(error("file not found".to_owned()));
        }
        Err(source) => {
            // Stores differ in how they report a range past the end of the object; ask for
            // its size so a short file is reported as such.
            return match store.head(path).await {
                Ok(meta) if meta.size < end => Err(at(truncated(meta.size, offset, end))),
                _ => Err(Error::Storage {
                    path: display.clone(),
                    source,
                }),
            };
        }
    };
    if (bytes.len() as u64) < end - start {
        return Err(at(truncated(file_size, offset, end)));
    }
    if start == 0 && bytes[0] != FILE_FORMAT_VERSION {
        return Err(error(format!(
            "unsupported deletion vector file format version {} (expected {FILE_FORMAT_VERSION})",
            bytes[0]
        )));
    }
    let frame = &bytes[(offset - start) as usize..(end - start) as usize];
    let data = checked_bitmap_bytes(frame, size as usize).map_err(at)?;
    let vector = decode_bitmap_array(data).map_err(at)?;
    check_cardinality(vector, descriptor).map_err(at)
}

fn truncated(file_size: u64, offset: u64, end: u64) -> String {
    format!("truncated: the file is {file_size} bytes, the vector needs bytes {offset}..{end}")
}

/// Never hands out a vector whose row count differs from what the log recorded: fewer rows
/// would resurrect deleted rows, more would hide live ones.
fn check_cardinality(
    vector: DeletionVector,
    descriptor: &DeletionVectorDescriptor,
) -> Result<DeletionVector, String> {
    let actual = vector.len();
    if i64::try_from(actual).ok() != Some(descriptor.cardinality) {
        return Err(format!(
            "cardinality mismatch: the descriptor says {} deleted rows, the bitmap holds {actual}",
            descriptor.cardinality
        ));
    }
    Ok(vector)
}
