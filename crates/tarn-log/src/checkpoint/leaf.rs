//! Leaf columns of `stats_parsed` and `partitionValues_parsed`: their types, values read from
//! text, and their Arrow builders.
//!
//! This module decides how one value of a primitive column is read from the log's text forms
//! (PROTOCOL.md, "Partition Value Serialization", which statistics share for dates, timestamps
//! and decimals) and stored in Arrow. It never fails: a value that does not read exactly as its
//! type is a null, since the text it came from is always kept beside the typed column.

use std::borrow::Cow;
use std::sync::Arc;

use arrow_array::ArrayRef;
use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder,
    Float64Builder, Int8Builder, Int16Builder, Int32Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_schema::{ArrowError, DataType as ArrowType, TimeUnit};
use tarn_protocol::partition::parse_partition_value;
use tarn_protocol::scalar::Scalar;
use tarn_protocol::schema::{DecimalType, PrimitiveType};

/// The type of one leaf column of `stats_parsed` or `partitionValues_parsed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LeafType {
    Boolean,
    Byte,
    Short,
    Integer,
    Long,
    Float,
    Double,
    Date,
    Timestamp,
    TimestampNtz,
    String,
    Binary,
    Decimal(DecimalType),
}

impl LeafType {
    /// The leaf type of a primitive column.
    pub(super) fn of(primitive: PrimitiveType) -> Self {
        match primitive {
            PrimitiveType::Boolean => Self::Boolean,
            PrimitiveType::Byte => Self::Byte,
            PrimitiveType::Short => Self::Short,
            PrimitiveType::Integer => Self::Integer,
            PrimitiveType::Long => Self::Long,
            PrimitiveType::Float => Self::Float,
            PrimitiveType::Double => Self::Double,
            PrimitiveType::Date => Self::Date,
            PrimitiveType::Timestamp => Self::Timestamp,
            PrimitiveType::TimestampNtz => Self::TimestampNtz,
            PrimitiveType::String => Self::String,
            PrimitiveType::Binary => Self::Binary,
            PrimitiveType::Decimal(d) => Self::Decimal(d),
        }
    }

    fn primitive(self) -> PrimitiveType {
        match self {
            Self::Boolean => PrimitiveType::Boolean,
            Self::Byte => PrimitiveType::Byte,
            Self::Short => PrimitiveType::Short,
            Self::Integer => PrimitiveType::Integer,
            Self::Long => PrimitiveType::Long,
            Self::Float => PrimitiveType::Float,
            Self::Double => PrimitiveType::Double,
            Self::Date => PrimitiveType::Date,
            Self::Timestamp => PrimitiveType::Timestamp,
            Self::TimestampNtz => PrimitiveType::TimestampNtz,
            Self::String => PrimitiveType::String,
            Self::Binary => PrimitiveType::Binary,
            Self::Decimal(d) => PrimitiveType::Decimal(d),
        }
    }

    /// Whether min/max statistics of this type are bounds a reader can use.
    pub(super) fn has_bounds(self) -> bool {
        !matches!(self, Self::Boolean | Self::Binary)
    }

    /// The Arrow type of the column.
    pub(super) fn arrow(self) -> ArrowType {
        match self {
            Self::Boolean => ArrowType::Boolean,
            Self::Byte => ArrowType::Int8,
            Self::Short => ArrowType::Int16,
            Self::Integer => ArrowType::Int32,
            Self::Long => ArrowType::Int64,
            Self::Float => ArrowType::Float32,
            Self::Double => ArrowType::Float64,
            Self::Date => ArrowType::Date32,
            Self::Timestamp => ArrowType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            Self::TimestampNtz => ArrowType::Timestamp(TimeUnit::Microsecond, None),
            Self::String => ArrowType::Utf8,
            Self::Binary => ArrowType::Binary,
            Self::Decimal(d) => ArrowType::Decimal128(d.precision, d.scale as i8),
        }
    }
}

/// One value read for a leaf, already converted to the leaf's type.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Cell<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Decimal(i128),
    Str(Cow<'a, str>),
}

/// Reads the text form of a value (a JSON string, or a partition value) as `ty`. Anything
/// that does not read exactly is a null.
pub(super) fn parse_text(ty: LeafType, text: &str) -> Cell<'static> {
    match parse_partition_value("", Some(text), ty.primitive()) {
        Ok(scalar) => scalar_cell(scalar),
        Err(_) => Cell::Null,
    }
}

fn scalar_cell(scalar: Scalar) -> Cell<'static> {
    match scalar {
        Scalar::Null(_) | Scalar::Binary(_) => Cell::Null,
        Scalar::Boolean(b) => Cell::Bool(b),
        Scalar::Byte(v) => Cell::Int(i64::from(v)),
        Scalar::Short(v) => Cell::Int(i64::from(v)),
        Scalar::Integer(v) | Scalar::Date(v) => Cell::Int(i64::from(v)),
        Scalar::Long(v) | Scalar::Timestamp(v) | Scalar::TimestampNtz(v) => Cell::Int(v),
        Scalar::Float(v) => Cell::Float(f64::from(v)),
        Scalar::Double(v) => Cell::Float(v),
        Scalar::String(s) => Cell::Str(Cow::Owned(s)),
        Scalar::Decimal { value, .. } => Cell::Decimal(value),
    }
}

