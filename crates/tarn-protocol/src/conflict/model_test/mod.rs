//! Model test of the conflict rules: whenever [`check_conflict`] lets two concurrent
//! transactions both commit, the table holds the rows of a serial order of the two.
//!
//! A case is a small table partitioned by `part` (three partitions), of a few files of a few
//! `(id, value)` rows, some deleted by deletion vectors, with a short history behind it (so
//! that a restore has somewhere to go), and two operations planned on its newest version
//! ([`operation`]: append, delete, delete with deletion vectors, update of a value or of the
//! partition, overwrite, overwrite-where, restore, tarn's compaction, another engine's
//! compaction). Each operation is planned as tarn's engine plans it: its actions, its
//! footprint, its read predicate.
//!
//! For each table isolation level (WriteSerializable, Serializable) and each order, `first`
//! commits, then `second`'s commit is checked against it with [`check_conflict`]. When the
//! rules let it commit, its actions (planned on the old snapshot) are applied after `first`'s,
//! and:
//!
//! - the table must be valid: no path live twice (a deletion-vector rewrite re-adds a path);
//! - at WriteSerializable, only the writes are serial (Delta's definition: "the serial
//!   sequence may differ from the table's history"): the rows (deletion vectors applied) must
//!   equal those of `first` then `second` planned again after it, or of `second` then `first`
//!   planned again after it. A delete that committed past an append of rows it matches is the
//!   order "delete, append";
//! - at Serializable, reads are serial too, and the order is the table's history ("for the
//!   write operations, the serial sequence is exactly the same as that seen in the table's
//!   history"): the rows must equal those of `first` then `second` planned again after it,
//!   and `second` must read the same rows ([`Op::read`]) after `first` as it did on the
//!   snapshot. (`first` read the snapshot that precedes it in the history, so its reads are
//!   serial already.)
//!
//! The same holds past two winners, the second having read the first's commit
//! ([`race_past`]): `tarn_log::commit` checks each winner in turn with the same footprint.
//!
//! Rows are compared as multisets of `(partition, id, value)`, after reconciling the log with
//! the crate's own [`crate::replay::replay`] (files are keyed by path and deletion vector, as
//! PROTOCOL.md says). A refused commit proves nothing and is not checked: the rules may be
//! conservative.
//!
//! Each property runs 2,000 cases (2 levels, and 2 orders for the pair), about a second in a
//! debug build. Of the rules, removing any one of these makes it fail within those cases: a
//! whole-table read conflicting with any remove (restore past a compaction), removes
//! conflicting whatever `dataChange` says (an update past a compaction), Serializable counting
//! blind appends, WriteSerializable counting other appends, a predicate read counting added
//! files at all. Dropping either "removed by both" or "read and removed by the winner" alone
//! goes unnoticed, because with the footprints tarn builds each covers the other; dropping
//! both fails.

mod examples;
mod operation;
mod table;

use std::collections::BTreeSet;

use proptest::collection::vec;
use proptest::prelude::*;

use self::operation::{Op, Pred};
use self::table::{Log, Store};
use super::{ConflictReason, IsolationLevel, WinningCommit, check_conflict};

/// What happened when `second` tried to commit after the winners.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// One of them had nothing to commit, or `second` is not tarn's to check.
    NotRaced,
    /// The rules refused `second`.
    Conflict(ConflictReason),
    /// All committed, and the result is a serial order's.
    Committed,
}

/// `op` planned on the newest version of `log` and committed there.
fn serial(log: &Log, op: &Op, store: &mut Store, level: IsolationLevel) -> Log {
    match op.plan(log, store, level) {
        Some(planned) => log.committed(planned.actions),
        None => log.clone(),
    }
}

/// Plans `first` and `second` on the newest version of `log`, commits `first`, checks
/// `second` against it and, if the rules let it commit, checks the result against the serial
/// orders. `Err` describes a violation.
fn race(
    log: &Log,
    store: &mut Store,
    first: &Op,
    second: &Op,
    level: IsolationLevel,
) -> Result<Outcome, String> {
    race_past(log, store, &[first], second, level)
}

