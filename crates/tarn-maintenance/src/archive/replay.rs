//! Which of the commits since a file was detached change what bringing it back means: the
//! pure half of `restore-archive`'s delete replay.
//!
//! A detached file's rows were out of the live table while later commits ran; a delete then
//! never reached them. Restoring them as they are would bring back rows the table's owner
//! deleted (a right-to-be-forgotten request, say). So before a detached file comes back, the
//! commits after the one that detached it are read and each is classified by
//! [`plan_replay`]:
//!
//! - **Deletes** (`DELETE`, `TRUNCATE`, and overwrites limited by a predicate — replaceWhere)
//!   become [`ReplayStep::Delete`]: their predicate, from `commitInfo.operationParameters`,
//!   is applied to the restored rows in commit order, exactly as the delete applied it to the
//!   rows it saw. This is exact because the detached rows cannot have changed meanwhile (no
//!   commit reaches them), so each delete sees the same values it would have seen had the
//!   rows stayed, as long as nothing else in between would have changed them — which is what
//!   the refusals below ensure.
//! - **Updates** become [`ReplayStep::Update`]: had the rows stayed, an update matching them
//!   would have changed them, and no engine records the new values in a form tarn can
//!   replay, so the restore is refused if any restored row satisfies an update's predicate;
//!   an update that matches none of them changes nothing for them.
//! - **Refused outright** (the restore cannot be exact): an overwrite of the whole table or a
//!   table replacement (the rows would not exist), a `RESTORE` to another version (the
//!   table's contents were reset; whether the rows belong is unknowable), a `MERGE` that
//!   removed rows, any other operation that removed rows as a data change, and a delete or
//!   update whose predicate tarn cannot read or parse (another engine's SQL).
//! - **Ignored**: appends (new rows do not touch old ones), and commits that change no data
//!   (compaction, archive tiering, vacuum records, commits of `tarn archive` and
//!   `restore-archive` themselves).
//!
//! The caller also refuses when a commit in the range is missing from the log (log cleanup
//! removed it): what it did cannot be known.

use serde::Serialize;
use tarn::Expr;
use tarn::protocol::actions::{Action, CommitInfo};

use super::{ARCHIVE_OPERATION, RESTORE_OPERATION};

/// A commit after a detach, with its actions.
#[derive(Debug, Clone)]
pub struct ReplayedCommit {
    /// Its version.
    pub version: u64,
    /// Its actions.
    pub actions: Vec<Action>,
}

/// What bringing a detached file back must do about one later commit.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ReplayStep {
    /// Delete the restored rows for which `predicate` is true.
    Delete {
        /// The commit's version.
        version: u64,
        /// Its operation (`DELETE`, `TRUNCATE`, `WRITE`).
        operation: String,
        /// The predicate, as SQL.
        predicate: String,
        /// It, parsed.
        #[serde(skip)]
        expr: Expr,
    },
    /// Refuse the restore if any restored row satisfies `predicate`.
    Update {
        /// The commit's version.
        version: u64,
        /// The predicate, as SQL.
        predicate: String,
        /// It, parsed.
        #[serde(skip)]
        expr: Expr,
    },
}

impl ReplayStep {
    /// The commit's version.
    pub fn version(&self) -> u64 {
        match self {
            ReplayStep::Delete { version, .. } | ReplayStep::Update { version, .. } => *version,
        }
    }

    /// The predicate, parsed.
    pub fn expr(&self) -> &Expr {
        match self {
            ReplayStep::Delete { expr, .. } | ReplayStep::Update { expr, .. } => expr,
        }
    }
}

/// A commit that makes an exact restore impossible: its version and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayRefusal {
    /// The version at fault.
    pub version: u64,
    /// Why.
    pub reason: String,
}

/// Classifies the commits after a detach, in version order (see the module doc): the steps
/// a restore applies, or the first commit that makes it impossible.
pub fn plan_replay(commits: &[ReplayedCommit]) -> Result<Vec<ReplayStep>, ReplayRefusal> {
    let mut steps = Vec::new();
    for commit in commits {
        if let Some(step) = classify(commit)? {
            steps.push(step);
        }
    }
    Ok(steps)
}

