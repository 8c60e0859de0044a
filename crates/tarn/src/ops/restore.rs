//! `RESTORE TABLE table TO VERSION AS OF n`: one commit that makes the table's files those
//! of an earlier version.

use std::collections::HashSet;

use futures::{StreamExt, TryStreamExt};

use object_store::ObjectStoreExt as _;

use tarn_log::PathResolver;
use tarn_log::commit::CommitOptions;
use tarn_protocol::log_path::Version;

use super::create::max_protocol;
use crate::error::{Error, Result};
use crate::table::Table;
use crate::transaction::{CommitSummary, ReadSet};

/// Restores the table to an earlier version. Obtained from [`Table::restore`].
///
/// Files active at the target version but not now are added back; files active now but not
/// then are removed; the target version's metadata (schema, properties) comes back too. The
/// protocol never goes down. Fails, naming the file, if a file the target version needs was
/// deleted (by vacuum).
#[derive(Debug)]
pub struct RestoreBuilder {
    table: Table,
    version: Version,
    commit_options: CommitOptions,
}

impl RestoreBuilder {
    pub(crate) fn new(table: Table, version: Version) -> Self {
        Self {
            table,
            version,
            commit_options: CommitOptions::default(),
        }
    }

    /// How the commit retries when other writers commit at the same time.
    pub fn with_commit_options(mut self, options: CommitOptions) -> Self {
        self.commit_options = options;
        self
    }

    /// Restores and commits.
    pub async fn execute(self) -> Result<CommitSummary> {
        let current = self.table.snapshot().await?;
        let mut tx = current.transaction("RESTORE", ReadSet::WholeTable)?;
        if self.version >= current.version() {
            return Err(Error::InvalidArgument {
                reason: format!(
                    "cannot restore to version {}: the table is at version {}; restore goes \
                     back to an earlier version",
                    self.version,
                    current.version()
                ),
            });
        }
        // With statistics: the files added back keep their full `stats`.
        super::check_not_append_only(current.metadata(), "RESTORE")?;
        let target = self
            .table
            .snapshot_at_version(self.version)
            .await?
            .with_statistics()
            .await?;
        let key = |f: &tarn_log::FileView<'_>| (f.path().to_owned(), f.deletion_vector_id());
        let now: HashSet<_> = current.files().iter().map(|f| key(&f)).collect();
        let then: HashSet<_> = target.files().iter().map(|f| key(&f)).collect();

        tx.parameter("version", self.version.to_string());
        let adds: Vec<_> = target
            .files()
            .iter()
            .filter(|f| !now.contains(&key(f)))
            .map(|f| f.to_add())
            .collect();
        // One HEAD per file coming back, a few at a time: a restore over many files is not a
        // long chain of sequential requests. Paths resolve as the restored table will read
        // them: through the current version's resolver (restore does not bring back domain
        // metadata, so the locations the table declares stay the current ones), which refuses
        // a file outside the table and its locations before anything is asked of a store.
        let resolver = current.path_resolver();
        let paths: Vec<(PathResolver, String)> = adds
            .iter()
            .map(|add| (resolver.clone(), add.path.clone()))
            .collect();
        futures::stream::iter(paths)
            .map(|(resolver, path)| async move { check_exists(&resolver, &path).await })
            .buffer_unordered(16)
            .try_collect::<Vec<()>>()
            .await?;
        for file in current.files().iter().filter(|f| !then.contains(&key(f))) {
            tx.remove_file(&file, true);
        }
        if current.metadata() != target.metadata() {
            tx.set_metadata(target.metadata().clone());
        }
        let protocol = max_protocol(current.protocol(), target.protocol());
        if &protocol != current.protocol() {
            tx.set_protocol(protocol);
        }
        tx.summary_mut().rows_written = adds
            .iter()
            .filter_map(|a| num_records(a.stats.as_deref()))
            .sum();
        for add in adds {
            tx.add_existing_file(add);
        }
        // Files come back with their own row ids and commit versions.
        tx.set_row_ids_preserved(true);
        tx.with_commit_options(self.commit_options).commit().await
    }
}

fn num_records(stats: Option<&str>) -> Option<u64> {
    let value: serde_json::Value = serde_json::from_str(stats?).ok()?;
    value.get("numRecords")?.as_u64()
}

/// Fails if a data file the restored version needs is gone, or is not one the table may
/// read.
async fn check_exists(resolver: &PathResolver, path_in_log: &str) -> Result<()> {
    let path = tarn_protocol::data_path::DataFilePath::parse(path_in_log)?;
    let file = resolver.resolve(&path)?;
    match file.store().head(file.path()).await {
        Ok(_) => Ok(()),
        Err(object_store::Error::NotFound { .. }) => Err(Error::MissingDataFile {
            path: file.display().to_owned(),
        }),
        Err(source) => Err(Error::Storage {
            path: file.display().to_owned(),
            source,
        }),
    }
}
