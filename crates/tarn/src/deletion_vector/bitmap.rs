//! The deleted-row set and its `RoaringBitmapArray` encoding (PROTOCOL.md, "Deletion Vector
//! Format"): a little-endian magic number, then the 64-bit "portable" Roaring serialization —
//! a `u64` bucket count, then per bucket (keys ascending) the high 32 bits as a `u32` and a
//! standard 32-bit Roaring bitmap of the low 32 bits.
//!
//! Decoding is strict: a wrong magic number, a bucket key with its top bit set (a row index
//! at or above 2^63, which Java readers would see as negative), keys out of order (a repeated
//! key would otherwise silently replace a bucket and lose rows), or bytes left over are all
//! errors.

use std::io::{self, Read};

use roaring::{RoaringBitmap, RoaringTreemap};

use crate::error::{Error, Result};

/// The magic number of the portable `RoaringBitmapArray` format, the one the protocol defines.
pub const PORTABLE_MAGIC: u32 = 1_681_511_377;

/// Delta-Spark's native `RoaringBitmapArray` format, not part of the protocol.
const NATIVE_MAGIC: u32 = 1_681_511_376;

/// The largest row index a deletion vector can hold: row indexes are non-negative `Long`s.
pub const MAX_ROW_INDEX: u64 = i64::MAX as u64;

/// The rows of one data file that are deleted, as 0-based row indexes within the file.
///
/// Every row index is at most [`MAX_ROW_INDEX`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeletionVector {
    rows: RoaringTreemap,
}

impl DeletionVector {
    /// An empty vector: no rows deleted.
    pub fn new() -> Self {
        Self::default()
    }

    /// Wraps a set of row indexes. Errors (`InvalidArgument`) if one exceeds
    /// [`MAX_ROW_INDEX`].
    pub fn from_treemap(rows: RoaringTreemap) -> Result<Self> {
        match rows.max() {
            Some(max) if max > MAX_ROW_INDEX => Err(Error::InvalidArgument {
                reason: format!(
                    "row index {max} cannot be in a deletion vector (row indexes are below 2^63)"
                ),
            }),
            _ => Ok(Self { rows }),
        }
    }

    /// Collects row indexes (in any order, duplicates allowed). Errors (`InvalidArgument`) if
    /// one exceeds [`MAX_ROW_INDEX`].
    pub fn from_rows(rows: impl IntoIterator<Item = u64>) -> Result<Self> {
        Self::from_treemap(rows.into_iter().collect())
    }

    /// Whether the row at this 0-based index is deleted.
    pub fn contains(&self, row: u64) -> bool {
        self.rows.contains(row)
    }

    /// The number of deleted rows (the descriptor's `cardinality`).
    pub fn len(&self) -> u64 {
        self.rows.len()
    }

    /// Whether no row is deleted.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The deleted row indexes in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        self.rows.iter()
    }

    /// The underlying bitmap.
    pub fn as_treemap(&self) -> &RoaringTreemap {
        &self.rows
    }

    /// Unwraps the underlying bitmap.
    pub fn into_treemap(self) -> RoaringTreemap {
        self.rows
    }

    /// The `RoaringBitmapArray` bytes: the portable magic number, then the 64-bit portable
    /// Roaring serialization. This is the payload of a DV file entry and of an inline vector.
    pub fn serialize_bitmap(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(4 + self.rows.serialized_size());
        bytes.extend_from_slice(&PORTABLE_MAGIC.to_le_bytes());
        // `Write for Vec<u8>` never fails (it only grows the vector), so the `io::Result` that
        // roaring's writer-generic signature returns is always `Ok`.
        let _infallible = self.rows.serialize_into(&mut bytes);
        bytes
    }

    /// Decodes `RoaringBitmapArray` bytes (magic number included), strictly: see the module
    /// doc. The error's `path` is `bitmap`; loaders name the file instead.
    pub fn deserialize_bitmap(bytes: &[u8]) -> Result<Self> {
        decode_bitmap_array(bytes).map_err(|reason| Error::DeletionVector {
            path: "bitmap".to_owned(),
            reason,
            source: None,
        })
    }
}

