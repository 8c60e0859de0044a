//! TODO: module replay
