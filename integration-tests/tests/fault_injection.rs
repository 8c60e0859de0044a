//! A randomized workload under injected storage faults: appends, deletes, updates,
//! compactions, checkpoints, vacuums, log cleanups, and archive runs (tier, detach,
//! restore-archive) run against a table whose store
//! ([`FaultStore`]) fails requests, delays them, cuts reads short, and performs puts it then
//! reports as failed. After every step the table is read through the same store with faults
//! paused, and its rows must equal a model kept beside it:
//!
//! - an operation that succeeded changed the rows exactly as the model says;
//! - one that failed with a clean error changed nothing;
//! - one whose commit outcome is unknown (`CommitOutcomeUnknown`) changed everything or
//!   nothing, and the model follows what the table shows;
//! - the integrity check finds every file the latest version needs.
//!
//! Each seed is one table and one sequence of steps; `TARN_FAULT_SEED=N` replays one seed,
//! `TARN_FAULT_SEEDS=N` runs more. A failure names its seed and step.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use futures::TryStreamExt;
use tarn::{Expr, LogError, Table, TableLocation};
use tarn_maintenance::archive::{Archive, ArchiveMode, RestoreArchive};
use tarn_maintenance::check::Check;
use tarn_maintenance::cleanup::LogCleanup;
use tarn_maintenance::optimize::Optimize;
use tarn_maintenance::vacuum::Vacuum;

use crate::common::block_on;
use crate::common::fault_store::{FaultStore, Faults, Rng};

/// Seeds per test function (four functions run in parallel): 200 per run in all.
const SEEDS_PER_TEST: u64 = 50;
/// Steps per seed.
const STEPS: usize = 20;
const GROUPS: [&str; 3] = ["a", "b", "c"];

const FAULTS: Faults = Faults {
    fail: 0.06,
    ambiguous: 0.05,
    truncate: 0.04,
    delay: 0.1,
};

/// The rows of the table: id -> (group, value).
type Model = BTreeMap<i64, (String, i64)>;

#[derive(Debug, Default)]
struct Totals {
    seeds: u64,
    operations: u64,
    succeeded: u64,
    failed_cleanly: u64,
    outcome_unknown_reported: u64,
    ambiguous_landed: u64,
    requests: u64,
    faults: u64,
    /// Commits the store performed but reported failed: each one tarn must recognise as its
    /// own (reporting success) or report as `CommitOutcomeUnknown`.
    ambiguous_commits: u64,
    commit_retries: u64,
    /// Steps that succeeded, by kind.
    succeeded_by_kind: BTreeMap<&'static str, u64>,
}

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("grp", DataType::Utf8, false),
        Field::new("v", DataType::Int64, false),
    ]))
}

fn batch(rows: &[(i64, &str, i64)]) -> RecordBatch {
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0))),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.2))),
        ],
    )
    .unwrap()
}

async fn read(table: &Table) -> Result<Model, String> {
    let snapshot = table.snapshot().await.map_err(|e| format!("open: {e}"))?;
    let batches: Vec<RecordBatch> = snapshot
        .scan()
        .build()
        .await
        .map_err(|e| format!("scan: {e}"))?
        .execute()
        .try_collect()
        .await
        .map_err(|e| format!("read: {e}"))?;
    let mut rows = Model::new();
    for batch in batches {
        let ids = batch.column(0).as_primitive::<Int64Type>();
        let groups = batch.column(1).as_string::<i32>();
        let values = batch.column(2).as_primitive::<Int64Type>();
        for i in 0..batch.num_rows() {
            let previous = rows.insert(ids.value(i), (groups.value(i).to_owned(), values.value(i)));
            if previous.is_some() {
                return Err(format!("row id {} appears twice", ids.value(i)));
            }
        }
    }
    Ok(rows)
}

