//! Reading expressions from SQL text.
//!
//! This module decides which SQL tarn accepts as an expression and what each piece means,
//! using `sqlparser`'s generic dialect for the syntax:
//!
//! - columns: `a`, `a.b` (field `b` of struct `a`), `"Company Very Short"` or
//!   `` `Company Very Short` `` (one name, dots and spaces included);
//! - literals: numbers (typed as described in the `literal` module: `3` integer, `3.5`
//!   decimal(2,1), `3.5E0` double), `'strings'` with `''` for a quote, `TRUE`, `FALSE`,
//!   `NULL`, `X'0102'` binary, typed literals `DATE '2026-01-07'`,
//!   `TIMESTAMP '2026-01-07 10:00:00'` (UTC unless the text has a zone),
//!   `TIMESTAMP_NTZ '2026-01-07 10:00:00'`, and `CAST(<literal> AS <type>)`, which reads the
//!   literal as the type (`CAST(NULL AS BIGINT)` is a typed null);
//! - `=`, `<>`, `!=`, `<`, `<=`, `>`, `>=`, `[NOT] IN (...)`, `IS [NOT] NULL`,
//!   `[NOT] BETWEEN ... AND ...` (rewritten into comparisons), `AND`, `OR`, `NOT`;
//! - `+`, `-`, `*`, `/`, `%` and unary `-`.
//!
//! Everything else (function calls, subqueries, `LIKE`, `CASE`, casts of columns, other
//! operators) is rejected with an error that names the construct and its position. Errors
//! carry 1-based lines and columns, counted in characters. This module never looks at a
//! schema: names are resolved by [`Expr::validate`].

use sqlparser::ast::{
    BinaryOperator, CastKind, DataType as SqlType, ExactNumberInfo, Expr as SqlExpr, InTarget,
    Spanned, TimezoneInfo, UnaryOperator, Value,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan, Tokenizer};
use tarn_protocol::scalar::Scalar;
use tarn_protocol::schema::{DecimalType, PrimitiveType};

use super::literal::{decode_hex, number_literal, read_as};
use super::{ArithmeticOp, CompareOp, Expr, ExprError, MAX_DEPTH};

/// How deeply sqlparser may recurse (parentheses, right-nested and prefix operators).
const RECURSION_LIMIT: usize = MAX_DEPTH + 8;

/// The longest expression text read, in bytes: room for an `IN` list of tens of thousands
/// of values, and a bound on everything below.
pub const MAX_EXPRESSION_BYTES: usize = 1 << 20;

/// Text up to this length is parsed on the calling thread. sqlparser builds left-deep trees
/// for chains of infix operators (`a + b + c ...`) without counting them against its
/// recursion limit, and walks them recursively (when dropping them, when printing them in an
/// error); a chain is at most half as long as its text, and this short a chain is harmless on
/// any stack.
const INLINE_BYTES: usize = 2048;

/// Stack for parsing longer text: a fixed part plus room for the deepest chain the text can
/// hold (measured: the tree's recursive walks use well under this per level).
fn parser_stack_bytes(text_bytes: usize) -> usize {
    (8 << 20) + text_bytes.saturating_mul(256)
}

impl Expr {
    /// Parses SQL text into an expression: `day = '2026-01-07' AND value > 3`.
    ///
    /// See the module docs of `tarn::expr` for the accepted syntax. Errors point at the
    /// offending token with a 1-based line and column: [`ExprError::Parse`] for text that is
    /// not an expression, [`ExprError::Unsupported`] for SQL that tarn does not evaluate,
    /// [`ExprError::InvalidLiteral`] for a literal that cannot be read;
    /// [`ExprError::TooLong`] for text over [`MAX_EXPRESSION_BYTES`] and
    /// [`ExprError::TooDeep`] for an expression nesting deeper than [`MAX_DEPTH`] (chains of
    /// `AND` or `OR` are flat and count once).
    pub fn parse(sql: &str) -> Result<Expr, ExprError> {
        if sql.len() > MAX_EXPRESSION_BYTES {
            return Err(ExprError::TooLong {
                length: sql.len(),
                limit: MAX_EXPRESSION_BYTES,
            });
        }
        if sql.len() <= INLINE_BYTES {
            return parse_text(sql);
        }
        std::thread::scope(|scope| {
            let parser = std::thread::Builder::new()
                .name("tarn-expr-parse".to_owned())
                .stack_size(parser_stack_bytes(sql.len()))
                .spawn_scoped(scope, || parse_text(sql));
            match parser {
                Ok(handle) => handle.join().unwrap_or_else(|_| {
                    Err(parse_failure(
                        sql,
                        "the expression parser failed".to_owned(),
                    ))
                }),
                Err(err) => Err(parse_failure(
                    sql,
                    format!("cannot start a thread to parse the expression: {err}"),
                )),
            }
        })
    }
}

