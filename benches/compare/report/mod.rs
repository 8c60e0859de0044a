//! Turns child runs into the comparison a person reads: median time and worst peak RSS per
//! (variant, engine), tarn's ratios against every other engine, and a verdict against the
//! DESIGN.md target of the scenario. This module decides aggregation and presentation (the
//! shared table and the targets); each scenario's verdict and extra columns live in a submodule
//! of their own. It never runs anything.

mod commit;
mod concurrent;
mod optimize;
mod scan;
mod snapshot;
mod vacuum;
mod write;

use std::fmt::Write as _;

use serde::Serialize;

use crate::child::{
    ChildFailure, ChildReport, LatencyReport, OptimizeReport, ScanReport, VacuumReport, WriteReport,
};
use crate::engine::Engine;
use crate::error::BenchError;

pub(crate) use concurrent::ConcurrentRun;

/// The DESIGN.md target of a scenario.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// On `variant`, tarn is at least `speedup` times faster than deltalake and uses at most
    /// `memory_fraction` of its peak memory (opening snapshots, writing checkpoints).
    FasterAndSmaller {
        /// The variant the target is stated for.
        variant: &'static str,
        /// Least deltalake time / tarn time.
        speedup: f64,
        /// Most tarn peak RSS / deltalake peak RSS.
        memory_fraction: f64,
    },
    /// On every listed variant, tarn opens no more data files than hold matching rows, and is
    /// at least as fast as deltalake (selective scans).
    SelectiveScan {
        /// (variant, data files holding matching rows).
        needed_files: Vec<(&'static str, u64)>,
    },
    /// tarn writes at least `raw_speed` times as fast as raw Parquet and its peak memory is at
    /// most `memory_above_input_kib` above the input generator's alone (writes).
    Write {
        /// Least raw-parquet time / tarn time.
        raw_speed: f64,
        /// Most tarn peak RSS - input-only peak RSS, in KiB.
        memory_above_input_kib: u64,
    },
    /// On `variant` (input interleaving every partition), tarn is at least `speedup` times as
    /// fast as deltalake, writes at most `max_files_per_partition` files into any partition,
    /// and its peak memory is at most `memory_above_input_kib` above the input generator's.
    InterleavedWrite {
        /// The variant the target is stated for.
        variant: &'static str,
        /// Least deltalake time / tarn time.
        speedup: f64,
        /// Most files tarn writes into one partition.
        max_files_per_partition: u64,
        /// Most tarn peak RSS - input-only peak RSS, in KiB.
        memory_above_input_kib: u64,
    },
    /// tarn's median commit latency is at most `p50_ms` on every variant, and flat: the median
    /// of the last block of 100 commits is at most `flat_ratio` times the first block's.
    CommitLatency {
        /// Most median commit latency, in milliseconds.
        p50_ms: f64,
        /// Most last-block median / first-block median.
        flat_ratio: f64,
    },
    /// tarn compacts at least `speedup` times faster than deltalake, and its peak memory above
    /// its RSS before compacting stays within the memory budget it was given (optimize).
    Optimize {
        /// Least deltalake time / tarn time.
        speedup: f64,
        /// tarn's memory budget (`Optimize::with_memory_budget`), in KiB.
        memory_budget_kib: u64,
    },
    /// On `full_variant`, tarn vacuums at least `speedup` times faster than deltalake; in lite
    /// mode its time per deleted file on the large table (`lite_variants.0`) is at most
    /// `lite_flat_ratio` times the small table's (`lite_variants.1`).
    Vacuum {
        /// The full-mode variant the speed target is stated for.
        full_variant: String,
        /// Least deltalake time / tarn time.
        speedup: f64,
        /// (lite on the large table, lite on the small table).
        lite_variants: (String, String),
        /// Most (large-table time per deleted file) / (small-table time per deleted file).
        lite_flat_ratio: f64,
    },
    /// Several writer processes appending to one table at once: tarn's throughput (commits per
    /// second over the whole run) at least `speedup` times deltalake's, and none of tarn's
    /// writers giving up (concurrent-append).
    ConcurrentAppend {
        /// Least tarn commits/s / deltalake commits/s.
        speedup: f64,
    },
    /// DESIGN.md sets no target: the verdict states the ratios only.
    Informational,
}