/// An Arrow builder for one leaf column.
#[derive(Debug)]
pub(super) enum LeafBuilder {
    Boolean(BooleanBuilder),
    Byte(Int8Builder),
    Short(Int16Builder),
    Integer(Int32Builder),
    Long(Int64Builder),
    Float(Float32Builder),
    Double(Float64Builder),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder, ArrowType),
    String(StringBuilder),
    Binary(BinaryBuilder),
    Decimal(Decimal128Builder, ArrowType),
}

impl LeafBuilder {
    pub(super) fn new(ty: LeafType, capacity: usize) -> Self {
        match ty {
            LeafType::Boolean => Self::Boolean(BooleanBuilder::with_capacity(capacity)),
            LeafType::Byte => Self::Byte(Int8Builder::with_capacity(capacity)),
            LeafType::Short => Self::Short(Int16Builder::with_capacity(capacity)),
            LeafType::Integer => Self::Integer(Int32Builder::with_capacity(capacity)),
            LeafType::Long => Self::Long(Int64Builder::with_capacity(capacity)),
            LeafType::Float => Self::Float(Float32Builder::with_capacity(capacity)),
            LeafType::Double => Self::Double(Float64Builder::with_capacity(capacity)),
            LeafType::Date => Self::Date(Date32Builder::with_capacity(capacity)),
            LeafType::Timestamp | LeafType::TimestampNtz => Self::Timestamp(
                TimestampMicrosecondBuilder::with_capacity(capacity),
                ty.arrow(),
            ),
            LeafType::String => Self::String(StringBuilder::with_capacity(capacity, capacity * 8)),
            LeafType::Binary => Self::Binary(BinaryBuilder::with_capacity(capacity, capacity * 8)),
            LeafType::Decimal(_) => {
                Self::Decimal(Decimal128Builder::with_capacity(capacity), ty.arrow())
            }
        }
    }

    /// Appends a value; a value of the wrong kind (never produced by this module's parsers)
    /// or out of the column's range is appended as a null.
    pub(super) fn append(&mut self, cell: &Cell<'_>) {
        match (self, cell) {
            (Self::Boolean(b), Cell::Bool(v)) => b.append_value(*v),
            (Self::Byte(b), Cell::Int(v)) => b.append_option(i8::try_from(*v).ok()),
            (Self::Short(b), Cell::Int(v)) => b.append_option(i16::try_from(*v).ok()),
            (Self::Integer(b), Cell::Int(v)) => b.append_option(i32::try_from(*v).ok()),
            (Self::Long(b), Cell::Int(v)) => b.append_value(*v),
            // Narrowing a double statistic to a float column is what the column's writer did.
            #[allow(clippy::cast_possible_truncation)]
            (Self::Float(b), Cell::Float(v)) => b.append_value(*v as f32),
            (Self::Double(b), Cell::Float(v)) => b.append_value(*v),
            (Self::Date(b), Cell::Int(v)) => b.append_option(i32::try_from(*v).ok()),
            (Self::Timestamp(b, _), Cell::Int(v)) => b.append_value(*v),
            (Self::String(b), Cell::Str(v)) => b.append_value(v),
            (Self::Binary(b), Cell::Str(v)) => b.append_value(v.as_bytes()),
            (Self::Decimal(b, _), Cell::Decimal(v)) => b.append_value(*v),
            (builder, _) => builder.append_null(),
        }
    }

    pub(super) fn append_null(&mut self) {
        match self {
            Self::Boolean(b) => b.append_null(),
            Self::Byte(b) => b.append_null(),
            Self::Short(b) => b.append_null(),
            Self::Integer(b) => b.append_null(),
            Self::Long(b) => b.append_null(),
            Self::Float(b) => b.append_null(),
            Self::Double(b) => b.append_null(),
            Self::Date(b) => b.append_null(),
            Self::Timestamp(b, _) => b.append_null(),
            Self::String(b) => b.append_null(),
            Self::Binary(b) => b.append_null(),
            Self::Decimal(b, _) => b.append_null(),
        }
    }

    pub(super) fn finish(&mut self) -> Result<ArrayRef, ArrowError> {
        Ok(match self {
            Self::Boolean(b) => Arc::new(b.finish()),
            Self::Byte(b) => Arc::new(b.finish()),
            Self::Short(b) => Arc::new(b.finish()),
            Self::Integer(b) => Arc::new(b.finish()),
            Self::Long(b) => Arc::new(b.finish()),
            Self::Float(b) => Arc::new(b.finish()),
            Self::Double(b) => Arc::new(b.finish()),
            Self::Date(b) => Arc::new(b.finish()),
            Self::Timestamp(b, ty) => Arc::new(b.finish().with_data_type(ty.clone())),
            Self::String(b) => Arc::new(b.finish()),
            Self::Binary(b) => Arc::new(b.finish()),
            Self::Decimal(b, ty) => Arc::new(b.finish().with_data_type(ty.clone())),
        })
    }
}
