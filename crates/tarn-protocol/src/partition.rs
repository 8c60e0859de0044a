//! TODO: module partition
