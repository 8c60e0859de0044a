//! Row tracking (PROTOCOL.md, "Row Tracking"): row ids and row commit versions.
//!
//! A table whose protocol lists the `rowTracking` writer feature asks every writer, unless
//! `delta.rowTrackingSuspended` is true, to give each file it commits a `baseRowId` above the
//! table's high water mark (the `delta.rowTracking` domain's `rowIdHighWaterMark`), raise the
//! mark past the rows it added, and stamp the file with the version it lands at
//! (`defaultRowCommitVersion`). A row's *fresh* id is its file's `baseRowId` plus its
//! physical position in the file. When `delta.enableRowTracking` is also true, every file
//! has these fields and rows keep *stable* ids across rewrites: a file may carry materialized
//! ids and commit versions in two hidden columns (named by the table properties below), and a
//! non-null value there wins over the fresh one.
//!
//! Both fields of a new file depend on where the commit lands: the version, and the mark as
//! raised by every commit before it. So they are assigned by [`RowIdAssigner::assign`] for
//! each attempt of a commit, after the concurrent commits it lost to have been read
//! ([`RowIdAssigner::observe`]); two writers never conflict over the mark, they rebase.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ProtocolError;
use crate::actions::{Action, DomainMetadata, Metadata, Protocol};
use crate::features::{
    ENABLE_ROW_TRACKING_KEY, ROW_TRACKING_SUSPENDED_KEY, TableFeature, effective_writer_features,
};
use crate::log_path::Version;

/// The domain holding the row id high water mark.
pub const ROW_TRACKING_DOMAIN: &str = "delta.rowTracking";

/// Table property naming the hidden column of materialized row ids.
pub const MATERIALIZED_ROW_ID_COLUMN_KEY: &str = "delta.rowTracking.materializedRowIdColumnName";

/// Table property naming the hidden column of materialized row commit versions.
pub const MATERIALIZED_ROW_COMMIT_VERSION_COLUMN_KEY: &str =
    "delta.rowTracking.materializedRowCommitVersionColumnName";

/// `commitInfo.tags` key saying whether a commit preserved the stable row ids (and commit
/// versions) of every row it updated or copied.
pub const PRESERVED_TAG: &str = "delta.rowTracking.preserved";

/// What row tracking asks of a writer of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowTracking {
    /// The protocol does not list `rowTracking`: nothing.
    Unsupported,
    /// Listed, but `delta.rowTrackingSuspended` is true: writers assign nothing.
    Suspended,
    /// Listed, not enabled: writers assign `baseRowId` and `defaultRowCommitVersion` to new
    /// files; stable ids cannot be relied upon yet, so there is nothing to preserve.
    Supported,
    /// Enabled: every file has row ids, and rewrites preserve the stable ones in these
    /// columns.
    Enabled(MaterializedColumns),
}

/// The physical names of the hidden columns that hold materialized row ids and row commit
/// versions. They are not part of the table's schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaterializedColumns {
    /// Column of materialized row ids (`long`, nullable).
    pub row_id: String,
    /// Column of materialized row commit versions (`long`, nullable).
    pub row_commit_version: String,
}

impl RowTracking {
    /// What row tracking asks of writers of a table with this protocol and metadata.
    ///
    /// Fails when the table enables row tracking without naming both materialized columns
    /// (the protocol requires them before enabling).
    pub fn of(protocol: &Protocol, metadata: &Metadata) -> Result<Self, ProtocolError> {
        if !effective_writer_features(protocol).contains(&TableFeature::RowTracking) {
            return Ok(Self::Unsupported);
        }
        let is_true = |key: &str| {
            metadata
                .configuration
                .get(key)
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        };
        if is_true(ROW_TRACKING_SUSPENDED_KEY) {
            return Ok(Self::Suspended);
        }
        if !is_true(ENABLE_ROW_TRACKING_KEY) {
            return Ok(Self::Supported);
        }
        let column = |key: &str| {
            metadata
                .configuration
                .get(key)
                .filter(|name| !name.is_empty())
                .cloned()
                .ok_or_else(|| ProtocolError::InvalidTableProperty {
                    property: ENABLE_ROW_TRACKING_KEY.to_owned(),
                    value: "true".to_owned(),
                    reason: format!("row tracking is enabled but `{key}` names no column"),
                })
        };
        Ok(Self::Enabled(MaterializedColumns {
            row_id: column(MATERIALIZED_ROW_ID_COLUMN_KEY)?,
            row_commit_version: column(MATERIALIZED_ROW_COMMIT_VERSION_COLUMN_KEY)?,
        }))
    }

