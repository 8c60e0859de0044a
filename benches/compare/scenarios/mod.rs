//! One module per `compare` scenario. Each scenario owns its command-line arguments, the tables
//! it generates, the child-side operation it times and the variant its DESIGN.md target names;
//! the parent/child mechanics and the report format live in `child` and `report`.

pub(crate) mod checkpoint_write;
pub(crate) mod commit_latency;
pub(crate) mod concurrent_append;
pub(crate) mod optimize;
pub(crate) mod scan;
pub(crate) mod snapshot_load;
pub(crate) mod table_copy;
pub(crate) mod vacuum;
pub(crate) mod write;
