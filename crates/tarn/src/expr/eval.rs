//! Evaluating expressions on Arrow record batches.
//!
//! This module decides the value of an expression on every row of a batch, with SQL's
//! three-valued logic: comparisons ([`super::compare`]) and arithmetic with a null give null,
//! `AND`/`OR` are Kleene (`false AND null` is false, `true OR null` is true), `NOT null` is
//! null, `x IN (1, NULL)` is true where `x = 1` and null elsewhere, `IS [NOT] NULL` is never
//! null. Columns are found by name (nested paths through struct children; a null struct makes
//! its fields null). Literals stay single values until they meet a column, so nothing is
//! materialized per row that a kernel can take as a scalar.
//!
//! Arithmetic uses Arrow's checked kernels: integer and decimal overflow and division by zero
//! are errors (as in Spark's ANSI mode), integer `/` divides as `double`, floating-point
//! arithmetic follows IEEE 754. This module never reads or skips data on its own.

use std::sync::Arc;

use arrow_arith::boolean::{and_kleene, is_null, not, or_kleene};
use arrow_arith::numeric;
use arrow_array::cast::AsArray;
use arrow_array::{
    Array, ArrayRef, BooleanArray, Datum, RecordBatch, RecordBatchOptions, Scalar as ArrowScalar,
    UInt32Array, new_null_array,
};
use arrow_cast::cast::{CastOptions, cast_with_options};
use arrow_schema::{ArrowError, DataType as ArrowType, Schema};
use arrow_select::nullif::nullif;
use arrow_select::take::take;
use tarn_protocol::scalar::Scalar;

use super::arrow_scalar::{scalar_array, scalar_at};
use super::compare::compare;
use super::display::column_sql;
use super::lookup::find_or_error;
use super::{ArithmeticOp, Expr, ExprError};

/// The value of a subexpression on a batch.
#[derive(Debug, Clone)]
pub(super) enum Value {
    /// One value per row.
    Array(ArrayRef),
    /// The same typed value (possibly a typed null) on every row.
    Literal(Scalar),
    /// The untyped null on every row.
    Null,
}

impl Expr {
    /// The expression's value on every row of `batch`: an array of `batch.num_rows()` values.
    ///
    /// Columns are looked up by name in the batch (exact match first, then a unique
    /// case-insensitive one), nested paths through struct children. A literal becomes an array
    /// of its Delta Arrow type; the untyped `NULL` an array of Arrow's `Null` type.
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<ArrayRef, ExprError> {
        let rows = batch.num_rows();
        match self.eval(batch)? {
            Value::Array(array) => Ok(array),
            Value::Literal(scalar) => {
                let single = scalar_array(&scalar).map_err(|reason| self.kernel_error(reason))?;
                broadcast(&single, rows).map_err(|e| self.kernel_error(e.to_string()))
            }
            Value::Null => Ok(new_null_array(&ArrowType::Null, rows)),
        }
    }

    /// The predicate's value on every row of `batch`: `true`, `false` or null. A filter keeps
    /// the rows where it is `true`.
    ///
    /// Fails with [`ExprError::NotBoolean`] when the expression is not a predicate.
    pub fn evaluate_predicate(&self, batch: &RecordBatch) -> Result<BooleanArray, ExprError> {
        let value = self.eval(batch)?;
        to_boolean(self, value, batch.num_rows())
    }