fn parse_failure(sql: &str, message: String) -> ExprError {
    ExprError::Parse {
        line: 1,
        column: 1,
        token: source_at(sql, 1, 1),
        message,
    }
}

/// Parses on the current thread; see [`Expr::parse`].
fn parse_text(sql: &str) -> Result<Expr, ExprError> {
    let dialect = GenericDialect {};
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|error| {
            let (line, column) = (error.location.line, error.location.column);
            ExprError::Parse {
                line,
                column,
                token: source_at(sql, line, column),
                message: error.message,
            }
        })?;
    check_nesting(&tokens)?;
    let mut parser = Parser::new(&dialect)
        .with_recursion_limit(RECURSION_LIMIT)
        .with_tokens_with_locations(tokens.clone());
    let ast = parser
        .parse_expr()
        .map_err(|error| parser_error(sql, &tokens, error))?;
    let next = parser.peek_token();
    if next.token != Token::EOF {
        return Err(ExprError::Parse {
            line: next.span.start.line,
            column: next.span.start.column,
            token: next.token.to_string(),
            message: "unexpected text after the end of the expression".into(),
        });
    }
    let expr = Converter { tokens: &tokens }.convert(&ast, 1)?;
    expr.check_depth()?;
    Ok(expr)
}

/// Refuses text that nests deeper than [`MAX_DEPTH`] through parentheses or runs of prefix
/// operators (`NOT NOT ...`, `- - ...`), before sqlparser meets them: its recursion limit
/// would otherwise surface as a confusing error, or, for prefix operators, be swallowed by a
/// fallback that reads the rest as unexpected text.
fn check_nesting(tokens: &[TokenWithSpan]) -> Result<(), ExprError> {
    let (mut open, mut prefix_run) = (0usize, 0usize);
    for token in tokens {
        match &token.token {
            Token::Whitespace(_) => continue,
            Token::LParen => open += 1,
            Token::RParen => {
                open = open.saturating_sub(1);
                prefix_run = 0;
            }
            Token::Minus | Token::Plus => prefix_run += 1,
            Token::Word(word) if word.keyword == sqlparser::keywords::Keyword::NOT => {
                prefix_run += 1
            }
            _ => prefix_run = 0,
        }
        let depth = open + prefix_run;
        if depth > MAX_DEPTH {
            return Err(ExprError::TooDeep {
                depth,
                limit: MAX_DEPTH,
            });
        }
    }
    Ok(())
}

/// A parser error with its position, read from sqlparser's ` at Line: L, Column: C` suffix;
/// without one, the error is at the end of the input.
fn parser_error(sql: &str, tokens: &[TokenWithSpan], error: ParserError) -> ExprError {
    let text = match error {
        ParserError::ParserError(text) | ParserError::TokenizerError(text) => text,
        ParserError::RecursionLimitExceeded => {
            return ExprError::Parse {
                line: 1,
                column: 1,
                token: source_at(sql, 1, 1),
                message: format!("the expression nests more than {RECURSION_LIMIT} levels deep"),
            };
        }
    };
    match split_location(&text) {
        Some((message, line, column)) => {
            let token = tokens
                .iter()
                .find(|t| t.span.start.line == line && t.span.start.column == column)
                .map(|t| t.token.to_string())
                .unwrap_or_else(|| source_at(sql, line, column));
            ExprError::Parse {
                line,
                column,
                token,
                message: message.to_owned(),
            }
        }
        None => {
            let (line, column) = end_of_input(sql);
            ExprError::Parse {
                line,
                column,
                token: "end of input".into(),
                message: text.replace("found: EOF", "found: end of input"),
            }
        }
    }
}

