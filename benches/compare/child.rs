//! The parent/child protocol: every measurement runs in a fresh child process (this same binary,
//! hidden `child` subcommand) so each engine starts cold, owns its whole address space and its
//! peak RSS is its own. The child prints exactly one JSON line on stdout; anything else it says
//! goes to stderr, which the parent keeps for the report when the child fails. This module never
//! decides what a scenario measures.

use std::ffi::OsString;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;

use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::error::{BenchError, io_error};
use crate::scan_engine::ReadCounts;

/// The one line a successful child prints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ChildReport {
    /// Engine that ran.
    pub(crate) engine: String,
    /// Wall time of the measured operation, in milliseconds, taken inside the child after the
    /// runtime started.
    pub(crate) elapsed_ms: f64,
    /// `VmHWM` at the end of the child: the process's peak resident set, in KiB.
    pub(crate) peak_rss_kib: u64,
    /// Peak resident set before the measured operation started (binary + runtime), in KiB.
    pub(crate) baseline_rss_kib: u64,
    /// Table version the engine saw.
    pub(crate) version: u64,
    /// Active files the engine saw.
    pub(crate) num_files: u64,
    /// What a scan returned and read; absent for scenarios that do not scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) scan: Option<ScanReport>,
    /// What a write left on disk; absent for scenarios that do not write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) write: Option<WriteReport>,
    /// Per-commit latencies of a run of commits; absent for other scenarios.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) latency: Option<LatencyReport>,
    /// What a compaction left, as read back; absent for other scenarios.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) optimize: Option<OptimizeReport>,
    /// What a vacuum deleted and left, as read back; absent for other scenarios.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) vacuum: Option<VacuumReport>,
    /// What one of several writers appending at once committed; absent for other scenarios.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) concurrent: Option<ConcurrentReport>,
}

/// The rows a scan returned and how much it read to return them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ScanReport {
    /// Rows returned (all checked against the generator's ground truth).
    pub(crate) rows: u64,
    /// Files, row groups and rows the engine decoded, as far as it tells.
    #[serde(flatten)]
    pub(crate) read: ReadCounts,
}

/// What a write left on disk, as read back from the files (not as the engine says).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WriteReport {
    /// Rows in the data files written.
    pub(crate) rows: u64,
    /// Data files written.
    pub(crate) files: u64,
    /// Bytes of the data files written.
    pub(crate) bytes: u64,
    /// The most data files written into one partition.
    #[serde(default)]
    pub(crate) max_files_per_partition: u64,
}

/// What a compaction left on disk, read back from the log and the files (not as the engine
/// says): before and after, over the whole table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OptimizeReport {
    /// Rows in the active files afterwards (checked: the same rows as before, each id once).
    pub(crate) rows: u64,
    /// Partitions.
    pub(crate) partitions: u64,
    /// Active data files before.
    pub(crate) files_before: u64,
    /// Active data files after.
    pub(crate) files_after: u64,
    /// Most active files in one partition afterwards.
    pub(crate) max_files_per_partition: u64,
    /// Bytes of the active data files before.
    pub(crate) bytes_before: u64,
    /// Bytes of the active data files after.
    pub(crate) bytes_after: u64,
    /// Commits the compaction made.
    pub(crate) commits: u64,
}

/// What a vacuum left on disk, read back from the log and the table's directories (not as the
/// engine says).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct VacuumReport {
    /// Data files before.
    pub(crate) files_before: u64,
    /// Data files deleted (checked: exactly the removed ones).
    pub(crate) files_deleted: u64,
    /// Data files left (checked: exactly the active ones).
    pub(crate) files_after: u64,
    /// Commits the vacuum made (`VACUUM START`/`END`).
    pub(crate) commits: u64,
    /// The table's last version afterwards.
    pub(crate) last_version: u64,
}

