//! Space-filling curves over several columns (placeholder; see the curve task).