/// Splits `"<message> at Line: 3, Column: 7"` into the message and the position.
fn split_location(text: &str) -> Option<(&str, u64, u64)> {
    let at = text.rfind(" at Line: ")?;
    let (line, column) = text[at + " at Line: ".len()..].split_once(", Column: ")?;
    Some((
        &text[..at],
        line.trim().parse().ok()?,
        column.trim().parse().ok()?,
    ))
}

/// The position just after the last non-blank character.
fn end_of_input(sql: &str) -> (u64, u64) {
    let trimmed = sql.trim_end();
    let line = trimmed.matches('\n').count() + 1;
    let last_line = trimmed.rsplit('\n').next().unwrap_or("");
    (line as u64, last_line.chars().count() as u64 + 1)
}

/// The source text at a position, up to the next blank (at most 30 characters).
fn source_at(sql: &str, line: u64, column: u64) -> String {
    let Some(text) = sql
        .split('\n')
        .nth(usize::try_from(line.saturating_sub(1)).unwrap_or(0))
    else {
        return String::new();
    };
    let rest: String = text
        .chars()
        .skip(usize::try_from(column.saturating_sub(1)).unwrap_or(0))
        .take_while(|c| !c.is_whitespace())
        .take(30)
        .collect();
    if rest.is_empty() {
        "end of input".into()
    } else {
        rest
    }
}

/// Turns sqlparser's syntax tree into an [`Expr`], rejecting what tarn does not support.
struct Converter<'a> {
    /// All tokens of the input, to locate operators, which the syntax tree has no span for.
    tokens: &'a [TokenWithSpan],
}

