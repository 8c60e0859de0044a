//! The integrity check: is every file the latest version needs where the log says, with the
//! size it says, and what lies in the table's directory that no version names?
//!
//! [`Check::execute`] reads the latest snapshot and asks the stores, in parallel:
//!
//! - every data file the latest version references is fetched by `HEAD` (on the table's
//!   store or the registered location an absolute path names) and its size compared with
//!   the logged `size`;
//! - every deletion vector (inline or in a file) is read in full and verified as a scan would
//!   (size prefix, CRC-32, magic number, bitmap, cardinality), so a vector a scan would
//!   refuse is found here first;
//! - the archive manifest (the `tarn.archive` domain) parses, names each detached file once,
//!   never a file that is also live, and every archived copy it names exists with the
//!   recorded size (its deletion vector too);
//! - unless told not to, the table's directory is listed (as a full vacuum lists it) and the
//!   files no version in the log references are counted as orphans, with their bytes. Orphans
//!   are not damage: a writer's file uploaded but not yet committed is one, and a vacuum
//!   removes the old ones. Those younger than [`MIN_ORPHAN_AGE_MS`] are counted apart.
//!
//! What it found is a [`CheckReport`]: its [`problems`](CheckReport::problems) are each a
//! file the latest version cannot be read without, and the table is healthy when there are
//! none. The check reads; it never writes or deletes anything.
//!
//! Deciding what each answer means is pure ([`assess_data_file`], [`count_orphans`]) and
//! tested without storage.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path;
use serde::Serialize;
use tarn::protocol::data_path::DataFilePath;
use tarn::{Table, Version};

use crate::error::Result;
use crate::vacuum::plan::{ListedFile, MIN_ORPHAN_AGE_MS, is_hidden, relative_segments};
use crate::vacuum::{deletion_vector_in_table, in_table, list_table};

/// Requests in flight at once, unless told otherwise.
pub const DEFAULT_CONCURRENCY: usize = 32;

/// How many orphan paths a report names (it counts them all).
pub const ORPHAN_SAMPLE: usize = 20;

/// What is wrong with a file the latest version needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProblemKind {
    /// The data file does not exist.
    Missing,
    /// The data file exists with another size than the log records.
    SizeMismatch,
    /// The path names no place tarn may read: outside the table and every registered
    /// location, or on a store nothing is registered for.
    Unresolvable,
    /// The store did not answer (permissions, network): the file could not be checked.
    Unreadable,
    /// The deletion vector is missing, truncated or does not verify.
    DeletionVector,
    /// The archive manifest does not parse, names a file twice, or names a file that is
    /// also live.
    Manifest,
}

/// One file the latest version cannot be read without, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// What is wrong.
    pub kind: ProblemKind,
    /// The path as the log writes it (the data file's, for a deletion vector).
    pub path: String,
    /// The detail an operator needs: sizes, the store's error.
    pub detail: String,
}

/// The files in the table's directory that no version references.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Orphans {
    /// How many.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Of them, those modified within the last hour: likely a writer's files not yet
    /// committed, which vacuum leaves alone.
    pub recent_files: u64,
    /// The first [`ORPHAN_SAMPLE`] of them (by path), relative to the table's root.
    pub sample: Vec<String>,
}

/// What a check found.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The table, as given.
    pub table: String,
    /// The version checked (the latest).
    pub version: Version,
    /// Data files the version references.
    pub files_checked: u64,
    /// Their logged bytes.
    pub bytes_checked: u64,
    /// Deletion vectors verified.
    pub deletion_vectors_checked: u64,
    /// Detached files of the archive manifest whose archived copy was checked.
    pub detached_checked: u64,
    /// Every file the version cannot be read without, by path.
    pub problems: Vec<Problem>,
    /// Files no version references, when the directory was listed.
    pub orphans: Option<Orphans>,
    /// Wall time.
    pub duration_ms: u64,
}

impl CheckReport {
    /// Whether every file the latest version needs is there as the log says.
    pub fn is_healthy(&self) -> bool {
        self.problems.is_empty()
    }
}

/// What a store said when asked for a file.
#[derive(Debug)]
pub enum Observed {
    /// It exists with this size.
    Size(u64),
    /// It does not exist.
    NotFound,
    /// The request failed for another reason.
    Failed(String),
}