/// The snapshot-load target: at least this many times faster than deltalake…
pub(crate) const SNAPSHOT_SPEEDUP: f64 = 3.0;
/// …using at most this fraction of its peak memory.
pub(crate) const SNAPSHOT_MEMORY_FRACTION: f64 = 1.0 / 3.0;

/// The checkpoint-write target ("write a checkpoint of 1M files"): at least this many times
/// faster than deltalake…
pub(crate) const CHECKPOINT_WRITE_SPEEDUP: f64 = 3.0;
/// …using at most this fraction of its peak memory.
pub(crate) const CHECKPOINT_WRITE_MEMORY_FRACTION: f64 = 0.25;

/// The selective-scan target: at least as fast as deltalake.
pub(crate) const SELECTIVE_SPEEDUP: f64 = 1.0;

/// The write target: at least this fraction of raw `ArrowWriter`'s speed…
pub(crate) const WRITE_RAW_SPEED: f64 = 0.9;
/// …with at most this much memory above the input's (256 MiB).
pub(crate) const WRITE_MEMORY_ABOVE_INPUT_KIB: u64 = 256 * 1024;

/// The interleaved-write target ("write 3M rows interleaved over 40 partitions"): at least
/// deltalake's speed…
pub(crate) const INTERLEAVED_WRITE_SPEEDUP: f64 = 1.0;
/// …at most this many files per partition…
pub(crate) const INTERLEAVED_MAX_FILES_PER_PARTITION: u64 = 2;
/// …and memory within the writer's budget (its default, 256 MiB) above the input's.
pub(crate) const INTERLEAVED_MEMORY_ABOVE_INPUT_KIB: u64 = 256 * 1024;

/// The commit-latency target: median commit at most this many milliseconds…
pub(crate) const COMMIT_P50_MS: f64 = 5.0;
/// …and flat: the harness reads "no growth with the number of versions" as the last block of
/// 100 commits having a median at most this many times the first block's.
pub(crate) const COMMIT_FLAT_RATIO: f64 = 1.25;

/// The optimize target ("optimize 500 small files"): at least this many times faster than
/// deltalake, with memory bounded (by tarn's budget, set per run).
pub(crate) const OPTIMIZE_SPEEDUP: f64 = 2.0;

/// The vacuum target ("vacuum 100k files"): at least this many times faster than deltalake.
pub(crate) const VACUUM_SPEEDUP: f64 = 3.0;
/// Lite vacuum's time "independent of the table's file count", read as: its time per deleted
/// file on a table ten times larger at most this many times the small table's.
pub(crate) const LITE_FLAT_RATIO: f64 = 1.25;

/// The concurrent-append target ("4 processes x 50 appends, local disk"): at least this many
/// times deltalake's throughput, with none of tarn's writers giving up.
pub(crate) const CONCURRENT_APPEND_SPEEDUP: f64 = 2.0;

