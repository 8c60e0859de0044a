//! Type checking against a table schema.
//!
//! This module decides whether an expression makes sense for a schema and what type it has:
//! every column exists (matched case-insensitively, as Delta names are), comparisons join
//! comparable types, literals convert to the type they are compared with, arithmetic is on
//! numbers and logic on booleans. [`Expr::resolve`] also rewrites the expression into the
//! schema's terms (column names as the schema spells them, string literals read as the type of
//! what they meet), which is the form data skipping works best with. It never evaluates
//! anything and never looks at data.

use tarn_protocol::scalar::Scalar;
use tarn_protocol::schema::{DataType, DecimalType, PrimitiveType, StructField, StructType};

use super::coerce::{Domain, bound};
use super::display::{column_sql, literal_sql};
use super::literal::{number_literal, primitive_type_name, read_as, type_name};
use super::lookup::find_or_error;
use super::{ArithmeticOp, Expr, ExprError};

/// A bound expression and its type; `None` for the untyped `NULL`.
type Typed = (Expr, Option<DataType>);

impl Expr {
    /// Checks the expression against a table schema and returns its type.
    ///
    /// Fails when a column does not exist ([`ExprError::UnknownColumn`], which lists close or
    /// available names), a literal cannot be read as the type it is compared with
    /// ([`ExprError::LiteralCoercion`]: `int_col = 'abc'`), two operands cannot be compared
    /// ([`ExprError::IncompatibleTypes`]), arithmetic meets a non-number
    /// ([`ExprError::NonNumericArithmetic`]) or logic a non-boolean
    /// ([`ExprError::NotBoolean`]).
    ///
    /// Comparisons, `IN`, `IS NULL` and logic have type `boolean`; arithmetic has the type
    /// [`Expr::evaluate`] produces (wider integer, `double` for integer division and anything
    /// with a float, decimals by Arrow's precision rules). A bare `NULL` is typed `boolean`.
    pub fn validate(&self, schema: &StructType) -> Result<DataType, ExprError> {
        self.check_depth()?;
        Ok(self.bind(schema)?.1.unwrap_or(DataType::BOOLEAN))
    }

    /// Checks the expression as [`Expr::validate`] does and returns it in the schema's terms:
    /// column paths spelled as in the schema, string literals compared with non-string columns
    /// read as the column's type (`day = '2026-01-07'` gets a `date` literal), and untyped
    /// `NULL`s typed. The result means the same as the input.
    pub fn resolve(&self, schema: &StructType) -> Result<Expr, ExprError> {
        self.check_depth()?;
        Ok(self.bind(schema)?.0)
    }

