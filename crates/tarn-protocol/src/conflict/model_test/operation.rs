//! The model's operations, planned the way tarn's engine plans them: the actions each one
//! commits, and the conflict footprint and read predicate it declares.
//!
//! The engine side mirrored here (`crates/tarn/src/transaction/`, `crates/tarn/src/ops/`):
//!
//! - an append declares `ReadSet::Nothing` and is recorded `isBlindAppend = true`;
//! - delete, update and overwrite-where declare their predicate with the files the scan could
//!   not rule out by partition value and statistics (`rewrite.rs`): a candidate whose rows all
//!   match by statistics is removed whole, a candidate in which no live row matches is kept,
//!   every other one is rewritten;
//! - overwrite and restore declare the whole table; restore diffs files by
//!   `(path, deletionVector.uniqueId)` and re-adds the old `add`s with `dataChange = true`;
//! - compaction declares its input files; every action has `dataChange = false`, so it runs at
//!   snapshot isolation;
//! - the isolation level is the table's for a transaction that changes data, snapshot
//!   isolation otherwise; removed paths come from the actions; `isBlindAppend` is "read
//!   nothing and only added files with `dataChange = true`".

use std::collections::{BTreeMap, BTreeSet};

use super::table::{Log, Row, Store, file_key, partition_of, remove_action, rows_of, value_bounds};
use crate::actions::{Action, Add, CommitInfo, Remove};
use crate::conflict::{IsolationLevel, ReadPredicate, ReadScope, TransactionFootprint};
use crate::log_path::Version;

/// The predicate `part = p AND lo <= value < hi`, each conjunct optional (none: every row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pred {
    pub(super) part: Option<u8>,
    pub(super) lo: Option<i64>,
    pub(super) hi: Option<i64>,
}

impl Pred {
    /// `part = p`.
    pub(super) fn part(part: u8) -> Self {
        Self {
            part: Some(part),
            lo: None,
            hi: None,
        }
    }

    /// `lo <= value < hi`.
    pub(super) fn values(lo: Option<i64>, hi: Option<i64>) -> Self {
        Self { part: None, lo, hi }
    }

    /// Whether a row matches.
    pub(super) fn matches(&self, part: u8, value: i64) -> bool {
        self.part.is_none_or(|p| p == part)
            && self.lo.is_none_or(|lo| value >= lo)
            && self.hi.is_none_or(|hi| value < hi)
    }

    /// Whether a file in partition `part` with `value` bounds may hold a matching row; `true`
    /// when either is unknown.
    fn may_match(&self, part: Option<u8>, bounds: Option<(i64, i64)>) -> bool {
        if let (Some(wanted), Some(part)) = (self.part, part)
            && wanted != part
        {
            return false;
        }
        match bounds {
            None => true,
            Some((min, max)) => {
                self.lo.is_none_or(|lo| max >= lo) && self.hi.is_none_or(|hi| min < hi)
            }
        }
    }

    /// Whether every row of such a file matches, as far as the partition value and the
    /// statistics prove.
    fn all_match(&self, part: Option<u8>, bounds: Option<(i64, i64)>) -> bool {
        let part_proven = self.part.is_none_or(|wanted| part == Some(wanted));
        let values_proven = (self.lo.is_none() && self.hi.is_none())
            || bounds.is_some_and(|(min, max)| {
                self.lo.is_none_or(|lo| min >= lo) && self.hi.is_none_or(|hi| max < hi)
            });
        part_proven && values_proven
    }

    fn may_match_file(&self, add: &Add) -> bool {
        self.may_match(file_part(add), value_bounds(add.stats.as_deref()))
    }

    fn all_match_file(&self, add: &Add) -> bool {
        self.all_match(file_part(add), value_bounds(add.stats.as_deref()))
    }
}

fn file_part(add: &Add) -> Option<u8> {
    partition_of(Some(&add.partition_values))
}

/// tarn's `PredicateReads`: the read predicate evaluated on another writer's file by its
/// partition value and statistics, `true` when unsure; the whole table matches everything,
/// nothing and named files match nothing.
#[derive(Debug, Clone)]
pub(super) struct ModelReads {
    pred: Option<Pred>,
    whole_table: bool,
}