/// All runs of one engine on one variant of a scenario.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Measurement {
    /// Table variant, e.g. `json-log` or `checkpoint`.
    pub(crate) variant: String,
    /// The engine measured.
    pub(crate) engine: Engine,
    /// Elapsed time of every successful run, in order, in milliseconds.
    pub(crate) runs_ms: Vec<f64>,
    /// Median of `runs_ms`.
    pub(crate) median_ms: Option<f64>,
    /// Largest peak RSS over the runs, in KiB.
    pub(crate) peak_rss_kib: Option<u64>,
    /// Largest pre-operation RSS over the runs (binary + runtime), in KiB.
    pub(crate) baseline_rss_kib: Option<u64>,
    /// Rows returned and data read, for scans (the last run's; every run is checked).
    pub(crate) scan: Option<ScanReport>,
    /// What a write left on disk (the last run's; every run is checked).
    pub(crate) write: Option<WriteReport>,
    /// Per-commit latency distribution of every run, for commit-latency.
    pub(crate) latencies: Vec<LatencyReport>,
    /// What a compaction left (the last run's; every run is checked).
    pub(crate) optimize: Option<OptimizeReport>,
    /// What a vacuum deleted and left (the last run's; every run is checked).
    pub(crate) vacuum: Option<VacuumReport>,
    /// Every run of several writers appending at once, combined, for concurrent-append.
    pub(crate) concurrent: Vec<ConcurrentRun>,
    /// Why a run failed, with the child's stderr; measuring stops at the first failure.
    pub(crate) failure: Option<String>,
}

impl Measurement {
    /// A measurement with no runs yet.
    pub(crate) fn new(variant: &str, engine: Engine) -> Self {
        Self {
            variant: variant.to_owned(),
            engine,
            runs_ms: Vec::new(),
            median_ms: None,
            peak_rss_kib: None,
            baseline_rss_kib: None,
            scan: None,
            write: None,
            latencies: Vec::new(),
            optimize: None,
            vacuum: None,
            concurrent: Vec::new(),
            failure: None,
        }
    }

    /// Folds in one child run.
    pub(crate) fn record(&mut self, run: Result<ChildReport, ChildFailure>) {
        match run {
            Ok(report) => {
                self.runs_ms.push(report.elapsed_ms);
                self.median_ms = median(&self.runs_ms);
                self.peak_rss_kib = self.peak_rss_kib.max(Some(report.peak_rss_kib));
                self.baseline_rss_kib = self.baseline_rss_kib.max(Some(report.baseline_rss_kib));
                self.scan = report.scan.or(self.scan);
                self.write = report.write.or(self.write);
                self.latencies.extend(report.latency);
                self.optimize = report.optimize.or(self.optimize);
                self.vacuum = report.vacuum.or(self.vacuum);
            }
            Err(failure) => self.fail(&failure),
        }
    }

    /// Folds in one run of several writers, combined (or why the run failed).
    pub(crate) fn record_concurrent(&mut self, run: Result<ConcurrentRun, ChildFailure>) {
        match run {
            Ok(run) => {
                self.runs_ms.push(run.elapsed_ms);
                self.median_ms = median(&self.runs_ms);
                self.peak_rss_kib = self.peak_rss_kib.max(Some(run.peak_rss_kib));
                self.baseline_rss_kib = self.baseline_rss_kib.max(Some(run.baseline_rss_kib));
                self.concurrent.push(run);
            }
            Err(failure) => self.fail(&failure),
        }
    }

    fn fail(&mut self, failure: &ChildFailure) {
        self.failure = Some(format!("{}\n{}", failure.status, failure.output));
    }
}

/// tarn against one other engine on one variant.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Ratio {
    /// Table variant.
    pub(crate) variant: String,
    /// The engine tarn is compared with.
    pub(crate) baseline: Engine,
    /// Baseline time / tarn time: above 1 means tarn is faster.
    pub(crate) speedup: f64,
    /// tarn peak RSS / baseline peak RSS: below 1 means tarn uses less.
    pub(crate) memory_fraction: f64,
}

/// The whole result of one scenario.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Report {
    /// Scenario name.
    pub(crate) scenario: &'static str,
    /// The scenario's parameters, as given on the command line.
    pub(crate) parameters: serde_json::Value,
    /// One entry per (variant, engine).
    pub(crate) measurements: Vec<Measurement>,
    /// One entry per (variant, other engine) where both tarn and the other engine completed.
    pub(crate) ratios: Vec<Ratio>,
    /// One line per variant the target covers: whether it is met.
    pub(crate) verdicts: Vec<String>,
}

