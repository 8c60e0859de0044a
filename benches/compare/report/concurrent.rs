//! The `concurrent-append` scenario's runs, columns and verdict. One run is several writer
//! processes appending to one table at once; their reports are combined here into one
//! measurement (elapsed from the earliest writer's first append to the latest writer's end,
//! the commits of every writer over that span, the writers that gave up). The verdict holds
//! tarn's throughput against deltalake's and counts the writers that gave up. It never runs
//! anything and never checks the table (the scenario does).

use std::fmt::Write as _;

use serde::Serialize;

use super::{Measurement, find, median, met, mib, not_measured, overall};
use crate::child::{ChildReport, ConcurrentReport};
use crate::engine::Engine;

/// One run: every writer's report, combined.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ConcurrentRun {
    /// Writers that ran.
    pub(crate) writers: u64,
    /// Appends each writer was asked to make.
    pub(crate) appends_per_writer: u64,
    /// Appends committed, summed over the writers.
    pub(crate) commits: u64,
    /// From the earliest writer's first append to the latest writer's end, in milliseconds.
    pub(crate) elapsed_ms: f64,
    /// `commits` over `elapsed_ms`, per second.
    pub(crate) commits_per_s: f64,
    /// Writers that gave up (one of their appends returned an error).
    pub(crate) gave_up: u64,
    /// Commit attempts beyond the first, summed over the writers, when every writer's engine
    /// tells them (tarn does, the deltalake crate does not).
    pub(crate) retries: Option<u64>,
    /// Largest peak RSS over the writers, in KiB.
    pub(crate) peak_rss_kib: u64,
    /// Largest RSS before the appends over the writers (binary + runtime + open table), in KiB.
    pub(crate) baseline_rss_kib: u64,
    /// Every writer's own report, in writer order.
    pub(crate) per_writer: Vec<ConcurrentReport>,
}

impl ConcurrentRun {
    /// Combines the reports of one run's writers; `None` if there are none or one lacks its
    /// concurrent part.
    pub(crate) fn combine(reports: &[ChildReport]) -> Option<Self> {
        let per_writer: Vec<ConcurrentReport> = reports
            .iter()
            .map(|r| r.concurrent.clone())
            .collect::<Option<_>>()?;
        let start = per_writer
            .iter()
            .map(|w| w.start_unix_ms)
            .min_by(f64::total_cmp)?;
        let end = per_writer
            .iter()
            .map(|w| w.end_unix_ms)
            .max_by(f64::total_cmp)?;
        let elapsed_ms = (end - start).max(0.0);
        let commits: u64 = per_writer.iter().map(|w| w.committed).sum();
        let commits_per_s = if elapsed_ms > 0.0 {
            commits as f64 / (elapsed_ms / 1_000.0)
        } else {
            0.0
        };
        Some(Self {
            writers: count(per_writer.len()),
            appends_per_writer: per_writer.iter().map(|w| w.appends).max().unwrap_or(0),
            commits,
            elapsed_ms,
            commits_per_s,
            gave_up: count(per_writer.iter().filter(|w| w.gave_up.is_some()).count()),
            retries: per_writer.iter().map(|w| w.retries).sum(),
            peak_rss_kib: reports.iter().map(|r| r.peak_rss_kib).max().unwrap_or(0),
            baseline_rss_kib: reports
                .iter()
                .map(|r| r.baseline_rss_kib)
                .max()
                .unwrap_or(0),
            per_writer,
        })
    }

    /// Appends asked of every writer together.
    pub(crate) fn expected_commits(&self) -> u64 {
        self.writers * self.appends_per_writer
    }
}

/// The runs of one engine, summed up for the table and the verdict.
struct Summary {
    /// Median throughput over the runs, commits/s.
    commits_per_s: f64,
    /// Fewest and most commits in a run.
    commits: (u64, u64),
    /// Commits asked for in a run.
    expected: u64,
    /// Most writers that gave up in one run.
    gave_up: u64,
    /// Writers per run.
    writers: u64,
    /// Median retries over the runs, when told.
    retries: Option<f64>,
}

fn summary(runs: &[ConcurrentRun]) -> Option<Summary> {
    let first = runs.first()?;
    let retries: Option<Vec<f64>> = runs.iter().map(|r| r.retries.map(|n| n as f64)).collect();
    Some(Summary {
        commits_per_s: median(&runs.iter().map(|r| r.commits_per_s).collect::<Vec<_>>())?,
        commits: (
            runs.iter().map(|r| r.commits).min()?,
            runs.iter().map(|r| r.commits).max()?,
        ),
        expected: first.expected_commits(),
        gave_up: runs.iter().map(|r| r.gave_up).max()?,
        writers: first.writers,
        retries: retries.and_then(|values| median(&values)),
    })
}

