//! What an archive run will copy and commit: the pure half of `archive`.
//!
//! [`plan_archive`] takes the table's active files (with what the log says of them), the
//! rule, the target and `now`, and decides which files move and where. It reads no clock and
//! no store; the plan it returns is what `--dry-run` prints and what the executor carries out.
//!
//! The rules:
//!
//! - Only hot files are candidates: files under the table's root. A file already in an
//!   archive location (tiered) or anywhere else stays as it is.
//! - `--where` must prove that every row of a file matches (`FilePredicate::all_match_add`):
//!   a file moves whole, so a file some of whose rows do not match stays. The builder only
//!   accepts predicates on partition columns, for which the proof is exact.
//! - `--older-than`: the commit that added the file is at or before `now - age`
//!   ([`AddedAt::is_older_than`]). A file whose age is not known (none was found) stays.
//! - Both given: both must hold.
//! - Each file's copy goes to `<location>/<its path below the root>`. In `detach` mode a
//!   deletion vector stored in a file under the table's root is copied beside it the same
//!   way, and the manifest records the copy as an absolute (`p`) descriptor; an inline
//!   vector needs nothing, and one outside the root is left where it is. In `tier` mode the
//!   vector stays where it is: the tiered `add` still names it, so vacuum keeps it.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use tarn::protocol::actions::{Add, DeletionVectorDescriptor, DeletionVectorStorage};
use tarn::scan::FilePredicate;

use super::age::AddedAt;
use super::placement::{FilePlacements, Placement};
use super::rule::{Age, ArchiveMode};
use super::target::ArchiveTarget;

/// The rule a run applies, as the plan records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArchiveRule {
    /// The `--where` predicate, as SQL (resolved against the table).
    #[serde(rename = "where")]
    pub filter: Option<String>,
    /// The `--older-than` age.
    pub older_than: Option<Age>,
    /// The time the rule was applied at, in milliseconds since the epoch.
    pub now: i64,
    /// `now - older_than`: files added at or before this time are old enough.
    pub cutoff: Option<i64>,
}

impl ArchiveRule {
    /// The rule as one line, for the manifest's `reason` and commit parameters:
    /// `day < '2026-01-01' and older than 90d`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(filter) = &self.filter {
            parts.push(filter.clone());
        }
        if let Some(age) = self.older_than {
            parts.push(format!("older than {age}"));
        }
        parts.join(" and ")
    }
}

/// A file the plan archives.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArchiveFile {
    /// Its path in the log.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its partition values (by physical column name, as the log keys them).
    pub partition_values: BTreeMap<String, Option<String>>,
    /// Where its copy goes: an absolute URI under the location.
    pub archive_path: String,
    /// When it was added, when the rule asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub added_at: Option<AddedAt>,
    /// Its deletion vector's file and where that is copied (`detach` mode only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_vector: Option<DeletionVectorCopy>,
    /// The file's `add` as the snapshot has it, statistics included.
    #[serde(skip)]
    pub add: Add,
}

impl ArchiveFile {
    /// The deletion vector's id as the snapshot keys the file (path plus vector), to check
    /// that the file is still active exactly as planned.
    pub fn deletion_vector_id(&self) -> Option<String> {
        self.add.deletion_vector.as_ref().map(|dv| dv.unique_id())
    }
}

/// A deletion vector file copied into the archive beside its data file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeletionVectorCopy {
    /// The vector's file below the table root, decoded segments.
    pub relative: Vec<String>,
    /// Its copy's URI.
    pub archive_path: String,
    /// The descriptor the manifest records: the original one pointing at the copy (`p`).
    #[serde(skip)]
    pub descriptor: DeletionVectorDescriptor,
}

/// A candidate the plan leaves, and why (only reasons worth telling an operator).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedFile {
    /// Its path in the log.
    pub path: String,
    /// Why it stays.
    pub reason: String,
}

