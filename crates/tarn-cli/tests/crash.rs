//! Crash tests: a child `tarn` process killed with SIGKILL at random points while it writes,
//! deletes, updates, compacts, checkpoints, vacuums, cleans up the log or tiers files to an
//! archive directory. After every kill
//! the table opens, holds the whole operation or none of it (a model kept beside it says
//! which rows), and every file its latest version needs is there; a killed write run again
//! with the same `--txn` lands exactly once. At the end, a vacuum (as if two hours later, so
//! that the files a killed process left are old enough) leaves no file the log does not
//! name, and the check finds the table healthy.
//!
//! Kill points are drawn from a seed per test function; a failure names the seed, the
//! attempt and the command, and `TARN_CRASH_SEED=N` replays one seed.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use futures::TryStreamExt;
use tarn::Table;
use tarn_maintenance::check::Check;
use tarn_maintenance::vacuum::Vacuum;

/// Attempts per test function; a kill that lands after the command finished does not count
/// as a kill point. Four functions together make well over 200 kill points.
const ATTEMPTS: u64 = 90;
const GROUPS: [&str; 3] = ["a", "b", "c"];

type Model = BTreeMap<i64, (String, i64)>;

/// SplitMix64.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

#[derive(Debug, Clone)]
enum Op {
    Write {
        rows: Vec<(i64, &'static str, i64)>,
        txn: String,
    },
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
    /// Tier group `a` to the archive directory beside the table.
    Archive,
}

impl Op {
    fn draw(rng: &mut Rng, next_id: &mut i64, attempt: u64) -> Op {
        match rng.below(100) {
            0..=39 => {
                let n = 200 + rng.below(4000) as i64;
                let rows = (0..n)
                    .map(|_| {
                        let id = *next_id;
                        *next_id += 1;
                        (id, GROUPS[rng.below(3) as usize], rng.below(1000) as i64)
                    })
                    .collect();
                Op::Write {
                    rows,
                    txn: format!("crash:{attempt}"),
                }
            }
            40..=51 => Op::Delete {
                modulus: 3 + rng.below(6) as i64,
                remainder: rng.below(3) as i64,
            },
            52..=63 => Op::Update {
                group: GROUPS[rng.below(3) as usize],
            },
            64..=77 => Op::Optimize,
            78..=85 => Op::Checkpoint,
            86..=91 => Op::Vacuum,
            92..=95 => Op::Archive,
            _ => Op::CleanupLog,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Op::Write { .. } => "write",
            Op::Delete { .. } => "delete",
            Op::Update { .. } => "update",
            Op::Optimize => "optimize",
            Op::Checkpoint => "checkpoint",
            Op::Vacuum => "vacuum",
            Op::CleanupLog => "cleanup-log",
            Op::Archive => "archive",
        }
    }

    fn args(&self, table: &str, input: &str) -> Vec<String> {
        let own = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>();
        match self {
            Op::Write { txn, .. } => {
                own(&["write", table, input, "--partition-by", "grp", "--txn", txn])
            }
            Op::Delete { modulus, remainder } => own(&[
                "delete",
                table,
                "--where",
                &format!("id % {modulus} = {remainder}"),
            ]),
            Op::Update { group } => own(&[
                "update",
                table,
                "--set",
                "v = v + 1",
                "--where",
                &format!("grp = '{group}'"),
            ]),
            Op::Optimize => own(&["optimize", table, "--target-size", "64KiB"]),
            Op::Checkpoint => own(&["checkpoint", table]),
            Op::Vacuum => own(&["vacuum", table, "--retain", "0h", "--force"]),
            Op::CleanupLog => own(&["cleanup-log", table]),
            Op::Archive => own(&[
                "archive",
                table,
                "--to",
                &format!("{table}-cold"),
                "--where",
                "grp = 'a'",
            ]),
        }
    }

