//! The expression parser: any text parses to an expression or an error (never a panic or a
//! stack overflow), and a parsed expression's `Display` text parses back to the same
//! expression (the promise of `tarn::expr`'s display module).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tarn::Expr;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(expr) = Expr::parse(text) else {
        return;
    };
    let written = expr.to_string();
    let reread = Expr::parse(&written)
        .unwrap_or_else(|e| panic!("{text:?} parsed, but its display {written:?} does not: {e}"));
    // Debug equality, which also holds for NaN literals.
    assert_eq!(
        format!("{reread:?}"),
        format!("{expr:?}"),
        "{text:?} displayed as {written:?}"
    );
    assert_eq!(reread.to_string(), written);
});