/// Decodes `RoaringBitmapArray` bytes; the error is the reason, for the caller to attach to
/// the file or descriptor it came from.
pub(crate) fn decode_bitmap_array(bytes: &[u8]) -> Result<DeletionVector, String> {
    let Some((magic, mut rest)) = bytes.split_first_chunk::<4>() else {
        return Err(format!(
            "bitmap of {} bytes is too short to hold the magic number",
            bytes.len()
        ));
    };
    match (u32::from_le_bytes(*magic), u32::from_be_bytes(*magic)) {
        (PORTABLE_MAGIC, _) => {}
        (NATIVE_MAGIC, _) => {
            return Err(format!(
                "bitmap uses Delta-Spark's native format (magic number {NATIVE_MAGIC}); only \
                 the protocol's portable format (magic number {PORTABLE_MAGIC}) is supported"
            ));
        }
        // PROTOCOL.md's inline example (JSON Example 3) is laid out this way: the native
        // format with big-endian framing. No Delta writer stores vectors like that.
        (_, big_endian @ (PORTABLE_MAGIC | NATIVE_MAGIC)) => {
            return Err(format!(
                "bitmap has a big-endian magic number ({big_endian}); only the protocol's \
                 portable format (magic number {PORTABLE_MAGIC}, little-endian) is supported"
            ));
        }
        (other, _) => {
            return Err(format!(
                "wrong magic number: expected {PORTABLE_MAGIC}, found {other}"
            ));
        }
    }
    let reader = &mut rest;
    let bucket_count = read_u64_le(reader).map_err(|_| {
        "bitmap ends before its bucket count (8 bytes after the magic number)".to_owned()
    })?;
    let mut buckets = Vec::new();
    let mut previous_key: Option<u32> = None;
    // Each bucket takes at least 12 bytes, so a corrupt count ends at the first short read
    // rather than looping: nothing is allocated per counted bucket up front.
    for index in 0..bucket_count {
        let key = read_u32_le(reader).map_err(|_| {
            format!("bitmap ends before bucket {index} of {bucket_count} (its key is missing)")
        })?;
        if key > i32::MAX as u32 {
            return Err(format!(
                "bucket {index} has key {key}, whose top bit is set (row indexes must be below \
                 2^63)"
            ));
        }
        if let Some(previous) = previous_key
            && key <= previous
        {
            return Err(format!(
                "bucket keys are not strictly ascending: key {key} follows key {previous}"
            ));
        }
        previous_key = Some(key);
        let bitmap = RoaringBitmap::deserialize_from(&mut *reader).map_err(|e| {
            format!("bucket {index} (key {key}) is not a valid Roaring bitmap: {e}")
        })?;
        buckets.push((key, bitmap));
    }
    if !reader.is_empty() {
        return Err(format!(
            "{} bytes follow the last of the bitmap's {bucket_count} buckets",
            reader.len()
        ));
    }
    Ok(DeletionVector {
        rows: RoaringTreemap::from_bitmaps(buckets),
    })
}

fn read_u32_le(reader: &mut &[u8]) -> io::Result<u32> {
    let mut buf = [0u8; 4];
    reader.read_exact(&mut buf)?;
    Ok(u32::from_le_bytes(buf))
}