impl ModelReads {
    fn may_match(&self, part: Option<u8>, stats: Option<&str>) -> bool {
        match self.pred {
            None => self.whole_table,
            Some(pred) => pred.may_match(part, value_bounds(stats)),
        }
    }
}

impl ReadPredicate for ModelReads {
    fn may_match_added(&self, add: &Add) -> bool {
        self.may_match(file_part(add), add.stats.as_deref())
    }
}

/// tarn's `ReadSet`.
#[derive(Debug, Clone)]
enum Reads {
    Nothing,
    Files(BTreeSet<String>),
    Predicate(Pred, BTreeSet<String>),
    WholeTable,
}

/// One operation as a user asks for it: what it means does not depend on the state it runs on,
/// so it can be planned on the snapshot both transactions read, or again after the other one
/// (the serial executions).
#[derive(Debug, Clone)]
pub(super) enum Op {
    /// Insert rows `(id, value)` into a partition: a blind append.
    Append { part: u8, rows: Vec<(u32, i64)> },
    /// `DELETE WHERE pred`, copy-on-write.
    Delete(Pred),
    /// `DELETE WHERE pred` with deletion vectors: each changed file is removed and re-added at
    /// the same path with a new deletion vector (removed outright when no row is left).
    DvDelete(Pred),
    /// `UPDATE SET value = value + add WHERE pred`, copy-on-write.
    Update { pred: Pred, add: i64 },
    /// `UPDATE SET part = to WHERE pred`, copy-on-write: the rows move to another partition,
    /// so the update adds files where a partition predicate reads.
    Move { pred: Pred, to: u8 },
    /// Replace every row by `rows`.
    Overwrite { rows: Vec<Row> },
    /// Replace partition `part`'s rows by `rows` (`replaceWhere part = p`).
    OverwriteWhere { part: u8, rows: Vec<(u32, i64)> },
    /// Make the table's files those of `version` (`RESTORE`).
    Restore { version: Version },
    /// tarn's compaction of a partition: its files merged into one, `dataChange = false`.
    Compact { part: u8 },
    /// Another engine's compaction, as Spark's OPTIMIZE records it: the same files, with
    /// `isBlindAppend = false` and removes without extended file metadata. Only ever a
    /// winner: tarn's rules do not decide whether it commits.
    ForeignCompact { part: u8 },
}

/// What an operation commits and, when tarn commits it, what the conflict check is given.
#[derive(Debug, Clone)]
pub(super) struct Planned {
    /// `commitInfo` first.
    pub(super) actions: Vec<Action>,
    /// tarn's footprint and read predicate; `None` for another engine's commit.
    pub(super) check: Option<(TransactionFootprint, ModelReads)>,
}