    pub(super) fn eval(&self, batch: &RecordBatch) -> Result<Value, ExprError> {
        let rows = batch.num_rows();
        Ok(match self {
            Expr::Column(path) => Value::Array(column(batch, path)?),
            Expr::Literal(scalar) => Value::Literal(scalar.clone()),
            Expr::Null => Value::Null,
            Expr::Compare { op, left, right } => Value::Array(Arc::new(compare(
                *op,
                (left, left.eval(batch)?),
                (right, right.eval(batch)?),
                rows,
            )?)),
            Expr::In {
                expr,
                list,
                negated,
            } => {
                let value = expr.eval(batch)?;
                let mut result = BooleanArray::from(vec![false; rows]);
                for item in list {
                    let equal = compare(
                        super::CompareOp::Eq,
                        (expr, value.clone()),
                        (item, item.eval(batch)?),
                        rows,
                    )?;
                    result =
                        or_kleene(&result, &equal).map_err(|e| self.kernel_error(e.to_string()))?;
                }
                if *negated {
                    result = not(&result).map_err(|e| self.kernel_error(e.to_string()))?;
                }
                Value::Array(Arc::new(result))
            }
            Expr::IsNull { expr, negated } => {
                let nulls = match expr.eval(batch)? {
                    Value::Array(array) => {
                        is_null(&array).map_err(|e| self.kernel_error(e.to_string()))?
                    }
                    Value::Literal(scalar) => BooleanArray::from(vec![scalar.is_null(); rows]),
                    Value::Null => BooleanArray::from(vec![true; rows]),
                };
                Value::Array(Arc::new(if *negated {
                    not(&nulls).map_err(|e| self.kernel_error(e.to_string()))?
                } else {
                    nulls
                }))
            }
            Expr::Arithmetic { op, left, right } => arithmetic(
                self,
                *op,
                (left, left.eval(batch)?),
                (right, right.eval(batch)?),
            )?,
            Expr::Negate(inner) => negate(self, inner, inner.eval(batch)?)?,
            Expr::And(operands) => {
                let mut result = BooleanArray::from(vec![true; rows]);
                for operand in operands {
                    let value = to_boolean(operand, operand.eval(batch)?, rows)?;
                    result = and_kleene(&result, &value)
                        .map_err(|e| self.kernel_error(e.to_string()))?;
                }
                Value::Array(Arc::new(result))
            }
            Expr::Or(operands) => {
                let mut result = BooleanArray::from(vec![false; rows]);
                for operand in operands {
                    let value = to_boolean(operand, operand.eval(batch)?, rows)?;
                    result =
                        or_kleene(&result, &value).map_err(|e| self.kernel_error(e.to_string()))?;
                }
                Value::Array(Arc::new(result))
            }
            Expr::Not(inner) => {
                let value = to_boolean(inner, inner.eval(batch)?, rows)?;
                Value::Array(Arc::new(
                    not(&value).map_err(|e| self.kernel_error(e.to_string()))?,
                ))
            }
        })
    }

    pub(super) fn kernel_error(&self, reason: String) -> ExprError {
        ExprError::Kernel {
            expression: self.to_string(),
            reason,
        }
    }
}

/// The value of a constant expression (no column references), `Some(Scalar::Null(_))` or
/// `None` for null; `Err` when it cannot be evaluated.
pub(super) fn fold_constant(expr: &Expr) -> Result<Option<Scalar>, ExprError> {
    match expr {
        Expr::Literal(scalar) if scalar.is_null() => return Ok(None),
        Expr::Literal(scalar) => return Ok(Some(scalar.clone())),
        Expr::Null => return Ok(None),
        _ => {}
    }
    let batch = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        Vec::new(),
        &RecordBatchOptions::new().with_row_count(Some(1)),
    )
    .map_err(|e| expr.kernel_error(e.to_string()))?;
    Ok(match expr.eval(&batch)? {
        Value::Literal(scalar) if scalar.is_null() => None,
        Value::Literal(scalar) => Some(scalar),
        Value::Null => None,
        Value::Array(array) => scalar_at(&array, 0).filter(|scalar| !scalar.is_null()),
    })
}

/// A one-element array repeated `rows` times.
pub(super) fn broadcast(single: &ArrayRef, rows: usize) -> Result<ArrayRef, ArrowError> {
    let indices = UInt32Array::from(vec![0u32; rows]);
    take(single.as_ref(), &indices, None)
}

/// A predicate's value as booleans; `expr` names the operand in errors.
pub(super) fn to_boolean(
    expr: &Expr,
    value: Value,
    rows: usize,
) -> Result<BooleanArray, ExprError> {
    match value {
        Value::Array(array) => match array.data_type() {
            ArrowType::Boolean => Ok(array.as_boolean().clone()),
            ArrowType::Null => Ok(BooleanArray::new_null(rows)),
            ArrowType::Dictionary(_, values) if **values == ArrowType::Boolean => {
                let unpacked = cast_with_options(&array, &ArrowType::Boolean, &strict())
                    .map_err(|e| expr.kernel_error(e.to_string()))?;
                Ok(unpacked.as_boolean().clone())
            }
            other => Err(ExprError::NotBoolean {
                expression: expr.to_string(),
                data_type: other.to_string(),
            }),
        },
        Value::Literal(Scalar::Boolean(v)) => Ok(BooleanArray::from(vec![v; rows])),
        Value::Literal(Scalar::Null(_)) | Value::Null => Ok(BooleanArray::new_null(rows)),
        Value::Literal(other) => Err(ExprError::NotBoolean {
            expression: expr.to_string(),
            data_type: super::literal::primitive_type_name(&other.data_type()),
        }),
    }
}

