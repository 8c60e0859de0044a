//! Choosing the files that define a version: the newest usable checkpoint at or before it and
//! the contiguous commits after that checkpoint.
//!
//! Input is a listing of `_delta_log` (any order, any junk already filtered out by
//! [`LogFileName::parse`]); output is a [`SegmentPlan`] or a precise error. This is a pure
//! function so every odd log shape (gaps, truncated history, incomplete multi-part checkpoints,
//! several checkpoints at one version) is tested without a store. It must never choose a
//! checkpoint that is incomplete, and never return a segment with a missing commit.

use std::collections::{BTreeMap, BTreeSet};

use crate::log_path::{CheckpointName, LogFileKind, LogFileName, Version};

/// A listed file: its parsed name and whatever the caller needs to fetch it (path, size).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed<T> {
    /// The parsed log file name.
    pub name: LogFileName,
    /// The caller's handle on the file.
    pub file: T,
}

/// The checkpoint a segment starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointPlan<T> {
    /// The version the checkpoint describes.
    pub version: Version,
    /// Its files: one for classic and v2 checkpoints, `num_parts` (in part order) for
    /// multi-part checkpoints.
    pub parts: Vec<Listed<T>>,
}

/// The files that define one version of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentPlan<T> {
    /// The version the segment reconstructs.
    pub version: Version,
    /// The newest complete checkpoint at or before `version`, if any.
    pub checkpoint: Option<CheckpointPlan<T>>,
    /// Commits after the checkpoint (or from version 0) up to `version`, ascending, contiguous.
    pub commits: Vec<Listed<T>>,
    /// The commit file of `version` itself, if listed. It is the last of `commits` unless the
    /// checkpoint is at `version`; it carries the version's `commitInfo` (and in-commit
    /// timestamp), which checkpoints do not keep.
    pub version_commit: Option<Listed<T>>,
    /// The earliest version the listing can reconstruct.
    pub earliest_version: Version,
    /// The newest version in the listing.
    pub latest_version: Version,
}

/// Why no segment can be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SegmentError {
    /// The listing holds no commit and no complete checkpoint.
    Empty,
    /// The version asked for is outside what the listing can reconstruct.
    VersionNotFound {
        /// The version asked for.
        requested: Version,
        /// The earliest reconstructable version.
        earliest: Version,
        /// The newest version.
        latest: Version,
    },
    /// A commit needed to reach the version is absent.
    MissingVersion {
        /// The absent commit's version.
        missing: Version,
        /// The version being built.
        target: Version,
    },
    /// Commits exist but version 0 is gone and no checkpoint covers the start of the log.
    NoStartingPoint {
        /// The oldest commit listed.
        oldest_commit: Version,
    },
}

/// Complete checkpoints in the listing, by version. A multi-part checkpoint counts only when
/// every part of one `num_parts` set is present; at one version a single-file checkpoint (v2
/// or classic) is preferred over a multi-part one, as it is one read instead of many.
fn complete_checkpoints<T: Clone>(files: &[Listed<T>]) -> BTreeMap<Version, Vec<Listed<T>>> {
    let mut single: BTreeMap<Version, Listed<T>> = BTreeMap::new();
    let mut multi: BTreeMap<(Version, u32), BTreeMap<u32, Listed<T>>> = BTreeMap::new();
    for file in files {
        let LogFileKind::Checkpoint(kind) = &file.name.kind else {
            continue;
        };
        match kind {
            CheckpointName::Classic | CheckpointName::V2 { .. } => {
                let prefer_new = match single.get(&file.name.version) {
                    None => true,
                    // A v2 (UUID-named) checkpoint is authoritative over a classic-named one.
                    Some(existing) => {
                        matches!(kind, CheckpointName::V2 { .. })
                            && matches!(
                                existing.name.kind,
                                LogFileKind::Checkpoint(CheckpointName::Classic)
                            )
                    }
                };
                if prefer_new {
                    single.insert(file.name.version, file.clone());
                }
            }
            CheckpointName::MultiPart { part, num_parts } => {
                if *part >= 1 && part <= num_parts {
                    multi
                        .entry((file.name.version, *num_parts))
                        .or_default()
                        .insert(*part, file.clone());
                }
            }
        }
    }
    let mut complete: BTreeMap<Version, Vec<Listed<T>>> = single
        .into_iter()
        .map(|(version, file)| (version, vec![file]))
        .collect();
    for ((version, num_parts), parts) in multi {
        if parts.len() == num_parts as usize && !complete.contains_key(&version) {
            complete.insert(version, parts.into_values().collect());
        }
    }
    complete
}

