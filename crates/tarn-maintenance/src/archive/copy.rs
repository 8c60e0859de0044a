//! Copying a file to (or back from) an archive location, verified, and claiming a location
//! for one table. The I/O half of archiving: it decides nothing beyond whether a copy matches.
//!
//! A copy is verified by a HEAD of the result: its size must be the source's (and the size
//! the log records for a data file), and where both entity tags are MD5 content hashes (32
//! hex digits: S3 and GCS give them for objects uploaded in one request without KMS
//! encryption) the tags must be equal. A copy found from an earlier run is reused on the same
//! terms: matching size, and matching tags where both are hashes (object stores and
//! object_store's local store never expose a partly written object, and copies go to paths
//! only this table's archive runs write: see [`claim_location`]). A copy that does not match
//! is written again.
//!
//! Copies stream: a file up to [`SINGLE_PUT_LIMIT`] is one `put`, a larger one a multipart
//! upload in chunks of that size, so memory stays bounded whatever the file's size. The
//! storage class goes with every put as object_store's `Attribute::StorageClass`. Between
//! two places of one cloud store (same bucket and client), with no storage class to set, the
//! store copies server-side.

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::{
    Attribute, Attributes, ObjectMeta, ObjectStore, ObjectStoreExt, PutMode, PutOptions,
    PutPayload, WriteMultipart,
};
use serde::{Deserialize, Serialize};
use tarn::ResolvedPath;

use crate::error::{MaintenanceError, Result};

/// Files up to this size are copied in one put; larger ones in multipart chunks of it.
pub const SINGLE_PUT_LIMIT: u64 = 16 * 1024 * 1024;

/// Multipart chunks in flight per copy.
const MULTIPART_CONCURRENCY: usize = 4;

/// How a verified copy came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Copied {
    /// A matching copy was already there (an earlier, interrupted run wrote it).
    Reused,
    /// It was written now.
    Written,
}

/// The storage class as put options' attributes.
pub(crate) fn class_attributes(storage_class: Option<&str>) -> Attributes {
    let mut attributes = Attributes::new();
    if let Some(class) = storage_class {
        attributes.insert(Attribute::StorageClass, class.to_owned().into());
    }
    attributes
}

/// HEAD of an object; `None` if it does not exist.
pub(crate) async fn head(file: &ResolvedPath) -> Result<Option<ObjectMeta>> {
    match file.store().head(file.path()).await {
        Ok(meta) => Ok(Some(meta)),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(source) => Err(MaintenanceError::Storage {
            operation: "checking",
            path: file.display().to_owned(),
            source,
        }),
    }
}

/// An entity tag that is the MD5 of the object's bytes, as S3 and GCS give for objects put
/// in one request: 32 hex digits, quotes aside.
fn md5_tag(meta: &ObjectMeta) -> Option<String> {
    let tag = meta.e_tag.as_deref()?.trim_matches('"');
    (tag.len() == 32 && tag.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| tag.to_ascii_lowercase())
}

