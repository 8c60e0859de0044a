//! What a deletion vector descriptor names (PROTOCOL.md, "Deletion Vector Descriptor Schema",
//! "Derived Fields"): for storage type `u`, `pathOrInlineDv` is an optional random prefix
//! followed by a 20-character Z85-encoded UUID, and the file is
//! `<table root>/<prefix>/deletion_vector_<uuid>.bin` (no directory when there is no prefix);
//! for `p` it is an absolute URI in the format of an `add` path; for `i` it is the bitmap.
//!
//! This module decides which path a descriptor names; the table's [`PathResolver`] decides
//! whether that path may be opened and through which store, as it does for data files (a
//! `u` prefix that climbs out with `..`, or a `p` path outside the table and its registered
//! locations, is refused there).

use tarn_log::{PathResolver, ResolvedPath};
use tarn_protocol::actions::{DeletionVectorDescriptor, DeletionVectorStorage};
use tarn_protocol::data_path::DataFilePath;
use url::Url;
use uuid::Uuid;

use super::bitmap::DeletionVector;
use super::z85;
use crate::error::{Error, Result};

/// Length of a Z85-encoded UUID: 16 bytes in 4-byte blocks of 5 characters.
pub const ENCODED_UUID_LEN: usize = 20;

/// The `pathOrInlineDv` of a `u` vector: the prefix followed by the Z85-encoded UUID.
pub fn encode_relative_id(prefix: &str, uuid: &Uuid) -> String {
    let mut id = prefix.to_owned();
    id.push_str(&z85::encode_padded(uuid.as_bytes()));
    id
}

/// Splits the `pathOrInlineDv` of a `u` vector into its random prefix (possibly empty) and
/// its UUID. Errors (`DeletionVector`, naming the id) if it is shorter than 20 characters or
/// its last 20 characters are not a Z85-encoded UUID.
pub fn decode_relative_id(path_or_inline_dv: &str) -> Result<(&str, Uuid)> {
    let invalid = |reason: String| Error::DeletionVector {
        path: path_or_inline_dv.to_owned(),
        reason,
        source: None,
    };
    let Some(split) = path_or_inline_dv.len().checked_sub(ENCODED_UUID_LEN) else {
        return Err(invalid(format!(
            "a relative deletion vector id is an optional prefix and a {ENCODED_UUID_LEN}-character \
             encoded UUID, but this one has only {} characters",
            path_or_inline_dv.len()
        )));
    };
    let (Some(prefix), Some(encoded)) = (
        path_or_inline_dv.get(..split),
        path_or_inline_dv.get(split..),
    ) else {
        return Err(invalid(
            "the last 20 characters are not an encoded UUID (non-ASCII text)".to_owned(),
        ));
    };
    let bytes = z85::decode(encoded).map_err(|e| {
        invalid(format!(
            "the encoded UUID {encoded:?} is not valid Z85: {e}"
        ))
    })?;
    let uuid = Uuid::from_slice(&bytes)
        .map_err(|e| invalid(format!("the encoded UUID {encoded:?} is not a UUID: {e}")))?;
    Ok((prefix, uuid))
}

/// The file of a `u` vector relative to the table root:
/// `<prefix>/deletion_vector_<uuid>.bin`, or `deletion_vector_<uuid>.bin` without a prefix.
pub fn relative_file_path(prefix: &str, uuid: &Uuid) -> String {
    let name = format!("deletion_vector_{}.bin", uuid.hyphenated());
    if prefix.is_empty() {
        name
    } else {
        format!("{prefix}/{name}")
    }
}

/// The UUID of a `u` vector's file. Errors for other storage types and malformed ids.
pub fn descriptor_uuid(descriptor: &DeletionVectorDescriptor) -> Result<Uuid> {
    require_relative(descriptor)?;
    decode_relative_id(&descriptor.path_or_inline_dv).map(|(_, uuid)| uuid)
}

