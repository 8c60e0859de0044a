//! Turns child runs into the comparison a person reads: median time and worst peak RSS per
//! (variant, engine), tarn's ratios against every other engine, and a verdict against the
//! DESIGN.md target of the scenario. This module decides aggregation and presentation; it never
//! runs anything.

use std::fmt::Write as _;

use serde::Serialize;

use crate::child::{ChildFailure, ChildReport, LatencyReport, ScanReport, WriteReport};
use crate::engine::Engine;
use crate::error::BenchError;

/// The DESIGN.md target of a scenario.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// On `variant`, tarn is at least `speedup` times faster than deltalake and uses at most
    /// `memory_fraction` of its peak memory (opening snapshots).
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
    /// tarn's median commit latency is at most `p50_ms` on every variant, and flat: the median
    /// of the last block of 100 commits is at most `flat_ratio` times the first block's.
    CommitLatency {
        /// Most median commit latency, in milliseconds.
        p50_ms: f64,
        /// Most last-block median / first-block median.
        flat_ratio: f64,
    },
    /// DESIGN.md sets no target: the verdict states the ratios only.
    Informational,
}

/// The snapshot-load target: at least this many times faster than deltalake…
pub(crate) const SNAPSHOT_SPEEDUP: f64 = 3.0;
/// …using at most this fraction of its peak memory.
pub(crate) const SNAPSHOT_MEMORY_FRACTION: f64 = 1.0 / 3.0;

/// The selective-scan target: at least as fast as deltalake.
pub(crate) const SELECTIVE_SPEEDUP: f64 = 1.0;

/// The write target: at least this fraction of raw `ArrowWriter`'s speed…
pub(crate) const WRITE_RAW_SPEED: f64 = 0.9;
/// …with at most this much memory above the input's (256 MiB).
pub(crate) const WRITE_MEMORY_ABOVE_INPUT_KIB: u64 = 256 * 1024;

/// The commit-latency target: median commit at most this many milliseconds…
pub(crate) const COMMIT_P50_MS: f64 = 5.0;
/// …and flat: the harness reads "no growth with the number of versions" as the last block of
/// 100 commits having a median at most this many times the first block's.
pub(crate) const COMMIT_FLAT_RATIO: f64 = 1.25;

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
            }
            Err(failure) => {
                self.failure = Some(format!("{}\n{}", failure.status, failure.output));
            }
        }
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
                let scan = m.scan.unwrap_or_default();
                let known = m.scan.is_some();
                row.push(if known {
                    scan.rows.to_string()
                } else {
                    "-".to_owned()
                });
                for value in [
                    scan.read.files,
                    scan.read.row_groups,
                    scan.read.rows_decoded,
                ] {
                    row.push(value.map_or_else(|| "-".to_owned(), |v| v.to_string()));
                }
            }
            if writes {
                row.extend(write_cells(m));
            }
            if commits {
                row.extend(latency_cells(&m.latencies));
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
        out.push('\n');
        for verdict in &self.verdicts {
            let _ = writeln!(out, "verdict: {verdict}");
        }
        out
    }
}

/// rows, rows/s, files, bytes written.
fn write_cells(m: &Measurement) -> [String; 4] {
    let Some(write) = m.write else {
        return ["-", "-", "-", "-"].map(str::to_owned);
    };
    let rate = m.median_ms.filter(|ms| *ms > 0.0).map_or_else(
        || "-".to_owned(),
        |ms| format!("{:.2} M", as_f64(write.rows) / ms / 1_000.0),
    );
    [
        write.rows.to_string(),
        rate,
        write.files.to_string(),
        mib(write.bytes / 1024),
    ]
}

/// p50, p99, max, first-50 mean, last-50 mean, per-block medians, checkpoints.
fn latency_cells(runs: &[LatencyReport]) -> [String; 7] {
    let Some(l) = latency_summary(runs) else {
        return ["-", "-", "-", "-", "-", "-", "-"].map(str::to_owned);
    };
    let ms = |v: f64| format!("{v:.2} ms");
    let blocks = l
        .block_medians_ms
        .iter()
        .map(|v| format!("{v:.1}"))
        .collect::<Vec<_>>()
        .join("/");
    [
        ms(l.p50_ms),
        ms(l.p99_ms),
        ms(l.max_ms),
        ms(l.first_mean_ms),
        ms(l.last_mean_ms),
        blocks,
        l.checkpoints.to_string(),
    ]
}

