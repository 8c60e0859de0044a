//! Hand-written races, one or more per pair of operation kinds, including the ones the
//! generator reaches rarely (a restore across a deletion vector, another engine's compaction
//! of a file a delete read). Each one runs through [`race`], so besides the outcome asserted
//! here, a commit the rules allow is checked against the serial orders as in the property.

use super::operation::{Op, Pred};
use super::table::{Log, Store};
use super::{FileSpec, Outcome, build, race};
use crate::conflict::{ConflictReason, IsolationLevel};

const WS: IsolationLevel = IsolationLevel::WriteSerializable;
const SER: IsolationLevel = IsolationLevel::Serializable;

/// `second` racing `first` (which commits first) at `level`; panics on a violation.
fn outcome(
    log: &Log,
    store: &mut Store,
    first: &Op,
    second: &Op,
    level: IsolationLevel,
) -> Outcome {
    race(log, store, first, second, level).unwrap_or_else(|violation| panic!("{violation}"))
}

/// The path of the `i`-th live file (ordered by path).
fn path(log: &Log, i: usize) -> String {
    log.files()[i].path.clone()
}

fn append(part: u8, values: &[i64]) -> Op {
    Op::Append {
        part,
        rows: (1000..).zip(values.iter().copied()).collect(),
    }
}

fn append_conflict(path: &str) -> Outcome {
    Outcome::Conflict(ConflictReason::ConcurrentAppend {
        path: path.to_owned(),
    })
}

fn delete_read_conflict(path: &str) -> Outcome {
    Outcome::Conflict(ConflictReason::ConcurrentDeleteRead {
        path: path.to_owned(),
    })
}

fn delete_delete_conflict(path: &str) -> Outcome {
    Outcome::Conflict(ConflictReason::ConcurrentDeleteDelete {
        path: path.to_owned(),
    })
}

/// Two partitions: `part=0` holds values 1..=3, `part=1` holds 7..=9.
fn two_partitions() -> (Log, Store) {
    build(
        &[FileSpec::new(0, &[1, 2, 3]), FileSpec::new(1, &[7, 8, 9])],
        &[],
    )
}

/// The path the next file written to `store` gets, for asserting the file an operation adds.
fn next_path(store: &Store, part: u8) -> String {
    let mut probe = store.clone();
    probe.write_file(part, vec![(0, 0)]).path
}

#[test]
fn a_delete_commits_past_an_append_of_rows_it_matches_only_at_write_serializable() {
    let (log, mut store) = two_partitions();
    let delete = Op::Delete(Pred::values(None, Some(5)));
    // At WriteSerializable the appended 4 stays: the order "delete, append".
    assert_eq!(
        outcome(&log, &mut store, &append(0, &[4]), &delete, WS),
        Outcome::Committed
    );
    // At Serializable the history order would have deleted it.
    let appended = next_path(&store, 0);
    assert_eq!(
        outcome(&log, &mut store, &append(0, &[4]), &delete, SER),
        append_conflict(&appended)
    );
    // Rows the delete's predicate rules out by statistics are no conflict at either level.
    for level in [WS, SER] {
        assert_eq!(
            outcome(&log, &mut store, &append(0, &[6]), &delete, level),
            Outcome::Committed
        );
        assert_eq!(
            outcome(&log, &mut store, &delete, &append(0, &[4]), level),
            Outcome::Committed
        );
    }
}

#[test]
fn updates_and_deletion_vector_deletes_race_appends_like_deletes() {
    let (log, mut store) = two_partitions();
    for op in [
        Op::Update {
            pred: Pred::part(1),
            add: 1,
        },
        Op::DvDelete(Pred::part(1)),
    ] {
        assert_eq!(
            outcome(&log, &mut store, &append(1, &[5]), &op, WS),
            Outcome::Committed
        );
        let appended = next_path(&store, 1);
        assert_eq!(
            outcome(&log, &mut store, &append(1, &[5]), &op, SER),
            append_conflict(&appended)
        );
        assert_eq!(
            outcome(&log, &mut store, &append(0, &[8]), &op, SER),
            Outcome::Committed
        );
    }
}

