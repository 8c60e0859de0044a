//! What a deletion vector descriptor names (PROTOCOL.md, "Deletion Vector Descriptor Schema",
//! "Derived Fields"): for storage type `u`, `pathOrInlineDv` is an optional random prefix
//! followed by a 20-character Z85-encoded UUID, and the file is
//! `<table root>/<prefix>/deletion_vector_<uuid>.bin` (no directory when there is no prefix);
//! for `p` it is an absolute URI in the format of an `add` path; for `i` it is the bitmap.
//!
//! This module decides which object a descriptor points at. It never resolves a file outside
//! the table's own object store: an absolute path on another store is an error, not a read
//! through some other client.

use object_store::path::Path;
use tarn_log::TableLocation;
use tarn_protocol::actions::{DeletionVectorDescriptor, DeletionVectorStorage};
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

/// The object of a file-backed vector in the table's store; `None` for an inline vector.
///
/// Errors (`DeletionVector`) for a malformed id or path, and for a `p` path on a different
/// store (scheme, bucket or host) than the table's.
pub fn descriptor_object_path(
    location: &TableLocation,
    descriptor: &DeletionVectorDescriptor,
) -> Result<Option<Path>> {
    match storage(descriptor)? {
        DeletionVectorStorage::Inline => Ok(None),
        DeletionVectorStorage::RelativeUuid => {
            let relative = descriptor_relative_path(descriptor)?;
            Ok(Some(location.child_path(&relative)))
        }
        DeletionVectorStorage::AbsolutePath => {
            let uri = &descriptor.path_or_inline_dv;
            let url = absolute_url(location.url(), uri)?;
            let invalid = |reason: String| Error::DeletionVector {
                path: uri.clone(),
                reason,
                source: None,
            };
            let table = location.url();
            if !same_store(table, &url) {
                return Err(invalid(format!(
                    "the file is outside the table's object store ({}://{}); only deletion \
                     vectors in the table's own store can be read",
                    table.scheme(),
                    table.host_str().unwrap_or_default()
                )));
            }
            let path = if url.scheme() == "file" {
                let file = url
                    .to_file_path()
                    .map_err(|()| invalid("not a local file path".to_owned()))?;
                Path::from_absolute_path(&file)
            } else {
                Path::from_url_path(url.path())
            };
            path.map(Some)
                .map_err(|e| invalid(format!("not a valid object path: {e}")))
        }
    }
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

/// Whether two URLs are served by the same object store client: same scheme (`s3a` is
/// `s3`), host (bucket, container, account) and port.
fn same_store(table: &Url, file: &Url) -> bool {
    fn scheme(url: &Url) -> &str {
        match url.scheme() {
            "s3a" => "s3",
            other => other,
        }
    }
    scheme(table) == scheme(file)
        && table.host_str() == file.host_str()
        && table.port_or_known_default() == file.port_or_known_default()
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
    use proptest::prelude::*;

    use super::*;

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
        let location = TableLocation::parse("memory://dv-descriptor/t").unwrap();
        assert_eq!(
            descriptor_object_path(&location, &d)
                .unwrap()
                .unwrap()
                .as_ref(),
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
    fn absolute_paths_in_the_table_store() {
        let location = TableLocation::parse("memory://dv-abs/tables/t").unwrap();
        let d = descriptor("p", "memory://dv-abs/elsewhere/dv%20file.bin");
        assert_eq!(
            descriptor_object_path(&location, &d)
                .unwrap()
                .unwrap()
                .as_ref(),
            "elsewhere/dv file.bin"
        );
        let d = descriptor("p", "/root/dv.bin");
        assert_eq!(
            descriptor_object_path(&location, &d)
                .unwrap()
                .unwrap()
                .as_ref(),
            "root/dv.bin"
        );
        let local = TableLocation::parse("/tmp/tarn-dv/t").unwrap();
        let d = descriptor("p", "file:///tmp/tarn-dv/other/x.bin");
        assert_eq!(
            descriptor_object_path(&local, &d)
                .unwrap()
                .unwrap()
                .as_ref(),
            "tmp/tarn-dv/other/x.bin"
        );
    }

    #[test]
    fn absolute_paths_in_other_stores_are_errors() {
        let location = TableLocation::parse("memory://dv-abs-other/t").unwrap();
        for other in [
            "memory://another-host/t/x.bin",
            "s3://dv-abs-other/t/x.bin",
            "file:///t/x.bin",
        ] {
            let err = descriptor_object_path(&location, &descriptor("p", other)).unwrap_err();
            assert!(
                err.to_string().contains("outside the table's object store"),
                "{other}: {err}"
            );
        }
        let err = descriptor_object_path(&location, &descriptor("p", "not a uri")).unwrap_err();
        assert!(err.to_string().contains("not an absolute URI"), "{err}");
    }

    #[test]
    fn s3a_and_s3_are_the_same_store() {
        let table = Url::parse("s3://bucket/t").unwrap();
        assert!(same_store(&table, &Url::parse("s3a://bucket/x").unwrap()));
        assert!(!same_store(&table, &Url::parse("s3://other/x").unwrap()));
    }

    #[test]
    fn inline_vectors_have_no_file() {
        let location = TableLocation::parse("memory://dv-inline/t").unwrap();
        let d = descriptor("i", "wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L");
        assert_eq!(descriptor_object_path(&location, &d).unwrap(), None);
        assert_eq!(descriptor_absolute_url(location.url(), &d).unwrap(), None);
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