impl Report {
    /// Computes ratios and the verdicts from the measurements.
    pub(crate) fn new(
        scenario: &'static str,
        parameters: serde_json::Value,
        measurements: Vec<Measurement>,
        target: &Target,
    ) -> Self {
        let mut variants: Vec<&str> = Vec::new();
        for m in &measurements {
            if !variants.contains(&m.variant.as_str()) {
                variants.push(&m.variant);
            }
        }
        let ratios: Vec<Ratio> = variants
            .iter()
            .flat_map(|variant| {
                measurements
                    .iter()
                    // input-only is a reference for the others, not a competitor.
                    .filter(move |m| {
                        m.variant == *variant
                            && m.engine != Engine::Tarn
                            && m.engine != Engine::InputOnly
                    })
                    .filter_map(|m| ratio(&measurements, &m.variant, m.engine))
            })
            .collect();
        let verdicts = verdicts(scenario, &variants, &measurements, &ratios, target);
        Self {
            scenario,
            parameters,
            measurements,
            ratios,
            verdicts,
        }
    }

    /// The report as pretty JSON.
    pub(crate) fn to_json(&self) -> Result<String, BenchError> {
        serde_json::to_string_pretty(self).map_err(|source| BenchError::Serialize {
            what: "report",
            source,
        })
    }

    /// The report as an aligned text table, failures and verdicts below it.
    pub(crate) fn to_table(&self) -> String {
        let scans = self.measurements.iter().any(|m| m.scan.is_some());
        let mut header = vec![
            "scenario",
            "variant",
            "engine",
            "time (median)",
            "peak RSS",
            "base RSS",
            "runs (ms)",
        ];
        let writes = self.measurements.iter().any(|m| m.write.is_some());
        let commits = self.measurements.iter().any(|m| !m.latencies.is_empty());
        let compactions = self.measurements.iter().any(|m| m.optimize.is_some());
        let vacuums = self.measurements.iter().any(|m| m.vacuum.is_some());
        let concurrent = self.measurements.iter().any(|m| !m.concurrent.is_empty());
        if scans {
            header.extend(["rows", "files read", "row groups", "rows decoded"]);
        }
        if writes {
            header.extend(["rows", "rows/s", "files", "written"]);
        }
        if commits {
            header.extend([
                "commit p50",
                "p99",
                "max",
                "first 50 mean",
                "last 50 mean",
                "p50 per 100 commits",
                "checkpoints",
            ]);
        }
        if compactions {
            header.extend(["rows", "files", "files/partition", "bytes", "commits"]);
        }
        if vacuums {
            header.extend(["files", "deleted", "commits"]);
        }
        if concurrent {
            header.extend(["writers", "commits", "commits/s", "gave up", "retries"]);
        }
        header.extend(["time this/tarn", "mem tarn/this"]);
        let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
        for m in &self.measurements {
            let ratio = self
                .ratios
                .iter()
                .find(|r| r.variant == m.variant && r.baseline == m.engine);
            let mut row = vec![
                self.scenario.to_owned(),
                m.variant.clone(),
                m.engine.to_string(),
                m.median_ms
                    .map_or_else(|| "failed".to_owned(), |ms| format!("{ms:.1} ms")),
                m.peak_rss_kib.map_or_else(|| "-".to_owned(), mib),
                m.baseline_rss_kib.map_or_else(|| "-".to_owned(), mib),
                runs(&m.runs_ms),
            ];
            if scans {
                row.extend(scan::scan_cells(m));
            }
            if writes {
                row.extend(write::write_cells(m));
            }
            if commits {
                row.extend(commit::latency_cells(&m.latencies));
            }
            if compactions {
                row.extend(optimize::optimize_cells(m));
            }
            if vacuums {
                row.extend(vacuum::vacuum_cells(m));
            }
            if concurrent {
                row.extend(concurrent::concurrent_cells(m));
            }
            row.push(ratio.map_or_else(|| "-".to_owned(), |r| format!("{:.2}x", r.speedup)));
            row.push(
                ratio.map_or_else(|| "-".to_owned(), |r| format!("{:.2}x", r.memory_fraction)),
            );
            rows.push(row);
        }
        let mut widths = vec![0_usize; header.len()];
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in &rows {
            let mut line = String::new();
            for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
                let width = *width;
                // Text columns left-aligned, numbers right-aligned.
                if i < 3 {
                    let _ = write!(line, "{cell:<width$}  ");
                } else {
                    let _ = write!(line, "{cell:>width$}  ");
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out.push_str(
            "(time: median over runs; peak RSS: max VmHWM over runs; base RSS: VmHWM before the \
             operation, i.e. binary + runtime; time this/tarn above 1 and mem tarn/this below 1 \
             favour tarn)\n",
        );
        if concurrent {
            out.push_str(
                "(writers at once: time from the first writer's first append to the last \
                 writer's end; peak RSS: the largest of any one writer process; commits: fewest \
                 (-most) in a run / asked; commits/s: median over runs; gave up: most writers in \
                 one run; retries: commit attempts beyond the first over all writers, median over \
                 runs, where the engine tells them)\n",
            );
        }
        for m in &self.measurements {
            if let Some(failure) = &m.failure {
                let _ = writeln!(
                    out,
                    "\n{} / {} failed: {}",
                    m.variant,
                    m.engine,
                    failure.trim_end()
                );
            }
        }
        let give_ups: String = self
            .measurements
            .iter()
            .map(concurrent::give_up_notes)
            .collect();
        if !give_ups.is_empty() {
            out.push('\n');
            out.push_str(&give_ups);
        }
        out.push('\n');
        for verdict in &self.verdicts {
            let _ = writeln!(out, "verdict: {verdict}");
        }
        out
    }
}

fn find<'a>(
    measurements: &'a [Measurement],
    variant: &str,
    engine: Engine,
) -> Option<&'a Measurement> {
    measurements
        .iter()
        .find(|m| m.variant == variant && m.engine == engine)
}