/// One writer of several appending to the same table at once, as it saw its own appends.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct ConcurrentReport {
    /// The writer's number (0-based).
    pub(crate) writer: u64,
    /// Appends it was asked to make.
    pub(crate) appends: u64,
    /// Appends it committed.
    pub(crate) committed: u64,
    /// The error of the append it gave up on (it made no further appends); `None` when it
    /// made every append.
    pub(crate) gave_up: Option<String>,
    /// Wall clock right before its first append, in milliseconds since the Unix epoch.
    pub(crate) start_unix_ms: f64,
    /// Wall clock right after its last append (or the one it gave up on), same scale.
    pub(crate) end_unix_ms: f64,
    /// Commit attempts beyond the first, summed over its appends, where the engine tells them
    /// (tarn's `CommitSummary::attempts`; the deltalake crate does not say).
    pub(crate) retries: Option<u64>,
}

/// The distribution of one run's per-commit latencies, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct LatencyReport {
    /// Commits timed.
    pub(crate) commits: u64,
    /// Median commit latency.
    pub(crate) p50_ms: f64,
    /// 99th percentile (nearest rank).
    pub(crate) p99_ms: f64,
    /// Slowest commit.
    pub(crate) max_ms: f64,
    /// Mean over every commit.
    pub(crate) mean_ms: f64,
    /// Mean of the first 50 commits.
    pub(crate) first_mean_ms: f64,
    /// Mean of the last 50 commits.
    pub(crate) last_mean_ms: f64,
    /// Median of each block of 100 consecutive commits (the last block may be shorter): the
    /// shape of the latency as versions accumulate, one checkpoint interval per block.
    pub(crate) block_medians_ms: Vec<f64>,
    /// Checkpoint files in the log at the end.
    pub(crate) checkpoints: u64,
}

impl ChildReport {
    /// Prints the report as the child's single stdout line.
    pub(crate) fn emit(&self) -> Result<(), BenchError> {
        let line = serde_json::to_string(self).map_err(|source| BenchError::Serialize {
            what: "child report",
            source,
        })?;
        println!("{line}");
        Ok(())
    }
}

/// Peak resident set size of this process so far, in KiB (`VmHWM` in `/proc/self/status`).
pub(crate) fn peak_rss_kib() -> Result<u64, BenchError> {
    let path = "/proc/self/status";
    let status = fs::read_to_string(path).map_err(io_error(path))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse().ok())
        .ok_or(BenchError::NoPeakRss)
}

/// Why a child run produced no report.
#[derive(Debug, Clone)]
pub(crate) struct ChildFailure {
    /// Exit status as the OS describes it.
    pub(crate) status: String,
    /// The child's stderr (and its stdout, if that was not a report).
    pub(crate) output: String,
}

/// Runs `compare child <args>` and parses its report.
pub(crate) fn run(
    engine: Engine,
    args: &[OsString],
) -> Result<Result<ChildReport, ChildFailure>, BenchError> {
    let exe = std::env::current_exe().map_err(io_error("current executable"))?;
    let mut command = Command::new(&exe);
    command.arg("child").args(args);
    let output = command.output().map_err(|source| BenchError::ChildSpawn {
        command: describe(&exe, args),
        source,
    })?;
    Ok(parse(
        engine,
        &describe(&exe, args),
        output.status,
        &String::from_utf8_lossy(&output.stdout),
        &String::from_utf8_lossy(&output.stderr),
    ))
}

/// The line a child started by [`run_together`] prints on stdout once it is ready to start
/// its measured work.
const READY: &str = "ready";

/// In a child started by [`run_together`]: says it is ready, then waits for the go (the parent
/// closing its stdin). Call it outside the async runtime: it blocks the calling thread.
pub(crate) fn ready_then_wait() -> Result<(), BenchError> {
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{READY}")
        .and_then(|()| stdout.flush())
        .map_err(io_error("stdout"))?;
    let mut ignored = Vec::new();
    std::io::stdin()
        .read_to_end(&mut ignored)
        .map_err(io_error("stdin"))?;
    Ok(())
}