    fn apply(&self, model: &Model) -> Model {
        let mut after = model.clone();
        match self {
            Op::Write { rows, .. } => {
                for (id, group, value) in rows {
                    after.insert(*id, ((*group).to_owned(), *value));
                }
            }
            Op::Delete { modulus, remainder } => after.retain(|id, _| id % modulus != *remainder),
            Op::Update { group } => {
                for (g, v) in after.values_mut() {
                    if g == group {
                        *v += 1;
                    }
                }
            }
            _ => {}
        }
        after
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn read(table: &str) -> Result<Model, String> {
    let table = Table::open(table).await.map_err(|e| e.to_string())?;
    let snapshot = table.snapshot().await.map_err(|e| format!("open: {e}"))?;
    let batches: Vec<_> = snapshot
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
        let schema = batch.schema();
        let column = |name: &str| batch.column(schema.index_of(name).unwrap());
        let ids = column("id").as_primitive::<Int64Type>().clone();
        let groups = column("grp").as_string::<i32>().clone();
        let values = column("v").as_primitive::<Int64Type>().clone();
        for i in 0..batch.num_rows() {
            if rows
                .insert(ids.value(i), (groups.value(i).to_owned(), values.value(i)))
                .is_some()
            {
                return Err(format!("row id {} appears twice", ids.value(i)));
            }
        }
    }
    Ok(rows)
}

async fn healthy(table: &str, orphans: bool) -> Result<(), String> {
    let table = Table::open(table).await.map_err(|e| e.to_string())?;
    let report = Check::new(table)
        .with_orphans(orphans)
        .execute()
        .await
        .map_err(|e| e.to_string())?;
    if !report.is_healthy() {
        return Err(format!("unhealthy: {:?}", report.problems));
    }
    if let Some(found) = report.orphans.filter(|o| o.files > 0) {
        return Err(format!("orphans left: {found:?}"));
    }
    Ok(())
}

fn write_csv(path: &Path, rows: &[(i64, &str, i64)]) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "id,grp,v").unwrap();
    for (id, group, value) in rows {
        writeln!(out, "{id},{group},{value}").unwrap();
    }
    out.flush().unwrap();
}

fn tarn(args: &[String]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tarn"))
        .args(args)
        .output()
        .unwrap()
}

#[derive(Debug, Default)]
struct Totals {
    attempts: u64,
    kills: u64,
    finished_first: u64,
    kills_that_landed: u64,
    reruns: u64,
    kills_by_kind: BTreeMap<&'static str, u64>,
}

