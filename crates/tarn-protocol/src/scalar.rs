//! TODO: module scalar