/// writers, commits (fewest..most of the runs / asked), commits/s (median), writers that gave
/// up (most in a run), retries (median).
pub(super) fn concurrent_cells(m: &Measurement) -> [String; 5] {
    let Some(s) = summary(&m.concurrent) else {
        return ["-", "-", "-", "-", "-"].map(str::to_owned);
    };
    let commits = if s.commits.0 == s.commits.1 {
        format!("{}/{}", s.commits.0, s.expected)
    } else {
        format!("{}-{}/{}", s.commits.0, s.commits.1, s.expected)
    };
    [
        format!("{} x {}", s.writers, m.concurrent[0].appends_per_writer),
        commits,
        format!("{:.1}", s.commits_per_s),
        format!("{}/{}", s.gave_up, s.writers),
        s.retries
            .map_or_else(|| "-".to_owned(), |r| format!("{r:.0}")),
    ]
}

/// One line per writer that gave up, in every run, with its error.
pub(super) fn give_up_notes(m: &Measurement) -> String {
    let mut out = String::new();
    for (run, r) in m.concurrent.iter().enumerate() {
        for w in &r.per_writer {
            if let Some(error) = &w.gave_up {
                let _ = writeln!(
                    out,
                    "{} / {} run {}: writer {} gave up after {} of {} appends: {error}",
                    m.variant,
                    m.engine,
                    run + 1,
                    w.writer,
                    w.committed,
                    w.appends
                );
            }
        }
    }
    out
}