/// What an archive run will do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArchivePlan {
    /// The version planned from.
    pub version: u64,
    /// The mode.
    pub mode: ArchiveMode,
    /// The archive location, as a URI.
    pub location: String,
    /// The storage class copies are written with.
    pub storage_class: Option<String>,
    /// The rule.
    pub rule: ArchiveRule,
    /// Whether the run's first commit declares the location in `tarn.archive` (it is not
    /// declared yet).
    pub declares_location: bool,
    /// Active files considered (hot ones).
    pub files_considered: usize,
    /// Files the rule selects, in path order.
    pub files: Vec<ArchiveFile>,
    /// Selected files left out, and why.
    pub skipped: Vec<SkippedFile>,
}

impl ArchivePlan {
    /// Bytes the plan copies (data files).
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// One active file, as the planner sees it.
#[derive(Debug, Clone)]
pub struct PlanFile {
    /// Its `add` (statistics included).
    pub add: Add,
    /// When it was added, if the rule asks and the log told.
    pub added_at: Option<AddedAt>,
}

/// Everything the planner decides from.
#[derive(Debug)]
pub struct PlanInput<'a> {
    /// The version planned from.
    pub version: u64,
    /// Where the table's files live (its root and declared locations).
    pub placements: &'a FilePlacements,
    /// The active files.
    pub files: Vec<PlanFile>,
    /// The target.
    pub target: &'a ArchiveTarget,
    /// Whether the target is declared already.
    pub declared: bool,
    /// The mode.
    pub mode: ArchiveMode,
    /// The storage class, checked.
    pub storage_class: Option<String>,
    /// The `--where` predicate, made for the snapshot.
    pub predicate: Option<&'a FilePredicate>,
    /// The `--older-than` age.
    pub older_than: Option<Age>,
    /// The time the rule is applied at (ms since the epoch).
    pub now: i64,
}

