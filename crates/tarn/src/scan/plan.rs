//! Planning a scan: which files to read, with what partition values and deletion vectors.
//!
//! A file is skipped only when [`Expr::could_match`] proves, from its partition values and
//! statistics, that no row can satisfy the filter. Pruning by partition is counted apart from
//! pruning by statistics so that `--explain` can say which did the work.

use std::collections::BTreeSet;
use std::sync::Arc;

use tarn_log::{FileView, PathResolver, ResolvedPath};
use tarn_protocol::data_path::DataFilePath;
use tarn_protocol::partition::parse_partition_value;
use tarn_protocol::schema::{ColumnMappingMode, DataType as DeltaType, StructType};

use super::file_predicate::{FileFacts, FilePredicate};
use super::reader::{FileTask, WorkColumn};
use super::stats::StatsColumn;
use crate::error::{Error, Result};
use crate::expr::Expr;

/// The outcome of planning.
#[derive(Debug, Default)]
pub(crate) struct FilePlan {
    pub(crate) tasks: Vec<FileTask>,
    pub(crate) total: usize,
    pub(crate) pruned_by_partition: usize,
    pub(crate) pruned_by_stats: usize,
    pub(crate) skipped_by_limit: usize,
}

/// The statistics columns a filter needs: its referenced data columns that are primitive, with
/// the physical paths statistics are keyed by.
pub(crate) fn stats_columns(
    filter: &Expr,
    schema: &StructType,
    partition_columns: &[String],
    mode: ColumnMappingMode,
) -> Vec<StatsColumn> {
    let mut columns = Vec::new();
    for logical in filter.referenced_columns() {
        if logical.len() == 1 && partition_columns.contains(&logical[0]) {
            continue;
        }
        // Walk the path, collecting physical names.
        let mut physical = Vec::with_capacity(logical.len());
        let mut current = schema;
        let mut leaf = None;
        for (depth, name) in logical.iter().enumerate() {
            let Some(field) = current.field(name) else {
                break;
            };
            physical.push(field.physical_name(mode).to_owned());
            match &field.data_type {
                DeltaType::Struct(inner) if depth + 1 < logical.len() => current = inner,
                DeltaType::Primitive(ty) if depth + 1 == logical.len() => leaf = Some(*ty),
                _ => break,
            }
        }
        if let Some(data_type) = leaf {
            columns.push(StatsColumn {
                logical,
                physical,
                data_type,
            });
        }
    }
    columns
}

/// Resolves a file's `path` from the log through the table's resolver: a store, the path in
/// it and its display name, or the error that refuses it (nothing is opened here).
pub(crate) fn resolve_path(resolver: &PathResolver, file: &FileView<'_>) -> Result<ResolvedPath> {
    Ok(resolver.resolve(&DataFilePath::parse(file.path())?)?)
}

/// Plans the files of a snapshot.
pub(crate) fn plan_files(
    files: &tarn_log::ActiveFiles,
    resolver: &PathResolver,
    work_columns: &[WorkColumn],
    partition_names: &[(String, String)],
    filter: Option<&FilePredicate>,
    only: Option<&BTreeSet<String>>,
) -> Result<FilePlan> {
    let mut plan = FilePlan {
        total: only.map_or(files.len(), BTreeSet::len),
        ..FilePlan::default()
    };
    if let Some(only) = only {
        let active: BTreeSet<&str> = files.iter().map(|f| f.path()).collect();
        if let Some(missing) = only.iter().find(|p| !active.contains(p.as_str())) {
            return Err(Error::InvalidArgument {
                reason: format!(
                    "{missing:?} is not an active file of the table at this version, so it \
                     cannot be scanned"
                ),
            });
        }
    }
    // (work column index, logical name, physical name, type) of every partition column read.
    let partitions: Vec<(usize, &str, &str, tarn_protocol::schema::PrimitiveType)> = work_columns
        .iter()
        .enumerate()
        .filter_map(|(index, column)| match column {
            WorkColumn::Partition(field) => {
                let DeltaType::Primitive(ty) = field.data_type else {
                    return None;
                };
                let physical = partition_names
                    .iter()
                    .find(|(logical, _)| *logical == field.name)
                    .map_or(field.name.as_str(), |(_, physical)| physical.as_str());
                Some((index, field.name.as_str(), physical, ty))
            }
            WorkColumn::Data(_) | WorkColumn::RowId(_) | WorkColumn::RowCommitVersion(_) => None,
        })
        .collect();
    for file in files.iter() {
        if only.is_some_and(|only| !only.contains(file.path())) {
            continue;
        }
        let mut values = Vec::with_capacity(partitions.len());
        for (index, logical, physical, ty) in &partitions {
            let raw = file.partition_value(physical).flatten();
            values.push((*index, parse_partition_value(logical, raw, *ty)?));
        }
        if let Some(filter) = filter {
            // Partition values first, then statistics, to count what each pruned.
            let lookup = |name: &str| file.partition_value(name).flatten();
            let mut facts = FileFacts {
                partition_value: &lookup,
                stats: None,
                num_records: file.num_records(),
            };
            if !filter.may_match(&facts) {
                plan.pruned_by_partition += 1;
                continue;
            }
            facts.stats = file.stats();
            if !filter.stats_columns().is_empty() && !filter.may_match(&facts) {
                plan.pruned_by_stats += 1;
                continue;
            }
        }
        let resolved = resolve_path(resolver, &file)?;
        plan.tasks.push(FileTask {
            log_path: file.path().to_owned(),
            store: Arc::clone(resolved.store()),
            path: resolved.path().clone(),
            display: resolved.display().to_owned(),
            size: u64::try_from(file.size()).unwrap_or(0),
            num_records: file.num_records(),
            partition_values: values,
            deletion_vector: file.deletion_vector(),
            base_row_id: file.base_row_id(),
            default_row_commit_version: file.default_row_commit_version(),
        });
    }
    Ok(plan)
}
