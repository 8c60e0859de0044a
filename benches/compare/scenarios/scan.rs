//! `scan-full` and `scan-selective`: read a generated, partitioned table of real Parquet files.
//!
//! - `scan-full`, variant `all`: every row, every column; the child counts the rows and sums
//!   `amount`, and both are checked against the generator's manifest. DESIGN.md sets no target.
//! - `scan-selective`, variants `partition` (`day = <the middle day>`) and `id-range`
//!   (`id BETWEEN a AND b`, 1% of the rows, on the globally sorted `id`): every column of the
//!   matching rows; the child checks the row count (and the `amount` sum of the partition, the
//!   first and last `id` of the range) against the manifest. DESIGN.md target: tarn reads only
//!   the files that hold matching rows, and is at least as fast as deltalake.
//!
//! The timed region is the whole read as a user would do it: open the table (or the manifest,
//! for raw parquet), plan, and drain the stream. The table is written once per invocation (or
//! reused from `--work-dir`) and read warm from the page cache by every engine alike.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::child::{self, ChildReport, ScanReport, peak_rss_kib};
use crate::engine::Engine;
use crate::error::{BenchError, io_error};
use crate::gen_data::{self, DataSpec, Manifest};
use crate::report::{Measurement, Report, Target};
use crate::scan_engine::{self, Selection};

/// Which of the two scan scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScanScenario {
    /// `scan-full`.
    Full,
    /// `scan-selective`.
    Selective,
}

impl ScanScenario {
    fn name(self) -> &'static str {
        match self {
            ScanScenario::Full => "scan-full",
            ScanScenario::Selective => "scan-selective",
        }
    }
}

/// `compare scan-full` and `compare scan-selective`.
#[derive(Debug, clap::Args)]
pub(crate) struct ScanArgs {
    /// Rows in the generated table.
    #[arg(long, default_value_t = 10_000_000)]
    rows: u64,
    /// Partition days.
    #[arg(long, default_value_t = 10)]
    days: u64,
    /// Most rows per data file.
    #[arg(long, default_value_t = DataSpec::DEFAULT_ROWS_PER_FILE)]
    rows_per_file: u64,
    /// Most rows per Parquet row group.
    #[arg(long, default_value_t = DataSpec::DEFAULT_ROW_GROUP_ROWS)]
    row_group_rows: u64,
    /// Child runs per engine and variant; the report shows the median time and the max RSS.
    #[arg(long, default_value_t = 3)]
    runs: u32,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Seed of the data generator.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Only these engines (repeatable); tarn, deltalake and raw-parquet by default.
    #[arg(long = "engine", value_enum)]
    engines: Vec<Engine>,
    /// Keep the table in DIR/scan-<rows>r-<days>d-s<seed> and reuse it when it is already there
    /// with the same parameters, instead of generating it in a temporary directory.
    #[arg(long)]
    work_dir: Option<PathBuf>,
}

/// `compare child scan ENGINE DIR --selection S --expect-rows N`: the measured side.
#[derive(Debug, clap::Args)]
pub(crate) struct ScanChild {
    /// Engine to run.
    #[arg(value_enum)]
    engine: Engine,
    /// Table directory.
    dir: PathBuf,
    /// Rows to return: `all`, `day=YYYY-MM-DD` or `id=FROM..TO`.
    #[arg(long)]
    selection: Selection,
    /// Rows the scan must return.
    #[arg(long)]
    expect_rows: u64,
    /// Sum of `amount` over the returned rows, when known.
    #[arg(long)]
    expect_amount_sum: Option<f64>,
}

/// One variant: what to select and the ground truth.
struct Variant {
    name: &'static str,
    selection: Selection,
    rows: u64,
    amount_sum: Option<f64>,
    files_needed: u64,
}

fn variants(scenario: ScanScenario, manifest: &Manifest) -> Result<Vec<Variant>, BenchError> {
    Ok(match scenario {
        ScanScenario::Full => vec![Variant {
            name: "all",
            selection: Selection::All,
            rows: manifest.rows,
            amount_sum: Some(manifest.amount_sum),
            files_needed: count(manifest.files.len()),
        }],
        ScanScenario::Selective => {
            let day = gen_data::partition_day(manifest.days / 2)?;
            let day_files: Vec<_> = manifest.files_of_day(&day).collect();
            let rows = i64::try_from(manifest.rows).unwrap_or(i64::MAX);
            let from = rows * 37 / 100;
            let to = from + (rows / 100).max(1) - 1;
            vec![
                Variant {
                    name: "partition",
                    rows: day_files.iter().map(|f| f.rows).sum(),
                    amount_sum: Some(day_files.iter().map(|f| f.amount_sum).sum()),
                    files_needed: count(day_files.len()),
                    selection: Selection::Day(day),
                },
                Variant {
                    name: "id-range",
                    selection: Selection::IdRange { from, to },
                    rows: u64::try_from(to - from + 1).unwrap_or(0),
                    amount_sum: None,
                    files_needed: count(manifest.files_with_ids(from, to).count()),
                },
            ]
        }
    })
}

