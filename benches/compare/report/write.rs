//! The `write` scenario's columns and verdicts: on input clustered by day, tarn against raw
//! `ArrowWriter`'s speed and its memory above the input generator's; on interleaved input,
//! tarn against deltalake's speed, its files per partition and its memory. It never computes
//! the ratios.

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
    let (input_kib, input_from) = input_kib(measurements, variant, tarn);
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

/// The input's own footprint: the input-only engine's peak if it ran, else tarn's RSS before
/// it started writing (the generator holds one batch at a time); with where it came from.
fn input_kib(
    measurements: &[Measurement],
    variant: &str,
    tarn: Option<&Measurement>,
) -> (u64, &'static str) {
    match find(measurements, variant, Engine::InputOnly)
        .filter(|m| m.failure.is_none())
        .and_then(|m| m.peak_rss_kib)
    {
        Some(kib) => (kib, "input-only peak"),
        None => (
            tarn.and_then(|m| m.baseline_rss_kib).unwrap_or(0),
            "tarn's RSS before writing",
        ),
    }
}

/// The interleaved write's verdict: `(least deltalake time / tarn time, most files in one
/// partition, most KiB above the input)`.
pub(super) fn interleaved_verdict(
    scenario: &str,
    variant: &str,
    (speedup, max_files, memory_above_input_kib): (f64, u64, u64),
    measurements: &[Measurement],
    ratios: &[Ratio],
) -> String {
    let tarn = find(measurements, variant, Engine::Tarn).filter(|m| m.failure.is_none());
    let (Some(tarn_peak), Some(written)) = (
        tarn.and_then(|m| m.peak_rss_kib),
        tarn.and_then(|m| m.write),
    ) else {
        let why = not_measured(measurements, variant, &[Engine::Tarn]);
        return format!("{scenario}/{variant}: NOT MEASURED ({why})");
    };
    let (input, input_from) = input_kib(measurements, variant, tarn);
    let above = tarn_peak.saturating_sub(input);
    let memory_ok = above <= memory_above_input_kib;
    let files_ok = written.max_files_per_partition <= max_files;
    let files_text = format!(
        "at most {} files per partition (target <= {max_files}: {})",
        written.max_files_per_partition,
        met(files_ok)
    );
    let memory_text = format!(
        "memory {} above the input ({input_from}) (target <= {}: {})",
        mib(above),
        mib(memory_above_input_kib),
        met(memory_ok)
    );
    let deltalake_files = find(measurements, variant, Engine::Deltalake)
        .and_then(|m| m.write)
        .map(|w| {
            format!(
                "; deltalake: at most {} per partition",
                w.max_files_per_partition
            )
        })
        .unwrap_or_default();
    match get(ratios, variant, Engine::Deltalake) {
        Some(r) => {
            let time_ok = r.speedup >= speedup;
            format!(
                "{scenario}/{variant}: {} - {:.2}x deltalake's speed (target >= {speedup}x: {}), \
                 {files_text}, {memory_text}; {:.2}x deltalake's memory{deltalake_files}",
                overall(time_ok && files_ok && memory_ok),
                r.speedup,
                met(time_ok),
                r.memory_fraction,
            )
        }
        None => format!(
            "{scenario}/{variant}: {} - speed against deltalake NOT MEASURED ({}); {files_text}, \
             {memory_text}",
            if files_ok && memory_ok {
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
    use super::super::{Report, Target, WRITE_MEMORY_ABOVE_INPUT_KIB, WRITE_RAW_SPEED};
    use super::*;
    use crate::child::{ChildReport, WriteReport};

    fn write_run(engine: Engine, elapsed_ms: f64, peak_rss_kib: u64) -> ChildReport {
        ChildReport {
            write: Some(WriteReport {
                rows: 1_000_000,
                files: 10,
                bytes: 20 * 1024 * 1024,
                max_files_per_partition: 1,
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

    #[test]
    fn interleaved_writes_are_held_to_deltalake_speed_and_files_per_partition() {
        let target = Target::InterleavedWrite {
            variant: "interleaved",
            speedup: super::super::INTERLEAVED_WRITE_SPEEDUP,
            max_files_per_partition: super::super::INTERLEAVED_MAX_FILES_PER_PARTITION,
            memory_above_input_kib: super::super::INTERLEAVED_MEMORY_ABOVE_INPUT_KIB,
        };
        let run = |engine, ms, peak, per_partition| {
            let mut m = Measurement::new("interleaved", engine);
            let mut report = write_run(engine, ms, peak);
            if let Some(write) = report.write.as_mut() {
                write.max_files_per_partition = per_partition;
            }
            m.record(Ok(report));
            m
        };
        let r = Report::new(
            "write",
            serde_json::json!({}),
            vec![
                run(Engine::Tarn, 1_000.0, 200_000, 1),
                run(Engine::Deltalake, 1_700.0, 400_000, 1),
                run(Engine::InputOnly, 100.0, 20_000, 0),
            ],
            &target,
        );
        let verdict = &r.verdicts[0];
        assert!(verdict.contains("TARGET MET"), "{verdict}");
        assert!(verdict.contains("1.70x deltalake's speed"), "{verdict}");
        assert!(
            verdict.contains("at most 1 files per partition"),
            "{verdict}"
        );
        let r = Report::new(
            "write",
            serde_json::json!({}),
            vec![
                run(Engine::Tarn, 1_000.0, 200_000, 323),
                run(Engine::Deltalake, 1_700.0, 400_000, 1),
            ],
            &target,
        );
        let verdict = &r.verdicts[0];
        assert!(verdict.contains("TARGET MISSED"), "{verdict}");
        assert!(
            verdict.contains("at most 323 files per partition (target <= 2: missed)"),
            "{verdict}"
        );
    }
}