/// Every field of the runs' latency reports, as the median over the runs (block by block for
/// the block medians).
pub(crate) fn latency_summary(runs: &[LatencyReport]) -> Option<LatencyReport> {
    let first = runs.first()?;
    let of = |field: fn(&LatencyReport) -> f64| {
        median(&runs.iter().map(field).collect::<Vec<_>>()).unwrap_or(0.0)
    };
    let blocks = (0..first.block_medians_ms.len())
        .map(|i| {
            let values: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.block_medians_ms.get(i).copied())
                .collect();
            median(&values).unwrap_or(0.0)
        })
        .collect();
    Some(LatencyReport {
        commits: first.commits,
        p50_ms: of(|r| r.p50_ms),
        p99_ms: of(|r| r.p99_ms),
        max_ms: of(|r| r.max_ms),
        mean_ms: of(|r| r.mean_ms),
        first_mean_ms: of(|r| r.first_mean_ms),
        last_mean_ms: of(|r| r.last_mean_ms),
        block_medians_ms: blocks,
        checkpoints: runs.iter().map(|r| r.checkpoints).max().unwrap_or(0),
    })
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
        } => {
            let Some(r) = get(ratios, variant, Engine::Deltalake) else {
                let why = not_measured(measurements, variant, &[Engine::Tarn, Engine::Deltalake]);
                return vec![format!("{scenario}/{variant}: NOT MEASURED ({why})")];
            };
            let time_ok = r.speedup >= *speedup;
            let memory_ok = r.memory_fraction <= *memory_fraction;
            vec![format!(
                "{scenario}/{variant}: {overall} - time {actual:.2}x faster (target >= {speedup}x: {time}), \
                 memory {memory:.2}x of deltalake (target <= {memory_fraction:.2}x: {mem})",
                overall = overall(time_ok && memory_ok),
                actual = r.speedup,
                time = met(time_ok),
                memory = r.memory_fraction,
                mem = met(memory_ok),
            )]
        }
        Target::SelectiveScan { needed_files } => needed_files
            .iter()
            .map(|(variant, needed)| {
                selective_verdict(scenario, variant, *needed, measurements, ratios)
            })
            .collect(),
        Target::Write {
            raw_speed,
            memory_above_input_kib,
        } => variants
            .iter()
            .map(|variant| {
                write_verdict(
                    scenario,
                    variant,
                    *raw_speed,
                    *memory_above_input_kib,
                    measurements,
                    ratios,
                )
            })
            .collect(),
        Target::CommitLatency { p50_ms, flat_ratio } => variants
            .iter()
            .map(|variant| commit_verdict(scenario, variant, *p50_ms, *flat_ratio, measurements))
            .collect(),
        Target::Informational => variants
            .iter()
            .map(|variant| {
                let against: Vec<String> = ratios
                    .iter()
                    .filter(|r| r.variant == *variant)
                    .map(|r| {
                        format!(
                            "{:.2}x {}'s speed, {:.2}x its memory",
                            r.speedup, r.baseline, r.memory_fraction
                        )
                    })
                    .collect();
                let summary = if against.is_empty() {
                    "nothing to compare".to_owned()
                } else {
                    format!("tarn at {}", against.join("; "))
                };
                format!("{scenario}/{variant}: no DESIGN.md target - {summary}")
            })
            .collect(),
    }
}