/// Generates (or reuses) the table, measures every engine on each variant, prints the report.
pub(crate) fn run(scenario: ScanScenario, args: &ScanArgs) -> Result<(), BenchError> {
    let name = scenario.name();
    let engines = if args.engines.is_empty() {
        Engine::SCAN.to_vec()
    } else {
        args.engines.clone()
    };
    if let Some(engine) = engines.iter().find(|e| !Engine::SCAN.contains(*e)) {
        return Err(BenchError::InvalidArgument {
            name: "--engine",
            value: engine.name().to_owned(),
            reason: "the scans compare tarn, deltalake and raw-parquet",
        });
    }
    let spec = DataSpec {
        rows: args.rows,
        days: args.days,
        seed: args.seed,
        rows_per_file: args.rows_per_file,
        row_group_rows: args.row_group_rows,
        commit_per_file: false,
    };
    let temp;
    let dir = match &args.work_dir {
        Some(root) => root.join(format!("scan-{}r-{}d-s{}", spec.rows, spec.days, spec.seed)),
        None => {
            temp = tempfile::tempdir().map_err(io_error("temporary directory"))?;
            temp.path().join("table")
        }
    };
    let manifest = gen_data::prepare(name, &dir, &spec)?;
    let table_bytes: u64 = manifest.files.iter().map(|f| f.size).sum();

    let variants = variants(scenario, &manifest)?;
    let mut measurements = Vec::new();
    for variant in &variants {
        let mut per_engine: Vec<Measurement> = engines
            .iter()
            .map(|&engine| Measurement::new(variant.name, engine))
            .collect();
        // Engines alternate within each round so drift in the machine's state hits all alike.
        for round in 1..=args.runs {
            for m in per_engine.iter_mut().filter(|m| m.failure.is_none()) {
                eprintln!(
                    "[{name}] {} ({}) / {} run {round}/{}",
                    variant.name, variant.selection, m.engine, args.runs
                );
                let result = child::run(m.engine, &child_args(m.engine, &dir, variant))?;
                m.record(result);
            }
        }
        measurements.extend(per_engine);
    }

    let parameters = serde_json::json!({
        "rows": args.rows,
        "days": args.days,
        "rows_per_file": args.rows_per_file,
        "row_group_rows": args.row_group_rows,
        "seed": args.seed,
        "runs": args.runs,
        "table": dir.display().to_string(),
        "data_files": manifest.files.len(),
        "data_bytes": table_bytes,
        "variants": variants.iter().map(|v| serde_json::json!({
            "variant": v.name,
            "selection": v.selection.to_string(),
            "filter": v.selection.sql(),
            "expected_rows": v.rows,
            "files_needed": v.files_needed,
        })).collect::<Vec<_>>(),
    });
    let target = match scenario {
        ScanScenario::Full => Target::Informational,
        ScanScenario::Selective => Target::SelectiveScan {
            needed_files: variants.iter().map(|v| (v.name, v.files_needed)).collect(),
        },
    };
    let report = Report::new(name, parameters, measurements, &target);
    if args.json {
        println!("{}", report.to_json()?);
    } else {
        println!(
            "{name}: {} rows over {} days in {} files ({:.1} MiB of Parquet) at {}",
            manifest.rows,
            manifest.days,
            manifest.files.len(),
            table_bytes as f64 / (1024.0 * 1024.0),
            dir.display()
        );
        for v in &variants {
            println!(
                "  {}: {} -> {} rows expected, {} data file(s) hold them",
                v.name,
                v.selection.sql().unwrap_or_else(|| "no filter".to_owned()),
                v.rows,
                v.files_needed
            );
        }
        print!("{}", report.to_table());
    }
    Ok(())
}

fn child_args(engine: Engine, dir: &Path, variant: &Variant) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        "scan".into(),
        engine.name().into(),
        dir.into(),
        "--selection".into(),
        variant.selection.to_string().into(),
        "--expect-rows".into(),
        variant.rows.to_string().into(),
    ];
    if let Some(sum) = variant.amount_sum {
        // `{:?}` prints the shortest text that reads back as the same f64.
        args.push("--expect-amount-sum".into());
        args.push(format!("{sum:?}").into());
    }
    args
}

/// The child: start the runtime, time the scan, check its rows, report.
pub(crate) fn child(args: &ScanChild) -> Result<(), BenchError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(BenchError::Runtime)?;
    let baseline_rss_kib = peak_rss_kib()?;
    let (outcome, elapsed) = runtime.block_on(async {
        let started = Instant::now();
        let outcome = scan_engine::scan(args.engine, &args.dir, &args.selection).await?;
        Ok::<_, BenchError>((outcome, started.elapsed()))
    })?;
    check(args, &outcome.tally)?;
    let report = ChildReport {
        engine: args.engine.name().to_owned(),
        elapsed_ms: elapsed.as_secs_f64() * 1_000.0,
        peak_rss_kib: peak_rss_kib()?,
        baseline_rss_kib,
        version: 0,
        num_files: 0,
        scan: Some(ScanReport {
            rows: outcome.tally.rows,
            read: outcome.read,
        }),
        write: None,
        latency: None,
        optimize: None,
        vacuum: None,
        concurrent: None,
    };
    report.emit()
}

/// Compares what the scan returned with the ground truth the parent passed down.
fn check(args: &ScanChild, tally: &scan_engine::Tally) -> Result<(), BenchError> {
    let wrong = |what, expected: String, actual: String| BenchError::WrongScan {
        engine: args.engine,
        selection: args.selection.to_string(),
        what,
        expected,
        actual,
    };
    if tally.rows != args.expect_rows {
        return Err(wrong(
            "rows",
            args.expect_rows.to_string(),
            tally.rows.to_string(),
        ));
    }
    if let Some(expected) = args.expect_amount_sum {
        // Engines add in different orders; the sums agree to far better than this.
        let tolerance = 1e-9 * expected.abs().max(1.0);
        if (tally.amount_sum - expected).abs() > tolerance {
            return Err(wrong(
                "amount sum",
                expected.to_string(),
                tally.amount_sum.to_string(),
            ));
        }
    }
    if let Selection::IdRange { from, to } = args.selection {
        for (what, expected, actual) in
            [("min id", from, tally.id_min), ("max id", to, tally.id_max)]
        {
            if actual != Some(expected) {
                return Err(wrong(what, expected.to_string(), format!("{actual:?}")));
            }
        }
    }
    Ok(())
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}