/// The file of a `u` vector relative to the table root (see [`relative_file_path`]). Errors
/// for other storage types and malformed ids.
pub fn descriptor_relative_path(descriptor: &DeletionVectorDescriptor) -> Result<String> {
    require_relative(descriptor)?;
    let (prefix, uuid) = decode_relative_id(&descriptor.path_or_inline_dv)?;
    Ok(relative_file_path(prefix, &uuid))
}

/// The absolute URL of a file-backed vector: the table URL joined with the relative path for
/// `u`, the parsed path for `p`; `None` for an inline vector.
pub fn descriptor_absolute_url(
    table_url: &Url,
    descriptor: &DeletionVectorDescriptor,
) -> Result<Option<Url>> {
    match storage(descriptor)? {
        DeletionVectorStorage::Inline => Ok(None),
        DeletionVectorStorage::RelativeUuid => {
            let relative = descriptor_relative_path(descriptor)?;
            let mut base = table_url.clone();
            if !base.path().ends_with('/') {
                let directory = format!("{}/", base.path());
                base.set_path(&directory);
            }
            base.join(&relative)
                .map(Some)
                .map_err(|e| Error::DeletionVector {
                    path: relative,
                    reason: format!("cannot join the path to the table URL {table_url}: {e}"),
                    source: None,
                })
        }
        DeletionVectorStorage::AbsolutePath => {
            absolute_url(table_url, &descriptor.path_or_inline_dv).map(Some)
        }
    }
}

/// The file of a file-backed vector, resolved through the table's `resolver`; `None` for an
/// inline vector.
///
/// Errors: `DeletionVector` for a malformed id, or a `p` path that is not an absolute URI;
/// the resolver's errors (`PathOutsideTable`, `UnregisteredStore`, ...) for a file it will
/// not open.
pub fn descriptor_object_path(
    resolver: &PathResolver,
    descriptor: &DeletionVectorDescriptor,
) -> Result<Option<ResolvedPath>> {
    let path = match storage(descriptor)? {
        DeletionVectorStorage::Inline => return Ok(None),
        DeletionVectorStorage::RelativeUuid => {
            // The prefix is a directory name taken literally (no percent-decoding); the
            // resolver refuses it if it climbs out of the table.
            DataFilePath::Relative(descriptor_relative_path(descriptor)?)
        }
        DeletionVectorStorage::AbsolutePath => {
            let uri = &descriptor.path_or_inline_dv;
            let invalid = |reason: String| Error::DeletionVector {
                path: uri.clone(),
                reason,
                source: None,
            };
            match DataFilePath::parse(uri) {
                Ok(absolute @ DataFilePath::Absolute(_)) => absolute,
                Ok(DataFilePath::Relative(_)) => {
                    return Err(invalid(
                        "not an absolute URI (storage type \"p\" needs one)".to_owned(),
                    ));
                }
                Err(e) => return Err(invalid(format!("not an absolute URI: {e}"))),
            }
        }
    };
    Ok(Some(resolver.resolve(&path)?))
}

impl DeletionVector {
    /// The descriptor of this vector stored inline in the log (storage type `i`): the
    /// `RoaringBitmapArray` bytes, Z85-encoded with zero padding, `sizeInBytes` their
    /// unpadded length. Errors (`Unsupported`) if the bytes exceed 2 GiB.
    pub fn inline_descriptor(&self) -> Result<DeletionVectorDescriptor> {
        let bytes = self.serialize_bitmap();
        let size_in_bytes = i32::try_from(bytes.len()).map_err(|_| Error::Unsupported {
            what: format!(
                "an inline deletion vector over 2 GiB ({} bytes for {} rows)",
                bytes.len(),
                self.len()
            ),
        })?;
        let cardinality = i64::try_from(self.len()).map_err(|_| Error::Unsupported {
            what: format!("a deletion vector of {} rows (over 2^63)", self.len()),
        })?;
        Ok(DeletionVectorDescriptor {
            storage_type: DeletionVectorStorage::Inline.code().to_owned(),
            path_or_inline_dv: z85::encode_padded(&bytes),
            offset: None,
            size_in_bytes,
            cardinality,
        })
    }
}

