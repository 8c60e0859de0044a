//! Comparison kernels: `left op right` on Arrow values, with Spark's semantics.
//!
//! This module decides how two evaluated operands compare:
//!
//! - a column (any array) with a literal: the literal is placed in the column's domain
//!   ([`super::coerce`]) and compared as a scalar of the column's exact Arrow type, so the
//!   column is never cast (dictionary columns are compared through their dictionary); a literal
//!   beyond the column's values gives a constant;
//! - two arrays: both are cast to a common type (wider integer, a decimal holding both, double
//!   for anything with a float, timestamp for dates with timestamps, the larger string or binary
//!   layout); incompatible kinds are an error;
//! - floats are normalized first (`-0.0` to `0.0`, every NaN to one NaN) so that Arrow's total
//!   order gives Spark's semantics: NaN equals NaN and is larger than everything else;
//! - anything compared with a null is null.
//!
//! It never decides logic (`AND`, `IN`): that is [`super::eval`].

use std::sync::Arc;

use arrow_arith::boolean::is_not_null;
use arrow_array::{Array, ArrayRef, BooleanArray, Datum, Scalar as ArrowScalar};
use arrow_buffer::BooleanBuffer;
use arrow_cast::cast::cast_with_options;
use arrow_ord::cmp;
use arrow_schema::{ArrowError, DataType as ArrowType, TimeUnit};
use tarn_protocol::scalar::Scalar;

use super::arrow_scalar::{arrow_domain, domain_array};
use super::coerce::{Domain, Rewritten, bound, compare_values, holds, own_value, rewrite};
use super::display::literal_sql;
use super::eval::{Value, arrow_integer_digits, strict, unpack_dictionary};
use super::float_order::normalize_floats;
use super::literal::primitive_type_name;
use super::{CompareOp, Expr, ExprError};

/// `left op right` on `rows` rows; each operand comes with its expression, for errors.
pub(super) fn compare(
    op: CompareOp,
    (left_expr, left): (&Expr, Value),
    (right_expr, right): (&Expr, Value),
    rows: usize,
) -> Result<BooleanArray, ExprError> {
    let is_null = |value: &Value| match value {
        Value::Null => true,
        Value::Literal(scalar) => scalar.is_null(),
        Value::Array(_) => false,
    };
    if is_null(&left) || is_null(&right) {
        return Ok(BooleanArray::new_null(rows));
    }
    match (left, right) {
        (Value::Array(array), Value::Literal(literal)) => {
            array_with_literal(op, left_expr, &array, &literal)
        }
        (Value::Literal(literal), Value::Array(array)) => {
            array_with_literal(op.flip(), right_expr, &array, &literal)
        }
        (Value::Array(l), Value::Array(r)) => arrays(op, (left_expr, l), (right_expr, r)),
        (Value::Literal(l), Value::Literal(r)) => {
            let result = literals(op, (left_expr, &l), (right_expr, &r))?;
            Ok(BooleanArray::from(vec![result; rows]))
        }
        // Nulls returned above.
        _ => Ok(BooleanArray::new_null(rows)),
    }
}

/// `array op literal`.
fn array_with_literal(
    op: CompareOp,
    array_expr: &Expr,
    array: &ArrayRef,
    literal: &Scalar,
) -> Result<BooleanArray, ExprError> {
    let array = plain_layout(array_expr, array)?;
    let value_type = match array.data_type() {
        ArrowType::Dictionary(_, values) => values.as_ref().clone(),
        other => other.clone(),
    };
    let domain = arrow_domain(&value_type).ok_or_else(|| ExprError::UnsupportedType {
        expression: array_expr.to_string(),
        data_type: array.data_type().to_string(),
        operation: "comparison".into(),
    })?;
    let placed = bound(literal, &domain).map_err(|reason| ExprError::LiteralCoercion {
        literal: literal_sql(literal),
        expression: array_expr.to_string(),
        data_type: value_type.to_string(),
        reason,
    })?;
    match rewrite(op, placed) {
        Rewritten::Constant(result) => {
            let valid = is_not_null(&array).map_err(|e| array_expr.kernel_error(e.to_string()))?;
            let values = if result {
                BooleanBuffer::new_set(array.len())
            } else {
                BooleanBuffer::new_unset(array.len())
            };
            Ok(BooleanArray::new(values, nulls_of(&valid)))
        }
        Rewritten::Compare(op, value) => {
            let array = if matches!(domain, Domain::Float32 | Domain::Float64) {
                normalize_floats(&unpack_dictionary(array_expr, array)?)
            } else {
                array
            };
            let scalar = domain_array(&value, &value_type)
                .map_err(|reason| array_expr.kernel_error(reason))?;
            kernel(op, &array, &ArrowScalar::new(scalar))
                .map_err(|e| array_expr.kernel_error(e.to_string()))
        }
    }
}