/// Whether an existing copy `found` matches the source `source` of `size` bytes.
fn matches(source: &ObjectMeta, found: &ObjectMeta, size: u64) -> bool {
    if found.size != size {
        return false;
    }
    match (md5_tag(source), md5_tag(found)) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

/// Copies `from` to `to`, unless a matching copy is there already, and verifies the result.
/// `expected_size` is what the log says of the source (`None` for a deletion vector file,
/// whose size the log does not record).
pub(crate) async fn copy_verified(
    from: &ResolvedPath,
    to: &ResolvedPath,
    expected_size: Option<u64>,
    storage_class: Option<&str>,
) -> Result<Copied> {
    let mismatch = |reason: String| MaintenanceError::CopyMismatch {
        from: from.display().to_owned(),
        to: to.display().to_owned(),
        reason,
    };
    let source = head(from).await?.ok_or_else(|| MaintenanceError::Storage {
        operation: "reading",
        path: from.display().to_owned(),
        source: object_store::Error::NotFound {
            path: from.path().to_string(),
            source: "the file the log names is missing".into(),
        },
    })?;
    if let Some(expected) = expected_size
        && source.size != expected
    {
        return Err(mismatch(format!(
            "the log says the source has {expected} bytes, the store has {}",
            source.size
        )));
    }
    let size = source.size;
    if let Some(found) = head(to).await?
        && matches(&source, &found, size)
    {
        return Ok(Copied::Reused);
    }
    let attributes = class_attributes(storage_class);
    // One cloud client (its display names the bucket or container): the store can copy
    // server-side. Never for local files (object_store links them, which fails across file
    // systems) or in-memory stores (one display for every instance).
    let cloud = ["s3://", "gs://", "az://", "azure://", "abfs://", "abfss://"]
        .iter()
        .any(|scheme| from.display().starts_with(scheme) && to.display().starts_with(scheme));
    let same_store = Arc::ptr_eq(from.store(), to.store())
        || (cloud && from.store().to_string() == to.store().to_string());
    let mut copied_server_side = false;
    if same_store && storage_class.is_none() && !from.display().starts_with('/') {
        copied_server_side = to.store().copy(from.path(), to.path()).await.is_ok();
    }
    if !copied_server_side {
        stream_copy(from, to, size, attributes).await?;
    }
    let written = head(to)
        .await?
        .ok_or_else(|| mismatch("the copy is missing after it was written".to_owned()))?;
    if written.size != size {
        return Err(mismatch(format!(
            "the copy has {} bytes, the source {size}",
            written.size
        )));
    }
    // Both tags content hashes (single-request uploads to S3 or GCS): they must agree.
    if let (Some(expected), Some(got)) = (md5_tag(&source), md5_tag(&written))
        && expected != got
    {
        return Err(mismatch(format!(
            "the copy's MD5 entity tag is {got}, the source's {expected}"
        )));
    }
    Ok(Copied::Written)
}

/// Streams `from` into `to`: one put up to [`SINGLE_PUT_LIMIT`], a multipart upload beyond.
async fn stream_copy(
    from: &ResolvedPath,
    to: &ResolvedPath,
    size: u64,
    attributes: Attributes,
) -> Result<()> {
    let read_error = |source| MaintenanceError::Storage {
        operation: "reading",
        path: from.display().to_owned(),
        source,
    };
    let write_error = |source| MaintenanceError::Storage {
        operation: "writing",
        path: to.display().to_owned(),
        source,
    };
    let got = from.store().get(from.path()).await.map_err(read_error)?;
    if size <= SINGLE_PUT_LIMIT {
        let bytes = got.bytes().await.map_err(read_error)?;
        let options = PutOptions {
            attributes,
            ..PutOptions::default()
        };
        to.store()
            .put_opts(to.path(), PutPayload::from(bytes), options)
            .await
            .map_err(write_error)?;
        return Ok(());
    }
    let options = object_store::PutMultipartOptions {
        attributes,
        ..Default::default()
    };
    let upload = to
        .store()
        .put_multipart_opts(to.path(), options)
        .await
        .map_err(write_error)?;
    let chunk = usize::try_from(SINGLE_PUT_LIMIT).unwrap_or(usize::MAX);
    let mut writer = WriteMultipart::new_with_chunk_size(upload, chunk);
    let mut stream = got.into_stream();
    let result: Result<()> = async {
        while let Some(bytes) = stream.try_next().await.map_err(read_error)? {
            writer
                .wait_for_capacity(MULTIPART_CONCURRENCY)
                .await
                .map_err(write_error)?;
            writer.put(bytes);
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => {
            writer.finish().await.map_err(write_error)?;
            Ok(())
        }
        Err(err) => {
            // Best effort: an abandoned upload is cleaned up by the bucket's lifecycle rules.
            let _aborted = writer.abort().await;
            Err(err)
        }
    }
}

/// The marker that claims an archive location for one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LocationMarker {
    /// The table's `metaData.id`.
    pub(crate) table_id: String,
    /// The table, as an operator would name it (informational).
    pub(crate) table: String,
}

/// Reads the marker at `marker`; `None` if there is none.
pub(crate) async fn read_marker(marker: &ResolvedPath) -> Result<Option<LocationMarker>> {
    let bytes: Bytes = match marker.store().get(marker.path()).await {
        Ok(got) => got
            .bytes()
            .await
            .map_err(|source| MaintenanceError::Storage {
                operation: "reading",
                path: marker.display().to_owned(),
                source,
            })?,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(source) => {
            return Err(MaintenanceError::Storage {
                operation: "reading",
                path: marker.display().to_owned(),
                source,
            });
        }
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| MaintenanceError::ArchiveLocation {
            location: marker.display().to_owned(),
            reason: format!("its marker is not tarn's ({e}); it may belong to something else"),
        })
}

/// Why a marker found at a location keeps this table out, if it does.
pub(crate) fn marker_conflict(found: &LocationMarker, table_id: &str) -> Option<String> {
    (found.table_id != table_id).then(|| {
        format!(
            "it holds the archive of another table ({}, id {}); give each table a location of \
             its own",
            found.table, found.table_id
        )
    })
}

/// Claims the location for the table (creates the marker, put-if-absent), or checks that it
/// is this table's. Two tables archiving to one location would overwrite each other's copies
/// of equally named files.
pub(crate) async fn claim_location(
    marker: &ResolvedPath,
    location: &str,
    wanted: &LocationMarker,
) -> Result<()> {
    let refuse = |reason: String| MaintenanceError::ArchiveLocation {
        location: location.to_owned(),
        reason,
    };
    if let Some(found) = read_marker(marker).await? {
        return match marker_conflict(&found, &wanted.table_id) {
            Some(reason) => Err(refuse(reason)),
            None => Ok(()),
        };
    }
    let body = serde_json::to_vec(wanted).map_err(|e| refuse(e.to_string()))?;
    match marker
        .store()
        .put_opts(
            marker.path(),
            PutPayload::from(body),
            PutOptions::from(PutMode::Create),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(object_store::Error::AlreadyExists { .. }) => {
            // Another run claimed it at the same moment: it must be this table's.
            match read_marker(marker).await? {
                Some(found) => match marker_conflict(&found, &wanted.table_id) {
                    Some(reason) => Err(refuse(reason)),
                    None => Ok(()),
                },
                None => Err(refuse("its marker vanished while being created".to_owned())),
            }
        }
        Err(source) => Err(MaintenanceError::Storage {
            operation: "writing",
            path: marker.display().to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(size: u64, e_tag: Option<&str>) -> ObjectMeta {
        ObjectMeta {
            location: object_store::path::Path::from("x"),
            last_modified: chrono::DateTime::UNIX_EPOCH,
            size,
            e_tag: e_tag.map(str::to_owned),
            version: None,
        }
    }

    #[test]
    fn a_copy_is_reused_only_when_it_matches() {
        let md5 = "\"0123456789abcdef0123456789abcdef\"";
        let other = "\"fedcba9876543210fedcba9876543210\"";
        assert!(matches(&meta(10, Some(md5)), &meta(10, Some(md5)), 10));
        assert!(!matches(&meta(10, Some(md5)), &meta(10, Some(other)), 10));
        assert!(!matches(&meta(10, Some(md5)), &meta(9, Some(md5)), 10));
        // Tags that are not content hashes (local files, multipart uploads) say nothing.
        assert!(matches(
            &meta(10, Some("1a-2b-a")),
            &meta(10, Some("3c-4d-a")),
            10
        ));
        assert!(matches(&meta(10, Some(md5)), &meta(10, Some("abc-2")), 10));
        assert!(matches(&meta(10, None), &meta(10, None), 10));
    }

    #[test]
    fn a_marker_of_another_table_is_named() {
        let found = LocationMarker {
            table_id: "a".into(),
            table: "s3://b/t".into(),
        };
        assert_eq!(marker_conflict(&found, "a"), None);
        let reason = marker_conflict(&found, "b").unwrap();
        assert!(reason.contains("s3://b/t"), "{reason}");
    }
}