/// One step, as the model sees it.
#[derive(Debug)]
enum Step {
    Append(Vec<(i64, &'static str, i64)>),
    Delete {
        modulus: i64,
        remainder: i64,
    },
    Update {
        group: &'static str,
    },
    Optimize,
    Checkpoint,
    Vacuum,
    CleanupLog,
    /// Tier group `a`'s hot files to the archive location.
    Tier,
    /// Detach group `b` (once per seed, while none is detached).
    Detach,
    /// Bring group `b` back (after a detach).
    RestoreArchive,
}

/// The group archiving tiers, and the one it detaches and restores: apart, so that a detach
/// only ever meets hot files.
const TIERED: &str = "a";
const DETACHED: &str = "b";

/// What the table holds: the live rows, and the rows detached into the archive manifest
/// (with the deletes committed since applied, as `restore-archive` applies them).
#[derive(Debug, Clone, Default, PartialEq)]
struct State {
    live: Model,
    detached: Model,
    /// Whether a detach happened in this seed (there is at most one).
    detached_once: bool,
}

impl Step {
    fn kind(&self) -> &'static str {
        match self {
            Step::Append(_) => "append",
            Step::Delete { .. } => "delete",
            Step::Update { .. } => "update",
            Step::Optimize => "optimize",
            Step::Checkpoint => "checkpoint",
            Step::Vacuum => "vacuum",
            Step::CleanupLog => "cleanup-log",
            Step::Tier => "tier",
            Step::Detach => "detach",
            Step::RestoreArchive => "restore-archive",
        }
    }

    fn draw(rng: &mut Rng, next_id: &mut i64, state: &State) -> Step {
        if !state.detached.is_empty() && rng.below(100) < 30 {
            return Step::RestoreArchive;
        }
        if rng.below(100) < 15 {
            return match rng.below(3) {
                0 => Step::Tier,
                _ if !state.detached_once => Step::Detach,
                _ => Step::Tier,
            };
        }
        match rng.below(100) {
            0..=39 => {
                let n = 1 + rng.below(30) as i64;
                let rows = (0..n)
                    .map(|_| {
                        let id = *next_id;
                        *next_id += 1;
                        (id, GROUPS[rng.below(3) as usize], rng.below(1000) as i64)
                    })
                    .collect();
                Step::Append(rows)
            }
            40..=54 => Step::Delete {
                modulus: 2 + rng.below(5) as i64,
                remainder: rng.below(2) as i64,
            },
            55..=69 => Step::Update {
                group: GROUPS[rng.below(3) as usize],
            },
            70..=81 => Step::Optimize,
            82..=87 => Step::Checkpoint,
            88..=94 => Step::Vacuum,
            _ => Step::CleanupLog,
        }
    }

    /// The state after this step, if it succeeds.
    fn apply(&self, state: &State) -> State {
        let mut after = state.clone();
        match self {
            Step::Append(rows) => {
                for (id, group, value) in rows {
                    after.live.insert(*id, ((*group).to_owned(), *value));
                }
            }
            Step::Delete { modulus, remainder } => {
                after.live.retain(|id, _| id % modulus != *remainder);
                after.detached.retain(|id, _| id % modulus != *remainder);
            }
            Step::Update { group } => {
                for (g, value) in after.live.values_mut() {
                    if g == group {
                        *value += 1;
                    }
                }
            }
            Step::Detach => {
                after.detached_once = true;
                let (gone, kept): (Model, Model) = std::mem::take(&mut after.live)
                    .into_iter()
                    .partition(|(_, (g, _))| g == DETACHED);
                after.live = kept;
                after.detached = gone;
            }
            Step::RestoreArchive => {
                let back = std::mem::take(&mut after.detached);
                after.live.extend(back);
            }
            _ => {}
        }
        after
    }

    /// Runs the step; `Ok` carries the commit attempts beyond the first.
    async fn run(&self, table: &Table) -> Result<u64, tarn_maintenance::MaintenanceError> {
        let retries = |attempts: u32| u64::from(attempts.saturating_sub(1));
        match self {
            Step::Append(rows) => {
                let summary = table.write().execute_batches(vec![batch(rows)]).await?;
                Ok(retries(summary.attempts))
            }
            Step::Delete { modulus, remainder } => {
                let predicate = Expr::parse(&format!("id % {modulus} = {remainder}"))?;
                let summary = table.delete().with_predicate(predicate).execute().await?;
                Ok(retries(summary.attempts))
            }
            Step::Update { group } => {
                let summary = table
                    .update()
                    .set_sql("v = v + 1")?
                    .with_predicate(Expr::parse(&format!("grp = '{group}'"))?)
                    .execute()
                    .await?;
                Ok(retries(summary.attempts))
            }
            Step::Optimize => {
                let metrics = Optimize::new(table.clone())
                    .with_target_size(4 * 1024)
                    .execute()
                    .await?;
                Ok(metrics.commit_retries as u64)
            }
            Step::Checkpoint => {
                table.checkpoint().execute().await?;
                Ok(0)
            }
            Step::Vacuum => {
                Vacuum::new(table.clone())
                    .with_retention_ms(0)
                    .with_force(true)
                    .execute()
                    .await?;
                Ok(0)
            }
            Step::Tier | Step::Detach => {
                let (group, mode) = if matches!(self, Step::Tier) {
                    (TIERED, ArchiveMode::Tier)
                } else {
                    (DETACHED, ArchiveMode::Detach)
                };
                let metrics = Archive::new(table.clone(), archive_location(table))
                    .with_filter(Expr::parse(&format!("grp = '{group}'"))?)
                    .with_mode(mode)
                    .execute()
                    .await?;
                Ok(metrics.commit_retries)
            }
            Step::RestoreArchive => {
                let metrics = RestoreArchive::new(
                    table.clone(),
                    Expr::parse(&format!("grp = '{DETACHED}'"))?,
                )
                .execute()
                .await?;
                Ok(metrics.commit_retries)
            }
            Step::CleanupLog => {
                // As if 31 days had passed: every log file older than the default
                // retention may go.
                let later = chrono::Utc::now().timestamp_millis() + 31 * 24 * 3600 * 1000;
                LogCleanup::new(table.clone())
                    .with_now_ms(later)
                    .execute()
                    .await?;
                Ok(0)
            }
        }
    }

    fn changes_rows(&self) -> bool {
        matches!(
            self,
            Step::Append(_)
                | Step::Delete { .. }
                | Step::Update { .. }
                | Step::Detach
                | Step::RestoreArchive
        )
    }
}

fn is_ambiguous(error: &tarn_maintenance::MaintenanceError) -> bool {
    matches!(
        error,
        tarn_maintenance::MaintenanceError::Tarn(tarn::Error::Log(
            LogError::CommitOutcomeUnknown { .. }
        ))
    )
}

/// The archive location of a table: another in-memory store, beside the faulty one.
fn archive_location(table: &Table) -> String {
    let host = table.location().url().path().trim_matches('/').to_owned();
    format!("memory://{host}-cold/archive")
}

/// Runs one seed; returns what it did, or a description of the first invariant broken.
async fn run_seed(seed: u64, totals: &mut Totals) -> Result<(), String> {
    let base = TableLocation::parse(&format!("memory:///fault-{seed}")).unwrap();
    let faulty_store = Arc::new(FaultStore::new(Arc::clone(base.store()), FAULTS, seed));
    let faulty = Table::from_location(TableLocation::from_store(
        base.url().clone(),
        Arc::clone(&faulty_store) as Arc<dyn object_store::ObjectStore>,
        base.root().clone(),
    ));
    let mut rng = Rng::new(seed.wrapping_mul(31).wrapping_add(7));
    let deletion_vectors = seed.is_multiple_of(2);
    faulty_store.pause();
    faulty
        .create()
        .with_arrow_schema(&schema())
        .unwrap()
        .partition_by(["grp"])
        .with_property("delta.enableDeletionVectors", deletion_vectors.to_string())
        .with_property("delta.checkpointInterval", "4")
        .execute()
        .await
        .map_err(|e| format!("create: {e}"))?;
    let mut state = State::default();
    let mut next_id = 0i64;
    for step_no in 0..STEPS {
        let step = Step::draw(&mut rng, &mut next_id, &state);
        let after = step.apply(&state);
        let model = state.live.clone();
        faulty_store.resume();
        let outcome = step.run(&faulty).await;
        faulty_store.pause();
        totals.operations += 1;
        // Read through a fresh handle: nothing cached from the faulty run.
        let reader = Table::from_location(TableLocation::from_store(
            base.url().clone(),
            Arc::clone(&faulty_store) as Arc<dyn object_store::ObjectStore>,
            base.root().clone(),
        ));
        let found = read(&reader)
            .await
            .map_err(|e| format!("step {step_no} {step:?} ({outcome:?}): table unreadable: {e}"))?;
        let describe = |what: &str| {
            format!(
                "step {step_no} {step:?} ended {outcome:?}: the table holds {} rows, {what}",
                found.len()
            )
        };
        match &outcome {
            Ok(retries) => {
                totals.succeeded += 1;
                *totals.succeeded_by_kind.entry(step.kind()).or_default() += 1;
                totals.commit_retries += retries;
                if found != after.live {
                    return Err(describe(&format!(
                        "expected {} after success",
                        after.live.len()
                    )));
                }
                state = after;
            }
            Err(error) if is_ambiguous(error) => {
                totals.outcome_unknown_reported += 1;
                if found == after.live {
                    if step.changes_rows() && after.live != model {
                        totals.ambiguous_landed += 1;
                    }
                    state = after;
                } else if found != model {
                    return Err(describe("neither all nor nothing of an ambiguous commit"));
                }
            }
            Err(error) => {
                if std::env::var("TARN_FAULT_DEBUG").is_ok() {
                    println!("seed {seed} step {step_no} {}: {error}", step.kind());
                }
                totals.failed_cleanly += 1;
                // A maintenance step changes no row, whatever it committed before failing.
                if found != model {
                    return Err(describe(&format!(
                        "expected the {} rows from before the failed step",
                        model.len()
                    )));
                }
            }
        }
        let report = Check::new(reader.clone())
            .with_orphans(false)
            .execute()
            .await
            .map_err(|e| format!("step {step_no}: check failed to run: {e}"))?;
        if !report.is_healthy() {
            return Err(format!(
                "step {step_no} {step:?} ended {outcome:?}: the check found {:?}",
                report.problems
            ));
        }
    }
    totals.seeds += 1;
    totals.requests += faulty_store.counts.requests.load(Ordering::Relaxed);
    totals.faults += faulty_store.counts.injected();
    totals.ambiguous_commits += faulty_store
        .counts
        .ambiguous_commits
        .load(Ordering::Relaxed);
    Ok(())
}

fn seeds(test: u64) -> Vec<u64> {
    if let Ok(seed) = std::env::var("TARN_FAULT_SEED") {
        // Replaying one seed: only the first test function runs it.
        return if test == 0 {
            vec![seed.parse().expect("TARN_FAULT_SEED is a number")]
        } else {
            vec![]
        };
    }
    let per_test = std::env::var("TARN_FAULT_SEEDS")
        .ok()
        .and_then(|n| n.parse::<u64>().ok())
        .map_or(SEEDS_PER_TEST, |n| n.div_ceil(4));
    (test * per_test..(test + 1) * per_test).collect()
}

fn run_seeds(test: u64) {
    block_on(async {
        let mut totals = Totals::default();
        let mut failures = Vec::new();
        for seed in seeds(test) {
            if let Err(failure) = run_seed(seed, &mut totals).await {
                failures.push(format!(
                    "seed {seed} (replay: TARN_FAULT_SEED={seed} cargo nextest run -p \
                     integration-tests fault_injection): {failure}"
                ));
            }
        }
        println!("fault injection: {totals:?}");
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        if std::env::var("TARN_FAULT_SEED").is_err() {
            // The workload must exercise what it claims to.
            assert!(totals.faults > totals.seeds, "{totals:?}");
            assert!(totals.ambiguous_commits > 0, "{totals:?}");
            for kind in [
                "append",
                "delete",
                "optimize",
                "vacuum",
                "tier",
                "detach",
                "restore-archive",
            ] {
                assert!(
                    totals.succeeded_by_kind.get(kind).is_some_and(|n| *n > 0),
                    "no {kind} succeeded: {totals:?}"
                );
            }
            assert!(totals.failed_cleanly > 0, "{totals:?}");
            assert!(totals.succeeded > totals.operations / 3, "{totals:?}");
        }
    });
}

#[test]
fn faults_seeds_0() {
    run_seeds(0);
}

#[test]
fn faults_seeds_1() {
    run_seeds(1);
}

#[test]
fn faults_seeds_2() {
    run_seeds(2);
}

#[test]
fn faults_seeds_3() {
    run_seeds(3);
}