#[test]
fn an_update_that_moves_rows_into_a_delete_conflicts_with_it() {
    // part=0 holds 1..=3 in one file and 5, 6 in another; the delete of value >= 5 reads only
    // the second. The update rewrites the first file to 11..=13, which the delete matches: it
    // is not a blind append, so it conflicts at both levels.
    let (log, mut store) = build(
        &[FileSpec::new(0, &[1, 2, 3]), FileSpec::new(0, &[5, 6])],
        &[],
    );
    let update = Op::Update {
        pred: Pred::values(None, Some(4)),
        add: 10,
    };
    let delete = Op::Delete(Pred::values(Some(5), None));
    for level in [WS, SER] {
        let rewritten = next_path(&store, 0);
        assert_eq!(
            outcome(&log, &mut store, &update, &delete, level),
            append_conflict(&rewritten)
        );
    }
    // An update that keeps the rows out of the delete's range is none of its business.
    let small = Op::Update {
        pred: Pred::values(None, Some(4)),
        add: 1,
    };
    for level in [WS, SER] {
        assert_eq!(
            outcome(&log, &mut store, &small, &delete, level),
            Outcome::Committed
        );
        assert_eq!(
            outcome(&log, &mut store, &delete, &small, level),
            Outcome::Committed
        );
    }
}

#[test]
fn an_update_that_moves_rows_to_another_partition_adds_files_there() {
    let (log, mut store) = two_partitions();
    let to_1 = Op::Move {
        pred: Pred::values(None, Some(2)),
        to: 1,
    };
    let delete_1 = Op::Delete(Pred::part(1));
    for level in [WS, SER] {
        // The moved row lands in part=1, which the delete reads: not a blind append.
        let moved = {
            let mut probe = store.clone();
            probe.write_file(0, vec![(0, 0)]);
            probe.write_file(1, vec![(0, 0)]).path
        };
        assert_eq!(
            outcome(&log, &mut store, &to_1, &delete_1, level),
            append_conflict(&moved)
        );
        // The other way round, the delete of part=1 removed nothing the update read: the
        // moved row stays (the order "delete, update").
        assert_eq!(
            outcome(&log, &mut store, &delete_1, &to_1, level),
            Outcome::Committed
        );
    }
}

#[test]
fn deletes_of_the_same_file_conflict_whatever_their_kind() {
    let (log, mut store) = two_partitions();
    // Both remove part=0's file: the copy-on-write delete to rewrite it, the deletion-vector
    // delete to re-add it at the same path with a vector.
    let cow = Op::Delete(Pred::values(None, Some(2)));
    let dv = Op::DvDelete(Pred::values(Some(3), Some(4)));
    for level in [WS, SER] {
        for (first, second) in [(&cow, &dv), (&dv, &cow), (&dv, &dv), (&cow, &cow)] {
            let outcome = outcome(&log, &mut store, first, second, level);
            assert!(
                matches!(outcome, Outcome::Conflict(_)),
                "{second:?} after {first:?} at {level}: {outcome:?}"
            );
        }
    }
}

#[test]
fn a_deletion_vector_rewrite_is_a_remove_of_its_path() {
    let (log, mut store) = build(
        &[FileSpec::new(0, &[1, 2, 3]), FileSpec::new(0, &[4, 5])],
        &[],
    );
    let rewritten = path(&log, 0);
    let dv = Op::DvDelete(Pred::values(None, Some(2)));
    let compact = Op::Compact { part: 0 };
    for level in [WS, SER] {
        // The vector's add names the same path as the file the compaction merges: only the
        // remove of that path shows the file changed, and it conflicts.
        assert_eq!(
            outcome(&log, &mut store, &dv, &compact, level),
            delete_delete_conflict(&rewritten)
        );
        assert_eq!(
            outcome(&log, &mut store, &compact, &dv, level),
            delete_delete_conflict(&rewritten)
        );
        // A delete that ruled the file out by statistics ignores the re-added path (same
        // statistics, none of its rows).
        let other = Op::Delete(Pred::values(Some(5), None));
        assert_eq!(
            outcome(&log, &mut store, &dv, &other, level),
            Outcome::Committed
        );
        assert_eq!(
            outcome(&log, &mut store, &other, &dv, level),
            Outcome::Committed
        );
    }
}

