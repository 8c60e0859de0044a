//! Deletion-vector decoding. The input is read four ways:
//!
//! - as `RoaringBitmapArray` bytes (`DeletionVector::deserialize_bitmap`): a vector that
//!   decodes serializes to bytes that decode to the same rows;
//! - as Z85 text (`z85::decode`, padded and strict, and as a relative DV id): strict text
//!   that decodes encodes back to itself, padded text to text of the same bytes;
//! - as a DV file in a table's store, every frame of it loaded through a `u` descriptor
//!   (`load_deletion_vector`: version byte, size prefix, checksum, bitmap, cardinality): a
//!   frame loads exactly when its checks pass, to the rows its bitmap holds;
//! - as the bitmap of an inline (`i`) descriptor, which loads like the bytes decode.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tarn::deletion_vector::{
    DeletionVector, FILE_FORMAT_VERSION, decode_relative_id, encode_relative_id,
    load_deletion_vector, relative_file_path, z85,
};
use tarn::log::PathResolver;
use tarn::protocol::actions::DeletionVectorDescriptor;
use tarn_fuzz::{memory_table, runtime};
use uuid::Uuid;

/// Frames of one file loaded per input, at most.
const MAX_FRAMES: usize = 8;

fn bitmap(data: &[u8]) {
    let Ok(vector) = DeletionVector::deserialize_bitmap(data) else {
        return;
    };
    let bytes = vector.serialize_bitmap();
    let again = DeletionVector::deserialize_bitmap(&bytes)
        .unwrap_or_else(|e| panic!("{vector:?} serialized to bytes that do not decode: {e}"));
    assert_eq!(again, vector);
}

fn z85_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(bytes) = z85::decode(text) {
        assert_eq!(z85::encode(&bytes).ok().as_deref(), Some(text));
    }
    let len = text.len() / 5 * 4;
    for padding in 0..4 {
        if let Some(len) = len.checked_sub(padding)
            && let Ok(bytes) = z85::decode_padded(text, len)
        {
            // The padding need not be zero, so the text need not be the one encode_padded
            // writes; the bytes must survive it.
            assert_eq!(bytes.len(), len);
            let written = z85::encode_padded(&bytes);
            assert_eq!(z85::decode_padded(&written, len).ok(), Some(bytes));
        }
    }
    if let Ok((prefix, uuid)) = decode_relative_id(text) {
        assert_eq!(encode_relative_id(prefix, &uuid), text);
    }
}

/// The rows a frame's bitmap holds, if the file passes every check for the frame at
/// `offset` of `size` bytes; what the loader must return.
fn expected(file: &[u8], offset: usize, size: usize) -> Option<DeletionVector> {
    if offset == 1 && file.first() != Some(&FILE_FORMAT_VERSION) {
        return None;
    }
    let frame = file.get(offset..offset.checked_add(size)?.checked_add(8)?)?;
    let (prefix, rest) = frame.split_first_chunk::<4>()?;
    if u32::from_be_bytes(*prefix) as usize != size {
        return None;
    }
    let (data, checksum) = rest.split_at(size);
    if u32::from_be_bytes(checksum.try_into().ok()?) != crc32fast_hash(data) {
        return None;
    }
    DeletionVector::deserialize_bitmap(data).ok()
}

/// CRC-32 (IEEE), bit by bit: the DV file format's checksum, computed independently of the
/// loader's.
fn crc32fast_hash(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn file(data: &[u8]) {
    let uuid = Uuid::from_u128(0x61d1_6c75_6994_46b7_a15b_8b53_8852_e50e);
    let relative = relative_file_path("ab", &uuid);
    let location = memory_table(&[(&relative, data)]);
    let resolver = PathResolver::for_location(location);
    let mut offset = 1usize;
    for _ in 0..MAX_FRAMES {
        // The size the frame's prefix claims, or (past the end) a size that cannot fit.
        let size = data
            .get(offset..offset + 4)
            .map_or(0, |p| u32::from_be_bytes([p[0], p[1], p[2], p[3]]) as usize);
        let (Ok(offset_field), Ok(size_field)) = (i32::try_from(offset), i32::try_from(size))
        else {
            return;
        };
        let want = expected(data, offset, size);
        let cardinality = want.as_ref().map_or(0, |v| v.len() as i64);
        let descriptor = DeletionVectorDescriptor {
            storage_type: "u".to_owned(),
            path_or_inline_dv: encode_relative_id("ab", &uuid),
            offset: Some(offset_field),
            size_in_bytes: size_field,
            cardinality,
        };
        let loaded = runtime().block_on(load_deletion_vector(&resolver, &descriptor));
        match (&loaded, &want) {
            (Ok(got), Some(want)) => assert_eq!(got, want),
            (Err(_), None) => {}
            _ => panic!("frame at {offset} of {size} bytes: loaded {loaded:?}, expected {want:?}"),
        }
        if offset > data.len() {
            return;
        }
        offset += size + 8;
    }
}

fn inline(data: &[u8]) {
    let want = DeletionVector::deserialize_bitmap(data).ok();
    let Ok(size) = i32::try_from(data.len()) else {
        return;
    };
    let descriptor = DeletionVectorDescriptor {
        storage_type: "i".to_owned(),
        path_or_inline_dv: z85::encode_padded(data),
        offset: None,
        size_in_bytes: size,
        cardinality: want.as_ref().map_or(0, |v| v.len() as i64),
    };
    let location = memory_table(&[]);
    let resolver = PathResolver::for_location(location);
    let loaded = runtime().block_on(load_deletion_vector(&resolver, &descriptor));
    match (&loaded, &want) {
        (Ok(got), Some(want)) => assert_eq!(got, want),
        (Err(_), None) => {}
        _ => panic!("inline vector: loaded {loaded:?}, expected {want:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    bitmap(data);
    z85_text(data);
    file(data);
    inline(data);
});
