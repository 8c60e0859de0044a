//! The `optimize` scenario's columns and verdict: tarn's speed against deltalake's, and its
//! memory against the budget it was given. It never computes the ratios.

use super::{Measurement, Ratio, find, get, met, mib, not_measured, overall};
use crate::engine::Engine;

/// rows, files before -> after, most files in a partition after, bytes before -> after,
/// commits.
pub(super) fn optimize_cells(m: &Measurement) -> [String; 5] {
    let Some(o) = m.optimize else {
        return ["-", "-", "-", "-", "-"].map(str::to_owned);
    };
    [
        o.rows.to_string(),
        format!("{} -> {}", o.files_before, o.files_after),
        format!("<= {} in {}", o.max_files_per_partition, o.partitions),
        format!(
            "{} -> {}",
            mib(o.bytes_before / 1024),
            mib(o.bytes_after / 1024)
        ),
        o.commits.to_string(),
    ]
}

pub(super) fn optimize_verdict(
    scenario: &str,
    variant: &str,
    speedup: f64,
    memory_budget_kib: u64,
    measurements: &[Measurement],
    ratios: &[Ratio],
) -> String {
    let tarn = find(measurements, variant, Engine::Tarn).filter(|m| m.failure.is_none());
    let Some((peak, baseline)) = tarn.and_then(|m| Some((m.peak_rss_kib?, m.baseline_rss_kib?)))
    else {
        let why = not_measured(measurements, variant, &[Engine::Tarn]);
        return format!("{scenario}/{variant}: NOT MEASURED ({why})");
    };
    let above = peak.saturating_sub(baseline);
    let memory_ok = above <= memory_budget_kib;
    let memory_text = format!(
        "tarn's peak RSS {} above its RSS before compacting (target <= its memory budget, {}: {})",
        mib(above),
        mib(memory_budget_kib),
        met(memory_ok)
    );
    match get(ratios, variant, Engine::Deltalake) {
        Some(r) => {
            let time_ok = r.speedup >= speedup;
            format!(
                "{scenario}/{variant}: {} - {:.2}x deltalake's speed (target >= {speedup}x: {}), \
                 {memory_text}; {:.2}x deltalake's peak memory",
                overall(time_ok && memory_ok),
                r.speedup,
                met(time_ok),
                r.memory_fraction,
            )
        }
        None => format!(
            "{scenario}/{variant}: {} - speed against deltalake NOT MEASURED ({}); {memory_text}",
            if memory_ok {
                "PARTLY MEASURED"
            } else {
                "TARGET MISSED"
            },
            not_measured(measurements, variant, &[Engine::Deltalake])
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::report;
    use super::super::{OPTIMIZE_SPEEDUP, Report, Target};
    use super::*;
    use crate::child::{ChildReport, OptimizeReport};

    fn optimize_run(engine: Engine, elapsed_ms: f64, peak_rss_kib: u64) -> ChildReport {
        ChildReport {
            optimize: Some(OptimizeReport {
                rows: 2_000_000,
                partitions: 10,
                files_before: 500,
                files_after: 10,
                max_files_per_partition: 1,
                bytes_before: 30 * 1024 * 1024,
                bytes_after: 20 * 1024 * 1024,
                commits: 1,
            }),
            ..report(engine, elapsed_ms, peak_rss_kib)
        }
    }

    fn target() -> Target {
        Target::Optimize {
            speedup: OPTIMIZE_SPEEDUP,
            memory_budget_kib: 256 * 1024,
        }
    }

    #[test]
    fn optimize_is_held_to_twice_deltalakes_speed_within_the_budget() {
        let mut tarn = Measurement::new("bin-pack", Engine::Tarn);
        tarn.record(Ok(optimize_run(Engine::Tarn, 1_000.0, 101_000)));
        let mut deltalake = Measurement::new("bin-pack", Engine::Deltalake);
        deltalake.record(Ok(optimize_run(Engine::Deltalake, 2_500.0, 202_000)));
        let r = Report::new(
            "optimize",
            serde_json::json!({}),
            vec![tarn, deltalake],
            &target(),
        );
        let verdict = &r.verdicts[0];
        assert!(verdict.contains("TARGET MET"), "{verdict}");
        assert!(
            verdict.contains("2.50x deltalake's speed (target >= 2x: met)"),
            "{verdict}"
        );
        // 101000 - 1000 KiB (the baseline) above.
        assert!(verdict.contains("97.7 MiB above"), "{verdict}");
        assert!(
            verdict.contains("0.50x deltalake's peak memory"),
            "{verdict}"
        );
        let table = r.to_table();
        assert!(table.contains("500 -> 10"), "{table}");
        assert!(table.contains("<= 1 in 10"), "{table}");
        assert!(table.contains("30.0 MiB -> 20.0 MiB"), "{table}");
    }

    #[test]
    fn slow_or_large_compactions_miss_the_target() {
        let mut tarn = Measurement::new("bin-pack", Engine::Tarn);
        tarn.record(Ok(optimize_run(Engine::Tarn, 1_000.0, 400_000)));
        let mut deltalake = Measurement::new("bin-pack", Engine::Deltalake);
        deltalake.record(Ok(optimize_run(Engine::Deltalake, 1_500.0, 300_000)));
        let r = Report::new("optimize", serde_json::json!({}), vec![tarn], &target());
        assert!(r.verdicts[0].contains("TARGET MISSED"), "{:?}", r.verdicts);
        assert!(
            r.verdicts[0].contains("deltalake not run"),
            "{:?}",
            r.verdicts
        );
        let mut tarn = Measurement::new("bin-pack", Engine::Tarn);
        tarn.record(Ok(optimize_run(Engine::Tarn, 1_000.0, 100_000)));
        let r = Report::new(
            "optimize",
            serde_json::json!({}),
            vec![tarn, deltalake],
            &target(),
        );
        let verdict = &r.verdicts[0];
        assert!(verdict.contains("TARGET MISSED"), "{verdict}");
        assert!(verdict.contains("(target >= 2x: missed)"), "{verdict}");
        assert!(verdict.contains("256.0 MiB: met"), "{verdict}");
    }
}