/// What a data file's `HEAD` answer means, given the size the log records: a [`Problem`],
/// or `None` when the file is as logged.
pub fn assess_data_file(path: &str, logged_size: i64, observed: Observed) -> Option<Problem> {
    let problem = |kind, detail: String| {
        Some(Problem {
            kind,
            path: path.to_owned(),
            detail,
        })
    };
    match observed {
        Observed::Size(size) if i64::try_from(size).is_ok_and(|s| s == logged_size) => None,
        Observed::Size(size) => problem(
            ProblemKind::SizeMismatch,
            format!("the log records {logged_size} bytes, the store holds {size}"),
        ),
        Observed::NotFound => problem(ProblemKind::Missing, "not found".to_owned()),
        Observed::Failed(error) => problem(ProblemKind::Unreadable, error),
    }
}

/// Counts the listed files that are neither referenced nor hidden (`_delta_log`, paths
/// starting with `_` or `.` that are not partition directories). `now_ms` dates the recent
/// ones.
pub fn count_orphans(
    root: &Path,
    partition_columns: &[String],
    listed: &[ListedFile],
    referenced: &HashSet<Path>,
    now_ms: i64,
) -> Orphans {
    let mut orphans = Orphans::default();
    let mut paths = Vec::new();
    for file in listed {
        let Some(segments) = relative_segments(root, &file.path) else {
            continue;
        };
        if is_hidden(&segments, partition_columns) || referenced.contains(&file.path) {
            continue;
        }
        orphans.files += 1;
        orphans.bytes = orphans.bytes.saturating_add(file.size);
        if now_ms.saturating_sub(file.modified_ms) < MIN_ORPHAN_AGE_MS {
            orphans.recent_files += 1;
        }
        paths.push(segments.join("/"));
    }
    paths.sort_unstable();
    paths.truncate(ORPHAN_SAMPLE);
    orphans.sample = paths;
    orphans
}

/// Checks a table. See the [module docs](self).
///
/// ```no_run
/// # async fn example() -> tarn_maintenance::Result<()> {
/// let table = tarn::Table::open("/data/events").await?;
/// let report = tarn_maintenance::check::Check::new(table).execute().await?;
/// if !report.is_healthy() {
///     for problem in &report.problems {
///         eprintln!("{:?} {}: {}", problem.kind, problem.path, problem.detail);
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Check {
    table: Table,
    concurrency: usize,
    orphans: bool,
}

impl Check {
    /// A check of `table`'s latest version, orphans counted.
    pub fn new(table: Table) -> Self {
        Self {
            table,
            concurrency: DEFAULT_CONCURRENCY,
            orphans: true,
        }
    }

    /// Requests in flight at once (at least 1).
    pub fn with_concurrency(mut self, requests: usize) -> Self {
        self.concurrency = requests.max(1);
        self
    }

    /// Whether to list the table's directory and count orphans (on by default). Listing
    /// costs one request per thousand files; without it the check's cost follows the files
    /// the latest version references.
    pub fn with_orphans(mut self, orphans: bool) -> Self {
        self.orphans = orphans;
        self
    }

