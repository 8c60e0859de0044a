//! The `write` scenario's columns and verdict: tarn against raw `ArrowWriter`'s speed, and its
//! memory above the input generator's. It never computes the ratios.

use super::{Measurement, Ratio, as_f64, find, get, met, mib, not_measured, overall};
use crate::engine::Engine;

/// rows, rows/s, files, bytes written.
pub(super) fn write_cells(m: &Measurement) -> [String; 4] {
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

pub(super) fn write_verdict(
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

#[cfg(test)]
mod tests {
    use super::super::tests::report;
    use super::super::{Report, Target, WRITE_MEMORY_ABOVE_INPUT_KIB, WRITE_RAW_SPEED};
    use super::*;
    use crate::child::{ChildReport, WriteReport};

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
}
