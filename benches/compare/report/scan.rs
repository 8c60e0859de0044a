//! The scan scenarios' columns and verdicts: `scan-selective` (reads only the files that hold
//! matching rows, at least as fast as deltalake) and `scan-full` (no DESIGN.md target: the
//! ratios only). It never computes the ratios.

use super::{Measurement, Ratio, SELECTIVE_SPEEDUP, find, get, met, not_measured, overall};
use crate::engine::Engine;

/// rows, files read, row groups, rows decoded.
pub(super) fn scan_cells(m: &Measurement) -> Vec<String> {
    let mut row = Vec::with_capacity(4);
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
    row
}

/// A variant DESIGN.md sets no target for: tarn's ratios against every other engine.
pub(super) fn informational_verdict(scenario: &str, variant: &str, ratios: &[Ratio]) -> String {
    let against: Vec<String> = ratios
        .iter()
        .filter(|r| r.variant == variant)
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
}

pub(super) fn selective_verdict(
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

#[cfg(test)]
mod tests {
    use super::super::tests::report;
    use super::super::{Measurement, Report, Target};
    use crate::child::{ChildReport, ScanReport};
    use crate::engine::Engine;
    use crate::scan_engine::ReadCounts;

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
}