/// Builds the segment for `target` (the newest version when `None`).
pub fn plan_segment<T: Clone>(
    files: &[Listed<T>],
    target: Option<Version>,
) -> Result<SegmentPlan<T>, SegmentError> {
    let commits: BTreeMap<Version, &Listed<T>> = files
        .iter()
        .filter(|f| f.name.kind == LogFileKind::Commit)
        .map(|f| (f.name.version, f))
        .collect();
    let checkpoints = complete_checkpoints(files);

    let latest = commits
        .keys()
        .next_back()
        .copied()
        .into_iter()
        .chain(checkpoints.keys().next_back().copied())
        .max()
        .ok_or(SegmentError::Empty)?;
    let earliest = if commits.contains_key(&0) {
        0
    } else if let Some(first_checkpoint) = checkpoints.keys().next() {
        *first_checkpoint
    } else {
        let oldest_commit = commits.keys().next().copied().unwrap_or(latest);
        return Err(SegmentError::NoStartingPoint { oldest_commit });
    };

    let version = target.unwrap_or(latest);
    if version > latest || version < earliest {
        return Err(SegmentError::VersionNotFound {
            requested: version,
            earliest,
            latest,
        });
    }

    let checkpoint = checkpoints
        .range(..=version)
        .next_back()
        .map(|(v, parts)| CheckpointPlan {
            version: *v,
            parts: parts.clone(),
        });
    let first_commit = checkpoint.as_ref().map_or(0, |c| c.version + 1);
    let mut segment_commits = Vec::new();
    for v in first_commit..=version {
        match commits.get(&v) {
            Some(file) => segment_commits.push((*file).clone()),
            None => {
                return Err(SegmentError::MissingVersion {
                    missing: v,
                    target: version,
                });
            }
        }
    }
    Ok(SegmentPlan {
        version,
        checkpoint,
        version_commit: commits.get(&version).map(|f| (*f).clone()),
        commits: segment_commits,
        earliest_version: earliest,
        latest_version: latest,
    })
}

