//! The deletion vector file format (PROTOCOL.md, "Deletion Vector File Storage Format"), all
//! numbers big-endian: one format-version byte (`1`), then for each vector its data size as a
//! 4-byte integer, the `RoaringBitmapArray` bytes, and the CRC-32 of those bytes. A
//! descriptor's `offset` points at the size field, so the first vector of a file is at 1.
//!
//! This module checks one vector's frame (size prefix, checksum) and builds file bodies. It
//! never returns bitmap bytes whose checksum it has not verified.

use bytes::Bytes;
use tarn_protocol::actions::{DeletionVectorDescriptor, DeletionVectorStorage};
use uuid::Uuid;

use super::bitmap::DeletionVector;
use super::descriptor::encode_relative_id;
use crate::error::{Error, Result};

/// The format version written in the first byte of a DV file.
pub const FILE_FORMAT_VERSION: u8 = 1;

/// Bytes of a frame around the bitmap: the size prefix and the checksum.
pub(crate) const FRAME_OVERHEAD: u64 = 8;

/// Checks one frame (`size`, bitmap bytes, checksum — exactly `size_in_bytes + 8` bytes) and
/// returns the bitmap bytes. The error is the reason, for the caller to attach to the file.
pub(crate) fn checked_bitmap_bytes(frame: &[u8], size_in_bytes: usize) -> Result<&[u8], String> {
    let Some((prefix, rest)) = frame.split_first_chunk::<4>() else {
        return Err("truncated before the size prefix".to_owned());
    };
    let recorded = u32::from_be_bytes(*prefix);
    if usize::try_from(recorded).ok() != Some(size_in_bytes) {
        return Err(format!(
            "size mismatch: the descriptor says {size_in_bytes} bytes, the file's size prefix \
             says {recorded}"
        ));
    }
    let Some((data, rest)) = rest.split_at_checked(size_in_bytes) else {
        return Err(format!(
            "truncated: {} of the vector's {size_in_bytes} bytes are present",
            rest.len()
        ));
    };
    let Some((checksum, _)) = rest.split_first_chunk::<4>() else {
        return Err("truncated before the checksum".to_owned());
    };
    let expected = u32::from_be_bytes(*checksum);
    let computed = crc32fast::hash(data);
    if expected != computed {
        return Err(format!(
            "checksum mismatch: expected {expected:#010x}, computed {computed:#010x}"
        ));
    }
    Ok(data)
}

/// Where a vector was placed in a file by [`DeletionVectorFileBuilder::push`]: the fields a
/// descriptor needs besides the file's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredDeletionVector {
    /// Offset of the vector's size prefix in the file.
    pub offset: i32,
    /// Size of the `RoaringBitmapArray` bytes.
    pub size_in_bytes: i32,
    /// Number of deleted rows.
    pub cardinality: i64,
}

impl StoredDeletionVector {
    /// The descriptor of this vector in a file named by [`super::relative_file_path`] from
    /// `prefix` and `uuid` (storage type `u`).
    pub fn relative_descriptor(&self, prefix: &str, uuid: &Uuid) -> DeletionVectorDescriptor {
        DeletionVectorDescriptor {
            storage_type: DeletionVectorStorage::RelativeUuid.code().to_owned(),
            path_or_inline_dv: encode_relative_id(prefix, uuid),
            offset: Some(self.offset),
            size_in_bytes: self.size_in_bytes,
            cardinality: self.cardinality,
        }
    }

    /// The descriptor of this vector in a file at an absolute URI (storage type `p`).
    pub fn absolute_descriptor(&self, uri: &str) -> DeletionVectorDescriptor {
        DeletionVectorDescriptor {
            storage_type: DeletionVectorStorage::AbsolutePath.code().to_owned(),
            path_or_inline_dv: uri.to_owned(),
            offset: Some(self.offset),
            size_in_bytes: self.size_in_bytes,
            cardinality: self.cardinality,
        }
    }
}

/// Builds the bytes of a deletion vector file holding one or more vectors, in order.
#[derive(Debug, Clone)]
pub struct DeletionVectorFileBuilder {
    bytes: Vec<u8>,
}

impl Default for DeletionVectorFileBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl DeletionVectorFileBuilder {
    /// A file holding no vectors yet: just the format-version byte.
    pub fn new() -> Self {
        Self {
            bytes: vec![FILE_FORMAT_VERSION],
        }
    }