/// [`race`] past several winners: each winner is planned on the version the previous one
/// committed (the first on the newest version of `log`), and `second`, planned on the newest
/// version of `log`, is checked against each in turn with the same footprint, as
/// `tarn_log::commit` does. At WriteSerializable the result must be that of some order of all
/// the writes; at Serializable, of the history's order, with `second` reading after the last
/// winner what it read on the snapshot.
fn race_past(
    log: &Log,
    store: &mut Store,
    winners: &[&Op],
    second: &Op,
    level: IsolationLevel,
) -> Result<Outcome, String> {
    if !second.is_tarn() {
        return Ok(Outcome::NotRaced);
    }
    let mut history = log.clone();
    let mut winning_actions = Vec::new();
    for winner in winners {
        let Some(planned) = winner.plan(&history, store, level) else {
            return Ok(Outcome::NotRaced);
        };
        history = history.committed(planned.actions.clone());
        winning_actions.push((history.version(), planned.actions));
    }
    let Some(second_plan) = second.plan(log, store, level) else {
        return Ok(Outcome::NotRaced);
    };
    let Some((footprint, reads)) = &second_plan.check else {
        return Ok(Outcome::NotRaced);
    };
    for (version, actions) in &winning_actions {
        let winner = WinningCommit::from_actions(*version, actions.clone());
        if let Err(reason) = check_conflict(footprint, reads, &winner) {
            return Ok(Outcome::Conflict(reason));
        }
    }
    let raced = history.committed(second_plan.actions.clone());
    let violation = |what: String| {
        format!(
            "at {level}, {second:?} committed after {winners:?}: {what}\n\
             table: {:#?}\nwinners' actions: {:#?}\nsecond's actions: {:#?}\n\
             second's footprint: {footprint:#?}",
            log.files(),
            winning_actions,
            second_plan.actions,
        )
    };
    raced.check_valid(store).map_err(violation)?;
    let result = raced.rows(store);
    let in_history_order = serial(&history, second, store, level).rows(store);
    let read_before = second.read(log, store);
    let read_after = second.read(&history, store);
    // At Serializable the order is the history's, reads included; at WriteSerializable any
    // order of the writes.
    let serial_order = if level == IsolationLevel::Serializable {
        result == in_history_order && read_before == read_after
    } else {
        let mut all: Vec<&Op> = winners.to_vec();
        all.push(second);
        orders(&all).into_iter().any(|order| {
            let mut state = log.clone();
            for op in order {
                state = serial(&state, op, store, level);
            }
            state.rows(store) == result
        })
    };
    if serial_order {
        return Ok(Outcome::Committed);
    }
    Err(violation(format!(
        "rows {result:?}\nin the history's order: {in_history_order:?} (second read \
         {read_before:?}, would read {read_after:?} there)"
    )))
}

/// Every order of `ops`.
fn orders<'a>(ops: &[&'a Op]) -> Vec<Vec<&'a Op>> {
    if ops.is_empty() {
        return vec![Vec::new()];
    }
    let mut all = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let mut rest = ops.to_vec();
        rest.remove(i);
        for mut order in orders(&rest) {
            order.insert(0, *op);
            all.push(order);
        }
    }
    all
}

/// A data file of a generated table: its partition, values, which rows its deletion vector
/// deletes, and whether its `add` carries statistics (older writers' files may not).
#[derive(Debug, Clone)]
struct FileSpec {
    part: u8,
    values: Vec<i64>,
    deleted: Vec<bool>,
    stats: bool,
}

impl FileSpec {
    /// A file with statistics and no deletion vector.
    fn new(part: u8, values: &[i64]) -> Self {
        Self {
            part,
            values: values.to_vec(),
            deleted: vec![false; values.len()],
            stats: true,
        }
    }
}

/// A generated case: the table's files, the operations run on it one after the other (its
/// history), and the two concurrent operations.
#[derive(Debug, Clone)]
struct Case {
    files: Vec<FileSpec>,
    history: Vec<Op>,
    a: Op,
    b: Op,
    c: Op,
}

/// The table (version 0: `files`, ids from 1; then `history`, each operation planned on the
/// version before) and the store holding its files.
fn build(files: &[FileSpec], history: &[Op]) -> (Log, Store) {
    let mut store = Store::default();
    let mut next_id = 0;
    let mut adds = Vec::new();
    for spec in files {
        let rows = spec
            .values
            .iter()
            .map(|&value| {
                next_id += 1;
                (next_id, value)
            })
            .collect();
        let mut add = store.write_file(spec.part, rows);
        if !spec.stats {
            add.stats = None;
        }
        let mut deleted: BTreeSet<usize> = spec
            .deleted
            .iter()
            .enumerate()
            .filter_map(|(pos, &d)| d.then_some(pos))
            .collect();
        // Every file keeps a live row, as after a delete with deletion vectors.
        if deleted.len() == spec.values.len() {
            deleted.pop_first();
        }
        if !deleted.is_empty() {
            add.deletion_vector = Some(store.write_dv(deleted));
        }
        adds.push(add);
    }
    let mut log = Log::create(adds);
    for op in history {
        let op = resolve(op, &log);
        log = serial(&log, &op, &mut store, IsolationLevel::WriteSerializable);
    }
    (log, store)
}

