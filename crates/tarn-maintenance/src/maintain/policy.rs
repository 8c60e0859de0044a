//! Maintenance policy files: which tables, and what to do to each.
//!
//! A policy is TOML. Settings under `[defaults]` apply to every table; each `[[table]]` names
//! a table by `uri` (any store; `storage_options` for its credentials and endpoint) and may
//! override any section. A table with only a `uri` gets the defaults: compact, checkpoint
//! when due, a lite vacuum with the table's own retention, and log cleanup.
//!
//! ```toml
//! [defaults]
//! time_budget = "30m"          # per table; operations not started by then are skipped
//! vacuum = { mode = "lite" }
//!
//! [[table]]
//! uri = "s3://lake/events"
//! storage_options = { aws_region = "eu-west-1" }
//! compact = { zorder_by = ["user_id", "ts"], where = "day >= '2026-01-01'" }
//! vacuum = { retain = "14d" }
//!
//! [[table.archive]]            # after compaction, before the checkpoint and vacuum
//! to = "s3://cold/events"
//! where = "day < '2026-01-01'"
//! storage_class = "GLACIER_IR"
//!
//! [[table]]
//! uri = "/data/small"
//! log_cleanup = { enabled = false }
//! archive = [{ to = "/mnt/cold/small", older_than = "90d", mode = "detach" }]
//! ```
//!
//! Archive rules (`archive`, a list; each as `tarn archive` takes it: `to`, `where` and/or
//! `older_than`, `mode`, `storage_class`) are per table only: an archive location belongs to
//! one table, so a default one could not be shared.
//!
//! Everything is checked when the file is read, before any work: unknown keys, wrong types,
//! durations, sizes and predicates that do not parse. Errors name the line and the key.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::archive::{Age, ArchiveMode, check_storage_class};
use crate::vacuum::VacuumMode;

/// A policy file that cannot be used: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {key}: {reason}")]
pub struct PolicyError {
    /// The file (as given).
    pub file: String,
    /// The line, from 1.
    pub line: usize,
    /// The key at fault (`table[2].vacuum.retain`), or what was being read.
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

/// A checked policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// The tables, in file order.
    pub tables: Vec<TablePolicy>,
}

/// What to do to one table.
#[derive(Debug, Clone, PartialEq)]
pub struct TablePolicy {
    /// The table's URI or path.
    pub uri: String,
    /// Storage options for its store (`aws_region`, `aws_endpoint`, ...).
    pub storage_options: BTreeMap<String, String>,
    /// Operations not started after this long are skipped; `None` for no limit.
    pub time_budget: Option<Duration>,
    /// Compaction, if on.
    pub compact: Option<CompactPolicy>,
    /// Whether to write a checkpoint when one is due.
    pub checkpoint: bool,
    /// Vacuum, if on.
    pub vacuum: Option<VacuumPolicy>,
    /// Whether to clean up expired log files.
    pub log_cleanup: bool,
    /// Archive rules, run in order after compaction (none: no archiving).
    pub archive: Vec<ArchivePolicy>,
}

/// One archive rule of a table: what `tarn archive` takes.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchivePolicy {
    /// The archive location (URI or path).
    pub to: String,
    /// A predicate on partition columns (SQL text, checked).
    pub filter: Option<String>,
    /// Files added at least this long ago.
    pub older_than: Option<Age>,
    /// Tier (default) or detach.
    pub mode: ArchiveMode,
    /// The copies' storage class, in the store's spelling (checked against the location).
    pub storage_class: Option<String>,
}

/// Compaction settings.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CompactPolicy {
    /// Files roll at this size (default: the table's).
    pub target_size: Option<u64>,
    /// Only the files that may match this predicate (SQL text, checked).
    pub filter: Option<String>,
    /// Sort by these columns.
    pub sort_by: Vec<String>,
    /// Z-order by these columns.
    pub zorder_by: Vec<String>,
    /// Memory for the bins rewritten at once.
    pub memory: Option<u64>,
}

