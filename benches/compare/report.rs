//! Turns child runs into the comparison a person reads: median time and worst peak RSS per
//! (variant, engine), the deltalake/tarn ratios, and a verdict against the DESIGN.md target.
//! This module decides aggregation and presentation; it never runs anything.

use std::fmt::Write as _;

use serde::Serialize;

use crate::child::{ChildFailure, ChildReport};
use crate::engine::Engine;
use crate::error::BenchError;

/// The DESIGN.md target for opening a snapshot: at least this many times faster than deltalake…
pub(crate) const TARGET_SPEEDUP: f64 = 3.0;
/// …using at most this fraction of its peak memory.
pub(crate) const TARGET_MEMORY_FRACTION: f64 = 1.0 / 3.0;

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
            }
            Err(failure) => {
                self.failure = Some(format!("{}\n{}", failure.status, failure.output));
            }
        }
    }
}

/// tarn against deltalake on one variant.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Ratio {
    /// Table variant.
    pub(crate) variant: String,
    /// deltalake time / tarn time: above 1 means tarn is faster.
    pub(crate) speedup: f64,
    /// tarn peak RSS / deltalake peak RSS: below 1 means tarn uses less.
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
    /// One entry per variant both engines completed.
    pub(crate) ratios: Vec<Ratio>,
    /// The variant the DESIGN.md target is stated for.
    pub(crate) target_variant: String,
    /// One line: whether the target is met.
    pub(crate) verdict: String,
}

impl Report {
    /// Computes ratios and the verdict from the measurements.
    pub(crate) fn new(
        scenario: &'static str,
        parameters: serde_json::Value,
        measurements: Vec<Measurement>,
        target_variant: &str,
    ) -> Self {
        let mut variants: Vec<&str> = Vec::new();
        for m in &measurements {
            if !variants.contains(&m.variant.as_str()) {
                variants.push(&m.variant);
            }
        }
        let ratios: Vec<Ratio> = variants
            .iter()
            .filter_map(|variant| ratio(&measurements, variant))
            .collect();
        let verdict = verdict(scenario, &measurements, &ratios, target_variant);
        Self {
            scenario,
            parameters,
            measurements,
            ratios,
            target_variant: target_variant.to_owned(),
            verdict,
        }
    }

    /// The report as pretty JSON.
    pub(crate) fn to_json(&self) -> Result<String, BenchError> {
        serde_json::to_string_pretty(self).map_err(|source| BenchError::Serialize {
            what: "report",
            source,
        })
    }

    /// The report as an aligned text table, failures and verdict below it.
    pub(crate) fn to_table(&self) -> String {
        let header = [
            "scenario",
            "variant",
            "engine",
            "time (median)",
            "peak RSS",
            "base RSS",
            "runs (ms)",
            "time dl/tarn",
            "mem tarn/dl",
        ];
        let mut rows: Vec<[String; 9]> = vec![header.map(str::to_owned)];
        for m in &self.measurements {
            let ratio = self
                .ratios
                .iter()
                .find(|r| r.variant == m.variant && m.engine == Engine::Tarn);
            rows.push([
                self.scenario.to_owned(),
                m.variant.clone(),
                m.engine.to_string(),
                m.median_ms
                    .map_or_else(|| "failed".to_owned(), |ms| format!("{ms:.1} ms")),
                m.peak_rss_kib.map_or_else(|| "-".to_owned(), mib),
                m.baseline_rss_kib.map_or_else(|| "-".to_owned(), mib),
                runs(&m.runs_ms),
                ratio.map_or_else(|| "-".to_owned(), |r| format!("{:.2}x", r.speedup)),
                ratio.map_or_else(|| "-".to_owned(), |r| format!("{:.2}x", r.memory_fraction)),
            ]);
        }
        let mut widths = [0_usize; 9];
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in &rows {
            let mut line = String::new();
            for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
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
             operation, i.e. binary + runtime)\n",
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
        let _ = writeln!(out, "\nverdict: {}", self.verdict);
        out
    }
}

fn ratio(measurements: &[Measurement], variant: &str) -> Option<Ratio> {
    let find = |engine| {
        measurements
            .iter()
            .find(|m| m.variant == variant && m.engine == engine)
    };
    let tarn = find(Engine::Tarn)?;
    let deltalake = find(Engine::Deltalake)?;
    // A variant with a failed run is not compared: its numbers would cover fewer runs.
    if tarn.failure.is_some() || deltalake.failure.is_some() {
        return None;
    }
    let speedup = deltalake.median_ms? / tarn.median_ms?;
    let memory_fraction = as_f64(tarn.peak_rss_kib?) / as_f64(deltalake.peak_rss_kib?);
    Some(Ratio {
        variant: variant.to_owned(),
        speedup,
        memory_fraction,
    })
}

fn verdict(
    scenario: &str,
    measurements: &[Measurement],
    ratios: &[Ratio],
    target_variant: &str,
) -> String {
    let Some(r) = ratios.iter().find(|r| r.variant == target_variant) else {
        let failed: Vec<String> = measurements
            .iter()
            .filter(|m| m.variant == target_variant && m.failure.is_some())
            .map(|m| m.engine.to_string())
            .collect();
        let why = if failed.is_empty() {
            "both engines are needed".to_owned()
        } else {
            format!("{} failed", failed.join(" and "))
        };
        return format!("{scenario}/{target_variant}: NOT MEASURED ({why})");
    };
    let time_ok = r.speedup >= TARGET_SPEEDUP;
    let memory_ok = r.memory_fraction <= TARGET_MEMORY_FRACTION;
    format!(
        "{scenario}/{target_variant}: {overall} - time {speedup:.2}x faster (target >= {TARGET_SPEEDUP}x: {time}), \
         memory {memory:.2}x of deltalake (target <= {target_mem:.2}x: {mem})",
        overall = if time_ok && memory_ok {
            "TARGET MET"
        } else {
            "TARGET MISSED"
        },
        speedup = r.speedup,
        time = met(time_ok),
        memory = r.memory_fraction,
        target_mem = TARGET_MEMORY_FRACTION,
        mem = met(memory_ok),
    )
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

    fn report(engine: Engine, elapsed_ms: f64, peak_rss_kib: u64) -> ChildReport {
        ChildReport {
            engine: engine.name().to_owned(),
            elapsed_ms,
            peak_rss_kib,
            baseline_rss_kib: 1_000,
            version: 1,
            num_files: 1,
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
            "checkpoint",
        );
        assert_eq!(r.ratios.len(), 1);
        // tarn median of [100, 120, 90, 100] = 100; deltalake median of [400, 480, 360] = 400.
        assert!((r.ratios[0].speedup - 4.0).abs() < 1e-9);
        assert!((r.ratios[0].memory_fraction - 0.3).abs() < 1e-9);
        assert!(r.verdict.contains("TARGET MET"), "{}", r.verdict);
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
            "checkpoint",
        );
        assert!(r.ratios.is_empty());
        assert!(
            r.verdict.contains("NOT MEASURED (tarn failed)"),
            "{}",
            r.verdict
        );
        assert!(r.to_table().contains("boom on stderr"));
    }
}
