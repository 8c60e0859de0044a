//! The `commit-latency` scenario's columns and verdict: tarn's median commit latency, and
//! whether it stays flat as versions accumulate.

use super::{Measurement, find, median, met, not_measured, overall};
use crate::child::LatencyReport;
use crate::engine::Engine;

/// p50, p99, max, first-50 mean, last-50 mean, per-block medians, checkpoints.
pub(super) fn latency_cells(runs: &[LatencyReport]) -> [String; 7] {
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
pub(super) fn latency_summary(runs: &[LatencyReport]) -> Option<LatencyReport> {
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

pub(super) fn commit_verdict(
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

#[cfg(test)]
mod tests {
    use super::super::tests::report;
    use super::super::{COMMIT_FLAT_RATIO, COMMIT_P50_MS, Measurement, Report, Target};
    use super::*;
    use crate::child::ChildReport;

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