fn ratio(measurements: &[Measurement], variant: &str, baseline: Engine) -> Option<Ratio> {
    let tarn = find(measurements, variant, Engine::Tarn)?;
    let other = find(measurements, variant, baseline)?;
    // A variant with a failed run is not compared: its numbers would cover fewer runs.
    if tarn.failure.is_some() || other.failure.is_some() {
        return None;
    }
    let speedup = other.median_ms? / tarn.median_ms?;
    let memory_fraction = as_f64(tarn.peak_rss_kib?) / as_f64(other.peak_rss_kib?);
    Some(Ratio {
        variant: variant.to_owned(),
        baseline,
        speedup,
        memory_fraction,
    })
}

/// Why a variant has no ratio against `baseline`.
fn not_measured(measurements: &[Measurement], variant: &str, engines: &[Engine]) -> String {
    let failed: Vec<String> = engines
        .iter()
        .filter(|&&engine| find(measurements, variant, engine).is_none_or(|m| m.failure.is_some()))
        .map(|engine| match find(measurements, variant, *engine) {
            Some(_) => format!("{engine} failed"),
            None => format!("{engine} not run"),
        })
        .collect();
    if failed.is_empty() {
        "no runs".to_owned()
    } else {
        failed.join(", ")
    }
}

fn get<'a>(ratios: &'a [Ratio], variant: &str, baseline: Engine) -> Option<&'a Ratio> {
    ratios
        .iter()
        .find(|r| r.variant == variant && r.baseline == baseline)
}