fn classify(commit: &ReplayedCommit) -> Result<Option<ReplayStep>, ReplayRefusal> {
    let version = commit.version;
    let refuse = |reason: String| ReplayRefusal { version, reason };
    let info: Option<&CommitInfo> = commit.actions.iter().find_map(|a| match a {
        Action::CommitInfo(info) => Some(info),
        _ => None,
    });
    let operation = info
        .and_then(|i| i.operation.clone())
        .unwrap_or_else(|| "(unnamed)".to_owned());
    let parameter = |key: &str| -> Option<String> {
        let value = info?.operation_parameters.as_ref()?.get(key)?;
        Some(match value {
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        })
    };
    let removes_rows = commit
        .actions
        .iter()
        .any(|a| matches!(a, Action::Remove(remove) if remove.data_change));
    let predicate = |what: &str| -> Result<(String, Expr), ReplayRefusal> {
        let text = parameter("predicate").ok_or_else(|| {
            refuse(format!(
                "its {what} ({operation}) recorded no predicate, so which rows it reached is \
                 unknown"
            ))
        })?;
        let sql = predicate_sql(&text);
        let expr = Expr::parse(&sql).map_err(|e| {
            refuse(format!(
                "tarn cannot read the predicate of its {operation} ({sql}): {e}"
            ))
        })?;
        Ok((sql, expr))
    };
    match operation.as_str() {
        ARCHIVE_OPERATION | RESTORE_OPERATION | "OPTIMIZE" | "VACUUM START" | "VACUUM END"
        | "SET TBLPROPERTIES" | "ADD COLUMNS" | "CHANGE COLUMN" | "ADD CONSTRAINT"
        | "DROP CONSTRAINT" => Ok(None),
        "DELETE" => {
            let (predicate, expr) = predicate("delete")?;
            Ok(Some(ReplayStep::Delete {
                version,
                operation,
                predicate,
                expr,
            }))
        }
        "TRUNCATE" => Ok(Some(ReplayStep::Delete {
            version,
            operation,
            predicate: "true".to_owned(),
            expr: Expr::literal(true),
        })),
        "UPDATE" => {
            let (predicate, expr) = predicate("update")?;
            Ok(Some(ReplayStep::Update {
                version,
                predicate,
                expr,
            }))
        }
        "WRITE" | "STREAMING UPDATE" | "CREATE TABLE AS SELECT" => {
            if parameter("mode").as_deref() != Some("Overwrite") && !removes_rows {
                return Ok(None);
            }
            if parameter("mode").as_deref() == Some("Overwrite") && parameter("predicate").is_some()
            {
                let (predicate, expr) = predicate("overwrite")?;
                return Ok(Some(ReplayStep::Delete {
                    version,
                    operation,
                    predicate,
                    expr,
                }));
            }
            Err(refuse(format!(
                "its {operation} overwrote the whole table: had the files stayed, their rows \
                 would be gone"
            )))
        }
        "CREATE OR REPLACE TABLE"
        | "REPLACE TABLE"
        | "REPLACE TABLE AS SELECT"
        | "CREATE OR REPLACE TABLE AS SELECT" => Err(refuse(format!(
            "its {operation} replaced the table: had the files stayed, their rows would be gone"
        ))),
        "RESTORE" => Err(refuse(
            "it restored the table to another version: whether the detached rows belong in the \
             result cannot be known"
                .to_owned(),
        )),
        _ if removes_rows => Err(refuse(format!(
            "its {operation} removed rows in a way tarn cannot replay on the detached files"
        ))),
        _ => Ok(None),
    }
}