/// `op` with a restore's target version made one of `log`'s earlier versions.
fn resolve(op: &Op, log: &Log) -> Op {
    match op {
        Op::Restore { version } if log.version() > 0 => Op::Restore {
            version: version % log.version(),
        },
        Op::Restore { .. } => Op::Restore { version: 0 },
        other => other.clone(),
    }
}

/// A file's values are close together (`low..low + 3`), so that statistics rule files out.
fn file_spec() -> impl Strategy<Value = FileSpec> {
    (0u8..3, 0i64..9, vec(0i64..3, 1..5))
        .prop_map(|(part, low, offsets)| (part, offsets.into_iter().map(|o| low + o).collect()))
        .prop_flat_map(|(part, values): (u8, Vec<i64>)| {
            let deleted = vec(proptest::bool::weighted(0.2), values.len());
            let stats = proptest::bool::weighted(0.9);
            (Just(part), Just(values), deleted, stats)
        })
        .prop_map(|(part, values, deleted, stats)| FileSpec {
            part,
            values,
            deleted,
            stats,
        })
}

fn pred() -> impl Strategy<Value = Pred> {
    prop_oneof![
        (0u8..3).prop_map(Pred::part),
        (
            proptest::option::of(0i64..11),
            proptest::option::of(0i64..11)
        )
            .prop_map(|(lo, hi)| Pred::values(lo, hi)),
        (0u8..3, 0i64..11).prop_map(|(part, hi)| Pred {
            part: Some(part),
            lo: None,
            hi: Some(hi),
        }),
    ]
}

/// One or two rows `(id, value)` with ids from `base`.
fn new_rows(base: u32) -> impl Strategy<Value = Vec<(u32, i64)>> {
    vec(0i64..12, 1..3).prop_map(move |values| (base..).zip(values).collect())
}

/// An operation; the rows it writes get ids from `base`.
fn op(base: u32) -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..3, new_rows(base)).prop_map(|(part, rows)| Op::Append { part, rows }),
        3 => pred().prop_map(Op::Delete),
        3 => pred().prop_map(Op::DvDelete),
        3 => (pred(), 1i64..6).prop_map(|(pred, add)| Op::Update { pred, add }),
        1 => (pred(), 0u8..3).prop_map(|(pred, to)| Op::Move { pred, to }),
        1 => vec((0u8..3, 0i64..12), 1..4).prop_map(move |rows| Op::Overwrite {
            rows: (base..).zip(rows).map(|(id, (part, value))| (part, id, value)).collect(),
        }),
        2 => (0u8..3, new_rows(base)).prop_map(|(part, rows)| Op::OverwriteWhere { part, rows }),
        2 => (0u64..4).prop_map(|version| Op::Restore { version }),
        2 => (0u8..3).prop_map(|part| Op::Compact { part }),
        2 => (0u8..3).prop_map(|part| Op::ForeignCompact { part }),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        vec(file_spec(), 1..7),
        0usize..3,
        op(100),
        op(200),
        op(1000),
        op(2000),
        op(3000),
    )
        .prop_map(|(files, history_len, h1, h2, a, b, c)| Case {
            files,
            history: [h1, h2].into_iter().take(history_len).collect(),
            a,
            b,
            c,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn commits_the_rules_allow_are_serial(case in case()) {
        let (log, mut store) = build(&case.files, &case.history);
        let a = resolve(&case.a, &log);
        let b = resolve(&case.b, &log);
        for level in [IsolationLevel::WriteSerializable, IsolationLevel::Serializable] {
            for (first, second) in [(&a, &b), (&b, &a)] {
                race(&log, &mut store, first, second, level).map_err(TestCaseError::fail)?;
            }
        }
    }

    /// The same past two winners, the second of which read what the first committed: what
    /// `b` ignored in the first (an append, at WriteSerializable) may be what the second
    /// changes.
    #[test]
    fn commits_past_two_winners_are_serial(case in case()) {
        let (log, mut store) = build(&case.files, &case.history);
        let a = resolve(&case.a, &log);
        let b = resolve(&case.b, &log);
        let c = resolve(&case.c, &log);
        for level in [IsolationLevel::WriteSerializable, IsolationLevel::Serializable] {
            race_past(&log, &mut store, &[&a, &c], &b, level).map_err(TestCaseError::fail)?;
        }
    }
}