    /// Runs the check. An error means the check could not run (the log cannot be read, the
    /// listing failed); what is wrong with files is in the report.
    pub async fn execute(self) -> Result<CheckReport> {
        let started = Instant::now();
        let snapshot = self.table.snapshot().await?;
        let resolver = snapshot.path_resolver();
        let files: Vec<FileRow> = snapshot
            .files()
            .iter()
            .map(|f| (f.path().to_owned(), f.size(), f.deletion_vector()))
            .collect();
        let bytes_checked = files
            .iter()
            .map(|(_, size, _)| u64::try_from(*size).unwrap_or(0))
            .fold(0u64, u64::saturating_add);
        let resolver = Arc::new(resolver);
        let mut problems: Vec<Problem> = futures::stream::iter(files.iter().cloned())
            .map(|(path, size, _)| {
                let resolver = Arc::clone(&resolver);
                async move { check_data_file(&resolver, &path, size).await }
            })
            .buffer_unordered(self.concurrency)
            .filter_map(futures::future::ready)
            .collect()
            .await;
        let vectors: Vec<(String, tarn::protocol::actions::DeletionVectorDescriptor)> = files
            .iter()
            .filter_map(|(path, _, dv)| dv.clone().map(|dv| (path.clone(), dv)))
            .collect();
        let deletion_vectors_checked = vectors.len() as u64;
        let dv_problems: Vec<Problem> = futures::stream::iter(vectors)
            .map(|(path, descriptor)| {
                let resolver = Arc::clone(&resolver);
                async move {
                    tarn::deletion_vector::load_deletion_vector(&resolver, &descriptor)
                        .await
                        .err()
                        .map(|err| Problem {
                            kind: ProblemKind::DeletionVector,
                            path,
                            detail: err.to_string(),
                        })
                }
            })
            .buffer_unordered(self.concurrency)
            .filter_map(futures::future::ready)
            .collect()
            .await;
        problems.extend(dv_problems);
        let (detached_checked, manifest_problems) =
            check_manifest(&snapshot, &resolver, &files, self.concurrency).await;
        problems.extend(manifest_problems);
        problems.sort_by(|a, b| a.path.cmp(&b.path));
        let orphans = if self.orphans {
            let location = self.table.location();
            let partition_columns = snapshot.metadata().partition_columns.clone();
            let listing = list_table(location, &partition_columns).await?;
            let mut referenced = HashSet::with_capacity(files.len());
            for (path, _, dv) in &files {
                if let Some(path) = in_table(&resolver, path)? {
                    referenced.insert(path);
                }
                if let Some(dv) = dv
                    && let Some(path) = deletion_vector_in_table(&resolver, dv)?
                {
                    referenced.insert(path);
                }
            }
            // Every file a remove still in the log names: older versions reference them.
            for remove in snapshot.tombstones(None).await? {
                if let Ok(Some(path)) = in_table(&resolver, &remove.path) {
                    referenced.insert(path);
                }
                if let Some(dv) = &remove.deletion_vector
                    && let Ok(Some(path)) = deletion_vector_in_table(&resolver, dv)
                {
                    referenced.insert(path);
                }
            }
            Some(count_orphans(
                location.root(),
                &partition_columns,
                &listing.files,
                &referenced,
                chrono::Utc::now().timestamp_millis(),
            ))
        } else {
            None
        };
        Ok(CheckReport {
            table: self.table.location().to_string(),
            version: snapshot.version(),
            files_checked: files.len() as u64,
            bytes_checked,
            deletion_vectors_checked,
            detached_checked,
            problems,
            orphans,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }
}

type FileRow = (
    String,
    i64,
    Option<tarn::protocol::actions::DeletionVectorDescriptor>,
);

/// Checks the archive manifest: it parses, names each file once and no live file, and every
/// archived copy is there with its recorded size and a deletion vector that verifies.
/// Returns the detached files checked and the problems found.
async fn check_manifest(
    snapshot: &tarn::Snapshot,
    resolver: &Arc<tarn::log::PathResolver>,
    live: &[FileRow],
    concurrency: usize,
) -> (u64, Vec<Problem>) {
    use tarn::protocol::archive_domain::{ARCHIVE_DOMAIN, ArchiveConfiguration};
    let manifest_problem = |path: &str, detail: String| Problem {
        kind: ProblemKind::Manifest,
        path: path.to_owned(),
        detail,
    };
    let detached = match ArchiveConfiguration::of_domains(snapshot.domain_metadata())
        .and_then(|config| config.map(|c| c.detached_files()).transpose())
    {
        Ok(Some(detached)) => detached,
        Ok(None) => return (0, Vec::new()),
        Err(err) => {
            return (
                0,
                vec![manifest_problem(
                    ARCHIVE_DOMAIN,
                    format!("the archive manifest does not parse: {err}"),
                )],
            );
        }
    };
    let mut problems = Vec::new();
    let live_paths: HashSet<&str> = live.iter().map(|(path, _, _)| path.as_str()).collect();
    let mut seen = HashSet::new();
    for file in &detached {
        if !seen.insert(file.add.path.as_str()) {
            problems.push(manifest_problem(
                &file.add.path,
                "detached more than once in the manifest".to_owned(),
            ));
        }
        for path in [&file.add.path, &file.archive_path] {
            if live_paths.contains(path.as_str()) {
                problems.push(manifest_problem(
                    path,
                    "detached and live at once: a restore would bring its rows back twice"
                        .to_owned(),
                ));
            }
        }
    }
    let checked = detached.len() as u64;
    let copies: Vec<Problem> = futures::stream::iter(detached)
        .map(|file| {
            let resolver = Arc::clone(resolver);
            async move {
                let mut found = Vec::new();
                if let Some(mut problem) =
                    check_data_file(&resolver, &file.archive_path, file.add.size).await
                {
                    problem.detail =
                        format!("archived copy of {}: {}", file.add.path, problem.detail);
                    found.push(problem);
                }
                let vector = file
                    .archive_deletion_vector
                    .as_ref()
                    .or(file.add.deletion_vector.as_ref());
                if let Some(descriptor) = vector
                    && let Err(err) =
                        tarn::deletion_vector::load_deletion_vector(&resolver, descriptor).await
                {
                    found.push(Problem {
                        kind: ProblemKind::DeletionVector,
                        path: file.archive_path.clone(),
                        detail: err.to_string(),
                    });
                }
                found
            }
        })
        .buffer_unordered(concurrency)
        .flat_map(futures::stream::iter)
        .collect()
        .await;
    problems.extend(copies);
    (checked, problems)
}

/// `HEAD`s one data file and assesses the answer.
async fn check_data_file(
    resolver: &tarn::log::PathResolver,
    path: &str,
    logged_size: i64,
) -> Option<Problem> {
    let unresolvable = |detail: String| {
        Some(Problem {
            kind: ProblemKind::Unresolvable,
            path: path.to_owned(),
            detail,
        })
    };
    let parsed = match DataFilePath::parse(path) {
        Ok(parsed) => parsed,
        Err(err) => return unresolvable(err.to_string()),
    };
    let resolved = match resolver.resolve(&parsed) {
        Ok(resolved) => resolved,
        Err(err) => return unresolvable(err.to_string()),
    };
    let observed = match resolved.store().head(resolved.path()).await {
        Ok(meta) => Observed::Size(meta.size),
        Err(object_store::Error::NotFound { .. }) => Observed::NotFound,
        Err(err) => Observed::Failed(format!("{}: {err}", resolved.display())),
    };
    assess_data_file(path, logged_size, observed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_healthy_only_as_logged() {
        assert_eq!(assess_data_file("a", 10, Observed::Size(10)), None);
        let short = assess_data_file("a", 10, Observed::Size(9)).unwrap();
        assert_eq!(short.kind, ProblemKind::SizeMismatch);
        assert!(short.detail.contains("10") && short.detail.contains('9'));
        assert_eq!(
            assess_data_file("a", 10, Observed::NotFound).unwrap().kind,
            ProblemKind::Missing
        );
        assert_eq!(
            assess_data_file("a", 10, Observed::Failed("denied".into()))
                .unwrap()
                .kind,
            ProblemKind::Unreadable
        );
        // A negative logged size never matches.
        assert_eq!(
            assess_data_file("a", -1, Observed::Size(u64::MAX))
                .unwrap()
                .kind,
            ProblemKind::SizeMismatch
        );
    }

    #[test]
    fn orphans_are_unreferenced_visible_files() {
        let root = Path::from("t");
        let file = |path: &str, size: u64, modified_ms: i64| ListedFile {
            path: Path::from(path),
            size,
            modified_ms,
        };
        let now = 10 * MIN_ORPHAN_AGE_MS;
        let listed = vec![
            file("t/a.parquet", 5, 0),
            file("t/orphan.parquet", 7, 0),
            file("t/day=1/fresh.parquet", 11, now - 1),
            file("t/_delta_log/00000000000000000000.json", 100, 0),
            file("t/.hidden", 100, 0),
            file("t/_underscore/x.parquet", 100, 0),
            file("elsewhere/x.parquet", 100, 0),
        ];
        let referenced: HashSet<Path> = [Path::from("t/a.parquet")].into();
        let orphans = count_orphans(&root, &["day".to_owned()], &listed, &referenced, now);
        assert_eq!(
            orphans,
            Orphans {
                files: 2,
                bytes: 18,
                recent_files: 1,
                sample: vec![
                    "day=1/fresh.parquet".to_owned(),
                    "orphan.parquet".to_owned()
                ],
            }
        );
    }
}
