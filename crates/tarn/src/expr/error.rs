//! The expression error type.

/// What is wrong with an expression.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ExprError {
    /// The text does not parse; `line` and `column` are 1-based and point at `token`.
    #[error("invalid expression at line {line}, column {column} (near `{token}`): {message}")]
    Parse {
        /// 1-based line of the offending token.
        line: u64,
        /// 1-based column of the offending token.
        column: u64,
        /// The offending token's text.
        token: String,
        /// What the parser expected or found.
        message: String,
    },
}