fn selective_verdict(
    scenario: &str,
    variant: &str,
    needed: u64,
    measurements: &[Measurement],
    ratios: &[Ratio],
) -> String {
    let files = find(measurements, variant, Engine::Tarn)
        .filter(|m| m.failure.is_none())
        .and_then(|m| m.scan)
        .and_then(|scan| scan.read.files);
    let Some(files) = files else {
        let why = not_measured(measurements, variant, &[Engine::Tarn]);
        return format!("{scenario}/{variant}: NOT MEASURED ({why})");
    };
    let files_ok = files <= needed;
    let files_text = format!(
        "tarn read {files} data file(s), {needed} hold matching rows ({})",
        met(files_ok)
    );
    let raw = get(ratios, variant, Engine::RawParquet)
        .map(|r| format!("; {:.2}x raw parquet's speed", r.speedup))
        .unwrap_or_default();
    match get(ratios, variant, Engine::Deltalake) {
        Some(r) => {
            let time_ok = r.speedup >= SELECTIVE_SPEEDUP;
            format!(
                "{scenario}/{variant}: {} - {files_text}; {:.2}x deltalake's speed (target >= \
                 {SELECTIVE_SPEEDUP}x: {}), {:.2}x its memory{raw}",
                overall(files_ok && time_ok),
                r.speedup,
                met(time_ok),
                r.memory_fraction,
            )
        }
        None => format!(
            "{scenario}/{variant}: {} - {files_text}; speed against deltalake NOT MEASURED ({}){raw}",
            if files_ok {
                "PARTLY MEASURED"
            } else {
                "TARGET MISSED"
            },
            not_measured(measurements, variant, &[Engine::Deltalake])
        ),
    }
}

fn write_verdict(
    scenario: &str,
    variant: &str,
    raw_speed: f64,
    memory_above_input_kib: u64,
    measurements: &[Measurement],
    ratios: &[Ratio],
) -> String {
    let tarn = find(measurements, variant, Engine::Tarn).filter(|m| m.failure.is_none());
    let Some(tarn_peak) = tarn.and_then(|m| m.peak_rss_kib) else {
        let why = not_measured(measurements, variant, &[Engine::Tarn]);
        return format!("{scenario}/{variant}: NOT MEASURED ({why})");
    };
    // The input's own footprint: the input-only engine's peak if it ran, else tarn's RSS
    // before it started writing (the generator holds one batch at a time).
    let (input_kib, input_from) = match find(measurements, variant, Engine::InputOnly)
        .filter(|m| m.failure.is_none())
        .and_then(|m| m.peak_rss_kib)
    {
        Some(kib) => (kib, "input-only peak"),
        None => (
            tarn.and_then(|m| m.baseline_rss_kib).unwrap_or(0),
            "tarn's RSS before writing",
        ),
    };
    let above = tarn_peak.saturating_sub(input_kib);
    let memory_ok = above <= memory_above_input_kib;
    let memory_text = format!(
        "memory {} above the input ({input_from}) (target <= {}: {})",
        mib(above),
        mib(memory_above_input_kib),
        met(memory_ok)
    );
    let deltalake = get(ratios, variant, Engine::Deltalake)
        .map(|r| {
            format!(
                "; {:.2}x deltalake's speed, {:.2}x its memory",
                r.speedup, r.memory_fraction
            )
        })
        .unwrap_or_default();
    match get(ratios, variant, Engine::RawParquet) {
        Some(r) => {
            let time_ok = r.speedup >= raw_speed;
            format!(
                "{scenario}/{variant}: {} - {:.2}x raw ArrowWriter's speed (target >= {raw_speed}x: \
                 {}), {memory_text}{deltalake}",
                overall(time_ok && memory_ok),
                r.speedup,
                met(time_ok),
            )
        }
        None => format!(
            "{scenario}/{variant}: {} - speed against raw parquet NOT MEASURED ({}); \
             {memory_text}{deltalake}",
            if memory_ok {
                "PARTLY MEASURED"
            } else {
                "TARGET MISSED"
            },
            not_measured(measurements, variant, &[Engine::RawParquet])
        ),
    }
}