/// The SQL of a recorded predicate: Spark and tarn record `["<sql>"]` (a JSON list, its items
/// ANDed; an empty list is every row), some writers the SQL itself.
fn predicate_sql(text: &str) -> String {
    match serde_json::from_str::<Vec<String>>(text) {
        Ok(items) if items.is_empty() => "true".to_owned(),
        Ok(items) if items.len() == 1 => items.into_iter().next().unwrap_or_default(),
        Ok(items) => items
            .iter()
            .map(|item| format!("({item})"))
            .collect::<Vec<_>>()
            .join(" AND "),
        Err(_) => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use tarn::protocol::actions::{Add, Remove};

    use super::*;

    fn info(operation: &str, parameters: &[(&str, &str)]) -> Action {
        Action::CommitInfo(CommitInfo {
            operation: Some(operation.to_owned()),
            operation_parameters: Some(
                parameters
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String((*v).to_owned())))
                    .collect(),
            ),
            ..CommitInfo::default()
        })
    }

    fn remove(data_change: bool) -> Action {
        Action::Remove(Remove {
            path: "x".to_owned(),
            deletion_timestamp: None,
            data_change,
            extended_file_metadata: None,
            partition_values: None,
            size: None,
            stats: None,
            tags: None,
            deletion_vector: None,
            base_row_id: None,
            default_row_commit_version: None,
        })
    }

    fn add() -> Action {
        Action::Add(Add {
            path: "y".to_owned(),
            partition_values: Default::default(),
            size: 1,
            modification_time: 1,
            data_change: true,
            stats: None,
            tags: None,
            deletion_vector: None,
            base_row_id: None,
            default_row_commit_version: None,
            clustering_provider: None,
        })
    }

    fn commit(version: u64, actions: Vec<Action>) -> ReplayedCommit {
        ReplayedCommit { version, actions }
    }

    fn predicates(steps: &[ReplayStep]) -> Vec<(u64, &str)> {
        steps
            .iter()
            .map(|s| match s {
                ReplayStep::Delete { predicate, .. } => (s.version(), predicate.as_str()),
                ReplayStep::Update { .. } => (s.version(), "UPDATE"),
            })
            .collect()
    }

    #[test]
    fn deletes_are_replayed_in_order_and_appends_ignored() {
        let steps = plan_replay(&[
            commit(5, vec![info("WRITE", &[("mode", "Append")]), add()]),
            commit(
                6,
                vec![
                    info("DELETE", &[("predicate", r#"["id = 3"]"#)]),
                    remove(true),
                ],
            ),
            // tarn's record of a delete that matched nothing live.
            commit(
                7,
                vec![info("DELETE", &[("predicate", r#"["name = 'x'"]"#)])],
            ),
            commit(8, vec![info("OPTIMIZE", &[]), remove(false), add()]),
            commit(9, vec![info("TRUNCATE", &[]), remove(true)]),
            commit(
                10,
                vec![
                    info(
                        "WRITE",
                        &[("mode", "Overwrite"), ("predicate", "day = '2026-01-01'")],
                    ),
                    remove(true),
                    add(),
                ],
            ),
            commit(11, vec![info("DELETE", &[("predicate", "[]")])]),
            commit(
                12,
                vec![
                    info("UPDATE", &[("predicate", r#"["v > 1"]"#)]),
                    remove(true),
                ],
            ),
            commit(13, vec![info(ARCHIVE_OPERATION, &[]), remove(true)]),
        ])
        .unwrap();
        assert_eq!(
            predicates(&steps),
            [
                (6, "id = 3"),
                (7, "name = 'x'"),
                (9, "true"),
                (10, "day = '2026-01-01'"),
                (11, "true"),
                (12, "UPDATE"),
            ]
        );
        // A list of several predicates is their conjunction.
        assert_eq!(
            predicate_sql(r#"["a = 1", "b = 2"]"#),
            "(a = 1) AND (b = 2)"
        );
    }

    #[test]
    fn what_cannot_be_replayed_is_refused_naming_the_version() {
        for (actions, why) in [
            (
                vec![info("WRITE", &[("mode", "Overwrite")]), remove(true)],
                "overwrote",
            ),
            (
                vec![info("WRITE", &[("mode", "Overwrite")]), add()],
                "overwrote",
            ),
            (
                vec![info("CREATE OR REPLACE TABLE", &[])],
                "replaced the table",
            ),
            (
                vec![info("RESTORE", &[("version", "1")]), add()],
                "restored the table",
            ),
            (vec![info("MERGE", &[]), remove(true), add()], "MERGE"),
            (vec![info("DELETE", &[]), remove(true)], "no predicate"),
            (
                vec![info(
                    "DELETE",
                    &[("predicate", r#"["id IN (SELECT x FROM y)"]"#)],
                )],
                "cannot read the predicate",
            ),
        ] {
            let refusal = plan_replay(&[
                commit(3, vec![info("WRITE", &[("mode", "Append")]), add()]),
                commit(4, actions),
            ])
            .unwrap_err();
            assert_eq!(refusal.version, 4);
            assert!(refusal.reason.contains(why), "{why}: {}", refusal.reason);
        }
        // An insert-only merge changes no old row.
        assert!(
            plan_replay(&[commit(4, vec![info("MERGE", &[]), add()])])
                .unwrap()
                .is_empty()
        );
    }
}