#[test]
fn a_restore_across_a_deletion_vector_removes_the_vector_and_re_adds_the_path() {
    // Version 1 deleted value 1 with a vector; restoring version 0 removes (path, vector) and
    // adds (path, no vector): the path is live once, the row is back.
    let (log, mut store) = build(
        &[FileSpec::new(0, &[1, 2, 3]), FileSpec::new(1, &[7])],
        &[Op::DvDelete(Pred::values(None, Some(2)))],
    );
    assert!(log.files()[0].deletion_vector.is_some());
    let restore = Op::Restore { version: 0 };
    assert_eq!(
        outcome(&log, &mut store, &append(1, &[8]), &restore, WS),
        Outcome::Committed
    );
    let appended = next_path(&store, 1);
    assert_eq!(
        outcome(&log, &mut store, &append(1, &[8]), &restore, SER),
        append_conflict(&appended)
    );
    // Another vector on the same file meanwhile: each one's add names the path the other
    // read (the restore read the whole table; the delete's predicate covers the file).
    let vectored = path(&log, 0);
    let again = Op::DvDelete(Pred::values(Some(3), None));
    for level in [WS, SER] {
        assert_eq!(
            outcome(&log, &mut store, &again, &restore, level),
            append_conflict(&vectored)
        );
        assert_eq!(
            outcome(&log, &mut store, &restore, &again, level),
            append_conflict(&vectored)
        );
    }
}

#[test]
fn overwrites_race_appends_and_partition_overwrites() {
    let (log, mut store) = two_partitions();
    let overwrite = Op::Overwrite {
        rows: vec![(0, 2000, 5)],
    };
    // The order "overwrite, append" keeps the appended row; Serializable wants the history's.
    assert_eq!(
        outcome(&log, &mut store, &append(1, &[1]), &overwrite, WS),
        Outcome::Committed
    );
    let appended = next_path(&store, 1);
    assert_eq!(
        outcome(&log, &mut store, &append(1, &[1]), &overwrite, SER),
        append_conflict(&appended)
    );
    for level in [WS, SER] {
        assert_eq!(
            outcome(&log, &mut store, &overwrite, &append(1, &[1]), level),
            Outcome::Committed
        );
    }
    // Overwrites of different partitions commit; of the same one, conflict.
    let where_0 = Op::OverwriteWhere {
        part: 0,
        rows: vec![(2000, 4)],
    };
    let where_1 = Op::OverwriteWhere {
        part: 1,
        rows: vec![(3000, 4)],
    };
    for level in [WS, SER] {
        assert_eq!(
            outcome(&log, &mut store, &where_0, &where_1, level),
            Outcome::Committed
        );
        let written = next_path(&store, 0);
        assert_eq!(
            outcome(&log, &mut store, &where_0, &where_0, level),
            append_conflict(&written)
        );
        let written = next_path(&store, 0);
        assert_eq!(
            outcome(&log, &mut store, &where_0, &overwrite, level),
            append_conflict(&written)
        );
    }
    // An overwrite of a partition that holds no file adds rows without reading any: another
    // one of the same partition must still see them (it is not a blind append).
    let where_2 = Op::OverwriteWhere {
        part: 2,
        rows: vec![(2000, 4)],
    };
    for level in [WS, SER] {
        let written = next_path(&store, 2);
        assert_eq!(
            outcome(&log, &mut store, &where_2, &where_2, level),
            append_conflict(&written)
        );
    }
}

#[test]
fn a_restore_conflicts_with_a_compaction_in_either_order() {
    let (log, mut store) = build(
        &[
            FileSpec::new(0, &[1]),
            FileSpec::new(0, &[2]),
            FileSpec::new(1, &[7]),
        ],
        &[Op::Delete(Pred::part(1))],
    );
    let restore = Op::Restore { version: 0 };
    let compact = Op::Compact { part: 0 };
    let first_input = path(&log, 0);
    for level in [WS, SER] {
        // Here committing would do no harm (the restore only re-adds part=1's file), but a
        // whole-table read conflicts with any remove: a restore that removed the inputs would
        // leave their rows alive in the compacted file.
        assert_eq!(
            outcome(&log, &mut store, &compact, &restore, level),
            delete_read_conflict(&first_input)
        );
        // The compaction past the restore: the restore added a file (not a remove of an
        // input), so the compaction commits; the table holds the restored rows.
        assert_eq!(
            outcome(&log, &mut store, &restore, &compact, level),
            Outcome::Committed
        );
    }
}