/// Cast options that fail rather than turn unrepresentable values into nulls.
pub(super) fn strict() -> CastOptions<'static> {
    CastOptions {
        safe: false,
        ..Default::default()
    }
}

/// The column at `path` in `batch`; a null struct makes its fields null.
fn column(batch: &RecordBatch, path: &[String]) -> Result<ArrayRef, ExprError> {
    let schema = batch.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let mut array = Arc::clone(batch.column(find_or_error(&names, path, 0)?));
    for depth in 1..path.len() {
        let Some(parent) = array.as_struct_opt() else {
            return Err(ExprError::NotAStruct {
                column: column_sql(&path[..depth]),
                data_type: array.data_type().to_string(),
                field: path[depth].clone(),
            });
        };
        let names = parent.column_names();
        let child = Arc::clone(parent.column(find_or_error(&names, path, depth)?));
        array = if parent.null_count() > 0 {
            let parent_nulls = is_null(parent).map_err(|e| ExprError::Kernel {
                expression: column_sql(path),
                reason: e.to_string(),
            })?;
            nullif(&child, &parent_nulls).map_err(|e| ExprError::Kernel {
                expression: column_sql(path),
                reason: e.to_string(),
            })?
        } else {
            child
        };
    }
    Ok(array)
}

/// An operand as a kernel input: the array, whether it is a single (scalar) value, and the
/// expression it came from.
struct Operand<'a> {
    array: ArrayRef,
    single: bool,
    expr: &'a Expr,
}

/// Turns a value into a kernel operand; `None` for nulls.
fn operand<'a>(
    owner: &Expr,
    expr: &'a Expr,
    value: Value,
) -> Result<Option<Operand<'a>>, ExprError> {
    Ok(match value {
        Value::Null => None,
        Value::Literal(scalar) if scalar.is_null() => None,
        Value::Literal(scalar) => Some(Operand {
            array: scalar_array(&scalar).map_err(|reason| owner.kernel_error(reason))?,
            single: true,
            expr,
        }),
        Value::Array(array) => Some(Operand {
            array: unpack_dictionary(owner, array)?,
            single: false,
            expr,
        }),
    })
}

/// A dictionary array as a plain array of its value type.
pub(super) fn unpack_dictionary(owner: &Expr, array: ArrayRef) -> Result<ArrayRef, ExprError> {
    match array.data_type() {
        ArrowType::Dictionary(_, values) => {
            let values = values.as_ref().clone();
            cast_with_options(&array, &values, &strict())
                .map_err(|e| owner.kernel_error(e.to_string()))
        }
        _ => Ok(array),
    }
}

/// Wraps an operand as an Arrow `Datum`.
fn datum(operand: &Operand<'_>) -> Box<dyn Datum> {
    if operand.single {
        Box::new(ArrowScalar::new(Arc::clone(&operand.array)))
    } else {
        Box::new(Arc::clone(&operand.array))
    }
}

fn arithmetic(
    owner: &Expr,
    op: ArithmeticOp,
    (left_expr, left): (&Expr, Value),
    (right_expr, right): (&Expr, Value),
) -> Result<Value, ExprError> {
    let (Some(l), Some(r)) = (
        operand(owner, left_expr, left)?,
        operand(owner, right_expr, right)?,
    ) else {
        return Ok(Value::Null);
    };
    let (lt, rt) =
        arithmetic_types(op, l.array.data_type(), r.array.data_type()).ok_or_else(|| {
            let offender = if numeric_type(l.array.data_type()) {
                &r
            } else {
                &l
            };
            if numeric_type(offender.array.data_type()) {
                ExprError::UnsupportedType {
                    expression: owner.to_string(),
                    data_type: format!(
                        "{} {} {}",
                        l.array.data_type(),
                        op.as_sql(),
                        r.array.data_type()
                    ),
                    operation: "arithmetic".into(),
                }
            } else {
                ExprError::NonNumericArithmetic {
                    op: op.as_sql().into(),
                    operand: offender.expr.to_string(),
                    data_type: offender.array.data_type().to_string(),
                }
            }
        })?;
    let (l, r) = (cast_operand(owner, l, &lt)?, cast_operand(owner, r, &rt)?);
    let (ld, rd) = (datum(&l), datum(&r));
    let result = match op {
        ArithmeticOp::Add => numeric::add(ld.as_ref(), rd.as_ref()),
        ArithmeticOp::Sub => numeric::sub(ld.as_ref(), rd.as_ref()),
        ArithmeticOp::Mul => numeric::mul(ld.as_ref(), rd.as_ref()),
        ArithmeticOp::Div => numeric::div(ld.as_ref(), rd.as_ref()),
        ArithmeticOp::Rem => numeric::rem(ld.as_ref(), rd.as_ref()),
    }
    .map_err(|e| arithmetic_error(owner, e))?;
    single_or_array(l.single && r.single, result)
}