/// Validity as a null buffer: null where `valid` is false.
fn nulls_of(valid: &BooleanArray) -> Option<arrow_buffer::NullBuffer> {
    let buffer = arrow_buffer::NullBuffer::new(valid.values().clone());
    (buffer.null_count() > 0).then_some(buffer)
}

/// Layouts comparisons do not take directly, cast to ones they do: fixed-size binary to
/// binary, narrow decimals to `Decimal128`, `Date64` to timestamps.
fn plain_layout(expr: &Expr, array: &ArrayRef) -> Result<ArrayRef, ExprError> {
    let target = match array.data_type() {
        ArrowType::FixedSizeBinary(_) => ArrowType::Binary,
        ArrowType::Decimal32(p, s) | ArrowType::Decimal64(p, s) => ArrowType::Decimal128(*p, *s),
        ArrowType::Date64 => ArrowType::Timestamp(TimeUnit::Millisecond, None),
        ArrowType::Dictionary(_, values)
            if matches!(
                values.as_ref(),
                ArrowType::FixedSizeBinary(_)
                    | ArrowType::Decimal32(..)
                    | ArrowType::Decimal64(..)
                    | ArrowType::Date64
            ) =>
        {
            let unpacked = unpack_dictionary(expr, Arc::clone(array))?;
            return plain_layout(expr, &unpacked);
        }
        _ => return Ok(Arc::clone(array)),
    };
    cast_with_options(array, &target, &strict()).map_err(|e| expr.kernel_error(e.to_string()))
}

/// `left op right` for two arrays, cast to a common type.
fn arrays(
    op: CompareOp,
    (left_expr, left): (&Expr, ArrayRef),
    (right_expr, right): (&Expr, ArrayRef),
) -> Result<BooleanArray, ExprError> {
    let left = plain_layout(left_expr, &unpack_dictionary(left_expr, left)?)?;
    let right = plain_layout(right_expr, &unpack_dictionary(right_expr, right)?)?;
    let common = comparison_type(left.data_type(), right.data_type()).ok_or_else(|| {
        ExprError::IncompatibleTypes {
            op: op.as_sql().into(),
            left: left_expr.to_string(),
            left_type: left.data_type().to_string(),
            right: right_expr.to_string(),
            right_type: right.data_type().to_string(),
        }
    })?;
    let cast = |expr: &Expr, array: &ArrayRef| -> Result<ArrayRef, ExprError> {
        let array = if array.data_type() == &common {
            Arc::clone(array)
        } else {
            cast_with_options(array, &common, &strict())
                .map_err(|e| expr.kernel_error(e.to_string()))?
        };
        Ok(normalize_floats(&array))
    };
    let (l, r) = (cast(left_expr, &left)?, cast(right_expr, &right)?);
    kernel(op, &l, &r).map_err(|e| left_expr.kernel_error(e.to_string()))
}

/// `left op right` for two literals: the right one placed among values of the left one's type
/// (or the other way round), so it is exact like every literal comparison.
fn literals(
    op: CompareOp,
    (left_expr, left): (&Expr, &Scalar),
    (right_expr, right): (&Expr, &Scalar),
) -> Result<bool, ExprError> {
    let attempt = |op: CompareOp, fixed: &Scalar, placed: &Scalar| -> Option<bool> {
        let domain = Domain::of_primitive(fixed.data_type());
        match rewrite(op, bound(placed, &domain).ok()?) {
            Rewritten::Constant(result) => Some(result),
            Rewritten::Compare(op, value) => {
                let order = compare_values(&own_value(fixed)?, &value)?;
                Some(holds(op, order))
            }
        }
    };
    attempt(op, left, right)
        .or_else(|| attempt(op.flip(), right, left))
        .ok_or_else(|| ExprError::IncompatibleTypes {
            op: op.as_sql().into(),
            left: left_expr.to_string(),
            left_type: primitive_type_name(&left.data_type()),
            right: right_expr.to_string(),
            right_type: primitive_type_name(&right.data_type()),
        })
}

