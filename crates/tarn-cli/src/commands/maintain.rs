//! `tarn maintain`: runs a maintenance policy once (cron, a Kubernetes CronJob) or every so
//! often (a service), over the tables the policy names.
//!
//! The policy is read and checked before any work: a bad file fails naming its line and key.
//! Each table and operation prints a line as it ends (`--json`: one JSON record each), then a
//! summary. SIGTERM or Ctrl-C stops the run between commits, cleanly; the exit status is
//! nonzero when a table failed.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use serde_json::json;
use tarn_maintenance::Stop;
use tarn_maintenance::maintain::{Maintainer, Record, RunReport, Shard, Status, parse_policy};

use crate::CliError;

/// The arguments of `tarn maintain`.
#[derive(Debug, Args)]
pub(crate) struct MaintainArgs {
    /// The policy file (TOML): the tables, and what to do to each.
    #[arg(long, value_name = "FILE.toml")]
    policy: PathBuf,
    /// Run once and exit (the default).
    #[arg(long, conflicts_with = "every")]
    once: bool,
    /// Run again this long after each run starts (`15m`, `1h`, `1d`), until SIGTERM or Ctrl-C.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    every: Option<Duration>,
    /// Only the tables whose URI hashes to shard K of N (0 <= K < N): N replicas with the
    /// same policy share its tables.
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    shard: Option<Shard>,
    /// Plan every operation and change nothing (with --json, the plans).
    #[arg(long)]
    dry_run: bool,
    /// One JSON record per table and operation, then one summary record.
    #[arg(long)]
    json: bool,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let ms = tarn::protocol::retention::parse_duration_ms(text)?;
    if ms <= 0 {
        return Err(format!("{text:?}: the interval must be longer than zero"));
    }
    Ok(Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
}

fn parse_shard(text: &str) -> Result<Shard, String> {
    Shard::parse(text).map_err(|e| e.to_string())
}

/// What the command line says about opening tables (`-o`, `--store`, `--untrusted`): every
/// table of the policy is opened with it, its own `storage_options` winning.
pub(crate) struct TableOptions {
    pub(crate) storage_options: std::collections::BTreeMap<String, String>,
    pub(crate) stores: tarn::log::StoreRegistry,
    pub(crate) declared: tarn::log::DeclaredLocations,
}

/// Runs `tarn maintain`. Returns the exit status: success when every table of every run
/// succeeded.
pub(crate) async fn run(
    args: &MaintainArgs,
    tables: TableOptions,
    interrupt: crate::interrupt::Interrupt,
) -> Result<(), CliError> {
    let text = std::fs::read_to_string(&args.policy).map_err(|e| {
        CliError::Usage(format!(
            "cannot read the policy {}: {e}",
            args.policy.display()
        ))
    })?;
    let policy = parse_policy(&text, &args.policy.display().to_string())
        .map_err(|e| CliError::Usage(format!("invalid policy: {e}")))?;
    let stop = Stop::new();
    let on_signal = stop.clone();
    let watcher = interrupt.clone();
    tokio::spawn(async move {
        watcher.fired().await;
        on_signal.request();
    });
    let json_output = args.json;
    let mut maintainer = Maintainer::new(policy)
        .with_dry_run(args.dry_run)
        .with_stop(stop.clone())
        .on_record(move |record| print_record(record, json_output))
        .with_storage_options(tables.storage_options)
        .with_stores(tables.stores)
        .with_declared_locations(tables.declared);
    if let Some(shard) = args.shard {
        maintainer = maintainer.with_shard(shard);
    }
    let mut failed_runs = 0usize;
    loop {
        let started = std::time::Instant::now();
        let report = maintainer.run_once().await;
        print_summary(&report, args.json);
        if !report.failed_tables.is_empty() {
            failed_runs += 1;
        }
        let Some(every) = args.every else {
            break;
        };
        if stop.is_requested() {
            break;
        }
        let wait = every.saturating_sub(started.elapsed());
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = interrupt.fired() => break,
        }
    }
    if let Some(interrupted) = interrupt.signal()
        && args.every.is_none()
    {
        return Err(CliError::Interrupted {
            interrupted,
            detail: "; the run stopped between commits",
        });
    }
    if failed_runs > 0 {
        return Err(CliError::Failed(
            "maintenance failed for some tables (see the records above)".to_owned(),
        ));
    }
    Ok(())
}

fn print_record(record: &Record, json: bool) {
    // A closed stdout (`| head`) ends the output quietly; the run goes on and its exit
    // status still tells.
    if json {
        let line = serde_json::to_string(record).unwrap_or_else(|_| "{}".to_owned());
        let _quiet = super::emit(&format!("{line}\n"));
        return;
    }
    let status = match record.status {
        Status::Done => "done",
        Status::Planned => "plan",
        Status::Skipped => "skipped",
        Status::Stopped => "stopped",
        Status::Failed => "FAILED",
    };
    let _quiet = super::emit(&format!(
        "{:<8} {:<12} {}  {}\n",
        status, record.operation, record.table, record.message
    ));
}

fn print_summary(report: &RunReport, json: bool) {
    if json {
        let summary = json!({
            "summary": {
                "tables": report.tables,
                "failed_tables": report.failed_tables,
                "stopped": report.stopped,
            }
        });
        let _quiet = super::emit(&format!("{summary}\n"));
        return;
    }
    let mut line = format!(
        "maintained {} table{}",
        report.tables,
        if report.tables == 1 { "" } else { "s" }
    );
    if !report.failed_tables.is_empty() {
        line.push_str(&format!("; failed: {}", report.failed_tables.join(", ")));
    }
    if report.stopped {
        line.push_str("; stopped early");
    }
    let _quiet = super::emit(&format!("{line}\n"));
}
