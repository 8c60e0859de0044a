//! The error type of `tarn`.

use tarn_log::LogError;
use tarn_protocol::ProtocolError;

/// Everything that can go wrong using a tarn table.
///
/// The `Display` text is one line naming the cause and what it concerns (table, version,
/// file, feature), suitable for an operator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing the transaction log failed.
    #[error(transparent)]
    Log(#[from] LogError),
    /// Protocol data is invalid or unsupported.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