impl Op {
    /// Plans the operation on the newest version of `log` for a table at `level`, writing its
    /// files to `store`. `None` when it has nothing to commit (tarn commits nothing then).
    pub(super) fn plan(
        &self,
        log: &Log,
        store: &mut Store,
        level: IsolationLevel,
    ) -> Option<Planned> {
        let files = log.files();
        let read_version = log.version();
        let tarn = |operation: &str, reads: Reads, body: Vec<Action>| {
            (!body.is_empty()).then(|| tarn_commit(operation, reads, body, read_version, level))
        };
        match self {
            Op::Append { part, rows } => {
                let add = store.write_file(*part, rows.clone());
                tarn("WRITE", Reads::Nothing, vec![Action::Add(add)])
            }
            Op::Delete(pred) => {
                let (read, body) = delete_copy_on_write(&files, store, pred);
                tarn("DELETE", Reads::Predicate(*pred, read), body)
            }
            Op::DvDelete(pred) => {
                let (read, body) = delete_with_dvs(&files, store, pred);
                tarn("DELETE", Reads::Predicate(*pred, read), body)
            }
            Op::Update { pred, add } => {
                let (read, body) = update(&files, store, pred, *add);
                tarn("UPDATE", Reads::Predicate(*pred, read), body)
            }
            Op::Move { pred, to } => {
                let (read, body) = move_rows(&files, store, pred, *to);
                tarn("UPDATE", Reads::Predicate(*pred, read), body)
            }
            Op::Overwrite { rows } => {
                let mut body: Vec<Action> = files
                    .iter()
                    .map(|f| Action::Remove(remove_action(f, true)))
                    .collect();
                let mut by_part: BTreeMap<u8, Vec<(u32, i64)>> = BTreeMap::new();
                for &(part, id, value) in rows {
                    by_part.entry(part).or_default().push((id, value));
                }
                for (part, rows) in by_part {
                    body.push(Action::Add(store.write_file(part, rows)));
                }
                tarn("WRITE", Reads::WholeTable, body)
            }
            Op::OverwriteWhere { part, rows } => {
                let pred = Pred::part(*part);
                let (read, mut body) = delete_copy_on_write(&files, store, &pred);
                if !rows.is_empty() {
                    body.push(Action::Add(store.write_file(*part, rows.clone())));
                }
                tarn("WRITE", Reads::Predicate(pred, read), body)
            }
            Op::Restore { version } => {
                let target = log.files_at((*version).min(read_version));
                let now: BTreeSet<_> = files.iter().map(file_key).collect();
                let then: BTreeSet<_> = target.iter().map(file_key).collect();
                let mut body: Vec<Action> = files
                    .iter()
                    .filter(|f| !then.contains(&file_key(f)))
                    .map(|f| Action::Remove(remove_action(f, true)))
                    .collect();
                body.extend(
                    target
                        .into_iter()
                        .filter(|f| !now.contains(&file_key(f)))
                        .map(|f| {
                            Action::Add(Add {
                                data_change: true,
                                ..f
                            })
                        }),
                );
                tarn("RESTORE", Reads::WholeTable, body)
            }
            Op::Compact { part } => {
                let (inputs, body) = compaction(&files, store, *part)?;
                tarn("OPTIMIZE", Reads::Files(inputs), body)
            }
            Op::ForeignCompact { part } => {
                let (_, body) = compaction(&files, store, *part)?;
                Some(foreign_commit(body, read_version))
            }
        }
    }

    /// The rows the operation's outcome depends on, on the newest version of `log`: what
    /// serializability requires to be the same where the serial order puts it. An append reads
    /// nothing; a compaction writes back the rows it read unchanged, so its outcome depends on
    /// none (and it runs at snapshot isolation); overwrite and restore declare the whole
    /// table.
    pub(super) fn read(&self, log: &Log, store: &Store) -> Vec<Row> {
        let rows = rows_of(store, &log.files());
        let only = |keep: &dyn Fn(&Row) -> bool| rows.iter().copied().filter(keep).collect();
        match self {
            Op::Append { .. } | Op::Compact { .. } | Op::ForeignCompact { .. } => Vec::new(),
            Op::Delete(pred)
            | Op::DvDelete(pred)
            | Op::Update { pred, .. }
            | Op::Move { pred, .. } => only(&|&(part, _, value)| pred.matches(part, value)),
            Op::OverwriteWhere { part, .. } => only(&|row| row.0 == *part),
            Op::Overwrite { .. } | Op::Restore { .. } => rows.clone(),
        }
    }

    /// Whether tarn commits it (and so its conflict check is tarn's rules').
    pub(super) fn is_tarn(&self) -> bool {
        !matches!(self, Op::ForeignCompact { .. })
    }
}

/// The candidates of `pred`: files its partition value and statistics cannot rule out.
fn candidates<'a>(files: &'a [Add], pred: &Pred) -> impl Iterator<Item = &'a Add> {
    files.iter().filter(|f| pred.may_match_file(f))
}

/// tarn's copy-on-write delete (`rewrite.rs`): the files read, and the actions.
fn delete_copy_on_write(
    files: &[Add],
    store: &mut Store,
    pred: &Pred,
) -> (BTreeSet<String>, Vec<Action>) {
    let mut read = BTreeSet::new();
    let mut body = Vec::new();
    for file in candidates(files, pred) {
        read.insert(file.path.clone());
        if pred.all_match_file(file) {
            body.push(Action::Remove(remove_action(file, true)));
            continue;
        }
        let part = file_part(file).unwrap();
        let live = store.live(file);
        let kept: Vec<(u32, i64)> = live
            .iter()
            .filter(|&&(_, _, value)| !pred.matches(part, value))
            .map(|&(_, id, value)| (id, value))
            .collect();
        if kept.len() == live.len() {
            continue;
        }
        body.push(Action::Remove(remove_action(file, true)));
        if !kept.is_empty() {
            body.push(Action::Add(store.write_file(part, kept)));
        }
    }
    (read, body)
}