    /// Whether writers assign row ids to the files they commit.
    pub fn assigns_row_ids(&self) -> bool {
        matches!(self, Self::Supported | Self::Enabled(_))
    }

    /// The materialized columns, when row tracking is enabled.
    pub fn materialized_columns(&self) -> Option<&MaterializedColumns> {
        match self {
            Self::Enabled(columns) => Some(columns),
            _ => None,
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HighWaterMark {
    row_id_high_water_mark: i64,
    /// Other keys (Spark writes `domainName`), kept when read, never written.
    #[serde(flatten, skip_serializing)]
    _rest: BTreeMap<String, serde_json::Value>,
}

/// The high water mark in a `delta.rowTracking` domain configuration
/// (`{"rowIdHighWaterMark": 9}`).
pub fn parse_high_water_mark(configuration: &str) -> Result<i64, ProtocolError> {
    let invalid = |reason: String| ProtocolError::InvalidDomainMetadata {
        domain: ROW_TRACKING_DOMAIN.to_owned(),
        reason,
    };
    let parsed: HighWaterMark = serde_json::from_str(configuration)
        .map_err(|e| invalid(format!("no rowIdHighWaterMark: {e}")))?;
    if parsed.row_id_high_water_mark < -1 {
        return Err(invalid(format!(
            "rowIdHighWaterMark {} is negative",
            parsed.row_id_high_water_mark
        )));
    }
    Ok(parsed.row_id_high_water_mark)
}

/// The `domainMetadata` action recording `high_water_mark`.
pub fn high_water_mark_action(high_water_mark: i64) -> DomainMetadata {
    DomainMetadata {
        domain: ROW_TRACKING_DOMAIN.to_owned(),
        configuration: format!("{{\"rowIdHighWaterMark\":{high_water_mark}}}"),
        removed: false,
    }
}

/// Assigns row ids and row commit versions to the new files of a commit. See the
/// [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RowIdAssigner {
    high_water_mark: Option<i64>,
}

impl RowIdAssigner {
    /// An assigner above `high_water_mark`, the mark of the version the transaction read
    /// (`None` when the table has none yet: ids start at 0).
    pub fn new(high_water_mark: Option<i64>) -> Self {
        Self { high_water_mark }
    }

    /// The highest row id assigned before this commit, as far as known.
    pub fn high_water_mark(&self) -> Option<i64> {
        self.high_water_mark
    }

    /// Takes in the mark a concurrent commit that landed first set (the mark never goes
    /// down, whatever a commit says).
    pub fn observe(&mut self, high_water_mark: i64) {
        self.high_water_mark = Some(
            self.high_water_mark
                .map_or(high_water_mark, |mark| mark.max(high_water_mark)),
        );
    }

    /// The actions as committed at `version`: every `add` without a `baseRowId` gets the next
    /// free range of ids (its `numRecords` wide), every `add` without a
    /// `defaultRowCommitVersion` gets `version`, and when ids were assigned a
    /// `delta.rowTracking` domain action records the new mark. Any `delta.rowTracking`
    /// action among `actions` is dropped: the mark is this function's alone to set.
    ///
    /// An `add` that needs ids must say how many rows it holds (`numRecords` in its stats).
    pub fn assign(
        &self,
        actions: &[Action],
        version: Version,
    ) -> Result<Vec<Action>, ProtocolError> {
        let version = i64::try_from(version).map_err(|_| ProtocolError::RowIdAssignment {
            path: String::new(),
            reason: format!("version {version} does not fit a defaultRowCommitVersion"),
        })?;
        let mut next = self.high_water_mark.map_or(0, |mark| mark + 1);
        let mut assigned_any = false;
        let mut out = Vec::with_capacity(actions.len() + 1);
        for action in actions {
            match action {
                Action::DomainMetadata(domain) if domain.domain == ROW_TRACKING_DOMAIN => {}
                Action::Add(add) => {
                    let mut add = add.clone();
                    if add.base_row_id.is_none() {
                        let rows = num_records(add.stats.as_deref()).map_err(|reason| {
                            ProtocolError::RowIdAssignment {
                                path: add.path.clone(),
                                reason,
                            }
                        })?;
                        add.base_row_id = Some(next);
                        next = next.checked_add(rows).ok_or_else(|| {
                            ProtocolError::RowIdAssignment {
                                path: add.path.clone(),
                                reason: "row ids would pass the largest long".to_owned(),
                            }
                        })?;
                        assigned_any = true;
                    }
                    if add.default_row_commit_version.is_none() {
                        add.default_row_commit_version = Some(version);
                    }
                    out.push(Action::Add(add));
                }
                other => out.push(other.clone()),
            }
        }
        let new_mark = next - 1;
        if assigned_any && self.high_water_mark.is_none_or(|mark| new_mark > mark) {
            out.push(Action::DomainMetadata(high_water_mark_action(new_mark)));
        }
        Ok(out)
    }
}

/// `numRecords` of an `add`'s statistics.
fn num_records(stats: Option<&str>) -> Result<i64, String> {
    #[derive(Deserialize)]
    struct Count {
        #[serde(rename = "numRecords")]
        num_records: Option<i64>,
    }
    let stats = stats.ok_or("the file has no statistics, so its row count is unknown")?;
    let count: Count =
        serde_json::from_str(stats).map_err(|e| format!("its statistics do not parse: {e}"))?;
    match count.num_records {
        Some(n) if n >= 0 => Ok(n),
        Some(n) => Err(format!("its statistics say numRecords = {n}")),
        None => Err("its statistics have no numRecords".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::{Add, CommitInfo, Remove};

    fn add(path: &str, rows: i64) -> Add {
        Add {
            path: path.to_owned(),
            partition_values: Default::default(),
            size: 100,
            modification_time: 0,
            data_change: true,
            stats: Some(format!("{{\"numRecords\":{rows}}}")),
            tags: None,
            deletion_vector: None,
            base_row_id: None,
            default_row_commit_version: None,
            clustering_provider: None,
        }
    }

    fn adds(actions: &[Action]) -> Vec<(String, Option<i64>, Option<i64>)> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Add(add) => Some((
                    add.path.clone(),
                    add.base_row_id,
                    add.default_row_commit_version,
                )),
                _ => None,
            })
            .collect()
    }

    fn marks(actions: &[Action]) -> Vec<i64> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::DomainMetadata(d) if d.domain == ROW_TRACKING_DOMAIN => {
                    parse_high_water_mark(&d.configuration).ok()
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn new_files_get_consecutive_ranges_above_the_mark() {
        let actions = vec![
            Action::CommitInfo(CommitInfo::default()),
            Action::Add(add("a", 10)),
            Action::Add(add("b", 0)),
            Action::Add(add("c", 5)),
        ];
        let out = RowIdAssigner::new(Some(9)).assign(&actions, 3).unwrap();
        assert_eq!(
            adds(&out),
            vec![
                ("a".into(), Some(10), Some(3)),
                ("b".into(), Some(20), Some(3)),
                ("c".into(), Some(20), Some(3)),
            ]
        );
        assert_eq!(marks(&out), vec![24]);
    }

    #[test]
    fn a_table_without_a_mark_starts_at_zero() {
        let out = RowIdAssigner::new(None)
            .assign(&[Action::Add(add("a", 3))], 0)
            .unwrap();
        assert_eq!(adds(&out), vec![("a".into(), Some(0), Some(0))]);
        assert_eq!(marks(&out), vec![2]);
    }

    #[test]
    fn recommitted_files_keep_their_fields_and_do_not_move_the_mark() {
        let mut old = add("a", 10);
        old.base_row_id = Some(4);
        old.default_row_commit_version = Some(1);
        let remove = Remove {
            path: "b".into(),
            deletion_timestamp: Some(1),
            data_change: true,
            extended_file_metadata: None,
            partition_values: None,
            size: None,
            stats: None,
            tags: None,
            deletion_vector: None,
            base_row_id: Some(0),
            default_row_commit_version: Some(0),
        };
        let stale_mark = Action::DomainMetadata(high_water_mark_action(3));
        let out = RowIdAssigner::new(Some(50))
            .assign(
                &[Action::Add(old), Action::Remove(remove.clone()), stale_mark],
                7,
            )
            .unwrap();
        assert_eq!(adds(&out), vec![("a".into(), Some(4), Some(1))]);
        assert!(
            marks(&out).is_empty(),
            "a caller's mark is dropped, none is needed"
        );
        assert!(out.contains(&Action::Remove(remove)));
    }

    #[test]
    fn observing_a_winner_rebases_the_next_assignment() {
        let mut assigner = RowIdAssigner::new(Some(9));
        assigner.observe(99);
        assigner.observe(20);
        assert_eq!(assigner.high_water_mark(), Some(99));
        let out = assigner.assign(&[Action::Add(add("a", 1))], 12).unwrap();
        assert_eq!(adds(&out), vec![("a".into(), Some(100), Some(12))]);
        assert_eq!(marks(&out), vec![100]);
    }

    #[test]
    fn a_file_without_a_row_count_cannot_get_ids() {
        let mut no_stats = add("a", 1);
        no_stats.stats = None;
        let err = RowIdAssigner::new(None)
            .assign(&[Action::Add(no_stats)], 1)
            .unwrap_err();
        assert!(err.to_string().contains("a"), "{err}");
        let mut no_count = add("b", 1);
        no_count.stats = Some("{\"minValues\":{}}".into());
        assert!(
            RowIdAssigner::new(None)
                .assign(&[Action::Add(no_count)], 1)
                .is_err()
        );
        let overflow =
            RowIdAssigner::new(Some(i64::MAX - 2)).assign(&[Action::Add(add("c", 5))], 1);
        assert!(overflow.is_err());
    }

    #[test]
    fn the_mark_parses_as_spark_writes_it() {
        assert_eq!(
            parse_high_water_mark(r#"{"rowIdHighWaterMark":9,"domainName":"delta.rowTracking"}"#)
                .unwrap(),
            9
        );
        assert!(parse_high_water_mark("{}").is_err());
        assert!(parse_high_water_mark(r#"{"rowIdHighWaterMark":-5}"#).is_err());
        assert_eq!(
            parse_high_water_mark(&high_water_mark_action(41).configuration).unwrap(),
            41
        );
    }

    #[test]
    fn what_a_table_asks_of_writers() {
        let protocol = |features: &[&str]| Protocol {
            min_reader_version: 1,
            min_writer_version: 7,
            reader_features: None,
            writer_features: Some(features.iter().map(|f| f.parse().unwrap()).collect()),
        };
        let metadata = |pairs: &[(&str, &str)]| -> Metadata {
            let configuration: BTreeMap<&str, &str> = pairs.iter().copied().collect();
            serde_json::from_value(serde_json::json!({
                "id": "t",
                "format": {"provider": "parquet", "options": {}},
                "schemaString": "{\"type\":\"struct\",\"fields\":[]}",
                "partitionColumns": [],
                "configuration": configuration,
            }))
            .unwrap()
        };
        let tracked = protocol(&["rowTracking", "domainMetadata"]);
        assert_eq!(
            RowTracking::of(&protocol(&["domainMetadata"]), &metadata(&[])).unwrap(),
            RowTracking::Unsupported
        );
        assert_eq!(
            RowTracking::of(&tracked, &metadata(&[])).unwrap(),
            RowTracking::Supported
        );
        assert_eq!(
            RowTracking::of(&tracked, &metadata(&[(ROW_TRACKING_SUSPENDED_KEY, "TRUE")])).unwrap(),
            RowTracking::Suspended
        );
        let enabled = metadata(&[
            (ENABLE_ROW_TRACKING_KEY, "true"),
            (MATERIALIZED_ROW_ID_COLUMN_KEY, "_row-id"),
            (MATERIALIZED_ROW_COMMIT_VERSION_COLUMN_KEY, "_row-version"),
        ]);
        let state = RowTracking::of(&tracked, &enabled).unwrap();
        assert!(state.assigns_row_ids());
        assert_eq!(
            state.materialized_columns().map(|c| c.row_id.as_str()),
            Some("_row-id")
        );
        assert!(
            RowTracking::of(&tracked, &metadata(&[(ENABLE_ROW_TRACKING_KEY, "true")])).is_err()
        );
    }
}
