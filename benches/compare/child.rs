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
