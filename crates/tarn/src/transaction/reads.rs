//! What a transaction read: the [`ReadSet`] every transaction declares, and how a predicate
//! read is matched against other writers' files.

use std::collections::{BTreeMap, BTreeSet};

use tarn_protocol::actions::Add;
use tarn_protocol::conflict::{ReadPredicate, ReadScope};
use tarn_protocol::schema::{ColumnMappingMode, StructType};

use crate::expr::Expr;
use crate::scan::file_predicate::{FileFacts, FilePredicate};

/// What a transaction read of the table, which decides the concurrent commits it conflicts
/// with. Every transaction declares one ([`crate::Snapshot::transaction`] takes it): there is
/// no default, so an operation cannot become a blind append by forgetting it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ReadSet {
    /// Nothing: a blind append. It conflicts with no data change.
    Nothing,
    /// Exactly these files (their log paths) and no other rows: compaction reads its inputs.
    /// Only a concurrent removal of one of them conflicts.
    Files(BTreeSet<String>),
    /// The rows `predicate` (resolved against the table schema) selects, found in `files`
    /// (the files that could hold them: the scan's candidates). Files added meanwhile that
    /// the predicate may match conflict (as the isolation level says), and so does a
    /// concurrent removal of one of `files`.
    Predicate {
        /// The predicate.
        predicate: Expr,
        /// The log paths of the files read.
        files: BTreeSet<String>,
    },
    /// Every row: any concurrent data change conflicts.
    WholeTable,
}

impl ReadSet {
    /// [`ReadSet::Files`] of these paths.
    pub fn files<I, S>(paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ReadSet::Files(paths.into_iter().map(Into::into).collect())
    }

    /// [`ReadSet::Predicate`] of this predicate, read in these files.
    pub fn predicate<I, S>(predicate: Expr, files: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ReadSet::Predicate {
            predicate,
            files: files.into_iter().map(Into::into).collect(),
        }
    }

    /// The conflict rules' view: what was read, and which files.
    pub(crate) fn scope(&self) -> (ReadScope, BTreeSet<String>) {
        match self {
            ReadSet::Nothing => (ReadScope::Nothing, BTreeSet::new()),
            ReadSet::Files(files) => (ReadScope::Files, files.clone()),
            ReadSet::Predicate { files, .. } => (ReadScope::Predicate, files.clone()),
            ReadSet::WholeTable => (ReadScope::WholeTable, BTreeSet::new()),
        }
    }
}

/// Whether another writer's files could hold rows a transaction read: its predicate asked of
/// the files' partition values and statistics, `true` whenever unsure.
pub(crate) struct PredicateReads {
    predicate: Option<FilePredicate>,
    whole_table: bool,
}

impl PredicateReads {
    pub(crate) fn new(
        reads: &ReadSet,
        schema: &StructType,
        partition_columns: &[String],
        mapping: ColumnMappingMode,
    ) -> Self {
        match reads {
            ReadSet::Nothing | ReadSet::Files(_) => Self {
                predicate: None,
                whole_table: false,
            },
            ReadSet::WholeTable => Self {
                predicate: None,
                whole_table: true,
            },
            ReadSet::Predicate { predicate, .. } => Self {
                predicate: Some(FilePredicate::new(
                    predicate.clone(),
                    schema,
                    partition_columns,
                    mapping,
                )),
                whole_table: false,
            },
        }
    }

    fn may_match(
        &self,
        partition_values: Option<&BTreeMap<String, Option<String>>>,
        stats: Option<&str>,
    ) -> bool {
        let Some(predicate) = &self.predicate else {
            return self.whole_table;
        };
        let Some(values) = partition_values else {
            // A remove without partition values: nothing is known of its rows.
            return true;
        };
        let lookup = |name: &str| values.get(name).and_then(|v| v.as_deref());
        predicate.may_match(&FileFacts {
            partition_value: &lookup,
            stats,
            num_records: None,
        })
    }
}

impl ReadPredicate for PredicateReads {
    fn may_match_added(&self, add: &Add) -> bool {
        self.may_match(Some(&add.partition_values), add.stats.as_deref())
    }
}