fn run_seed(seed: u64) -> Result<Totals, String> {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t");
    let table = table.to_str().unwrap().to_owned();
    let input = dir.path().join("in.csv");
    let input = input.to_str().unwrap().to_owned();
    let rt = runtime();
    let mut rng = Rng(seed.wrapping_mul(0x2545_F491_4F6C_DD1D));
    let mut model = Model::new();
    let mut next_id;
    // A first write, to completion.
    let first = Op::Write {
        rows: (0..500)
            .map(|id| (id, GROUPS[(id % 3) as usize], id % 7))
            .collect(),
        txn: "init:0".to_owned(),
    };
    next_id = 500;
    if let Op::Write { rows, .. } = &first {
        write_csv(Path::new(&input), rows);
    }
    let created = tarn(&first.args(&table, &input));
    assert!(created.status.success(), "{created:?}");
    model = first.apply(&model);
    let mut totals = Totals::default();
    // How long each kind of command last took when it ran to the end: kill points are drawn
    // inside that span, so that they land while the command works.
    let mut took: BTreeMap<&'static str, Duration> = BTreeMap::new();
    for attempt in 0..ATTEMPTS {
        let op = Op::draw(&mut rng, &mut next_id, attempt);
        if let Op::Write { rows, .. } = &op {
            write_csv(Path::new(&input), rows);
        }
        let after = op.apply(&model);
        let args = op.args(&table, &input);
        let span = took
            .get(op.kind())
            .copied()
            .unwrap_or(Duration::from_millis(40));
        // Half anywhere in the run, half around its end, where it commits.
        let span = span.as_micros().max(10) as u64;
        let delay = Duration::from_micros(if rng.below(2) == 0 {
            rng.below(span)
        } else {
            span * 8 / 10 + rng.below(span * 4 / 10)
        });
        let mut child = Command::new(env!("CARGO_BIN_EXE_tarn"))
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while started.elapsed() < delay {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        let killed = child.try_wait().unwrap().is_none();
        if killed {
            child.kill().unwrap();
        }
        let status = child.wait().unwrap();
        totals.attempts += 1;
        let was_killed = killed && status.signal() == Some(9);
        if was_killed {
            totals.kills += 1;
            *totals.kills_by_kind.entry(op.kind()).or_default() += 1;
        } else {
            totals.finished_first += 1;
            took.insert(op.kind(), started.elapsed());
        }
        let context = |what: String| {
            format!(
                "seed {seed}, attempt {attempt}, tarn {} (killed: {was_killed}): {what}",
                args.join(" ")
            )
        };
        let found = rt.block_on(read(&table)).map_err(&context)?;
        let data_change = matches!(op, Op::Write { .. } | Op::Delete { .. } | Op::Update { .. });
        if found == after {
            if was_killed && data_change && after != model {
                totals.kills_that_landed += 1;
            }
            model = after.clone();
        } else if found != model {
            return Err(context(format!(
                "the table holds {} rows: neither the {} before nor the {} after",
                found.len(),
                model.len(),
                after.len()
            )));
        } else if !was_killed && data_change && after != model {
            return Err(context(
                "a command that finished changed nothing".to_owned(),
            ));
        }
        rt.block_on(healthy(&table, false)).map_err(&context)?;
        // A killed write, run again with the same transaction id, lands exactly once.
        if was_killed && matches!(op, Op::Write { .. }) {
            let rerun = tarn(&args);
            if !rerun.status.success() {
                return Err(context(format!("the re-run failed: {rerun:?}")));
            }
            totals.reruns += 1;
            let found = rt.block_on(read(&table)).map_err(&context)?;
            if found != after {
                return Err(context(format!(
                    "after the re-run the table holds {} rows, expected {}",
                    found.len(),
                    after.len()
                )));
            }
            model = after;
        }
    }
    // What killed processes left behind is old enough for a vacuum two hours from now.
    rt.block_on(async {
        let handle = Table::open(&table).await.unwrap();
        Vacuum::new(handle)
            .with_retention_ms(0)
            .with_force(true)
            .with_now_ms(chrono::Utc::now().timestamp_millis() + 2 * 3600 * 1000)
            .execute()
            .await
            .map_err(|e| format!("seed {seed}: final vacuum: {e}"))
    })?;
    rt.block_on(healthy(&table, true))
        .map_err(|e| format!("seed {seed}: after the final vacuum: {e}"))?;
    let found = rt.block_on(read(&table))?;
    if found != model {
        return Err(format!("seed {seed}: the final vacuum changed the rows"));
    }
    Ok(totals)
}

fn run(test: u64) {
    let seeds: Vec<u64> = match std::env::var("TARN_CRASH_SEED") {
        Ok(seed) if test == 0 => vec![seed.parse().unwrap()],
        Ok(_) => vec![],
        Err(_) => vec![1000 + test],
    };
    for seed in seeds {
        match run_seed(seed) {
            Ok(totals) => {
                println!("crash seed {seed}: {totals:?}");
                assert!(
                    totals.kills >= ATTEMPTS / 2,
                    "too few kills landed: {totals:?}"
                );
            }
            Err(failure) => panic!(
                "{failure}\nreplay: TARN_CRASH_SEED={seed} cargo nextest run -p tarn-cli --test crash"
            ),
        }
    }
}

#[test]
fn kills_0() {
    run(0);
}

#[test]
fn kills_1() {
    run(1);
}

#[test]
fn kills_2() {
    run(2);
}

#[test]
fn kills_3() {
    run(3);
}