/// Runs one `compare child <args>` per entry of `runs`, all at once, and parses their reports
/// (in the order of `runs`). Every child is spawned first; each one sets itself up, says it is
/// ready ([`ready_then_wait`]) and waits; once every child is ready (or has ended), they are
/// all released together by closing their stdin, so their measured work starts at the same
/// moment whatever each one's startup took. Each child's stdout and stderr are drained on a
/// thread of their own, so no child ever blocks on a full pipe while another is waited for.
pub(crate) fn run_together(
    engine: Engine,
    runs: &[Vec<OsString>],
) -> Result<Vec<Result<ChildReport, ChildFailure>>, BenchError> {
    let exe = std::env::current_exe().map_err(io_error("current executable"))?;
    let mut children = Vec::with_capacity(runs.len());
    for args in runs {
        let spawned = Command::new(&exe)
            .arg("child")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        match spawned {
            Ok(child) => children.push(child),
            Err(source) => {
                // The ones already started would wait for a go that never comes.
                for mut started in children {
                    let _ = started.kill();
                    let _ = started.wait();
                }
                return Err(BenchError::ChildSpawn {
                    command: describe(&exe, args),
                    source,
                });
            }
        }
    }
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let outputs: Vec<(String, String)> = thread::scope(|scope| {
        let mut readers = Vec::with_capacity(children.len());
        let mut stdins = Vec::with_capacity(children.len());
        for child in &mut children {
            stdins.push(child.stdin.take());
            let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
            let ready = ready_tx.clone();
            readers.push((
                scope.spawn(move || read_until_ready(stdout, &ready)),
                scope.spawn(move || read_all(stderr)),
            ));
        }
        drop(ready_tx);
        // One signal per child: its ready line, or its stdout closing without one.
        for _ in 0..readers.len() {
            if ready_rx.recv().is_err() {
                break;
            }
        }
        // The go: every child's stdin closes at once.
        drop(stdins);
        readers
            .into_iter()
            .map(|(out, err)| {
                (
                    out.join().unwrap_or_default(),
                    err.join().unwrap_or_default(),
                )
            })
            .collect()
    });
    let mut results = Vec::with_capacity(children.len());
    for ((mut child, args), (stdout, stderr)) in children.into_iter().zip(runs).zip(outputs) {
        let status = child.wait().map_err(|source| BenchError::ChildSpawn {
            command: describe(&exe, args),
            source,
        })?;
        results.push(parse(
            engine,
            &describe(&exe, args),
            status,
            &stdout,
            &stderr,
        ));
    }
    Ok(results)
}

/// A child's stdout, but its ready line, which is signalled on `ready` (as is the end of the
/// output, so that a child failing before it is ready never holds the others back).
fn read_until_ready(stdout: Option<impl Read>, ready: &mpsc::Sender<()>) -> String {
    let mut text = String::new();
    let mut signalled = false;
    if let Some(stdout) = stdout {
        let mut lines = BufReader::new(stdout);
        let mut line = String::new();
        while matches!(lines.read_line(&mut line), Ok(n) if n > 0) {
            if !signalled && line.trim_end() == READY {
                signalled = true;
                let _ = ready.send(());
            } else {
                text.push_str(&line);
            }
            line.clear();
        }
    }
    if !signalled {
        let _ = ready.send(());
    }
    text
}

fn read_all(pipe: Option<impl Read>) -> String {
    let mut bytes = Vec::new();
    if let Some(mut pipe) = pipe {
        let _ = pipe.read_to_end(&mut bytes);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The report a child printed as its last stdout line, if it succeeded; else why it failed.
fn parse(
    engine: Engine,
    command: &str,
    status: ExitStatus,
    stdout: &str,
    stderr: &str,
) -> Result<ChildReport, ChildFailure> {
    let report = stdout
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .and_then(|line| serde_json::from_str::<ChildReport>(line).ok())
        .filter(|report| report.engine == engine.name());
    match report {
        Some(report) if status.success() => Ok(report),
        _ => {
            let mut text = format!("$ {command}\n{}", stderr.trim_end());
            if !stdout.trim().is_empty() {
                text.push_str("\n[stdout]\n");
                text.push_str(stdout.trim_end());
            }
            Err(ChildFailure {
                status: status.to_string(),
                output: text,
            })
        }
    }
}

fn describe(exe: &Path, args: &[OsString]) -> String {
    format!("{} child {}", exe.display(), join(args))
}

fn join(args: &[OsString]) -> String {
    args.iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process_peak_rss() {
        let kib = peak_rss_kib().unwrap();
        assert!(kib > 0);
    }
}