/// tarn's throughput at least `speedup` times deltalake's, and none of tarn's writers giving
/// up in any run.
pub(super) fn concurrent_verdict(
    scenario: &str,
    variant: &str,
    speedup: f64,
    measurements: &[Measurement],
) -> String {
    let measured = |engine| {
        find(measurements, variant, engine)
            .filter(|m| m.failure.is_none())
            .and_then(|m| Some((summary(&m.concurrent)?, m.peak_rss_kib?)))
    };
    let (Some((tarn, tarn_rss)), Some((deltalake, deltalake_rss))) =
        (measured(Engine::Tarn), measured(Engine::Deltalake))
    else {
        return format!(
            "{scenario}/{variant}: NOT MEASURED ({})",
            not_measured(measurements, variant, &[Engine::Tarn, Engine::Deltalake])
        );
    };
    let ratio = if deltalake.commits_per_s > 0.0 {
        tarn.commits_per_s / deltalake.commits_per_s
    } else if tarn.commits_per_s > 0.0 {
        f64::INFINITY
    } else {
        0.0
    };
    let fast_ok = ratio >= speedup;
    let none_ok = tarn.gave_up == 0;
    format!(
        "{scenario}/{variant}: {} - tarn {:.1} commits/s, {ratio:.2}x deltalake's {:.1} (target \
         >= {speedup}x: {}); tarn writers that gave up: {} of {} (target none: {}); deltalake \
         writers that gave up: {} of {} (most in one run); peak RSS per writer {} vs {}",
        overall(fast_ok && none_ok),
        tarn.commits_per_s,
        deltalake.commits_per_s,
        met(fast_ok),
        tarn.gave_up,
        tarn.writers,
        met(none_ok),
        deltalake.gave_up,
        deltalake.writers,
        mib(tarn_rss),
        mib(deltalake_rss),
    )
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::super::tests::report;
    use super::super::{CONCURRENT_APPEND_SPEEDUP, Measurement, Report, Target};
    use super::*;

    /// Writer `writer` of a run: `committed` of 50 appends from `start` to `end` (ms).
    fn writer(
        engine: Engine,
        writer: u64,
        committed: u64,
        (start, end): (f64, f64),
        gave_up: Option<&str>,
    ) -> ChildReport {
        ChildReport {
            concurrent: Some(ConcurrentReport {
                writer,
                appends: 50,
                committed,
                gave_up: gave_up.map(str::to_owned),
                start_unix_ms: start,
                end_unix_ms: end,
                retries: (engine == Engine::Tarn).then_some(3),
            }),
            ..report(engine, end - start, 60_000 + writer)
        }
    }

    /// A run of 4 writers making every append between 1000 ms and `1000 + elapsed` ms (the
    /// last `gave_up` of them giving up after 10 appends).
    fn run(engine: Engine, elapsed_ms: f64, gave_up: u64) -> ConcurrentRun {
        let reports: Vec<ChildReport> = (0..4)
            .map(|k| {
                let quits = k >= 4 - gave_up;
                writer(
                    engine,
                    k,
                    if quits { 10 } else { 50 },
                    (1_000.0 + k as f64, 1_000.0 + elapsed_ms - k as f64),
                    quits.then_some("commit conflict"),
                )
            })
            .collect();
        ConcurrentRun::combine(&reports).unwrap_or_else(|| unreachable!())
    }

    fn measured(engine: Engine, runs: &[(f64, u64)]) -> Measurement {
        let mut m = Measurement::new("4x50", engine);
        for &(elapsed_ms, gave_up) in runs {
            m.record_concurrent(Ok(run(engine, elapsed_ms, gave_up)));
        }
        m
    }

    fn verdict(measurements: Vec<Measurement>) -> (String, String) {
        let target = Target::ConcurrentAppend {
            speedup: CONCURRENT_APPEND_SPEEDUP,
        };
        let report = Report::new(
            "concurrent-append",
            serde_json::json!({}),
            measurements,
            &target,
        );
        assert_eq!(report.verdicts.len(), 1, "{:?}", report.verdicts);
        (report.verdicts[0].clone(), report.to_table())
    }

    #[test]
    fn a_run_spans_the_earliest_start_to_the_latest_end() {
        let r = run(Engine::Tarn, 2_000.0, 1);
        assert_eq!(r.writers, 4);
        assert_eq!(r.commits, 160);
        assert_eq!(r.expected_commits(), 200);
        assert_eq!(r.elapsed_ms, 2_000.0);
        assert_eq!(r.commits_per_s, 80.0);
        assert_eq!(r.gave_up, 1);
        assert_eq!(r.retries, Some(12));
        assert_eq!(r.peak_rss_kib, 60_003);
        assert_eq!(run(Engine::Deltalake, 2_000.0, 0).retries, None);
        assert_eq!(ConcurrentRun::combine(&[]), None);
        assert_eq!(
            ConcurrentRun::combine(&[report(Engine::Tarn, 1.0, 1)]),
            None
        );
    }

    #[test]
    fn met_when_twice_as_fast_and_no_tarn_writer_gives_up() {
        // tarn 200 commits in 1 s; deltalake 200 in 2.5 s, one writer giving up in one run
        // (160 commits in 2.5 s): medians 200 and 80 commits/s.
        let (line, table) = verdict(vec![
            measured(Engine::Tarn, &[(1_000.0, 0), (900.0, 0), (1_100.0, 0)]),
            measured(
                Engine::Deltalake,
                &[(2_500.0, 0), (2_500.0, 1), (2_000.0, 0)],
            ),
        ]);
        assert!(line.contains("TARGET MET"), "{line}");
        assert!(
            line.contains("tarn 200.0 commits/s, 2.50x deltalake's 80.0"),
            "{line}"
        );
        assert!(line.contains("tarn writers that gave up: 0 of 4"), "{line}");
        assert!(
            line.contains("deltalake writers that gave up: 1 of 4"),
            "{line}"
        );
        assert!(table.contains("160-200/200"), "{table}");
        assert!(
            table.contains("4x50 / deltalake run 2: writer 3 gave up after 10 of 50 appends"),
            "{table}"
        );
    }

    #[test]
    fn missed_when_slower_or_when_a_tarn_writer_gives_up() {
        let (slow, _) = verdict(vec![
            measured(Engine::Tarn, &[(1_500.0, 0)]),
            measured(Engine::Deltalake, &[(2_000.0, 0)]),
        ]);
        assert!(slow.contains("TARGET MISSED"), "{slow}");
        assert!(slow.contains("1.33x deltalake's"), "{slow}");

        // Fast enough, but one tarn writer gave up in one run.
        let (quit, _) = verdict(vec![
            measured(Engine::Tarn, &[(500.0, 0), (500.0, 1)]),
            measured(Engine::Deltalake, &[(4_000.0, 0), (4_000.0, 0)]),
        ]);
        assert!(quit.contains("TARGET MISSED"), "{quit}");
        assert!(quit.contains("(target >= 2x: met)"), "{quit}");
        assert!(
            quit.contains("tarn writers that gave up: 1 of 4 (target none: missed)"),
            "{quit}"
        );

        let (alone, _) = verdict(vec![measured(Engine::Tarn, &[(500.0, 0)])]);
        assert!(
            alone.contains("NOT MEASURED (deltalake not run)"),
            "{alone}"
        );
    }
}
