//! The verdict of the "faster and smaller than deltalake" targets: `snapshot-load` (open the
//! latest snapshot) and `checkpoint-write` (write a checkpoint of it). It decides how the
//! ratios read against the target; it never computes them.

use super::{Measurement, Ratio, get, met, not_measured, overall};
use crate::engine::Engine;

/// tarn's speedup over deltalake and its share of deltalake's peak memory on `variant`,
/// against the least `speedup` and the most `memory_fraction`.
pub(super) fn faster_and_smaller_verdict(
    scenario: &str,
    variant: &str,
    speedup: f64,
    memory_fraction: f64,
    measurements: &[Measurement],
    ratios: &[Ratio],
) -> String {
    let Some(r) = get(ratios, variant, Engine::Deltalake) else {
        let why = not_measured(measurements, variant, &[Engine::Tarn, Engine::Deltalake]);
        return format!("{scenario}/{variant}: NOT MEASURED ({why})");
    };
    let time_ok = r.speedup >= speedup;
    let memory_ok = r.memory_fraction <= memory_fraction;
    format!(
        "{scenario}/{variant}: {overall} - time {actual:.2}x faster (target >= {speedup}x: {time}), \
         memory {memory:.2}x of deltalake (target <= {memory_fraction:.2}x: {mem})",
        overall = overall(time_ok && memory_ok),
        actual = r.speedup,
        time = met(time_ok),
        memory = r.memory_fraction,
        mem = met(memory_ok),
    )
}

#[cfg(test)]
mod tests {
    use super::super::tests::report;
    use super::super::{Report, SNAPSHOT_MEMORY_FRACTION, SNAPSHOT_SPEEDUP, Target};
    use super::*;
    use crate::child::ChildFailure;

    fn snapshot_target() -> Target {
        Target::FasterAndSmaller {
            variant: "checkpoint",
            speedup: SNAPSHOT_SPEEDUP,
            memory_fraction: SNAPSHOT_MEMORY_FRACTION,
        }
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
}