    fn bind(&self, schema: &StructType) -> Result<Typed, ExprError> {
        Ok(match self {
            Expr::Column(path) => {
                let (canonical, field) = resolve_column(schema, path)?;
                (Expr::Column(canonical), Some(field.data_type.clone()))
            }
            Expr::Literal(scalar) => (self.clone(), Some(scalar.data_type().into())),
            Expr::Null => (Expr::Null, None),
            Expr::Compare { op, left, right } => {
                let (left, right) =
                    comparable(op.as_sql(), left.bind(schema)?, right.bind(schema)?)?;
                (left.compare(*op, right), Some(DataType::BOOLEAN))
            }
            Expr::In {
                expr,
                list,
                negated,
            } => {
                let value = expr.bind(schema)?;
                let mut items = Vec::with_capacity(list.len());
                let mut bound_value = value.0.clone();
                for item in list {
                    let (left, right) = comparable("IN", value.clone(), item.bind(schema)?)?;
                    // An untyped NULL operand takes the type of the first item it meets.
                    if matches!(bound_value, Expr::Null) {
                        bound_value = left;
                    }
                    items.push(right);
                }
                (
                    Expr::In {
                        expr: Box::new(bound_value),
                        list: items,
                        negated: *negated,
                    },
                    Some(DataType::BOOLEAN),
                )
            }
            Expr::IsNull { expr, negated } => (
                Expr::IsNull {
                    expr: Box::new(expr.bind(schema)?.0),
                    negated: *negated,
                },
                Some(DataType::BOOLEAN),
            ),
            Expr::Arithmetic { op, left, right } => {
                let (left, left_type) = left.bind(schema)?;
                let (right, right_type) = right.bind(schema)?;
                let l = numeric_operand(op.as_sql(), &left, left_type)?;
                let r = numeric_operand(op.as_sql(), &right, right_type)?;
                let result =
                    arithmetic_type(*op, l, r).map_err(|reason| ExprError::UnsupportedType {
                        expression: self.to_string(),
                        data_type: reason,
                        operation: "arithmetic".into(),
                    })?;
                (left.arithmetic(*op, right), Some(result.into()))
            }
            Expr::Negate(inner) => {
                let (inner, ty) = inner.bind(schema)?;
                let ty = numeric_operand("-", &inner, ty)?;
                (-inner, Some(ty.unwrap_or(PrimitiveType::Integer).into()))
            }
            Expr::And(operands) => (
                Expr::And(
                    operands
                        .iter()
                        .map(|operand| boolean_operand(operand.bind(schema)?))
                        .collect::<Result<_, _>>()?,
                ),
                Some(DataType::BOOLEAN),
            ),
            Expr::Or(operands) => (
                Expr::Or(
                    operands
                        .iter()
                        .map(|operand| boolean_operand(operand.bind(schema)?))
                        .collect::<Result<_, _>>()?,
                ),
                Some(DataType::BOOLEAN),
            ),
            Expr::Not(inner) => (
                !boolean_operand(inner.bind(schema)?)?,
                Some(DataType::BOOLEAN),
            ),
        })
    }
}

/// Finds a column path in the schema: its spelling there and its field.
fn resolve_column<'s>(
    schema: &'s StructType,
    path: &[String],
) -> Result<(Vec<String>, &'s StructField), ExprError> {
    let mut fields = &schema.fields;
    let mut canonical = Vec::with_capacity(path.len());
    for depth in 0..path.len().max(1) {
        let names: Vec<&str> = fields.iter().map(|field| field.name.as_str()).collect();
        let field = &fields[find_or_error(&names, path, depth)?];
        canonical.push(field.name.clone());
        if depth + 1 == path.len() {
            return Ok((canonical, field));
        }
        match &field.data_type {
            DataType::Struct(inner) => fields = &inner.fields,
            other => {
                return Err(ExprError::NotAStruct {
                    column: column_sql(&canonical),
                    data_type: type_name(other),
                    field: path[depth + 1].clone(),
                });
            }
        }
    }
    // Only an empty path gets here; the lookup above has already failed for it.
    Err(ExprError::UnknownColumn {
        column: String::new(),
        close: Vec::new(),
        available: Vec::new(),
    })
}

/// The broad kinds of values that compare with each other.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Number,
    Temporal,
    String,
    Binary,
    Boolean,
}

fn kind(ty: &PrimitiveType) -> Kind {
    match ty {
        PrimitiveType::Byte
        | PrimitiveType::Short
        | PrimitiveType::Integer
        | PrimitiveType::Long
        | PrimitiveType::Float
        | PrimitiveType::Double
        | PrimitiveType::Decimal(_) => Kind::Number,
        PrimitiveType::Date | PrimitiveType::Timestamp | PrimitiveType::TimestampNtz => {
            Kind::Temporal
        }
        PrimitiveType::String => Kind::String,
        PrimitiveType::Binary => Kind::Binary,
        PrimitiveType::Boolean => Kind::Boolean,
    }
}

