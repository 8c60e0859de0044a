//! The `vacuum` scenario's columns and verdicts: tarn's full vacuum against deltalake's, and
//! how lite vacuum's time grows from the small table to the large one. It never computes the
//! ratios.

use super::{Measurement, Ratio, find, get, met, not_measured, overall};
use crate::engine::Engine;

/// files before -> after, files deleted, commits.
pub(super) fn vacuum_cells(m: &Measurement) -> [String; 3] {
    let Some(v) = m.vacuum else {
        return ["-", "-", "-"].map(str::to_owned);
    };
    [
        format!("{} -> {}", v.files_before, v.files_after),
        v.files_deleted.to_string(),
        v.commits.to_string(),
    ]
}

/// The full-mode verdict: tarn at least `speedup` times deltalake's speed.
pub(super) fn full_verdict(
    scenario: &str,
    variant: &str,
    speedup: f64,
    measurements: &[Measurement],
    ratios: &[Ratio],
) -> String {
    match get(ratios, variant, Engine::Deltalake) {
        Some(r) => {
            let ok = r.speedup >= speedup;
            format!(
                "{scenario}/{variant}: {} - {:.2}x deltalake's speed (target >= {speedup}x: {}); \
                 {:.2}x deltalake's peak memory",
                overall(ok),
                r.speedup,
                met(ok),
                r.memory_fraction
            )
        }
        None => format!(
            "{scenario}/{variant}: NOT MEASURED ({})",
            not_measured(measurements, variant, &[Engine::Tarn, Engine::Deltalake])
        ),
    }
}

/// A lite variant against deltalake's lite: no DESIGN.md ratio, stated for reference.
pub(super) fn lite_ratio_verdict(scenario: &str, variant: &str, ratios: &[Ratio]) -> String {
    match get(ratios, variant, Engine::Deltalake) {
        Some(r) => format!(
            "{scenario}/{variant}: {:.2}x deltalake's lite speed, {:.2}x its peak memory (no \
             DESIGN.md ratio for lite)",
            r.speedup, r.memory_fraction
        ),
        None => format!("{scenario}/{variant}: no ratio against deltalake (not both measured)"),
    }
}

/// Lite's growth from the small table to the large one, per engine: its time per deleted file
/// on the large table over the small table's. tarn is held to `flat_ratio`: lite lists
/// nothing, so nothing in it may grow with the table beyond the files it deletes.
pub(super) fn lite_growth_verdict(
    scenario: &str,
    (large, small): (&str, &str),
    flat_ratio: f64,
    measurements: &[Measurement],
) -> String {
    let per_file = |variant: &str, engine: Engine| {
        let m = find(measurements, variant, engine).filter(|m| m.failure.is_none())?;
        let deleted = m.vacuum?.files_deleted.max(1);
        Some((m.median_ms?, m.vacuum?.files_before, deleted))
    };
    let describe = |engine: Engine| {
        let (big, little) = (per_file(large, engine)?, per_file(small, engine)?);
        let big_each = big.0 / big.2 as f64;
        let little_each = little.0 / little.2 as f64;
        let growth = big_each / little_each;
        Some((
            growth,
            format!(
                "{engine} {:.0} ms on {} files ({} deleted), {:.0} ms on {} ({} deleted): \
                 {:.1}x the time for {:.1}x the files, {:.1} vs {:.1} us per deleted file \
                 ({growth:.2}x)",
                big.0,
                big.1,
                big.2,
                little.0,
                little.1,
                little.2,
                big.0 / little.0,
                big.1 as f64 / little.1.max(1) as f64,
                big_each * 1000.0,
                little_each * 1000.0,
            ),
        ))
    };
    let Some((growth, tarn)) = describe(Engine::Tarn) else {
        return format!(
            "{scenario}/lite growth: NOT MEASURED (tarn needs both {large} and {small}: {}; {})",
            not_measured(measurements, large, &[Engine::Tarn]),
            not_measured(measurements, small, &[Engine::Tarn])
        );
    };
    let ok = growth <= flat_ratio;
    let deltalake = describe(Engine::Deltalake)
        .map_or_else(String::new, |(_, text)| format!("; for reference, {text}"));
    format!(
        "{scenario}/lite growth: {} - {tarn} (target: time per deleted file at most \
         {flat_ratio}x the small table's: {}){deltalake}",
        overall(ok),
        met(ok)
    )
}

#[cfg(test)]
mod tests {
    use super::super::tests::report;
    use super::super::{LITE_FLAT_RATIO, Measurement, Report, Target, VACUUM_SPEEDUP};
    use super::*;
    use crate::child::{ChildReport, VacuumReport};

    fn run(engine: Engine, elapsed_ms: f64, files: u64) -> ChildReport {
        ChildReport {
            vacuum: Some(VacuumReport {
                files_before: files,
                files_deleted: files / 10 * 9,
                files_after: files / 10,
                commits: 2,
                last_version: 30,
            }),
            ..report(engine, elapsed_ms, 100_000)
        }
    }

    fn measured(variant: &str, engine: Engine, elapsed_ms: f64, files: u64) -> Measurement {
        let mut m = Measurement::new(variant, engine);
        m.record(Ok(run(engine, elapsed_ms, files)));
        m
    }

    #[test]
    fn full_is_held_to_the_speedup_and_lite_to_flat_growth() {
        let target = Target::Vacuum {
            full_variant: "full-100000".to_owned(),
            speedup: VACUUM_SPEEDUP,
            lite_variants: ("lite-100000".to_owned(), "lite-10000".to_owned()),
            lite_flat_ratio: LITE_FLAT_RATIO,
        };
        let measurements = vec![
            measured("full-100000", Engine::Tarn, 1_000.0, 100_000),
            measured("full-100000", Engine::Deltalake, 4_000.0, 100_000),
            measured("lite-100000", Engine::Tarn, 900.0, 100_000),
            measured("lite-100000", Engine::Deltalake, 2_000.0, 100_000),
            measured("lite-10000", Engine::Tarn, 100.0, 10_000),
            measured("lite-10000", Engine::Deltalake, 150.0, 10_000),
        ];
        let report = Report::new("vacuum", serde_json::json!({}), measurements, &target);
        assert_eq!(report.verdicts.len(), 4, "{:?}", report.verdicts);
        assert!(
            report.verdicts[0].contains("TARGET MET"),
            "{}",
            report.verdicts[0]
        );
        assert!(
            report.verdicts[3].contains("TARGET MET"),
            "{}",
            report.verdicts[3]
        );
        assert!(report.to_table().contains("100000 -> 10000"));

        let slow_lite = vec![
            measured("lite-100000", Engine::Tarn, 2_000.0, 100_000),
            measured("lite-10000", Engine::Tarn, 100.0, 10_000),
        ];
        let report = Report::new("vacuum", serde_json::json!({}), slow_lite, &target);
        let growth = report.verdicts.last().unwrap();
        assert!(growth.contains("TARGET MISSED"), "{growth}");
        // No full variant was run: no full verdict.
        assert_eq!(report.verdicts.len(), 3, "{:?}", report.verdicts);
    }
}