    /// Appends a vector's frame and says where it is. Errors (`Unsupported`) if the file
    /// would outgrow the protocol's 32-bit offsets and sizes.
    pub fn push(&mut self, vector: &DeletionVector) -> Result<StoredDeletionVector> {
        let data = vector.serialize_bitmap();
        let too_large = || Error::Unsupported {
            what: format!(
                "a deletion vector file over 2 GiB (the protocol's 32-bit offsets): the vector of {} rows ({} bytes) \
                 does not fit after {} bytes",
                vector.len(),
                data.len(),
                self.bytes.len()
            ),
        };
        let offset = i32::try_from(self.bytes.len()).map_err(|_| too_large())?;
        let size_in_bytes = i32::try_from(data.len()).map_err(|_| too_large())?;
        let end = self.bytes.len() + data.len() + FRAME_OVERHEAD as usize;
        if i32::try_from(end).is_err() {
            return Err(too_large());
        }
        let cardinality = i64::try_from(vector.len()).map_err(|_| too_large())?;
        self.bytes.extend_from_slice(&size_in_bytes.to_be_bytes());
        self.bytes.extend_from_slice(&data);
        self.bytes
            .extend_from_slice(&crc32fast::hash(&data).to_be_bytes());
        Ok(StoredDeletionVector {
            offset,
            size_in_bytes,
            cardinality,
        })
    }

    /// The file's bytes so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The finished file body, ready to store.
    pub fn finish(self) -> Bytes {
        Bytes::from(self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_follow_each_other() {
        let a = DeletionVector::from_rows([0, 9]).unwrap();
        let b = DeletionVector::from_rows([5]).unwrap();
        let mut builder = DeletionVectorFileBuilder::new();
        let first = builder.push(&a).unwrap();
        let second = builder.push(&b).unwrap();
        assert_eq!(first.offset, 1);
        assert_eq!(first.size_in_bytes, 36);
        assert_eq!(first.cardinality, 2);
        assert_eq!(second.offset, 1 + 4 + 36 + 4);
        let bytes = builder.finish();
        assert_eq!(bytes[0], FILE_FORMAT_VERSION);
        let frame = &bytes[second.offset as usize..];
        let data = checked_bitmap_bytes(frame, second.size_in_bytes as usize).unwrap();
        assert_eq!(data, b.serialize_bitmap());
    }

    #[test]
    fn same_bytes_as_spark_for_the_small_fixture() {
        // table-with-dv-small's file: rows 0 and 9 of 10, written by Delta-Spark.
        let spark = std::fs::read(
            "../../../shared/fixtures/tables/table-with-dv-small/\
             deletion_vector_61d16c75-6994-46b7-a15b-8b538852e50e.bin",
        )
        .unwrap();
        let mut builder = DeletionVectorFileBuilder::new();
        builder
            .push(&DeletionVector::from_rows([0, 9]).unwrap())
            .unwrap();
        assert_eq!(builder.as_bytes(), spark);
    }

    #[test]
    fn frame_errors_are_named() {
        let mut builder = DeletionVectorFileBuilder::new();
        let stored = builder
            .push(&DeletionVector::from_rows([3]).unwrap())
            .unwrap();
        let bytes = builder.finish();
        let size = stored.size_in_bytes as usize;
        let frame = &bytes[1..];

        let err = checked_bitmap_bytes(frame, size + 1).unwrap_err();
        assert!(err.starts_with("size mismatch"), "{err}");

        let mut corrupt = frame.to_vec();
        corrupt[10] ^= 0x01;
        let err = checked_bitmap_bytes(&corrupt, size).unwrap_err();
        assert!(err.starts_with("checksum mismatch: expected 0x"), "{err}");

        for len in 0..frame.len() {
            let err = checked_bitmap_bytes(&frame[..len], size).unwrap_err();
            assert!(err.starts_with("truncated"), "{len}: {err}");
        }
    }

    #[test]
    fn descriptors_name_the_stored_vector() {
        let stored = StoredDeletionVector {
            offset: 1,
            size_in_bytes: 36,
            cardinality: 2,
        };
        let uuid: Uuid = "61d16c75-6994-46b7-a15b-8b538852e50e".parse().unwrap();
        let d = stored.relative_descriptor("", &uuid);
        assert_eq!(d.storage_type, "u");
        assert_eq!(d.path_or_inline_dv, "vBn[lx{q8@P<9BNH/isA");
        assert_eq!(d.offset, Some(1));
        let d = stored.absolute_descriptor("s3://b/t/x.bin");
        assert_eq!(d.storage_type, "p");
        assert_eq!(d.path_or_inline_dv, "s3://b/t/x.bin");
    }
}