/// Vacuum settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VacuumPolicy {
    /// Full or lite (a lite vacuum that cannot run falls back to full).
    pub mode: VacuumMode,
    /// Retention in ms (default: the table's).
    pub retain_ms: Option<i64>,
    /// Allow a retention shorter than the table's.
    pub force: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    defaults: Sections,
    #[serde(default, rename = "table")]
    tables: Vec<Spanned<TableEntry>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sections {
    time_budget: Option<Spanned<String>>,
    compact: Option<Spanned<CompactSection>>,
    checkpoint: Option<Switch>,
    vacuum: Option<Spanned<VacuumSection>>,
    log_cleanup: Option<Switch>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableEntry {
    uri: Spanned<String>,
    #[serde(default)]
    storage_options: BTreeMap<String, String>,
    time_budget: Option<Spanned<String>>,
    compact: Option<Spanned<CompactSection>>,
    checkpoint: Option<Switch>,
    vacuum: Option<Spanned<VacuumSection>>,
    log_cleanup: Option<Switch>,
    #[serde(default)]
    archive: Vec<Spanned<ArchiveSection>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ArchiveSection {
    to: Spanned<String>,
    #[serde(rename = "where")]
    filter: Option<Spanned<String>>,
    older_than: Option<Spanned<String>>,
    mode: Option<Spanned<String>>,
    storage_class: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct Switch {
    enabled: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CompactSection {
    enabled: Option<bool>,
    target_size: Option<Spanned<String>>,
    #[serde(rename = "where")]
    filter: Option<Spanned<String>>,
    sort_by: Option<Vec<String>>,
    zorder_by: Option<Vec<String>>,
    memory: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct VacuumSection {
    enabled: Option<bool>,
    mode: Option<Spanned<String>>,
    retain: Option<Spanned<String>>,
    force: Option<bool>,
}

/// Reads and checks a policy; `file` names it in errors.
pub fn parse_policy(text: &str, file: &str) -> Result<Policy, PolicyError> {
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let error = |offset: usize, key: String, reason: String| PolicyError {
        file: file.to_owned(),
        line: line_of(offset),
        key,
        reason,
    };
    let parsed: File = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        // The span covers the offending key or value; name it.
        let key = text
            .get(span.clone())
            .map(|s| s.trim().trim_matches('"').to_owned())
            .filter(|s| !s.is_empty() && !s.contains('\n'))
            .unwrap_or_else(|| "policy".to_owned());
        error(span.start, key, e.message().to_owned())
    })?;
    if parsed.tables.is_empty() {
        return Err(error(
            0,
            "table".to_owned(),
            "the policy names no table: add a [[table]] with a uri".to_owned(),
        ));
    }
    let defaults = parsed.defaults;
    let mut tables = Vec::with_capacity(parsed.tables.len());
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (index, entry) in parsed.tables.into_iter().enumerate() {
        let entry = entry.into_inner();
        let key = |name: &str| format!("table[{}].{name}", index + 1);
        let uri = entry.uri.get_ref().trim().to_owned();
        if uri.is_empty() {
            return Err(error(
                entry.uri.span().start,
                key("uri"),
                "is empty".to_owned(),
            ));
        }
        if let Some(first) = seen.insert(uri.clone(), index + 1) {
            return Err(error(
                entry.uri.span().start,
                key("uri"),
                format!("table {uri} is already table[{first}]: each table once"),
            ));
        }
        let budget = entry
            .time_budget
            .as_ref()
            .or(defaults.time_budget.as_ref())
            .map(|text| {
                duration(text)
                    .map_err(|reason| error(text.span().start, key("time_budget"), reason))
            })
            .transpose()?;
        let compact_section = entry.compact.as_ref().or(defaults.compact.as_ref());
        let compact = match compact_section {
            None => Some(CompactPolicy::default()),
            Some(section) => compact(section).map_err(|(offset, name, reason)| {
                error(offset, key(&format!("compact.{name}")), reason)
            })?,
        };
        let vacuum_section = entry.vacuum.as_ref().or(defaults.vacuum.as_ref());
        let vacuum = match vacuum_section {
            None => Some(VacuumPolicy {
                mode: VacuumMode::Lite,
                retain_ms: None,
                force: false,
            }),
            Some(section) => vacuum(section.get_ref()).map_err(|(offset, name, reason)| {
                error(offset, key(&format!("vacuum.{name}")), reason)
            })?,
        };
        let mut archive = Vec::with_capacity(entry.archive.len());
        for (rule_index, section) in entry.archive.iter().enumerate() {
            let rule = archive_rule(section).map_err(|(offset, name, reason)| {
                error(
                    offset,
                    key(&format!("archive[{}].{name}", rule_index + 1)),
                    reason,
                )
            })?;
            archive.push(rule);
        }
        let switch = |table: Option<Switch>, default: Option<Switch>| {
            table.or(default).is_none_or(|s| s.enabled)
        };
        tables.push(TablePolicy {
            uri,
            storage_options: entry.storage_options,
            time_budget: budget,
            compact,
            checkpoint: switch(entry.checkpoint, defaults.checkpoint),
            vacuum,
            log_cleanup: switch(entry.log_cleanup, defaults.log_cleanup),
            archive,
        });
    }
    Ok(Policy { tables })
}

type FieldError = (usize, &'static str, String);

fn duration(text: &Spanned<String>) -> Result<Duration, String> {
    let ms = tarn::protocol::retention::parse_duration_ms(text.get_ref())?;
    Ok(Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
}

fn size(text: &Spanned<String>, name: &'static str) -> Result<u64, FieldError> {
    tarn::protocol::size::parse_byte_size(text.get_ref())
        .map_err(|reason| (text.span().start, name, reason))
}

fn compact(spanned: &Spanned<CompactSection>) -> Result<Option<CompactPolicy>, FieldError> {
    let section = spanned.get_ref();
    if section.enabled == Some(false) {
        return Ok(None);
    }
    let filter = match &section.filter {
        Some(text) => {
            tarn::Expr::parse(text.get_ref())
                .map_err(|e| (text.span().start, "where", e.to_string()))?;
            Some(text.get_ref().clone())
        }
        None => None,
    };
    let sort_by = section.sort_by.clone().unwrap_or_default();
    let zorder_by = section.zorder_by.clone().unwrap_or_default();
    if !sort_by.is_empty() && !zorder_by.is_empty() {
        return Err((
            spanned.span().start,
            "sort_by",
            "sort_by and zorder_by exclude each other: pick one layout".to_owned(),
        ));
    }
    Ok(Some(CompactPolicy {
        target_size: section
            .target_size
            .as_ref()
            .map(|t| size(t, "target_size"))
            .transpose()?,
        filter,
        sort_by,
        zorder_by,
        memory: section
            .memory
            .as_ref()
            .map(|t| size(t, "memory"))
            .transpose()?,
    }))
}

fn archive_rule(spanned: &Spanned<ArchiveSection>) -> Result<ArchivePolicy, FieldError> {
    let section = spanned.get_ref();
    let to = section.to.get_ref().trim().to_owned();
    let location = tarn::StoreRegistry::normalize(&to)
        .map_err(|e| (section.to.span().start, "to", e.to_string()))?;
    if section.filter.is_none() && section.older_than.is_none() {
        return Err((
            spanned.span().start,
            "where",
            "an archive rule needs `where` (a predicate on partition columns), `older_than`, \
             or both"
                .to_owned(),
        ));
    }
    let filter = match &section.filter {
        Some(text) => {
            tarn::Expr::parse(text.get_ref())
                .map_err(|e| (text.span().start, "where", e.to_string()))?;
            Some(text.get_ref().clone())
        }
        None => None,
    };
    let older_than = section
        .older_than
        .as_ref()
        .map(|text| Age::parse(text.get_ref()).map_err(|e| (text.span().start, "older_than", e)))
        .transpose()?;
    let mode = match &section.mode {
        None => ArchiveMode::Tier,
        Some(text) => text
            .get_ref()
            .parse()
            .map_err(|e| (text.span().start, "mode", e))?,
    };
    let storage_class = section
        .storage_class
        .as_ref()
        .map(|text| {
            check_storage_class(location.store().scheme(), text.get_ref())
                .map_err(|e| (text.span().start, "storage_class", e))
        })
        .transpose()?;
    Ok(ArchivePolicy {
        to,
        filter,
        older_than,
        mode,
        storage_class,
    })
}

fn vacuum(section: &VacuumSection) -> Result<Option<VacuumPolicy>, FieldError> {
    if section.enabled == Some(false) {
        return Ok(None);
    }
    let mode = match &section.mode {
        None => VacuumMode::Lite,
        Some(text) => match text.get_ref().as_str() {
            "lite" => VacuumMode::Lite,
            "full" => VacuumMode::Full,
            other => {
                return Err((
                    text.span().start,
                    "mode",
                    format!("{other:?} is not a vacuum mode: full or lite"),
                ));
            }
        },
    };
    let retain_ms = match &section.retain {
        None => None,
        Some(text) => Some(
            tarn::protocol::retention::parse_duration_ms(text.get_ref())
                .map_err(|reason| (text.span().start, "retain", reason))?,
        ),
    };
    Ok(Some(VacuumPolicy {
        mode,
        retain_ms,
        force: section.force.unwrap_or(false),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_with_only_a_uri_gets_the_defaults() {
        let policy = parse_policy("[[table]]\nuri = \"/data/t\"\n", "p.toml").unwrap();
        let table = &policy.tables[0];
        assert_eq!(table.uri, "/data/t");
        assert_eq!(table.compact, Some(CompactPolicy::default()));
        assert!(table.checkpoint && table.log_cleanup);
        assert_eq!(
            table.vacuum,
            Some(VacuumPolicy {
                mode: VacuumMode::Lite,
                retain_ms: None,
                force: false
            })
        );
        assert_eq!(table.time_budget, None);
    }

    #[test]
    fn tables_override_the_defaults_section_by_section() {
        let text = r#"
[defaults]
time_budget = "30m"
vacuum = { mode = "full", retain = "14d" }
log_cleanup = { enabled = false }

[[table]]
uri = "s3://lake/events"
storage_options = { aws_region = "eu-west-1" }
compact = { zorder_by = ["user_id", "ts"], where = "day >= '2026-01-01'", target_size = "256MiB" }

[[table]]
uri = "/data/small"
time_budget = "2h"
vacuum = { enabled = false }
compact = { enabled = false }
"#;
        let policy = parse_policy(text, "p.toml").unwrap();
        let [events, small] = policy.tables.as_slice() else {
            panic!("two tables")
        };
        assert_eq!(events.time_budget, Some(Duration::from_secs(1800)));
        assert_eq!(events.storage_options["aws_region"], "eu-west-1");
        let compact = events.compact.as_ref().unwrap();
        assert_eq!(compact.zorder_by, ["user_id", "ts"]);
        assert_eq!(compact.target_size, Some(256 << 20));
        assert_eq!(compact.filter.as_deref(), Some("day >= '2026-01-01'"));
        assert_eq!(events.vacuum.unwrap().mode, VacuumMode::Full);
        assert_eq!(
            events.vacuum.unwrap().retain_ms,
            Some(14 * 24 * 3600 * 1000)
        );
        assert!(!events.log_cleanup);
        assert_eq!(small.time_budget, Some(Duration::from_secs(7200)));
        assert_eq!((small.vacuum, &small.compact), (None, &None));
    }

    #[test]
    fn errors_name_the_line_and_the_key() {
        let error = |text: &str| parse_policy(text, "p.toml").unwrap_err();
        let e = error("[[table]]\nuri = \"/t\"\nvacum = { mode = \"lite\" }\n");
        assert_eq!(e.line, 3, "{e}");
        assert!(e.reason.contains("vacum"), "{e}");
        let e = error(
            "[[table]]\nuri = \"/t\"\n\n[[table]]\nuri = \"/u\"\nvacuum = { retain = \"7 days\" }\n",
        );
        assert_eq!(
            (e.line, e.key.as_str()),
            (6, "table[2].vacuum.retain"),
            "{e}"
        );
        let e = error("[[table]]\nuri = \"/t\"\ncompact = { where = \"day >\" }\n");
        assert_eq!(
            (e.line, e.key.as_str()),
            (3, "table[1].compact.where"),
            "{e}"
        );
        let e = error("[[table]]\nuri = \"/t\"\nvacuum = { mode = \"quick\" }\n");
        assert!(
            e.to_string().starts_with("p.toml:3: table[1].vacuum.mode:"),
            "{e}"
        );
        let e = error("[[table]]\nuri = \"/t\"\n[[table]]\nuri = \"/t\"\n");
        assert_eq!(e.line, 4, "{e}");
        assert!(error("").reason.contains("no table"));
        let e = error("[[table]]\nuri = 3\n");
        assert_eq!(e.line, 2, "{e}");
        let e = error("[defaults]\ntime_budget = \"soon\"\n[[table]]\nuri = \"/t\"\n");
        assert_eq!((e.line, e.key.as_str()), (2, "table[1].time_budget"), "{e}");
    }

    #[test]
    fn archive_rules_are_per_table_and_checked() {
        let text = r#"
[[table]]
uri = "s3://lake/events"

[[table.archive]]
to = "s3://cold/events"
where = "day < '2026-01-01'"
storage_class = "glacier_ir"

[[table.archive]]
to = "s3://cold/events"
older_than = "90d"
mode = "detach"

[[table]]
uri = "/data/small"
"#;
        let policy = parse_policy(text, "p.toml").unwrap();
        let rules = &policy.tables[0].archive;
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].to, "s3://cold/events");
        assert_eq!(rules[0].filter.as_deref(), Some("day < '2026-01-01'"));
        assert_eq!(rules[0].mode, ArchiveMode::Tier);
        assert_eq!(rules[0].storage_class.as_deref(), Some("GLACIER_IR"));
        assert_eq!(rules[1].older_than, Some(Age::parse("90d").unwrap()));
        assert_eq!(rules[1].mode, ArchiveMode::Detach);
        assert!(policy.tables[1].archive.is_empty());

        let error = |text: &str| parse_policy(text, "p.toml").unwrap_err();
        let table = "[[table]]\nuri = \"/t\"\n";
        let e = error(&format!("{table}archive = [{{ to = \"/c\" }}]\n"));
        assert_eq!(
            (e.line, e.key.as_str()),
            (3, "table[1].archive[1].where"),
            "{e}"
        );
        let e = error(&format!(
            "{table}archive = [{{ to = \"/c\", older_than = \"1d\" }}, {{ to = \"/c\", older_than = \"soon\" }}]\n"
        ));
        assert_eq!(e.key, "table[1].archive[2].older_than", "{e}");
        let e = error(&format!(
            "{table}archive = [{{ to = \"/c\", older_than = \"1d\", storage_class = \"GLACIER_IR\" }}]\n"
        ));
        assert!(e.reason.contains("local file system"), "{e}");
        let e = error(&format!(
            "{table}archive = [{{ to = \"s3://c/t\", where = \"day <\" }}]\n"
        ));
        assert_eq!(e.key, "table[1].archive[1].where", "{e}");
        let e = error(&format!(
            "{table}archive = [{{ to = \"/c\", older_than = \"1d\", mode = \"move\" }}]\n"
        ));
        assert_eq!(e.key, "table[1].archive[1].mode", "{e}");
        // A default archive location would be shared by every table: not allowed.
        let e = error(&format!(
            "[defaults]\narchive = [{{ to = \"/c\", older_than = \"1d\" }}]\n{table}"
        ));
        assert!(e.reason.contains("archive"), "{e}");
    }
}