/// Checks that two bound operands compare, converting literals (and typing untyped nulls) to
/// the other side's type.
fn comparable(op: &str, left: Typed, right: Typed) -> Result<(Expr, Expr), ExprError> {
    let (left, left_type) = left;
    let (right, right_type) = right;
    let primitive = |expr: &Expr, ty: &DataType| match ty {
        DataType::Primitive(p) => Ok(*p),
        other => Err(ExprError::UnsupportedType {
            expression: expr.to_string(),
            data_type: type_name(other),
            operation: "comparison".into(),
        }),
    };
    match (&left_type, &right_type) {
        (None, None) => Ok((left, right)),
        (None, Some(ty)) => Ok((Expr::Literal(Scalar::Null(primitive(&right, ty)?)), right)),
        (Some(ty), None) => {
            let p = primitive(&left, ty)?;
            Ok((left, Expr::Literal(Scalar::Null(p))))
        }
        (Some(lt), Some(rt)) => {
            let (lp, rp) = (primitive(&left, lt)?, primitive(&right, rt)?);
            match (&left, &right) {
                (Expr::Literal(l), Expr::Literal(r)) => {
                    let forward =
                        l.is_null() || r.is_null() || bound(r, &Domain::of_primitive(lp)).is_ok();
                    let backward = bound(l, &Domain::of_primitive(rp)).is_ok();
                    if forward || backward {
                        Ok((left, right))
                    } else {
                        Err(incompatible(op, &left, lp, &right, rp))
                    }
                }
                (_, Expr::Literal(literal)) => {
                    let converted = convert_literal(literal, &left, lp)?;
                    Ok((left, Expr::Literal(converted)))
                }
                (Expr::Literal(literal), _) => {
                    let converted = convert_literal(literal, &right, rp)?;
                    Ok((Expr::Literal(converted), right))
                }
                _ if kind(&lp) == kind(&rp) => Ok((left, right)),
                _ => Err(incompatible(op, &left, lp, &right, rp)),
            }
        }
    }
}

fn incompatible(
    op: &str,
    left: &Expr,
    left_type: PrimitiveType,
    right: &Expr,
    right_type: PrimitiveType,
) -> ExprError {
    ExprError::IncompatibleTypes {
        op: op.to_owned(),
        left: left.to_string(),
        left_type: primitive_type_name(&left_type),
        right: right.to_string(),
        right_type: primitive_type_name(&right_type),
    }
}

/// A literal compared with `other` (of type `target`): checked to compare, and a string read
/// as the target type. Other literals stay as they are: evaluation compares them exactly.
fn convert_literal(
    literal: &Scalar,
    other: &Expr,
    target: PrimitiveType,
) -> Result<Scalar, ExprError> {
    let error = |reason: String| ExprError::LiteralCoercion {
        literal: literal_sql(literal),
        expression: other.to_string(),
        data_type: primitive_type_name(&target),
        reason,
    };
    match literal {
        Scalar::Null(_) => return Ok(Scalar::Null(target)),
        Scalar::String(text) if target != PrimitiveType::String => {
            bound(literal, &Domain::of_primitive(target)).map_err(error)?;
            return read_string_as(text, target).map_err(error);
        }
        _ => {}
    }
    bound(literal, &Domain::of_primitive(target)).map_err(error)?;
    Ok(literal.clone())
}

/// A string literal read as `target` (which it is known to compare with): as the type itself
/// when it fits (`'5'` as an integer), otherwise as the number or timestamp it spells
/// (`'3.5'` stays an exact decimal, `'2026-01-07 10:00'` compared with a date a timestamp).
fn read_string_as(text: &str, target: PrimitiveType) -> Result<Scalar, String> {
    read_as(text, target).or_else(|first| match kind(&target) {
        Kind::Number => number_literal(text)
            .or_else(|_| read_as(text, PrimitiveType::Double))
            .map_err(|_| first),
        Kind::Temporal => read_as(text, PrimitiveType::Timestamp).map_err(|_| first),
        _ => Err(first),
    })
}

/// A numeric operand's type (`None` for an untyped null).
fn numeric_operand(
    op: &str,
    expr: &Expr,
    ty: Option<DataType>,
) -> Result<Option<PrimitiveType>, ExprError> {
    match ty {
        None => Ok(None),
        Some(DataType::Primitive(p)) if kind(&p) == Kind::Number => Ok(Some(p)),
        Some(other) => Err(ExprError::NonNumericArithmetic {
            op: op.to_owned(),
            operand: expr.to_string(),
            data_type: type_name(&other),
        }),
    }
}