fn cast_operand<'a>(
    owner: &Expr,
    operand: Operand<'a>,
    ty: &ArrowType,
) -> Result<Operand<'a>, ExprError> {
    if operand.array.data_type() == ty {
        return Ok(operand);
    }
    let array =
        cast_with_options(&operand.array, ty, &strict()).map_err(|e| arithmetic_error(owner, e))?;
    Ok(Operand { array, ..operand })
}

fn negate(owner: &Expr, inner: &Expr, value: Value) -> Result<Value, ExprError> {
    let Some(operand) = operand(owner, inner, value)? else {
        return Ok(Value::Null);
    };
    if !numeric_type(operand.array.data_type()) {
        return Err(ExprError::NonNumericArithmetic {
            op: "-".into(),
            operand: inner.to_string(),
            data_type: operand.array.data_type().to_string(),
        });
    }
    let result = numeric::neg(&operand.array).map_err(|e| arithmetic_error(owner, e))?;
    single_or_array(operand.single, result)
}

/// A kernel result: a literal again when both inputs were single values.
fn single_or_array(single: bool, result: ArrayRef) -> Result<Value, ExprError> {
    if single && let Some(scalar) = scalar_at(&result, 0) {
        return Ok(Value::Literal(scalar));
    }
    Ok(Value::Array(result))
}

fn arithmetic_error(owner: &Expr, error: ArrowError) -> ExprError {
    ExprError::Arithmetic {
        expression: owner.to_string(),
        reason: error.to_string(),
    }
}

fn numeric_type(ty: &ArrowType) -> bool {
    ty.is_numeric() && !matches!(ty, ArrowType::Float16)
}

/// Signed integer types by width; unsigned ones as the next wider signed type.
fn signed_rank(ty: &ArrowType) -> Option<u8> {
    match ty {
        ArrowType::Int8 => Some(0),
        ArrowType::Int16 | ArrowType::UInt8 => Some(1),
        ArrowType::Int32 | ArrowType::UInt16 => Some(2),
        ArrowType::Int64 | ArrowType::UInt32 => Some(3),
        _ => None,
    }
}

fn signed_of_rank(rank: u8) -> ArrowType {
    match rank {
        0 => ArrowType::Int8,
        1 => ArrowType::Int16,
        2 => ArrowType::Int32,
        _ => ArrowType::Int64,
    }
}

/// Decimal digits of any value of an integer type.
pub(super) fn arrow_integer_digits(ty: &ArrowType) -> Option<u8> {
    match ty {
        ArrowType::Int8 | ArrowType::UInt8 => Some(3),
        ArrowType::Int16 | ArrowType::UInt16 => Some(5),
        ArrowType::Int32 | ArrowType::UInt32 => Some(10),
        ArrowType::Int64 => Some(19),
        ArrowType::UInt64 => Some(20),
        _ => None,
    }
}

/// The types to cast the two operands of `op` to (Arrow's kernels want matching types; its
/// decimal kernels take different precisions and scales).
fn arithmetic_types(
    op: ArithmeticOp,
    l: &ArrowType,
    r: &ArrowType,
) -> Option<(ArrowType, ArrowType)> {
    use ArrowType::*;
    if let (Some(a), Some(b)) = (signed_rank(l), signed_rank(r)) {
        let ty = if op == ArithmeticOp::Div {
            Float64
        } else {
            signed_of_rank(a.max(b))
        };
        return Some((ty.clone(), ty));
    }
    if !numeric_type(l) || !numeric_type(r) {
        return None;
    }
    match (l, r) {
        (Float32, Float32) => Some((Float32, Float32)),
        (Float32 | Float64, _) | (_, Float32 | Float64) => Some((Float64, Float64)),
        (Decimal128(..), Decimal128(..)) => Some((l.clone(), r.clone())),
        (Decimal128(..), other) => Some((l.clone(), Decimal128(arrow_integer_digits(other)?, 0))),
        (other, Decimal128(..)) => Some((Decimal128(arrow_integer_digits(other)?, 0), r.clone())),
        // A 64-bit unsigned integer with another integer: as exact decimals.
        (a, b) => Some((
            Decimal128(arrow_integer_digits(a)?, 0),
            Decimal128(arrow_integer_digits(b)?, 0),
        )),
    }
}