impl Converter<'_> {
    /// Converts `ast`, found `depth` levels down. Chains of `AND` and `OR` are walked without
    /// recursion and flattened; anything else deeper than [`MAX_DEPTH`] is refused before it
    /// is looked at.
    fn convert(&self, ast: &SqlExpr, depth: usize) -> Result<Expr, ExprError> {
        if depth > MAX_DEPTH {
            return Err(ExprError::TooDeep {
                depth,
                limit: MAX_DEPTH,
            });
        }
        let below = depth + 1;
        Ok(match ast {
            SqlExpr::BinaryOp {
                op: op @ (BinaryOperator::And | BinaryOperator::Or),
                ..
            } => {
                let operands = chain_operands(ast, op)
                    .into_iter()
                    .map(|operand| self.convert(operand, below))
                    .collect::<Result<Vec<_>, _>>()?;
                if *op == BinaryOperator::And {
                    Expr::all(operands)
                } else {
                    Expr::any(operands)
                }
            }
            SqlExpr::Identifier(ident) => Expr::Column(vec![ident.value.clone()]),
            SqlExpr::CompoundIdentifier(idents) => {
                Expr::Column(idents.iter().map(|ident| ident.value.clone()).collect())
            }
            SqlExpr::Nested(inner) => self.convert(inner, depth)?,
            SqlExpr::Value(value) => self.value(&value.value, value.span)?,
            SqlExpr::TypedString(typed) => {
                let span = typed.value.span;
                let ty = primitive_type(&typed.data_type, span)?;
                let Value::SingleQuotedString(text) = &typed.value.value else {
                    return Err(unsupported("typed literal", span, &typed.to_string()));
                };
                Expr::Literal(
                    read_as(text, ty)
                        .map_err(|reason| invalid(span, &typed.to_string(), reason))?,
                )
            }
            SqlExpr::UnaryOp { op, expr } => match (op, number_text(expr)) {
                (UnaryOperator::Minus, Some((text, span))) => {
                    let text = negate_text(&text);
                    Expr::Literal(
                        number_literal(&text).map_err(|reason| invalid(span, &text, reason))?,
                    )
                }
                (UnaryOperator::Minus, None) => Expr::Negate(Box::new(self.convert(expr, below)?)),
                (UnaryOperator::Plus, _) => self.convert(expr, below)?,
                (UnaryOperator::Not, _) => Expr::Not(Box::new(self.convert(expr, below)?)),
                (op, _) => {
                    return Err(unsupported(
                        &format!("operator `{op}`"),
                        ast.span(),
                        &ast.to_string(),
                    ));
                }
            },
            SqlExpr::BinaryOp { left, op, right } => {
                let l = || self.convert(left, below).map(Box::new);
                let r = || self.convert(right, below).map(Box::new);
                let compare = |op| -> Result<Expr, ExprError> {
                    Ok(Expr::Compare {
                        op,
                        left: l()?,
                        right: r()?,
                    })
                };
                let arithmetic = |op| -> Result<Expr, ExprError> {
                    Ok(Expr::Arithmetic {
                        op,
                        left: l()?,
                        right: r()?,
                    })
                };
                match op {
                    BinaryOperator::Eq => compare(CompareOp::Eq)?,
                    BinaryOperator::NotEq => compare(CompareOp::NotEq)?,
                    BinaryOperator::Lt => compare(CompareOp::Lt)?,
                    BinaryOperator::LtEq => compare(CompareOp::LtEq)?,
                    BinaryOperator::Gt => compare(CompareOp::Gt)?,
                    BinaryOperator::GtEq => compare(CompareOp::GtEq)?,
                    BinaryOperator::Plus => arithmetic(ArithmeticOp::Add)?,
                    BinaryOperator::Minus => arithmetic(ArithmeticOp::Sub)?,
                    BinaryOperator::Multiply => arithmetic(ArithmeticOp::Mul)?,
                    BinaryOperator::Divide => arithmetic(ArithmeticOp::Div)?,
                    BinaryOperator::Modulo => arithmetic(ArithmeticOp::Rem)?,
                    other => return Err(self.unsupported_operator(other, left, ast)),
                }
            }
            SqlExpr::IsNull(inner) => self.convert(inner, below)?.is_null(),
            SqlExpr::IsNotNull(inner) => self.convert(inner, below)?.is_not_null(),
            SqlExpr::In {
                expr,
                target: InTarget::List(items),
                negated,
                global: false,
            } => Expr::In {
                expr: Box::new(self.convert(expr, below)?),
                list: items
                    .iter()
                    .map(|item| self.convert(item, below))
                    .collect::<Result<_, _>>()?,
                negated: *negated,
            },
            SqlExpr::In {
                target: InTarget::Subquery(query),
                ..
            } => return Err(unsupported("subquery", query.span(), &query.to_string())),
            SqlExpr::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let (expr, low, high) = (
                    self.convert(expr, below)?,
                    self.convert(low, below)?,
                    self.convert(high, below)?,
                );
                if *negated {
                    expr.not_between(low, high)
                } else {
                    expr.between(low, high)
                }
            }
            SqlExpr::Cast {
                kind: CastKind::Cast | CastKind::DoubleColon,
                expr,
                data_type,
                format: None,
            } => self.cast(expr, data_type, ast)?,
            SqlExpr::Function(function) => {
                return Err(unsupported(
                    &format!("function call `{}`", function.name),
                    ast.span(),
                    &ast.to_string(),
                ));
            }
            SqlExpr::Subquery(query)
            | SqlExpr::Exists {
                subquery: query, ..
            } => {
                return Err(unsupported("subquery", query.span(), &ast.to_string()));
            }
            other => {
                return Err(unsupported(
                    describe(other),
                    other.span(),
                    &other.to_string(),
                ));
            }
        })
    }

    fn value(&self, value: &Value, span: Span) -> Result<Expr, ExprError> {
        Ok(match value {
            Value::Number(text, false) => {
                Expr::Literal(number_literal(text).map_err(|reason| invalid(span, text, reason))?)
            }
            Value::SingleQuotedString(text) => Expr::Literal(Scalar::String(text.clone())),
            Value::HexStringLiteral(digits) => Expr::Literal(Scalar::Binary(
                decode_hex(digits).map_err(|reason| invalid(span, &value.to_string(), reason))?,
            )),
            Value::Boolean(v) => Expr::Literal(Scalar::Boolean(*v)),
            Value::Null => Expr::Null,
            other => return Err(unsupported("kind of literal", span, &other.to_string())),
        })
    }

    /// `CAST(<literal> AS <type>)`: the literal's text read as the type.
    fn cast(
        &self,
        operand: &SqlExpr,
        data_type: &SqlType,
        ast: &SqlExpr,
    ) -> Result<Expr, ExprError> {
        let span = ast.span();
        let ty = primitive_type(data_type, span)?;
        let read = |text: &str, span: Span| {
            read_as(text, ty)
                .map(Expr::Literal)
                .map_err(|reason| invalid(span, &ast.to_string(), reason))
        };
        if let Some((text, span)) = number_text(operand) {
            return read(&text, span);
        }
        if let SqlExpr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } = operand
            && let Some((text, span)) = number_text(expr)
        {
            return read(&negate_text(&text), span);
        }
        match operand {
            SqlExpr::Nested(inner) => self.cast(inner, data_type, ast),
            SqlExpr::Value(value) => match &value.value {
                Value::Null => Ok(Expr::Literal(Scalar::Null(ty))),
                Value::SingleQuotedString(text) => read(text, value.span),
                Value::HexStringLiteral(digits) if ty == PrimitiveType::Binary => {
                    let bytes = decode_hex(digits)
                        .map_err(|reason| invalid(value.span, &value.to_string(), reason))?;
                    Ok(Expr::Literal(Scalar::Binary(bytes)))
                }
                _ => Err(unsupported("cast of this literal", span, &ast.to_string())),
            },
            _ => Err(unsupported(
                "cast of a non-literal (only literals can be cast)",
                span,
                &ast.to_string(),
            )),
        }
    }

    /// The error for an operator tarn does not support, pointing at the operator itself.
    fn unsupported_operator(
        &self,
        op: &BinaryOperator,
        left: &SqlExpr,
        ast: &SqlExpr,
    ) -> ExprError {
        let after = left.span().end;
        let token = (after.line > 0)
            .then(|| {
                self.tokens.iter().find(|t| {
                    !matches!(t.token, Token::Whitespace(_))
                        && (t.span.start.line, t.span.start.column) >= (after.line, after.column)
                })
            })
            .flatten();
        match token {
            Some(token) => ExprError::Unsupported {
                construct: "operator".into(),
                line: token.span.start.line,
                column: token.span.start.column,
                token: token.token.to_string(),
            },
            None => unsupported(&format!("operator `{op}`"), ast.span(), &ast.to_string()),
        }
    }
}