#[test]
fn compactions_race_deletes_appends_and_each_other() {
    let (log, mut store) = build(
        &[
            FileSpec::new(0, &[1, 2]),
            FileSpec::new(0, &[3]),
            FileSpec::new(1, &[7, 8]),
            FileSpec::new(1, &[9]),
        ],
        &[],
    );
    let compact_0 = Op::Compact { part: 0 };
    let compact_1 = Op::Compact { part: 1 };
    let first_input = path(&log, 0);
    let delete_0 = Op::Delete(Pred::values(None, Some(2)));
    let delete_1 = Op::Delete(Pred::part(1));
    for level in [WS, SER] {
        assert_eq!(
            outcome(&log, &mut store, &delete_0, &compact_0, level),
            delete_delete_conflict(&first_input)
        );
        assert_eq!(
            outcome(&log, &mut store, &compact_0, &delete_0, level),
            delete_delete_conflict(&first_input)
        );
        assert_eq!(
            outcome(&log, &mut store, &delete_1, &compact_0, level),
            Outcome::Committed
        );
        assert_eq!(
            outcome(&log, &mut store, &compact_0, &delete_1, level),
            Outcome::Committed
        );
        assert_eq!(
            outcome(&log, &mut store, &append(0, &[5]), &compact_0, level),
            Outcome::Committed
        );
        assert_eq!(
            outcome(&log, &mut store, &compact_0, &append(0, &[5]), level),
            Outcome::Committed
        );
        assert_eq!(
            outcome(&log, &mut store, &compact_1, &compact_0, level),
            Outcome::Committed
        );
        assert_eq!(
            outcome(&log, &mut store, &compact_0, &compact_0, level),
            delete_delete_conflict(&first_input)
        );
    }
}

#[test]
fn another_engines_compaction_conflicts_with_what_read_or_removed_its_inputs() {
    // Spark's OPTIMIZE of part=0: removes with dataChange = false and no partition values or
    // statistics, an add with dataChange = false, isBlindAppend = false.
    let (log, mut store) = build(
        &[
            FileSpec::new(0, &[1, 3]),
            FileSpec::new(0, &[5]),
            FileSpec::new(1, &[2, 8]),
        ],
        &[],
    );
    let optimize = Op::ForeignCompact { part: 0 };
    let first_input = path(&log, 0);
    for level in [WS, SER] {
        // A delete that rewrites an input: its rewrite would bring back compacted rows.
        assert_eq!(
            outcome(
                &log,
                &mut store,
                &optimize,
                &Op::Delete(Pred::values(None, Some(2))),
                level
            ),
            delete_delete_conflict(&first_input)
        );
        // A delete that read an input and kept it (no row of it matched), and rewrote part=1.
        assert_eq!(
            outcome(
                &log,
                &mut store,
                &optimize,
                &Op::Delete(Pred::values(Some(2), Some(3))),
                level
            ),
            delete_read_conflict(&first_input)
        );
        for second in [
            Op::DvDelete(Pred::part(0)),
            Op::Compact { part: 0 },
            Op::Overwrite {
                rows: vec![(1, 2000, 1)],
            },
        ] {
            assert_eq!(
                outcome(&log, &mut store, &optimize, &second, level),
                delete_delete_conflict(&first_input)
            );
        }
        // The compacted file (dataChange = false) is not new data: a delete of the other
        // partition, an update of values the inputs cannot hold, an append all commit.
        assert_eq!(
            outcome(
                &log,
                &mut store,
                &optimize,
                &Op::Delete(Pred::part(1)),
                level
            ),
            Outcome::Committed
        );
        let update = Op::Update {
            pred: Pred::values(Some(7), None),
            add: 1,
        };
        assert_eq!(
            outcome(&log, &mut store, &optimize, &update, level),
            Outcome::Committed
        );
        assert_eq!(
            outcome(&log, &mut store, &optimize, &append(0, &[1]), level),
            Outcome::Committed
        );
        // tarn's rules never decide another engine's commit.
        assert_eq!(
            outcome(
                &log,
                &mut store,
                &Op::Delete(Pred::part(1)),
                &optimize,
                level
            ),
            Outcome::NotRaced
        );
    }
}

#[test]
fn appends_commit_past_everything() {
    let (log, mut store) = build(
        &[
            FileSpec::new(0, &[1, 2]),
            FileSpec::new(0, &[3]),
            FileSpec::new(1, &[7, 8]),
        ],
        &[Op::Delete(Pred::values(Some(8), None))],
    );
    let others = [
        Op::Delete(Pred::part(0)),
        Op::DvDelete(Pred::values(None, Some(2))),
        Op::Update {
            pred: Pred::part(0),
            add: 3,
        },
        Op::Overwrite {
            rows: vec![(1, 2000, 1)],
        },
        Op::OverwriteWhere {
            part: 0,
            rows: vec![(2000, 1)],
        },
        Op::Restore { version: 0 },
        Op::Compact { part: 0 },
        Op::ForeignCompact { part: 0 },
        append(0, &[1]),
    ];
    for other in &others {
        for level in [WS, SER] {
            assert_eq!(
                outcome(&log, &mut store, other, &append(0, &[1, 2]), level),
                Outcome::Committed,
                "{other:?} at {level}"
            );
        }
    }
}
