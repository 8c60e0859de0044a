//! Clustered tables (PROTOCOL.md, "Clustered Table"): which columns a table is clustered by.
//!
//! A clustered table lists the `clustering` writer feature and names its clustering columns in
//! the `delta.clustering` domain (`{"clusteringColumns": [["a"], ["b", "c"]]}`, physical
//! paths); tables from Databricks Runtime's preview list `liquid` instead, with the columns
//! in `delta.liquid` (`{"clusteringColumns": [{"physicalName": ["a"]}]}`). Its compaction orders rows along a Hilbert curve over those columns and marks the
//! files it writes with `clusteringProvider`; files without one are not clustered yet, which
//! is what makes clustering incremental.

use serde::Deserialize;
use tarn::protocol::ProtocolError;
use tarn::protocol::features::TableFeature;

use crate::error::{MaintenanceError, Result};

pub use tarn::ops::{CLUSTERING_DOMAIN, LIQUID_PREVIEW_DOMAIN};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClusteringDomain {
    clustering_columns: Vec<ClusteringColumn>,
}

/// One clustering column as the domains write it: a path of physical names (Spark), a single
/// name (the protocol's example), or `{"physicalName": [...]}` (the `liquid` preview).
#[derive(Deserialize)]
#[serde(untagged)]
enum ClusteringColumn {
    Path(Vec<String>),
    Name(String),
    #[serde(rename_all = "camelCase")]
    Physical {
        physical_name: Vec<String>,
    },
}

impl ClusteringColumn {
    fn into_path(self) -> Vec<String> {
        match self {
            Self::Path(path)
            | Self::Physical {
                physical_name: path,
            } => path,
            Self::Name(name) => vec![name],
        }
    }
}

/// The clustering columns of a table (logical names), or `None` when it is not clustered.
/// A table is clustered when its protocol lists the `clustering` writer feature (columns in
/// the `delta.clustering` domain) or its preview name `liquid` (columns in `delta.liquid`).
/// Nested clustering columns are refused (tarn orders rows by top-level columns).
pub fn clustering_columns(snapshot: &tarn::Snapshot) -> Result<Option<Vec<String>>> {
    let features = snapshot
        .protocol()
        .writer_features
        .clone()
        .unwrap_or_default();
    let domain_name = if features.contains(&TableFeature::Clustering) {
        CLUSTERING_DOMAIN
    } else if features.contains(&TableFeature::LiquidPreview) {
        LIQUID_PREVIEW_DOMAIN
    } else {
        return Ok(None);
    };
    let Some(domain) = snapshot.domain_metadata().get(domain_name) else {
        return Ok(None);
    };
    if domain.removed {
        return Ok(None);
    }
    let invalid = |reason: String| -> MaintenanceError {
        tarn::Error::Protocol(ProtocolError::InvalidDomainMetadata {
            domain: domain_name.to_owned(),
            reason,
        })
        .into()
    };
    let parsed: ClusteringDomain = serde_json::from_str(&domain.configuration)
        .map_err(|e| invalid(format!("not a clustering configuration: {e}")))?;
    let mode = snapshot.column_mapping_mode();
    let mut columns = Vec::with_capacity(parsed.clustering_columns.len());
    for column in parsed.clustering_columns {
        let path = column.into_path();
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
