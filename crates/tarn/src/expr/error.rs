//! The expression error type.
//!
//! Every variant names what it concerns: the position and token for text that does not parse,
//! the column and the types for expressions that do not type-check, the expression for
//! evaluation failures. Expression text in these errors is the expression's SQL `Display`.

/// What is wrong with an expression.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ExprError {
    /// The text does not parse; `line` and `column` are 1-based (columns count characters)
    /// and point at `token`.
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
    /// The text parses as SQL, but uses something tarn expressions do not support (a function
    /// call, a subquery, `LIKE`, an operator other than comparisons, `AND`/`OR`/`NOT` and
    /// `+ - * / %`).
    #[error("unsupported {construct} at line {line}, column {column}: `{token}`")]
    Unsupported {
        /// What the construct is: `function call`, `subquery`, `operator`, ...
        construct: String,
        /// 1-based line where it starts.
        line: u64,
        /// 1-based column where it starts.
        column: u64,
        /// Its text.
        token: String,
    },
    /// The expression nests deeper than [`crate::expr::MAX_DEPTH`] levels (`AND` and `OR`
    /// chains count as one level, however long).
    #[error(
        "the expression nests {depth} levels deep; at most {limit} are supported (long AND/OR \
         chains and IN lists are fine; deep nesting of other operators is not)"
    )]
    TooDeep {
        /// How deeply it nests.
        depth: usize,
        /// The limit.
        limit: usize,
    },
    /// The expression text is longer than tarn reads.
    #[error("the expression is {length} bytes long; at most {limit} are supported")]
    TooLong {
        /// Its length in bytes.
        length: usize,
        /// The limit.
        limit: usize,
    },
    /// A literal cannot be read: a malformed date, a number out of range, bad hex digits.
    #[error("invalid literal at line {line}, column {column} (`{token}`): {reason}")]
    InvalidLiteral {
        /// 1-based line of the literal.
        line: u64,
        /// 1-based column of the literal.
        column: u64,
        /// The literal's text.
        token: String,
        /// What is wrong.
        reason: String,
    },
    /// No column of that name exists.
    #[error("unknown column `{column}`{}", suggestion(.close, .available))]
    UnknownColumn {
        /// The column path as written (SQL form).
        column: String,
        /// Names at the same level that look like it (typos, case).
        close: Vec<String>,
        /// Names available at that level (at most 20), when none is close.
        available: Vec<String>,
    },
    /// A column name matches several columns that differ only in case.
    #[error("column `{column}` is ambiguous: it matches {}", matches.join(", "))]
    AmbiguousColumn {
        /// The column path as written.
        column: String,
        /// The columns it matches.
        matches: Vec<String>,
    },
    /// A path steps into a field of something that is not a struct.
    #[error("column `{column}` has type {data_type}, which has no field `{field}`")]
    NotAStruct {
        /// The path up to the non-struct column.
        column: String,
        /// Its type.
        data_type: String,
        /// The field looked for.
        field: String,
    },
    /// A literal cannot be converted to the type of what it is compared with
    /// (`int_col = 'abc'`).
    #[error("cannot compare {expression} ({data_type}) with {literal}: {reason}")]
    LiteralCoercion {
        /// The literal, as SQL.
        literal: String,
        /// What it is compared with, as SQL.
        expression: String,
        /// That expression's type.
        data_type: String,
        /// Why the conversion fails.
        reason: String,
    },
    /// Two operands whose types cannot be compared (`string_col = int_col`).
    #[error("cannot compare {left} ({left_type}) {op} {right} ({right_type})")]
    IncompatibleTypes {
        /// The operator.
        op: String,
        /// The left operand, as SQL.
        left: String,
        /// Its type.
        left_type: String,
        /// The right operand, as SQL.
        right: String,
        /// Its type.
        right_type: String,
    },
    /// Arithmetic on something that is not a number.
    #[error("`{op}` needs numbers, but {operand} has type {data_type}")]
    NonNumericArithmetic {
        /// The operator.
        op: String,
        /// The offending operand, as SQL.
        operand: String,
        /// Its type.
        data_type: String,
    },
    /// A non-boolean where a boolean is needed (`AND`, `OR`, `NOT`, a predicate).
    #[error("{expression} has type {data_type}, but a boolean is needed")]
    NotBoolean {
        /// The expression, as SQL.
        expression: String,
        /// Its type.
        data_type: String,
    },
    /// A value of a type expressions cannot work with (a list compared with `<`, an unsigned
    /// 64-bit Arrow column in arithmetic, ...).
    #[error("{expression} has type {data_type}, which {operation} does not support")]
    UnsupportedType {
        /// The expression, as SQL.
        expression: String,
        /// Its (Delta or Arrow) type.
        data_type: String,
        /// What was attempted: `comparison`, `arithmetic`, `evaluation`.
        operation: String,
    },
    /// Arithmetic failed on the data: overflow, integer or decimal division by zero.
    #[error("cannot evaluate {expression}: {reason}")]
    Arithmetic {
        /// The arithmetic expression, as SQL.
        expression: String,
        /// The failure (from the Arrow kernel).
        reason: String,
    },
    /// An Arrow kernel failed while evaluating an expression.
    #[error("cannot evaluate {expression}: {reason}")]
    Kernel {
        /// The expression, as SQL.
        expression: String,
        /// The kernel's error.
        reason: String,
    },
}

/// The tail of an unknown-column message: the close names, or the available ones.
fn suggestion(close: &[String], available: &[String]) -> String {
    if !close.is_empty() {
        format!("; did you mean {}?", quoted_list(close))
    } else if !available.is_empty() {
        format!("; available: {}", quoted_list(available))
    } else {
        String::new()
    }
}

fn quoted_list(names: &[String]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