/// A delete with deletion vectors: remove each changed file and re-add the same path with the
/// old and new deleted positions.
fn delete_with_dvs(
    files: &[Add],
    store: &mut Store,
    pred: &Pred,
) -> (BTreeSet<String>, Vec<Action>) {
    let mut read = BTreeSet::new();
    let mut body = Vec::new();
    for file in candidates(files, pred) {
        read.insert(file.path.clone());
        let part = file_part(file).unwrap();
        let live = store.live(file);
        let matched: BTreeSet<usize> = live
            .iter()
            .filter(|&&(_, _, value)| pred.matches(part, value))
            .map(|&(pos, _, _)| pos)
            .collect();
        if matched.is_empty() {
            continue;
        }
        body.push(Action::Remove(remove_action(file, true)));
        if matched.len() < live.len() {
            let mut deleted = store.deleted(file);
            deleted.extend(matched);
            let dv = store.write_dv(deleted);
            body.push(Action::Add(Add {
                deletion_vector: Some(dv),
                data_change: true,
                ..file.clone()
            }));
        }
    }
    (read, body)
}

/// tarn's copy-on-write update of `value` (`rewrite.rs`).
fn update(
    files: &[Add],
    store: &mut Store,
    pred: &Pred,
    add: i64,
) -> (BTreeSet<String>, Vec<Action>) {
    let mut read = BTreeSet::new();
    let mut body = Vec::new();
    for file in candidates(files, pred) {
        read.insert(file.path.clone());
        let part = file_part(file).unwrap();
        let live = store.live(file);
        if !live.iter().any(|&(_, _, value)| pred.matches(part, value)) {
            continue;
        }
        let rows = live
            .iter()
            .map(|&(_, id, value)| {
                let new = if pred.matches(part, value) {
                    value + add
                } else {
                    value
                };
                (id, new)
            })
            .collect();
        body.push(Action::Remove(remove_action(file, true)));
        body.push(Action::Add(store.write_file(part, rows)));
    }
    (read, body)
}

/// tarn's copy-on-write update of the partition column: matching rows are written to
/// partition `to`, the others back to their own.
fn move_rows(
    files: &[Add],
    store: &mut Store,
    pred: &Pred,
    to: u8,
) -> (BTreeSet<String>, Vec<Action>) {
    let mut read = BTreeSet::new();
    let mut body = Vec::new();
    for file in candidates(files, pred) {
        read.insert(file.path.clone());
        let part = file_part(file).unwrap();
        let live = store.live(file);
        if !live.iter().any(|&(_, _, value)| pred.matches(part, value)) {
            continue;
        }
        let mut by_part: BTreeMap<u8, Vec<(u32, i64)>> = BTreeMap::new();
        for &(_, id, value) in &live {
            let target = if pred.matches(part, value) { to } else { part };
            by_part.entry(target).or_default().push((id, value));
        }
        body.push(Action::Remove(remove_action(file, true)));
        for (part, rows) in by_part {
            body.push(Action::Add(store.write_file(part, rows)));
        }
    }
    (read, body)
}

/// A compaction of partition `part`: its input paths and actions, or `None` when there is
/// nothing to compact (one file without a deletion vector, or none).
fn compaction(
    files: &[Add],
    store: &mut Store,
    part: u8,
) -> Option<(BTreeSet<String>, Vec<Action>)> {
    let inputs: Vec<&Add> = files
        .iter()
        .filter(|f| file_part(f) == Some(part))
        .collect();
    let worth_it = inputs.len() > 1 || inputs.iter().any(|f| f.deletion_vector.is_some());
    if !worth_it {
        return None;
    }
    let rows: Vec<(u32, i64)> = inputs
        .iter()
        .flat_map(|f| store.live(f))
        .map(|(_, id, value)| (id, value))
        .collect();
    let mut body: Vec<Action> = inputs
        .iter()
        .map(|f| Action::Remove(remove_action(f, false)))
        .collect();
    body.push(Action::Add(Add {
        data_change: false,
        ..store.write_file(part, rows)
    }));
    Some((inputs.iter().map(|f| f.path.clone()).collect(), body))
}