/// Plans an archive run (see the module doc).
pub fn plan_archive(input: PlanInput<'_>) -> ArchivePlan {
    let cutoff = input
        .older_than
        .map(|age| input.now.saturating_sub(age.as_millis()));
    let rule = ArchiveRule {
        filter: input.predicate.map(|p| p.predicate().to_string()),
        older_than: input.older_than,
        now: input.now,
        cutoff,
    };
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let mut considered = 0usize;
    for file in input.files {
        let Placement::Hot { relative } = input.placements.place(&file.add.path) else {
            continue;
        };
        considered += 1;
        if input.predicate.is_some_and(|p| !p.all_match_add(&file.add)) {
            continue;
        }
        if let Some(cutoff) = cutoff {
            match &file.added_at {
                Some(at) if at.is_older_than(cutoff) => {}
                Some(_) => continue,
                None => {
                    skipped.push(SkippedFile {
                        path: file.add.path.clone(),
                        reason: "the log does not say when it was added".to_owned(),
                    });
                    continue;
                }
            }
        }
        let deletion_vector = match (input.mode, &file.add.deletion_vector) {
            (ArchiveMode::Detach, Some(dv)) => match dv_copy(input.placements, input.target, dv) {
                Ok(copy) => copy,
                Err(reason) => {
                    skipped.push(SkippedFile {
                        path: file.add.path.clone(),
                        reason,
                    });
                    continue;
                }
            },
            _ => None,
        };
        files.push(ArchiveFile {
            path: file.add.path.clone(),
            size: u64::try_from(file.add.size).unwrap_or(0),
            partition_values: file.add.partition_values.clone(),
            archive_path: input.target.archive_path(&relative),
            added_at: file.added_at,
            deletion_vector,
            add: file.add,
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    // Two log paths naming one file (`a%20b` and `a b`) would be copied once and archived
    // twice: keep the first, skip the others.
    let mut seen: HashMap<String, String> = HashMap::new();
    files.retain(|file| match seen.get(&file.archive_path) {
        Some(first) => {
            skipped.push(SkippedFile {
                path: file.path.clone(),
                reason: format!("names the same file as {first}"),
            });
            false
        }
        None => {
            seen.insert(file.archive_path.clone(), file.path.clone());
            true
        }
    });
    ArchivePlan {
        version: input.version,
        mode: input.mode,
        location: input.target.uri(),
        storage_class: input.storage_class,
        rule,
        declares_location: !input.declared,
        files_considered: considered,
        files,
        skipped,
    }
}

/// Where a detached file's deletion vector is copied, if it lives in a file under the
/// table's root: `None` for an inline vector or one outside the root (left where it is).
fn dv_copy(
    placements: &FilePlacements,
    target: &ArchiveTarget,
    dv: &DeletionVectorDescriptor,
) -> Result<Option<DeletionVectorCopy>, String> {
    let storage = dv
        .storage()
        .map_err(|e| format!("its deletion vector is malformed: {e}"))?;
    let relative: Vec<String> = match storage {
        DeletionVectorStorage::Inline => return Ok(None),
        DeletionVectorStorage::RelativeUuid => {
            let path = tarn::deletion_vector::descriptor_relative_path(dv)
                .map_err(|e| format!("its deletion vector is malformed: {e}"))?;
            let segments: Vec<String> = path
                .split('/')
                .filter(|s| !s.is_empty() && *s != ".")
                .map(str::to_owned)
                .collect();
            if segments.iter().any(|s| s == "..") {
                return Err("its deletion vector's path climbs out of the table".to_owned());
            }
            segments
        }
        DeletionVectorStorage::AbsolutePath => match placements.place(&dv.path_or_inline_dv) {
            Placement::Hot { relative } => relative,
            Placement::Archive { .. } | Placement::Elsewhere => return Ok(None),
        },
    };
    let archive_path = target.archive_path(&relative);
    let descriptor = DeletionVectorDescriptor {
        storage_type: DeletionVectorStorage::AbsolutePath.code().to_owned(),
        path_or_inline_dv: archive_path.clone(),
        offset: dv.offset,
        size_in_bytes: dv.size_in_bytes,
        cardinality: dv.cardinality,
    };
    Ok(Some(DeletionVectorCopy {
        relative,
        archive_path,
        descriptor,
    }))
}

#[cfg(test)]
mod tests {
    use tarn::Expr;
    use tarn::protocol::schema::{ColumnMappingMode, DataType, StructField, StructType};
    use tarn::protocol::store_location::StoreLocation;
    use url::Url;

    use super::*;

    fn location(uri: &str) -> StoreLocation {
        StoreLocation::of_url(&Url::parse(uri).unwrap())
    }

    fn add(path: &str, day: &str) -> Add {
        Add {
            path: path.to_owned(),
            partition_values: BTreeMap::from([("day".to_owned(), Some(day.to_owned()))]),
            size: 100,
            modification_time: 0,
            data_change: true,
            stats: Some(r#"{"numRecords":5}"#.to_owned()),
            tags: None,
            deletion_vector: None,
            base_row_id: None,
            default_row_commit_version: None,
            clustering_provider: None,
        }
    }

    fn file(path: &str, day: &str, added: Option<i64>) -> PlanFile {
        PlanFile {
            add: add(path, day),
            added_at: added.map(|timestamp| AddedAt::Commit {
                version: 1,
                timestamp,
            }),
        }
    }

    fn predicate(sql: &str) -> FilePredicate {
        let schema = StructType::new(vec![
            StructField::new("id", DataType::LONG, true),
            StructField::new("day", DataType::STRING, true),
        ]);
        FilePredicate::for_schema(
            &Expr::parse(sql).unwrap(),
            &schema,
            &["day".to_owned()],
            ColumnMappingMode::None,
        )
        .unwrap()
    }

    struct Setup {
        placements: FilePlacements,
        target: ArchiveTarget,
    }

    fn setup() -> Setup {
        Setup {
            placements: FilePlacements::new(location("s3://hot/t"), vec![location("s3://cold/t")]),
            target: ArchiveTarget::new(location("s3://cold/t")),
        }
    }

    fn input<'a>(
        setup: &'a Setup,
        files: Vec<PlanFile>,
        mode: ArchiveMode,
        predicate: Option<&'a FilePredicate>,
        older_than: Option<Age>,
    ) -> PlanInput<'a> {
        PlanInput {
            version: 7,
            placements: &setup.placements,
            files,
            target: &setup.target,
            declared: false,
            mode,
            storage_class: Some("GLACIER_IR".to_owned()),
            predicate,
            older_than,
            now: 10 * DAY,
        }
    }

    const DAY: i64 = 24 * 3600 * 1000;

    fn paths(plan: &ArchivePlan) -> Vec<&str> {
        plan.files.iter().map(|f| f.path.as_str()).collect()
    }

    #[test]
    fn a_partition_predicate_selects_exactly_the_hot_files_it_proves() {
        let setup = setup();
        let p = predicate("day < '2026-01-01'");
        let plan = plan_archive(input(
            &setup,
            vec![
                file("day=2025-12-31/b.parquet", "2025-12-31", None),
                file("day=2025-12-30/a.parquet", "2025-12-30", None),
                file("day=2026-01-01/c.parquet", "2026-01-01", None),
                // Already archived: not a candidate, not counted.
                file("s3://cold/t/day=2025-12-29/z.parquet", "2025-12-29", None),
                // Absolute but under the root: hot.
                file("s3://hot/t/day=2025-12-28/y.parquet", "2025-12-28", None),
            ],
            ArchiveMode::Tier,
            Some(&p),
            None,
        ));
        assert_eq!(
            paths(&plan),
            [
                "day=2025-12-30/a.parquet",
                "day=2025-12-31/b.parquet",
                "s3://hot/t/day=2025-12-28/y.parquet"
            ]
        );
        assert_eq!(plan.files_considered, 4);
        assert_eq!(
            plan.files[0].archive_path,
            "s3://cold/t/day=2025-12-30/a.parquet"
        );
        assert_eq!(
            plan.files[2].archive_path,
            "s3://cold/t/day=2025-12-28/y.parquet"
        );
        assert_eq!(plan.bytes(), 300);
        assert!(plan.declares_location);
        assert_eq!(plan.rule.describe(), "day < '2026-01-01'");
        // Nulls never prove a match.
        let plan = plan_archive(input(
            &setup,
            vec![PlanFile {
                add: {
                    let mut a = add("day=__HIVE_DEFAULT_PARTITION__/n.parquet", "x");
                    a.partition_values.insert("day".to_owned(), None);
                    a
                },
                added_at: None,
            }],
            ArchiveMode::Tier,
            Some(&p),
            None,
        ));
        assert!(plan.is_empty());
    }

    #[test]
    fn the_age_rule_uses_now_and_the_evidence() {
        let setup = setup();
        let plan = plan_archive(input(
            &setup,
            vec![
                file("old.parquet", "a", Some(DAY)),
                file("edge.parquet", "a", Some(3 * DAY)),
                file("new.parquet", "a", Some(3 * DAY + 1)),
                file("unknown.parquet", "a", None),
            ],
            ArchiveMode::Tier,
            None,
            Some(Age::from_hours(7 * 24)),
        ));
        assert_eq!(paths(&plan), ["edge.parquet", "old.parquet"]);
        assert_eq!(plan.rule.cutoff, Some(3 * DAY));
        assert_eq!(plan.skipped.len(), 1);
        assert_eq!(plan.skipped[0].path, "unknown.parquet");
        assert_eq!(plan.rule.describe(), "older than 7d");
        // The same files a week later: all but the unknown one.
        let mut later = input(
            &setup,
            vec![
                file("old.parquet", "a", Some(DAY)),
                file("new.parquet", "a", Some(3 * DAY + 1)),
            ],
            ArchiveMode::Tier,
            None,
            Some(Age::from_hours(7 * 24)),
        );
        later.now += 7 * DAY;
        assert_eq!(plan_archive(later).files.len(), 2);
    }

    #[test]
    fn detached_files_take_their_deletion_vector_files_along() {
        let setup = setup();
        let mut relative = add("a.parquet", "a");
        relative.deletion_vector = Some(DeletionVectorDescriptor {
            storage_type: "u".to_owned(),
            // PROTOCOL.md's example: prefix "ab", UUID d2c639aa-8816-431a-aaf6-d3fe2512ff61.
            path_or_inline_dv: "ab^-aqEH.-t@S}K{vb[*k^".to_owned(),
            offset: Some(1),
            size_in_bytes: 36,
            cardinality: 2,
        });
        let mut inline = add("b.parquet", "a");
        inline.deletion_vector = Some(DeletionVectorDescriptor {
            storage_type: "i".to_owned(),
            path_or_inline_dv: "wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L".to_owned(),
            offset: None,
            size_in_bytes: 40,
            cardinality: 6,
        });
        let files = || {
            vec![
                PlanFile {
                    add: relative.clone(),
                    added_at: None,
                },
                PlanFile {
                    add: inline.clone(),
                    added_at: None,
                },
            ]
        };
        let p = predicate("day = 'a'");
        let plan = plan_archive(input(&setup, files(), ArchiveMode::Detach, Some(&p), None));
        assert_eq!(plan.files.len(), 2, "{plan:?}");
        let copy = plan.files[0].deletion_vector.as_ref().unwrap();
        assert_eq!(copy.relative[0], "ab");
        assert_eq!(
            copy.archive_path,
            "s3://cold/t/ab/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin"
        );
        assert_eq!(copy.descriptor.storage_type, "p");
        assert_eq!(copy.descriptor.path_or_inline_dv, copy.archive_path);
        assert_eq!(
            (
                copy.descriptor.offset,
                copy.descriptor.size_in_bytes,
                copy.descriptor.cardinality
            ),
            (Some(1), 36, 2)
        );
        assert!(plan.files[1].deletion_vector.is_none());
        // Tiering leaves vectors where they are.
        let plan = plan_archive(input(&setup, files(), ArchiveMode::Tier, Some(&p), None));
        assert!(plan.files.iter().all(|f| f.deletion_vector.is_none()));
    }

    #[test]
    fn two_log_paths_naming_one_file_are_archived_once() {
        let setup = setup();
        let p = predicate("day = 'a'");
        let plan = plan_archive(input(
            &setup,
            vec![
                file("a%20b.parquet", "a", None),
                file("a b.parquet", "a", None),
            ],
            ArchiveMode::Tier,
            Some(&p),
            None,
        ));
        assert_eq!(plan.files.len(), 1);
        assert_eq!(plan.skipped.len(), 1);
        assert!(plan.skipped[0].reason.contains("same file"));
    }

    #[test]
    fn the_plan_prints_as_json() {
        let setup = setup();
        let p = predicate("day = 'a'");
        let plan = plan_archive(input(
            &setup,
            vec![file("a.parquet", "a", Some(DAY))],
            ArchiveMode::Detach,
            Some(&p),
            Some(Age::from_hours(36)),
        ));
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(json["mode"], "detach");
        assert_eq!(json["storage_class"], "GLACIER_IR");
        assert_eq!(json["rule"]["where"], "day = 'a'");
        assert_eq!(json["rule"]["older_than"], "36h");
        assert_eq!(json["files"][0]["added_at"]["source"], "commit");
        assert_eq!(json["files"][0]["archive_path"], "s3://cold/t/a.parquet");
    }
}
