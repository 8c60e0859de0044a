//! The parent/child protocol: every measurement runs in a fresh child process (this same binary,
//! hidden `child` subcommand) so each engine starts cold, owns its whole address space and its
//! peak RSS is its own. The child prints exactly one JSON line on stdout; anything else it says
//! goes to stderr, which the parent keeps for the report when the child fails. This module never
//! decides what a scenario measures.

use std::ffi::OsString;
use std::fs;
use std::process::Command;

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
    let describe = || format!("{} child {}", exe.display(), join(args));
    let output = command.output().map_err(|source| BenchError::ChildSpawn {
        command: describe(),
        source,
    })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = stdout
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .and_then(|line| serde_json::from_str::<ChildReport>(line).ok())
        .filter(|report| report.engine == engine.name());
    match report {
        Some(report) if output.status.success() => Ok(Ok(report)),
        _ => {
            let mut text = format!("$ {}\n{}", describe(), stderr.trim_end());
            if !stdout.trim().is_empty() {
                text.push_str("\n[stdout]\n");
                text.push_str(stdout.trim_end());
            }
            Ok(Err(ChildFailure {
                status: output.status.to_string(),
                output: text,
            }))
        }
    }
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