/// The Arrow comparison kernel for `op`.
fn kernel(op: CompareOp, left: &dyn Datum, right: &dyn Datum) -> Result<BooleanArray, ArrowError> {
    match op {
        CompareOp::Eq => cmp::eq(left, right),
        CompareOp::NotEq => cmp::neq(left, right),
        CompareOp::Lt => cmp::lt(left, right),
        CompareOp::LtEq => cmp::lt_eq(left, right),
        CompareOp::Gt => cmp::gt(left, right),
        CompareOp::GtEq => cmp::gt_eq(left, right),
    }
}

/// The type two arrays are compared in; `None` when they do not compare.
fn comparison_type(l: &ArrowType, r: &ArrowType) -> Option<ArrowType> {
    use ArrowType::*;
    if l == r {
        return Some(l.clone());
    }
    let string_like = |t: &ArrowType| matches!(t, Utf8 | LargeUtf8 | Utf8View);
    let binary_like = |t: &ArrowType| matches!(t, Binary | LargeBinary | BinaryView);
    let temporal = |t: &ArrowType| matches!(t, Date32 | Timestamp(..));
    let float = |t: &ArrowType| matches!(t, Float32 | Float64);
    let number = |t: &ArrowType| {
        float(t) || matches!(t, Decimal128(..)) || arrow_integer_digits(t).is_some()
    };
    Some(match (l, r) {
        _ if string_like(l) && string_like(r) => widest_layout(l, r, Utf8View, LargeUtf8, Utf8),
        _ if binary_like(l) && binary_like(r) => {
            widest_layout(l, r, BinaryView, LargeBinary, Binary)
        }
        _ if temporal(l) && temporal(r) => {
            let zoned = |t: &ArrowType| matches!(t, Timestamp(_, Some(_)));
            let zone = (zoned(l) || zoned(r)).then(|| Arc::<str>::from("UTC"));
            // The finer unit, so that no value is truncated (dates count as seconds).
            let fineness = |t: &ArrowType| match t {
                Timestamp(TimeUnit::Nanosecond, _) => 3,
                Timestamp(TimeUnit::Microsecond, _) => 2,
                Timestamp(TimeUnit::Millisecond, _) => 1,
                _ => 0,
            };
            let unit = match fineness(l).max(fineness(r)) {
                3 => TimeUnit::Nanosecond,
                2 => TimeUnit::Microsecond,
                1 => TimeUnit::Millisecond,
                _ => TimeUnit::Second,
            };
            Timestamp(unit, zone)
        }
        _ if number(l) && number(r) => {
            if float(l) || float(r) {
                Float64
            } else {
                common_exact(l, r)
            }
        }
        _ => return None,
    })
}

fn widest_layout(
    l: &ArrowType,
    r: &ArrowType,
    view: ArrowType,
    large: ArrowType,
    small: ArrowType,
) -> ArrowType {
    if *l == view || *r == view {
        view
    } else if *l == large || *r == large {
        large
    } else {
        small
    }
}

/// A type holding every value of two integer or decimal types exactly; `double` when no
/// 38-digit decimal can.
fn common_exact(l: &ArrowType, r: &ArrowType) -> ArrowType {
    use ArrowType::*;
    let signed = [Int8, Int16, Int32, Int64];
    let rank = |t: &ArrowType| signed.iter().position(|s| s == t);
    if let (Some(a), Some(b)) = (rank(l), rank(r)) {
        return signed[a.max(b)].clone();
    }
    // (digits before the point, scale)
    let shape = |t: &ArrowType| -> Option<(i16, i16)> {
        match t {
            Decimal128(p, s) => Some((i16::from(*p) - i16::from(*s), i16::from(*s))),
            other => arrow_integer_digits(other).map(|d| (i16::from(d), 0)),
        }
    };
    match (shape(l), shape(r)) {
        (Some((lw, ls)), Some((rw, rs))) => {
            let scale = ls.max(rs);
            let whole = lw.max(rw);
            match (u8::try_from(whole + scale), i8::try_from(scale)) {
                (Ok(precision), Ok(scale)) if (1..=38).contains(&precision) && scale >= 0 => {
                    Decimal128(precision, scale)
                }
                _ => Float64,
            }
        }
        _ => Float64,
    }
}