fn commit_verdict(
    scenario: &str,
    variant: &str,
    p50_target: f64,
    flat_ratio: f64,
    measurements: &[Measurement],
) -> String {
    let summary = |engine| {
        find(measurements, variant, engine)
            .filter(|m| m.failure.is_none())
            .and_then(|m| latency_summary(&m.latencies))
    };
    let Some(tarn) = summary(Engine::Tarn) else {
        let why = not_measured(measurements, variant, &[Engine::Tarn]);
        return format!("{scenario}/{variant}: NOT MEASURED ({why})");
    };
    let p50_ok = tarn.p50_ms <= p50_target;
    let (first, last) = (
        tarn.block_medians_ms.first().copied().unwrap_or(0.0),
        tarn.block_medians_ms.last().copied().unwrap_or(0.0),
    );
    let growth = if first > 0.0 {
        last / first
    } else {
        f64::INFINITY
    };
    let flat_ok = tarn.block_medians_ms.len() >= 2 && growth <= flat_ratio;
    let deltalake = summary(Engine::Deltalake)
        .map(|d| {
            format!(
                "; deltalake p50 {:.2} ms ({:.2}x tarn's), p99 {:.2} ms",
                d.p50_ms,
                d.p50_ms / tarn.p50_ms,
                d.p99_ms
            )
        })
        .unwrap_or_default();
    format!(
        "{scenario}/{variant}: {} - tarn p50 {:.2} ms (target <= {p50_target} ms: {}), p99 {:.2} ms; \
         last/first block of 100 commits {growth:.2}x (flat: target <= {flat_ratio}x: {}){deltalake}",
        overall(p50_ok && flat_ok),
        tarn.p50_ms,
        met(p50_ok),
        tarn.p99_ms,
        met(flat_ok),
    )
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
mod tests {
    use super::*;
    use crate::scan_engine::ReadCounts;

    fn report(engine: Engine, elapsed_ms: f64, peak_rss_kib: u64) -> ChildReport {
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
        }
    }

    fn snapshot_target() -> Target {
        Target::FasterAndSmaller {
            variant: "checkpoint",
            speedup: SNAPSHOT_SPEEDUP,
            memory_fraction: SNAPSHOT_MEMORY_FRACTION,
        }
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn ratios_and_verdict_follow_the_target() {
        let mut tarn = Measurement::new("checkpoint", Engine::Tarn);
        let mut deltalake = Measurement::new("checkpoint", Engine::Deltalake);
        for ms in [100.0, 120.0, 90.0] {
            tarn.record(Ok(report(Engine::Tarn, ms, 40_000)));
            deltalake.record(Ok(report(Engine::Deltalake, ms * 4.0, 150_000)));
        }
        tarn.record(Ok(report(Engine::Tarn, 100.0, 45_000)));
        let r = Report::new(
            "snapshot-load",
            serde_json::json!({}),
            vec![tarn, deltalake],
            &snapshot_target(),
        );
        assert_eq!(r.ratios.len(), 1);
        // tarn median of [100, 120, 90, 100] = 100; deltalake median of [400, 480, 360] = 400.
        assert!((r.ratios[0].speedup - 4.0).abs() < 1e-9);
        assert!((r.ratios[0].memory_fraction - 0.3).abs() < 1e-9);
        assert!(r.verdicts[0].contains("TARGET MET"), "{:?}", r.verdicts);
        assert!(r.to_table().contains("4.00x"));
    }

    #[test]
    fn a_failed_engine_is_reported_not_compared() {
        let mut tarn = Measurement::new("checkpoint", Engine::Tarn);
        tarn.record(Err(ChildFailure {
            status: "exit status: 1".to_owned(),
            output: "boom on stderr".to_owned(),
        }));
        let mut deltalake = Measurement::new("checkpoint", Engine::Deltalake);
        deltalake.record(Ok(report(Engine::Deltalake, 400.0, 150_000)));
        let r = Report::new(
            "snapshot-load",
            serde_json::json!({}),
            vec![tarn, deltalake],
            &snapshot_target(),
        );
        assert!(r.ratios.is_empty());
        assert!(
            r.verdicts[0].contains("NOT MEASURED (tarn failed)"),
            "{:?}",
            r.verdicts
        );
        assert!(r.to_table().contains("boom on stderr"));
    }

    fn scan_run(engine: Engine, elapsed_ms: f64, files: u64) -> ChildReport {
        ChildReport {
            scan: Some(ScanReport {
                rows: 1_000,
                read: ReadCounts {
                    files: Some(files),
                    row_groups: Some(2),
                    rows_decoded: Some(4_000),
                },
            }),
            ..report(engine, elapsed_ms, 50_000)
        }
    }

    #[test]
    fn selective_scans_check_files_and_speed_against_deltalake() {
        let mut measurements = Vec::new();
        for (variant, tarn_ms, tarn_files) in [("partition", 50.0, 1), ("id-range", 50.0, 3)] {
            for (engine, ms) in [
                (Engine::Tarn, tarn_ms),
                (Engine::Deltalake, 100.0),
                (Engine::RawParquet, 40.0),
            ] {
                let mut m = Measurement::new(variant, engine);
                let files = if engine == Engine::Tarn {
                    tarn_files
                } else {
                    1
                };
                m.record(Ok(scan_run(engine, ms, files)));
                measurements.push(m);
            }
        }
        let target = Target::SelectiveScan {
            needed_files: vec![("partition", 1), ("id-range", 1)],
        };
        let r = Report::new(
            "scan-selective",
            serde_json::json!({}),
            measurements,
            &target,
        );
        assert_eq!(
            r.ratios.len(),
            4,
            "deltalake and raw parquet on both variants"
        );
        assert!(r.verdicts[0].contains("TARGET MET"), "{:?}", r.verdicts);
        assert!(
            r.verdicts[0].contains("2.00x deltalake's speed"),
            "{:?}",
            r.verdicts
        );
        assert!(
            r.verdicts[0].contains("0.80x raw parquet's speed"),
            "{:?}",
            r.verdicts
        );
        assert!(r.verdicts[1].contains("TARGET MISSED"), "{:?}", r.verdicts);
        assert!(
            r.verdicts[1].contains("tarn read 3 data file(s), 1 hold"),
            "{:?}",
            r.verdicts
        );
        let table = r.to_table();
        assert!(table.contains("files read"), "{table}");
        assert!(table.contains("4000"), "{table}");
    }

    #[test]
    fn a_selective_scan_without_deltalake_is_partly_measured() {
        let mut tarn = Measurement::new("partition", Engine::Tarn);
        tarn.record(Ok(scan_run(Engine::Tarn, 50.0, 1)));
        let target = Target::SelectiveScan {
            needed_files: vec![("partition", 1)],
        };
        let r = Report::new("scan-selective", serde_json::json!({}), vec![tarn], &target);
        assert!(
            r.verdicts[0].contains("PARTLY MEASURED")
                && r.verdicts[0].contains("deltalake not run"),
            "{:?}",
            r.verdicts
        );
    }

    fn write_run(engine: Engine, elapsed_ms: f64, peak_rss_kib: u64) -> ChildReport {
        ChildReport {
            write: Some(WriteReport {
                rows: 1_000_000,
                files: 10,
                bytes: 20 * 1024 * 1024,
            }),
            ..report(engine, elapsed_ms, peak_rss_kib)
        }
    }

    #[test]
    fn writes_are_held_to_raw_speed_and_memory_above_the_input() {
        let mut measurements = Vec::new();
        for (engine, ms, peak) in [
            (Engine::Tarn, 1_000.0, 200_000),
            (Engine::Deltalake, 1_500.0, 400_000),
            (Engine::RawParquet, 950.0, 120_000),
            (Engine::InputOnly, 100.0, 20_000),
        ] {
            let mut m = Measurement::new("partitioned", engine);
            m.record(Ok(write_run(engine, ms, peak)));
            measurements.push(m);
        }
        let target = Target::Write {
            raw_speed: WRITE_RAW_SPEED,
            memory_above_input_kib: WRITE_MEMORY_ABOVE_INPUT_KIB,
        };
        let r = Report::new("write", serde_json::json!({}), measurements, &target);
        assert_eq!(
            r.ratios.len(),
            2,
            "input-only is not compared: {:?}",
            r.ratios
        );
        let verdict = &r.verdicts[0];
        assert!(verdict.contains("TARGET MET"), "{verdict}");
        assert!(
            verdict.contains("0.95x raw ArrowWriter's speed"),
            "{verdict}"
        );
        // 200000 - 20000 KiB = 175.8 MiB above the input.
        assert!(verdict.contains("175.8 MiB above the input"), "{verdict}");
        assert!(verdict.contains("1.50x deltalake's speed"), "{verdict}");
        let table = r.to_table();
        // 1M rows in 1 s.
        assert!(table.contains("1.00 M"), "{table}");
        assert!(table.contains("20.0 MiB"), "{table}");
    }

    #[test]
    fn a_slow_write_misses_the_target() {
        let mut tarn = Measurement::new("partitioned", Engine::Tarn);
        tarn.record(Ok(write_run(Engine::Tarn, 1_000.0, 400_000)));
        let mut raw = Measurement::new("partitioned", Engine::RawParquet);
        raw.record(Ok(write_run(Engine::RawParquet, 800.0, 100_000)));
        let target = Target::Write {
            raw_speed: WRITE_RAW_SPEED,
            memory_above_input_kib: WRITE_MEMORY_ABOVE_INPUT_KIB,
        };
        let r = Report::new("write", serde_json::json!({}), vec![tarn, raw], &target);
        let verdict = &r.verdicts[0];
        assert!(verdict.contains("TARGET MISSED"), "{verdict}");
        assert!(
            verdict.contains("0.80x raw ArrowWriter's speed (target >= 0.9x: missed)"),
            "{verdict}"
        );
        // No input-only run: tarn's pre-write RSS (1000 KiB) stands for the input.
        assert!(verdict.contains("tarn's RSS before writing"), "{verdict}");
        assert!(
            verdict.contains("(target <= 256.0 MiB: missed)"),
            "{verdict}"
        );
    }

    fn latency_run(engine: Engine, p50_ms: f64, blocks: Vec<f64>) -> ChildReport {
        ChildReport {
            latency: Some(LatencyReport {
                commits: 500,
                p50_ms,
                p99_ms: p50_ms * 3.0,
                max_ms: p50_ms * 10.0,
                mean_ms: p50_ms,
                first_mean_ms: p50_ms,
                last_mean_ms: p50_ms,
                block_medians_ms: blocks,
                checkpoints: 5,
            }),
            ..report(engine, p50_ms * 500.0, 50_000)
        }
    }

    #[test]
    fn commit_latency_needs_a_low_and_flat_median() {
        let mut tarn = Measurement::new("append", Engine::Tarn);
        for p50 in [2.0, 3.0, 2.5] {
            tarn.record(Ok(latency_run(Engine::Tarn, p50, vec![2.0, 2.2, 2.4])));
        }
        let mut deltalake = Measurement::new("append", Engine::Deltalake);
        deltalake.record(Ok(latency_run(Engine::Deltalake, 10.0, vec![8.0, 12.0])));
        let mut growing = Measurement::new("growing", Engine::Tarn);
        growing.record(Ok(latency_run(Engine::Tarn, 2.0, vec![2.0, 4.0])));
        let target = Target::CommitLatency {
            p50_ms: COMMIT_P50_MS,
            flat_ratio: COMMIT_FLAT_RATIO,
        };
        let r = Report::new(
            "commit-latency",
            serde_json::json!({}),
            vec![tarn, deltalake, growing],
            &target,
        );
        assert!(r.verdicts[0].contains("TARGET MET"), "{:?}", r.verdicts);
        assert!(
            r.verdicts[0].contains("tarn p50 2.50 ms"),
            "{:?}",
            r.verdicts
        );
        assert!(r.verdicts[0].contains("1.20x (flat"), "{:?}", r.verdicts);
        assert!(
            r.verdicts[0].contains("deltalake p50 10.00 ms (4.00x tarn's)"),
            "{:?}",
            r.verdicts
        );
        assert!(r.verdicts[1].contains("TARGET MISSED"), "{:?}", r.verdicts);
        assert!(
            r.verdicts[1].contains("2.00x (flat: target <= 1.25x: missed)"),
            "{:?}",
            r.verdicts
        );
        let table = r.to_table();
        assert!(table.contains("2.0/2.2/2.4"), "{table}");
    }
}