/// tarn's commit of `body` (`Transaction::commit_keeping_files`, `isolation_level`,
/// `footprint`): the `commitInfo`, the footprint and the read predicate.
fn tarn_commit(
    operation: &str,
    reads: Reads,
    body: Vec<Action>,
    read_version: Version,
    table_level: IsolationLevel,
) -> Planned {
    let changes_data = body.iter().any(|a| match a {
        Action::Add(add) => add.data_change,
        Action::Remove(remove) => remove.data_change,
        Action::Metadata(_) | Action::Protocol(_) => true,
        _ => false,
    });
    let level = if changes_data {
        table_level
    } else {
        IsolationLevel::SnapshotIsolation
    };
    let only_adds = body
        .iter()
        .all(|a| matches!(a, Action::Add(add) if add.data_change) || matches!(a, Action::Txn(_)));
    let is_blind_append = matches!(reads, Reads::Nothing) && only_adds;
    let (scope, read_files, model_reads) = match reads {
        Reads::Nothing => (ReadScope::Nothing, BTreeSet::new(), None),
        Reads::Files(files) => (ReadScope::Files, files, None),
        Reads::Predicate(pred, files) => (ReadScope::Predicate, files, Some(pred)),
        Reads::WholeTable => (ReadScope::WholeTable, BTreeSet::new(), None),
    };
    let model_reads = ModelReads {
        pred: model_reads,
        whole_table: scope == ReadScope::WholeTable,
    };
    let mut footprint = TransactionFootprint::reading(read_version, scope, read_files, level);
    for action in &body {
        match action {
            Action::Remove(remove) => {
                footprint.removed_paths.insert(remove.path.clone());
            }
            Action::Metadata(_) => footprint.changes_metadata = true,
            Action::Protocol(_) => footprint.changes_protocol = true,
            Action::Txn(txn) => {
                footprint.txn_app_ids.insert(txn.app_id.clone());
            }
            Action::DomainMetadata(domain) => {
                footprint.domains.insert(domain.domain.clone());
            }
            _ => {}
        }
    }
    let commit_info = CommitInfo {
        operation: Some(operation.to_owned()),
        engine_info: Some("tarn/model".to_owned()),
        read_version: i64::try_from(read_version).ok(),
        isolation_level: Some(level.as_str().to_owned()),
        is_blind_append: Some(is_blind_append),
        ..CommitInfo::default()
    };
    let mut actions = vec![Action::CommitInfo(commit_info)];
    actions.extend(body);
    Planned {
        actions,
        check: Some((footprint, model_reads)),
    }
}

/// Another engine's commit of a compaction, as Spark writes OPTIMIZE: `isBlindAppend = false`,
/// and removes that carry the deletion vector (part of the file's identity) but no partition
/// values or statistics (`extendedFileMetadata` absent).
fn foreign_commit(body: Vec<Action>, read_version: Version) -> Planned {
    let commit_info = CommitInfo {
        operation: Some("OPTIMIZE".to_owned()),
        engine_info: Some("Apache-Spark/3.5.1 Delta-Lake/3.2.0".to_owned()),
        read_version: i64::try_from(read_version).ok(),
        isolation_level: Some("SnapshotIsolation".to_owned()),
        is_blind_append: Some(false),
        ..CommitInfo::default()
    };
    let mut actions = vec![Action::CommitInfo(commit_info)];
    actions.extend(body.into_iter().map(|action| match action {
        Action::Remove(remove) => Action::Remove(Remove {
            extended_file_metadata: None,
            partition_values: None,
            size: None,
            stats: None,
            ..remove
        }),
        other => other,
    }));
    Planned {
        actions,
        check: None,
    }
}