/// Parses a `p` path: a URI with a scheme, or a path from the root of the table's file system
/// (resolved against the table URL's scheme and host).
fn absolute_url(table_url: &Url, uri: &str) -> Result<Url> {
    let parsed = if uri.starts_with('/') {
        table_url.join(uri)
    } else {
        Url::parse(uri)
    };
    parsed.map_err(|e| Error::DeletionVector {
        path: uri.to_owned(),
        reason: format!("not an absolute URI: {e}"),
        source: None,
    })
}

fn storage(descriptor: &DeletionVectorDescriptor) -> Result<DeletionVectorStorage> {
    descriptor.storage().map_err(|e| Error::DeletionVector {
        path: descriptor.path_or_inline_dv.clone(),
        reason: e.to_string(),
        source: None,
    })
}

fn require_relative(descriptor: &DeletionVectorDescriptor) -> Result<()> {
    match storage(descriptor)? {
        DeletionVectorStorage::RelativeUuid => Ok(()),
        other => Err(Error::DeletionVector {
            path: descriptor.path_or_inline_dv.clone(),
            reason: format!(
                "storage type {:?} has no UUID-named file (only \"u\" does)",
                other.code()
            ),
            source: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use proptest::prelude::*;
    use tarn_log::{LogError, TableLocation};

    use super::*;

    fn resolver(uri: &str) -> PathResolver {
        PathResolver::for_location(Arc::new(TableLocation::parse(uri).unwrap()))
    }

    fn object(resolver: &PathResolver, d: &DeletionVectorDescriptor) -> String {
        descriptor_object_path(resolver, d)
            .unwrap()
            .unwrap()
            .path()
            .as_ref()
            .to_owned()
    }

    fn descriptor(storage_type: &str, path: &str) -> DeletionVectorDescriptor {
        DeletionVectorDescriptor {
            storage_type: storage_type.to_owned(),
            path_or_inline_dv: path.to_owned(),
            offset: Some(1),
            size_in_bytes: 36,
            cardinality: 2,
        }
    }

    #[test]
    fn protocol_example_with_prefix() {
        // PROTOCOL.md, JSON Example 1.
        let d = descriptor("u", "ab^-aqEH.-t@S}K{vb[*k^");
        assert_eq!(
            descriptor_uuid(&d).unwrap().to_string(),
            "d2c639aa-8816-431a-aaf6-d3fe2512ff61"
        );
        assert_eq!(
            descriptor_relative_path(&d).unwrap(),
            "ab/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin"
        );
        let table = Url::parse("s3://mytable/").unwrap();
        assert_eq!(
            descriptor_absolute_url(&table, &d)
                .unwrap()
                .unwrap()
                .as_str(),
            "s3://mytable/ab/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin"
        );
        let table = Url::parse("s3://bucket/path/to/table").unwrap();
        assert_eq!(
            descriptor_absolute_url(&table, &d)
                .unwrap()
                .unwrap()
                .as_str(),
            "s3://bucket/path/to/table/ab/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin"
        );
    }

    #[test]
    fn fixture_id_without_prefix() {
        let d = descriptor("u", "vBn[lx{q8@P<9BNH/isA");
        assert_eq!(
            descriptor_relative_path(&d).unwrap(),
            "deletion_vector_61d16c75-6994-46b7-a15b-8b538852e50e.bin"
        );
        assert_eq!(
            object(&resolver("memory://dv-descriptor/t"), &d),
            "t/deletion_vector_61d16c75-6994-46b7-a15b-8b538852e50e.bin"
        );
    }

    #[test]
    fn malformed_ids_are_errors() {
        for bad in [
            "",
            "tooShort",
            "ab^-aqEH.-t@S}K{vb[* k",
            "#####aqEH.-t@S}K{vb[",
        ] {
            let err = descriptor_relative_path(&descriptor("u", bad)).unwrap_err();
            assert!(
                matches!(&err, Error::DeletionVector { path, .. } if path == bad),
                "{bad:?}: {err}"
            );
        }
        // A multi-byte character across the prefix/UUID boundary.
        let err = decode_relative_id("é^-aqEH.-t@S}K{vb[*k").unwrap_err();
        assert!(err.to_string().contains("non-ASCII") || err.to_string().contains("Z85"));
        let err = descriptor_uuid(&descriptor("i", "wi5b=")).unwrap_err();
        assert!(err.to_string().contains("only \"u\""), "{err}");
        let err = descriptor_uuid(&descriptor("x", "wi5b=")).unwrap_err();
        assert!(err.to_string().contains("unknown storage type"), "{err}");
    }

    #[test]
    fn absolute_paths_in_the_table_root() {
        let memory = resolver("memory://dv-abs/tables/t");
        let d = descriptor("p", "memory://dv-abs/tables/t/dvs/dv%20file.bin");
        assert_eq!(object(&memory, &d), "tables/t/dvs/dv file.bin");
        let d = descriptor("p", "/tables/t/dv.bin");
        assert_eq!(object(&memory, &d), "tables/t/dv.bin");
        let local = resolver("/tmp/tarn-dv/t");
        let d = descriptor("p", "file:///tmp/tarn-dv/t/x.bin");
        assert_eq!(object(&local, &d), "tmp/tarn-dv/t/x.bin");
    }

    #[test]
    fn paths_outside_the_table_are_refused_before_any_read() {
        let memory = resolver("memory://dv-abs-other/t");
        for outside in [
            "memory://dv-abs-other/elsewhere/x.bin",
            "/elsewhere/x.bin",
            "memory://dv-abs-other/t/../x.bin",
        ] {
            let err = descriptor_object_path(&memory, &descriptor("p", outside)).unwrap_err();
            assert!(
                matches!(err, Error::Log(LogError::PathOutsideTable { .. })),
                "{outside}: {err}"
            );
        }
        for other in [
            "memory://another-host/t/x.bin",
            "s3://dv-abs-other/t/x.bin",
            "file:///t/x.bin",
        ] {
            let err = descriptor_object_path(&memory, &descriptor("p", other)).unwrap_err();
            assert!(
                matches!(err, Error::Log(LogError::UnregisteredStore { .. })),
                "{other}: {err}"
            );
        }
        // A `u` prefix that climbs out of the table.
        let climbing = descriptor("u", "../outsidevBn[lx{q8@P<9BNH/isA");
        let err = descriptor_object_path(&memory, &climbing).unwrap_err();
        assert!(
            matches!(err, Error::Log(LogError::PathOutsideTable { .. })),
            "{err}"
        );
        let err = descriptor_object_path(&memory, &descriptor("p", "not a uri")).unwrap_err();
        assert!(err.to_string().contains("not an absolute URI"), "{err}");
    }

    #[test]
    fn inline_vectors_have_no_file() {
        let resolver = resolver("memory://dv-inline/t");
        let d = descriptor("i", "wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L");
        assert!(descriptor_object_path(&resolver, &d).unwrap().is_none());
        assert_eq!(
            descriptor_absolute_url(resolver.location().url(), &d).unwrap(),
            None
        );
    }

    proptest! {
        #[test]
        fn relative_id_round_trip(bytes in any::<[u8; 16]>(), prefix in "[a-zA-Z0-9]{0,4}") {
            let uuid = Uuid::from_bytes(bytes);
            let id = encode_relative_id(&prefix, &uuid);
            prop_assert_eq!(id.len(), prefix.len() + ENCODED_UUID_LEN);
            let (decoded_prefix, decoded) = decode_relative_id(&id).unwrap();
            prop_assert_eq!(decoded_prefix, prefix.as_str());
            prop_assert_eq!(decoded, uuid);
        }
    }
}