/// Versions of complete checkpoints in a listing, ascending.
pub fn checkpoint_versions<T: Clone>(files: &[Listed<T>]) -> BTreeSet<Version> {
    complete_checkpoints(files).into_keys().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log_path::{
        CheckpointFormat, classic_checkpoint_file_name, commit_file_name,
        multipart_checkpoint_file_name, v2_checkpoint_file_name,
    };

    fn listing(names: &[String]) -> Vec<Listed<String>> {
        names
            .iter()
            .map(|n| Listed {
                name: LogFileName::parse(n).unwrap(),
                file: n.clone(),
            })
            .collect()
    }

    fn commits(range: std::ops::RangeInclusive<u64>) -> Vec<String> {
        range.map(commit_file_name).collect()
    }

    fn versions<T: Clone>(plan: &SegmentPlan<T>) -> Vec<u64> {
        plan.commits.iter().map(|c| c.name.version).collect()
    }

    #[test]
    fn plain_log_uses_every_commit() {
        let files = listing(&commits(0..=4));
        let plan = plan_segment(&files, None).unwrap();
        assert_eq!(plan.version, 4);
        assert!(plan.checkpoint.is_none());
        assert_eq!(versions(&plan), vec![0, 1, 2, 3, 4]);
        let plan = plan_segment(&files, Some(2)).unwrap();
        assert_eq!(versions(&plan), vec![0, 1, 2]);
    }

    #[test]
    fn checkpoint_cuts_the_commit_list() {
        let mut names = commits(0..=6);
        names.push(classic_checkpoint_file_name(3));
        let files = listing(&names);
        let plan = plan_segment(&files, None).unwrap();
        assert_eq!(plan.checkpoint.as_ref().unwrap().version, 3);
        assert_eq!(versions(&plan), vec![4, 5, 6]);
        // Before the checkpoint, replay from version 0.
        let plan = plan_segment(&files, Some(2)).unwrap();
        assert!(plan.checkpoint.is_none());
        assert_eq!(versions(&plan), vec![0, 1, 2]);
        // At the checkpoint, no commit is needed, but the version's own commit is known.
        let plan = plan_segment(&files, Some(3)).unwrap();
        assert!(plan.commits.is_empty());
        assert_eq!(plan.version_commit.unwrap().name.version, 3);
    }

    #[test]
    fn gap_after_checkpoint_is_reported() {
        let mut names = commits(0..=2);
        names.extend(commits(4..=5));
        let files = listing(&names);
        assert_eq!(
            plan_segment(&files, None),
            Err(SegmentError::MissingVersion {
                missing: 3,
                target: 5
            })
        );
        assert_eq!(
            versions(&plan_segment(&files, Some(2)).unwrap()),
            vec![0, 1, 2]
        );
    }

    #[test]
    fn truncated_log_starts_at_first_checkpoint() {
        let mut names = commits(5..=8);
        names.push(classic_checkpoint_file_name(5));
        let files = listing(&names);
        let plan = plan_segment(&files, None).unwrap();
        assert_eq!(plan.earliest_version, 5);
        assert_eq!(
            plan_segment(&files, Some(4)),
            Err(SegmentError::VersionNotFound {
                requested: 4,
                earliest: 5,
                latest: 8
            })
        );
        assert_eq!(
            plan_segment(&listing(&commits(3..=4)), None),
            Err(SegmentError::NoStartingPoint { oldest_commit: 3 })
        );
    }

    #[test]
    fn version_beyond_latest_is_not_found() {
        let files = listing(&commits(0..=1));
        assert_eq!(
            plan_segment(&files, Some(9)),
            Err(SegmentError::VersionNotFound {
                requested: 9,
                earliest: 0,
                latest: 1
            })
        );
        assert_eq!(plan_segment::<String>(&[], None), Err(SegmentError::Empty));
    }

    #[test]
    fn incomplete_multipart_checkpoint_is_skipped() {
        let mut names = commits(0..=10);
        names.push(classic_checkpoint_file_name(4));
        names.push(multipart_checkpoint_file_name(8, 1, 3));
        names.push(multipart_checkpoint_file_name(8, 3, 3));
        let files = listing(&names);
        let plan = plan_segment(&files, None).unwrap();
        assert_eq!(plan.checkpoint.as_ref().unwrap().version, 4);

        names.push(multipart_checkpoint_file_name(8, 2, 3));
        let files = listing(&names);
        let plan = plan_segment(&files, None).unwrap();
        let checkpoint = plan.checkpoint.unwrap();
        assert_eq!(checkpoint.version, 8);
        assert_eq!(checkpoint.parts.len(), 3);
        assert_eq!(versions(&plan_segment(&files, None).unwrap()), vec![9, 10]);
    }

    #[test]
    fn v2_checkpoint_preferred_over_classic_at_same_version() {
        let mut names = commits(0..=3);
        names.push(classic_checkpoint_file_name(2));
        names.push(v2_checkpoint_file_name(
            2,
            "3a0d65cd-4056-49b8-937b-95f9e3ee90e5",
            CheckpointFormat::Json,
        ));
        let files = listing(&names);
        let plan = plan_segment(&files, None).unwrap();
        let parts = plan.checkpoint.unwrap().parts;
        assert!(matches!(
            parts[0].name.kind,
            LogFileKind::Checkpoint(CheckpointName::V2 { .. })
        ));
    }

    #[test]
    fn checkpoint_without_later_commits_defines_latest() {
        let mut names = commits(0..=2);
        names.push(classic_checkpoint_file_name(2));
        let files = listing(&names);
        assert_eq!(plan_segment(&files, None).unwrap().version, 2);
    }
}
