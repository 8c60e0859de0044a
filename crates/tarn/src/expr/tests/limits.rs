//! Expressions as big as real queries get, and bigger: long `AND`/`OR` chains answer, deep
//! nesting and oversized text are clear errors, and nothing overflows a stack.
//!
//! Each case runs on a thread with a 2 MiB stack, the size of a Tokio worker's, where scans
//! evaluate and prune.

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array};
use tarn_protocol::schema::{DataType, StructField, StructType};

use super::batch;
use super::stats::Stats;
use crate::expr::{Expr, ExprError, MAX_DEPTH, MAX_EXPRESSION_BYTES};

/// Runs `f` on a thread with a Tokio worker's stack.
fn on_small_stack(f: impl FnOnce() + Send) {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn_scoped(scope, f)
            .unwrap()
            .join()
            .unwrap();
    });
}

fn schema() -> StructType {
    StructType::new(vec![StructField::new("id", DataType::LONG, true)])
}

fn terms(n: usize, term: impl Fn(usize) -> String, separator: &str) -> String {
    (0..n).map(term).collect::<Vec<_>>().join(separator)
}

#[test]
fn a_300_term_or_answers_and_prunes() {
    on_small_stack(|| {
        let sql = terms(300, |i| format!("id = {}", i * 2), " OR ");
        let expr = Expr::parse(&sql).unwrap();
        assert!(matches!(&expr, Expr::Or(operands) if operands.len() == 300));
        assert_eq!(expr.depth(), 3);
        let resolved = expr.resolve(&schema()).unwrap();
        let ids: ArrayRef = Arc::new(Int64Array::from(vec![Some(0), Some(1), Some(598), None]));
        let batch = batch(vec![("id", ids)]);
        let mask = resolved.evaluate_predicate(&batch).unwrap();
        assert_eq!(
            mask.iter().collect::<Vec<_>>(),
            [Some(true), Some(false), Some(true), None]
        );
        let outside = Stats::new(10).with("id", 1000i64, 2000i64, 0);
        assert!(!resolved.could_match(&outside));
        let inside = Stats::new(10).with("id", 590i64, 600i64, 0);
        assert!(resolved.could_match(&inside));
        // Printed and read back to the same tree.
        assert_eq!(Expr::parse(&expr.to_string()).unwrap(), expr);
    });
}

#[test]
fn ten_thousand_terms_in_128k_characters_answer() {
    on_small_stack(|| {
        let or = terms(10_000, |i| format!("id = {i}"), " OR ");
        assert!(or.len() > 100_000);
        let and = terms(5_000, |i| format!("(id > {i} OR id IS NULL)"), " AND ");
        for sql in [or, and] {
            let expr = Expr::parse(&sql).unwrap();
            let resolved = expr.resolve(&schema()).unwrap();
            let ids: ArrayRef = Arc::new(Int64Array::from(vec![Some(5), Some(20_000)]));
            resolved
                .evaluate_predicate(&batch(vec![("id", ids)]))
                .unwrap();
            let _ = resolved.could_match(&Stats::new(10).with("id", 0i64, 10i64, 0));
            assert!(!expr.to_string().is_empty());
        }
    });
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    on_small_stack(|| {
        let deep = [
            // Parentheses 10,000 deep.
            format!("{}id = 1{}", "(".repeat(10_000), ")".repeat(10_000)),
            // Prefix operators.
            format!("{}id = 1", "NOT ".repeat(10_000)),
            format!("{}id > 0", "- ".repeat(10_000)),
            // Right-nested comparisons.
            format!("{}1{}", "id = (".repeat(5_000), ")".repeat(5_000)),
            // A 200-term sum: left-deep arithmetic nests one level per term.
            format!("{} > 0", terms(200, |_| "id".to_owned(), " + ")),
            // The same, 100,000 characters long and 500,000 (parsed on a larger stack).
            format!("{} > 0", terms(20_000, |_| "id".to_owned(), " + ")),
            format!("{} > 0", terms(100_000, |_| "id".to_owned(), " * ")),
        ];
        for sql in deep {
            match Expr::parse(&sql) {
                Err(ExprError::TooDeep { depth, limit }) => {
                    assert!(depth > limit && limit == MAX_DEPTH, "{depth} {limit}")
                }
                other => panic!("{}...: {other:?}", &sql[..40]),
            }
        }
        // Nesting just within the limit answers.
        let ok = format!("{}id = 1{}", "NOT (".repeat(31), ")".repeat(31));
        let expr = Expr::parse(&ok).unwrap();
        let ids: ArrayRef = Arc::new(Int64Array::from(vec![1, 2]));
        let mask = expr
            .resolve(&schema())
            .unwrap()
            .evaluate_predicate(&batch(vec![("id", ids)]))
            .unwrap();
        assert_eq!(mask.iter().collect::<Vec<_>>(), [Some(false), Some(true)]);
    });
}

#[test]
fn a_long_chain_of_an_unsupported_operator_is_an_error() {
    on_small_stack(|| {
        // A megabyte of `||`: sqlparser builds a 170,000-deep tree; naming the
        // operator in the error must not walk it on a small stack.
        let sql = format!("{} = 'x'", terms(170_000, |_| "id".to_owned(), " || "));
        assert!(sql.len() < MAX_EXPRESSION_BYTES);
        let err = Expr::parse(&sql).unwrap_err();
        assert!(
            matches!(
                err,
                ExprError::Unsupported { .. } | ExprError::TooDeep { .. }
            ),
            "{err}"
        );
    });
}

#[test]
fn oversized_text_is_refused_before_parsing() {
    let sql = "id = 1 OR ".repeat(MAX_EXPRESSION_BYTES / 10 + 1) + "id = 2";
    match Expr::parse(&sql) {
        Err(ExprError::TooLong { length, limit }) => {
            assert_eq!((length, limit), (sql.len(), MAX_EXPRESSION_BYTES))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_deep_tree_built_in_code_is_refused_by_validate() {
    on_small_stack(|| {
        let mut expr = Expr::column("id").gt(Expr::literal(0i64));
        for _ in 0..10_000 {
            expr = !expr;
        }
        assert!(matches!(
            expr.validate(&schema()),
            Err(ExprError::TooDeep { depth: 10_002, .. })
        ));
        assert!(matches!(
            expr.resolve(&schema()),
            Err(ExprError::TooDeep { .. })
        ));
        // Dropping it is the caller's business; keep the test's own drop shallow.
        let mut node = expr;
        while let Expr::Not(inner) = node {
            node = *inner;
        }
    });
}