fn read_u64_le(reader: &mut &[u8]) -> io::Result<u64> {
    let mut buf = [0u8; 8];
    reader.read_exact(&mut buf)?;
    Ok(u64::from_le_bytes(buf))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn protocol_inline_example_is_not_the_portable_format() {
        // PROTOCOL.md, JSON Example 3 (rows 3, 4, 7, 11, 18, 29 in 40 bytes) contradicts the
        // format section it illustrates: its magic number is the native one (1681511376),
        // big-endian, followed by a big-endian bitmap count and size instead of a 64-bit
        // bucket count and key. Its 32-bit Roaring bitmap is the standard one, though, and
        // identical to what tarn writes for the same rows.
        let protocol = crate::deletion_vector::z85::decode(
            "wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L",
        )
        .unwrap();
        assert_eq!(protocol.len(), 40);
        assert_eq!(
            u32::from_be_bytes(protocol[0..4].try_into().unwrap()),
            NATIVE_MAGIC
        );
        let ours = DeletionVector::from_rows([3, 4, 7, 11, 18, 29])
            .unwrap()
            .serialize_bitmap();
        assert_eq!(ours.len(), 44);
        assert_eq!(&protocol[12..], &ours[16..], "the 32-bit bitmaps agree");
        let err = decode_bitmap_array(&protocol).unwrap_err();
        assert!(
            err.contains("big-endian magic number (1681511376)"),
            "{err}"
        );
    }

    #[test]
    fn layout_of_a_small_vector() {
        let dv = DeletionVector::from_rows([0, 9]).unwrap();
        let bytes = dv.serialize_bitmap();
        assert_eq!(&bytes[0..4], &PORTABLE_MAGIC.to_le_bytes());
        assert_eq!(&bytes[4..12], &1u64.to_le_bytes(), "one bucket");
        assert_eq!(&bytes[12..16], &0u32.to_le_bytes(), "bucket key 0");
        assert_eq!(DeletionVector::deserialize_bitmap(&bytes).unwrap(), dv);
    }

    #[test]
    fn empty_vector_round_trips() {
        let dv = DeletionVector::new();
        let bytes = dv.serialize_bitmap();
        assert_eq!(bytes.len(), 12);
        let back = DeletionVector::deserialize_bitmap(&bytes).unwrap();
        assert!(back.is_empty());
        assert_eq!(back.len(), 0);
    }

    #[test]
    fn rows_at_or_above_two_to_the_63_are_rejected() {
        assert!(DeletionVector::from_rows([MAX_ROW_INDEX]).is_ok());
        let err = DeletionVector::from_rows([MAX_ROW_INDEX + 1]).unwrap_err();
        assert!(err.to_string().contains("below 2^63"), "{err}");
    }

    #[test]
    fn wrong_magic_is_named() {
        let mut bytes = DeletionVector::from_rows([1]).unwrap().serialize_bitmap();
        bytes[0] ^= 0xFF;
        let err = decode_bitmap_array(&bytes).unwrap_err();
        assert!(
            err.starts_with("wrong magic number: expected 1681511377"),
            "{err}"
        );
        bytes[0..4].copy_from_slice(&NATIVE_MAGIC.to_le_bytes());
        let err = decode_bitmap_array(&bytes).unwrap_err();
        assert!(err.contains("native format"), "{err}");
        assert!(
            decode_bitmap_array(&[1, 2])
                .unwrap_err()
                .contains("too short")
        );
    }

    #[test]
    fn structural_damage_is_an_error() {
        let dv = DeletionVector::from_rows([1, 1 << 33]).unwrap();
        let bytes = dv.serialize_bitmap();
        // Truncated anywhere: an error, never a smaller set.
        for len in 4..bytes.len() {
            assert!(decode_bitmap_array(&bytes[..len]).is_err(), "length {len}");
        }
        // Trailing bytes.
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(
            decode_bitmap_array(&longer)
                .unwrap_err()
                .contains("1 bytes follow")
        );
        // A top-bit key.
        let mut high = DeletionVector::from_rows([5]).unwrap().serialize_bitmap();
        high[12..16].copy_from_slice(&0x8000_0000u32.to_le_bytes());
        assert!(decode_bitmap_array(&high).unwrap_err().contains("top bit"));
    }

    #[test]
    fn repeated_bucket_keys_are_an_error_not_a_lost_bucket() {
        // Two buckets, both with key 0: a lenient decoder would keep only the second.
        let one = RoaringBitmap::from_iter([1u32]);
        let two = RoaringBitmap::from_iter([2u32]);
        let mut bytes = PORTABLE_MAGIC.to_le_bytes().to_vec();
        bytes.extend_from_slice(&2u64.to_le_bytes());
        for bitmap in [&one, &two] {
            bytes.extend_from_slice(&0u32.to_le_bytes());
            bitmap.serialize_into(&mut bytes).unwrap();
        }
        let err = decode_bitmap_array(&bytes).unwrap_err();
        assert!(err.contains("not strictly ascending"), "{err}");
    }

    fn row_sets() -> impl Strategy<Value = Vec<u64>> {
        let row = prop_oneof![
            0u64..100_000,
            (1u64 << 32) - 100..(1u64 << 32) + 100_000,
            (0u64..=i32::MAX as u64).prop_map(|high| high << 32),
            0u64..=MAX_ROW_INDEX,
        ];
        proptest::collection::vec(row, 0..300)
    }

    proptest! {
        #[test]
        fn encode_decode_identity(rows in row_sets(), dense_start in 0u64..(1 << 40), dense_len in 0u64..5000) {
            // Sparse rows plus a dense run, so array, bitmap and run containers all appear.
            let mut treemap: RoaringTreemap = rows.iter().copied().collect();
            treemap.insert_range(dense_start..dense_start + dense_len);
            let dv = DeletionVector::from_treemap(treemap.clone()).unwrap();
            let back = DeletionVector::deserialize_bitmap(&dv.serialize_bitmap()).unwrap();
            prop_assert_eq!(back.len(), treemap.len());
            prop_assert_eq!(back.as_treemap(), &treemap);
        }
    }
}