/// The operands of a chain of one logical operator, left to right, found without recursion
/// (sqlparser builds `a OR b OR c` as `(a OR b) OR c`; parentheses around a chain of the same
/// operator are looked through, since both operators are associative).
fn chain_operands<'a>(ast: &'a SqlExpr, op: &BinaryOperator) -> Vec<&'a SqlExpr> {
    let mut operands = Vec::new();
    let mut pending = vec![ast];
    while let Some(node) = pending.pop() {
        match node {
            SqlExpr::BinaryOp {
                left,
                op: node_op,
                right,
            } if node_op == op => {
                // Right first, so that the left operand is taken next.
                pending.push(right);
                pending.push(left);
            }
            SqlExpr::Nested(inner) if matches!(&**inner, SqlExpr::BinaryOp { op: inner_op, .. } if inner_op == op) =>
            {
                pending.push(inner);
            }
            other => operands.push(other),
        }
    }
    operands
}

/// The text of a plain number literal, with its span.
fn number_text(expr: &SqlExpr) -> Option<(String, Span)> {
    match expr {
        SqlExpr::Value(value) => match &value.value {
            Value::Number(text, false) => Some((text.clone(), value.span)),
            _ => None,
        },
        _ => None,
    }
}

/// `3` -> `-3`, `-3` -> `3`.
fn negate_text(text: &str) -> String {
    match text.strip_prefix('-') {
        Some(positive) => positive.to_owned(),
        None => format!("-{text}"),
    }
}

