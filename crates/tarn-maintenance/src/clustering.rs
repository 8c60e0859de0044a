//! Clustered tables (PROTOCOL.md, "Clustered Table"): which columns a table is clustered by.
//!
//! A clustered table lists the `clustering` writer feature and names its clustering columns in
//! the `delta.clustering` domain (`{"clusteringColumns": [["a"], ["b", "c"]]}`, physical
//! paths). Its compaction orders rows along a Hilbert curve over those columns and marks the
//! files it writes with `clusteringProvider`; files without one are not clustered yet, which
//! is what makes clustering incremental.

use serde::Deserialize;
use tarn::protocol::ProtocolError;
use tarn::protocol::features::TableFeature;

use crate::error::{MaintenanceError, Result};

pub use tarn::ops::CLUSTERING_DOMAIN;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClusteringDomain {
    clustering_columns: Vec<Vec<String>>,
}

/// The clustering columns of a table (logical names), or `None` when it is not clustered.
/// Nested clustering columns are refused (tarn orders rows by top-level columns).
pub fn clustering_columns(snapshot: &tarn::Snapshot) -> Result<Option<Vec<String>>> {
    let clustered = snapshot
        .protocol()
        .writer_features
        .as_ref()
        .is_some_and(|features| features.contains(&TableFeature::Clustering));
    let Some(domain) = snapshot.domain_metadata().get(CLUSTERING_DOMAIN) else {
        return Ok(None);
    };
    if !clustered || domain.removed {
        return Ok(None);
    }
    let invalid = |reason: String| -> MaintenanceError {
        tarn::Error::Protocol(ProtocolError::InvalidDomainMetadata {
            domain: CLUSTERING_DOMAIN.to_owned(),
            reason,
        })
        .into()
    };
    let parsed: ClusteringDomain = serde_json::from_str(&domain.configuration)
        .map_err(|e| invalid(format!("not a clustering configuration: {e}")))?;
    let mode = snapshot.column_mapping_mode();
    let mut columns = Vec::with_capacity(parsed.clustering_columns.len());
    for path in parsed.clustering_columns {
        let [physical] = path.as_slice() else {
            return Err(invalid(format!(
                "clustering column {} is nested; tarn clusters by top-level columns only",
                path.join(".")
            )));
        };
        let field = snapshot
            .schema()
            .fields
            .iter()
            .find(|f| f.physical_name(mode) == physical)
            .ok_or_else(|| invalid(format!("clustering column {physical} is not in the schema")))?;
        columns.push(field.name.clone());
    }
    Ok(Some(columns))
}