fn verdicts(
    scenario: &str,
    variants: &[&str],
    measurements: &[Measurement],
    ratios: &[Ratio],
    target: &Target,
) -> Vec<String> {
    match target {
        Target::FasterAndSmaller {
            variant,
            speedup,
            memory_fraction,
        } => vec![snapshot::faster_and_smaller_verdict(
            scenario,
            variant,
            *speedup,
            *memory_fraction,
            measurements,
            ratios,
        )],
        Target::SelectiveScan { needed_files } => needed_files
            .iter()
            .map(|(variant, needed)| {
                scan::selective_verdict(scenario, variant, *needed, measurements, ratios)
            })
            .collect(),
        Target::Write {
            raw_speed,
            memory_above_input_kib,
        } => variants
            .iter()
            .map(|variant| {
                write::write_verdict(
                    scenario,
                    variant,
                    *raw_speed,
                    *memory_above_input_kib,
                    measurements,
                    ratios,
                )
            })
            .collect(),
        Target::InterleavedWrite {
            variant,
            speedup,
            max_files_per_partition,
            memory_above_input_kib,
        } => vec![write::interleaved_verdict(
            scenario,
            variant,
            (*speedup, *max_files_per_partition, *memory_above_input_kib),
            measurements,
            ratios,
        )],
        Target::CommitLatency { p50_ms, flat_ratio } => variants
            .iter()
            .map(|variant| {
                commit::commit_verdict(scenario, variant, *p50_ms, *flat_ratio, measurements)
            })
            .collect(),
        Target::Optimize {
            speedup,
            memory_budget_kib,
        } => variants
            .iter()
            .map(|variant| {
                optimize::optimize_verdict(
                    scenario,
                    variant,
                    *speedup,
                    *memory_budget_kib,
                    measurements,
                    ratios,
                )
            })
            .collect(),
        Target::Vacuum {
            full_variant,
            speedup,
            lite_variants,
            lite_flat_ratio,
        } => {
            let mut lines = Vec::new();
            if variants.contains(&full_variant.as_str()) {
                lines.push(vacuum::full_verdict(
                    scenario,
                    full_variant,
                    *speedup,
                    measurements,
                    ratios,
                ));
            }
            for lite in [&lite_variants.0, &lite_variants.1] {
                if variants.contains(&lite.as_str()) {
                    lines.push(vacuum::lite_ratio_verdict(scenario, lite, ratios));
                }
            }
            if variants.contains(&lite_variants.0.as_str())
                || variants.contains(&lite_variants.1.as_str())
            {
                lines.push(vacuum::lite_growth_verdict(
                    scenario,
                    (lite_variants.0.as_str(), lite_variants.1.as_str()),
                    *lite_flat_ratio,
                    measurements,
                ));
            }
            lines
        }
        Target::ConcurrentAppend { speedup } => variants
            .iter()
            .map(|variant| {
                concurrent::concurrent_verdict(scenario, variant, *speedup, measurements)
            })
            .collect(),
        Target::Informational => variants
            .iter()
            .map(|variant| scan::informational_verdict(scenario, variant, ratios))
            .collect(),
    }
}

fn overall(ok: bool) -> &'static str {
    if ok { "TARGET MET" } else { "TARGET MISSED" }
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "missed" }
}

fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", as_f64(kib) / 1024.0)
}

fn runs(values: &[f64]) -> String {
    if values.is_empty() {
        return "-".to_owned();
    }
    values
        .iter()
        .map(|ms| format!("{ms:.0}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn as_f64(kib: u64) -> f64 {
    // RSS in KiB stays far below 2^53.
    kib as f64
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A successful child report with no scenario-specific part.
    pub(crate) fn report(engine: Engine, elapsed_ms: f64, peak_rss_kib: u64) -> ChildReport {
        ChildReport {
            engine: engine.name().to_owned(),
            elapsed_ms,
            peak_rss_kib,
            baseline_rss_kib: 1_000,
            version: 1,
            num_files: 1,
            scan: None,
            write: None,
            latency: None,
            optimize: None,
            vacuum: None,
            concurrent: None,
        }
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }
}