/// The Delta type a SQL type name stands for.
fn primitive_type(data_type: &SqlType, span: Span) -> Result<PrimitiveType, ExprError> {
    use PrimitiveType as P;
    let decimal = |precision: u64, scale: i64| {
        u8::try_from(precision)
            .ok()
            .zip(u8::try_from(scale).ok())
            .and_then(|(p, s)| DecimalType::try_new(p, s).ok())
            .map(P::Decimal)
            .ok_or_else(|| unsupported("decimal type", span, &data_type.to_string()))
    };
    Ok(match data_type {
        SqlType::TinyInt(None) => P::Byte,
        SqlType::SmallInt(None) | SqlType::Int2(None) => P::Short,
        SqlType::Int(None) | SqlType::Integer(None) | SqlType::Int4(None) => P::Integer,
        SqlType::BigInt(None) | SqlType::Int8(None) => P::Long,
        SqlType::Float(ExactNumberInfo::None) | SqlType::Real | SqlType::Float4 => P::Float,
        SqlType::Double(ExactNumberInfo::None) | SqlType::DoublePrecision | SqlType::Float8 => {
            P::Double
        }
        SqlType::Decimal(info) | SqlType::Dec(info) | SqlType::Numeric(info) => match info {
            // Spark's default decimal.
            ExactNumberInfo::None => decimal(10, 0)?,
            ExactNumberInfo::Precision(p) => decimal(*p, 0)?,
            ExactNumberInfo::PrecisionAndScale(p, s) => decimal(*p, *s)?,
        },
        SqlType::String(None) | SqlType::Text | SqlType::Varchar(_) => P::String,
        SqlType::Binary(None) | SqlType::Varbinary(_) | SqlType::Bytea => P::Binary,
        SqlType::Boolean | SqlType::Bool => P::Boolean,
        SqlType::Date => P::Date,
        SqlType::Timestamp(None, TimezoneInfo::None | TimezoneInfo::WithTimeZone) => P::Timestamp,
        SqlType::Timestamp(None, TimezoneInfo::WithoutTimeZone) | SqlType::TimestampNtz(None) => {
            P::TimestampNtz
        }
        SqlType::Custom(name, args) if args.is_empty() => {
            match name.to_string().to_ascii_uppercase().as_str() {
                "BYTE" => P::Byte,
                "SHORT" => P::Short,
                "LONG" => P::Long,
                "TIMESTAMP_LTZ" => P::Timestamp,
                _ => return Err(unsupported("type", span, &data_type.to_string())),
            }
        }
        other => return Err(unsupported("type", span, &other.to_string())),
    })
}

/// A name for a construct tarn does not support.
fn describe(expr: &SqlExpr) -> &'static str {
    match expr {
        SqlExpr::Like { .. } | SqlExpr::ILike { .. } | SqlExpr::SimilarTo { .. } => "pattern match",
        SqlExpr::RLike { .. } => "regular expression match",
        SqlExpr::Case { .. } => "CASE expression",
        SqlExpr::Cast { .. } => "cast",
        SqlExpr::IsTrue(_)
        | SqlExpr::IsFalse(_)
        | SqlExpr::IsNotTrue(_)
        | SqlExpr::IsNotFalse(_)
        | SqlExpr::IsUnknown(_)
        | SqlExpr::IsNotUnknown(_) => "truth-value test (IS TRUE/FALSE/UNKNOWN)",
        SqlExpr::IsDistinctFrom(..) | SqlExpr::IsNotDistinctFrom(..) => "IS [NOT] DISTINCT FROM",
        SqlExpr::In { .. } => "IN target",
        SqlExpr::CompoundFieldAccess { .. } | SqlExpr::JsonAccess { .. } => {
            "element access (only struct fields are supported, as `a.b`)"
        }
        SqlExpr::Interval(_) => "interval",
        SqlExpr::Tuple(_) => "tuple",
        SqlExpr::Array(_) => "array literal",
        SqlExpr::Map(_) => "map literal",
        SqlExpr::Wildcard(_) | SqlExpr::QualifiedWildcard(..) => "wildcard",
        _ => "expression",
    }
}

fn location(span: Span) -> Location {
    if span.start.line == 0 {
        Location { line: 1, column: 1 }
    } else {
        span.start
    }
}

fn unsupported(construct: &str, span: Span, text: &str) -> ExprError {
    let at = location(span);
    ExprError::Unsupported {
        construct: construct.to_owned(),
        line: at.line,
        column: at.column,
        token: text.to_owned(),
    }
}

fn invalid(span: Span, text: &str, reason: String) -> ExprError {
    let at = location(span);
    ExprError::InvalidLiteral {
        line: at.line,
        column: at.column,
        token: text.to_owned(),
        reason,
    }
}