fn boolean_operand((expr, ty): Typed) -> Result<Expr, ExprError> {
    match ty {
        None | Some(DataType::Primitive(PrimitiveType::Boolean)) => Ok(expr),
        Some(other) => Err(ExprError::NotBoolean {
            expression: expr.to_string(),
            data_type: type_name(&other),
        }),
    }
}

/// Decimal digits needed for any value of an integer type.
pub(super) fn integer_digits(ty: PrimitiveType) -> Option<u8> {
    match ty {
        PrimitiveType::Byte => Some(3),
        PrimitiveType::Short => Some(5),
        PrimitiveType::Integer => Some(10),
        PrimitiveType::Long => Some(19),
        _ => None,
    }
}

fn integer_rank(ty: PrimitiveType) -> Option<u8> {
    match ty {
        PrimitiveType::Byte => Some(0),
        PrimitiveType::Short => Some(1),
        PrimitiveType::Integer => Some(2),
        PrimitiveType::Long => Some(3),
        _ => None,
    }
}

/// The result type of `left op right` on numbers, as evaluation computes it; the error
/// describes a decimal result that cannot be represented.
fn arithmetic_type(
    op: ArithmeticOp,
    left: Option<PrimitiveType>,
    right: Option<PrimitiveType>,
) -> Result<PrimitiveType, String> {
    use PrimitiveType as P;
    let (l, r) = match (left, right) {
        (None, None) => return Ok(P::Double),
        (Some(t), None) | (None, Some(t)) => (t, t),
        (Some(l), Some(r)) => (l, r),
    };
    if let (Some(lr), Some(rr)) = (integer_rank(l), integer_rank(r)) {
        return Ok(if op == ArithmeticOp::Div {
            P::Double
        } else if lr >= rr {
            l
        } else {
            r
        });
    }
    match (l, r) {
        (P::Float, P::Float) => return Ok(P::Float),
        (P::Float | P::Double, _) | (_, P::Float | P::Double) => return Ok(P::Double),
        _ => {}
    }
    let as_decimal = |ty: PrimitiveType| match ty {
        P::Decimal(d) => Some(d),
        other => integer_digits(other).map(|precision| DecimalType {
            precision,
            scale: 0,
        }),
    };
    let (Some(a), Some(b)) = (as_decimal(l), as_decimal(r)) else {
        return Err(format!(
            "{} {} {}",
            primitive_type_name(&l),
            op.as_sql(),
            primitive_type_name(&r)
        ));
    };
    let result = decimal_result(op, a, b);
    DecimalType::try_new(result.0, result.1)
        .map(P::Decimal)
        .map_err(|_| {
            format!(
                "decimal({},{}) {} decimal({},{}) (the result would need scale {})",
                a.precision,
                a.scale,
                op.as_sql(),
                b.precision,
                b.scale,
                result.1
            )
        })
}

/// Arrow's decimal result precision and scale (which tarn's evaluation uses).
fn decimal_result(op: ArithmeticOp, a: DecimalType, b: DecimalType) -> (u8, u8) {
    let (p1, s1, p2, s2) = (a.precision, a.scale, b.precision, b.scale);
    let max = DecimalType::MAX_PRECISION;
    match op {
        ArithmeticOp::Add | ArithmeticOp::Sub => {
            let scale = s1.max(s2);
            let whole = (p1 - s1).max(p2 - s2);
            ((scale + whole + 1).min(max), scale)
        }
        ArithmeticOp::Mul => ((p1 + p2 + 1).min(max), s1 + s2),
        ArithmeticOp::Div => {
            let scale = (s1 + 4).min(max);
            let precision = (u16::from(scale - s1) + u16::from(s2) + u16::from(p1)).min(max.into());
            (u8::try_from(precision).unwrap_or(max), scale)
        }
        ArithmeticOp::Rem => {
            let scale = s1.max(s2);
            let whole = (p1 - s1).min(p2 - s2);
            ((scale + whole).min(max), scale)
        }
    }
}
