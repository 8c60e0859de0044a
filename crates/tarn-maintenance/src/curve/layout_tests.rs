//! The point of curves: a table laid out along one and cut into files answers range
//! predicates on *any* of its columns from few files, where a sort by one column helps only
//! predicates on that column and a random layout helps none.
//!
//! Each test orders the same rows four ways (as generated: random; linear by `a, b`;
//! Z-order; Hilbert), cuts them into equal files, takes each file's min/max per column (what
//! a Delta add's statistics hold) and counts, for many random range predicates, the files
//! whose [min, max] overlaps the range: the files a scan must read. Run with `--nocapture` to
//! see the table.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray};

use super::sample::SplitMix64;
use super::{Curve, CurveSort};

/// A range predicate on `a` and one on `b`, each `[low, high]`.
type Ranges<A, B> = ((A, A), (B, B));

/// Files a predicate reads, averaged over the predicates: on `a` alone, on `b` alone, on both.
#[derive(Debug, Clone, Copy)]
struct FilesRead {
    a: f64,
    b: f64,
    both: f64,
}

/// One column's values in layout order, cut into `files` equal files: each file's (min, max).
fn file_bounds<T: PartialOrd + Clone>(values: &[T], files: usize) -> Vec<(T, T)> {
    let per_file = values.len().div_ceil(files);
    values
        .chunks(per_file)
        .map(|chunk| {
            let mut min = chunk[0].clone();
            let mut max = chunk[0].clone();
            for v in chunk {
                if *v < min {
                    min = v.clone();
                }
                if *v > max {
                    max = v.clone();
                }
            }
            (min, max)
        })
        .collect()
}

/// Whether a file with these bounds may hold a value in `[low, high]`.
fn overlaps<T: PartialOrd>((min, max): &(T, T), (low, high): &(T, T)) -> bool {
    !(max < low || min > high)
}

/// Counts the files read by each predicate pair `(range on a, range on b)`.
fn files_read<A: PartialOrd + Clone, B: PartialOrd + Clone>(
    a: &[A],
    b: &[B],
    files: usize,
    predicates: &[Ranges<A, B>],
) -> FilesRead {
    let a_bounds = file_bounds(a, files);
    let b_bounds = file_bounds(b, files);
    let (mut on_a, mut on_b, mut on_both) = (0, 0, 0);
    for (range_a, range_b) in predicates {
        for (fa, fb) in a_bounds.iter().zip(&b_bounds) {
            let read_a = overlaps(fa, range_a);
            let read_b = overlaps(fb, range_b);
            on_a += usize::from(read_a);
            on_b += usize::from(read_b);
            on_both += usize::from(read_a && read_b);
        }
    }
    let n = predicates.len() as f64;
    FilesRead {
        a: on_a as f64 / n,
        b: on_b as f64 / n,
        both: on_both as f64 / n,
    }
}

/// The four layouts of the same rows, `(name, files read)`, printed as a table.
fn compare_layouts<A: PartialOrd + Clone, B: PartialOrd + Clone>(
    title: &str,
    batches: &[RecordBatch],
    a: &[Vec<A>],
    b: &[Vec<B>],
    files: usize,
    predicates: &[Ranges<A, B>],
    sample_rows: usize,
) -> Vec<(&'static str, FilesRead)> {
    let in_order = |order: &[(usize, usize)]| -> (Vec<A>, Vec<B>) {
        order
            .iter()
            .map(|&(batch, row)| (a[batch][row].clone(), b[batch][row].clone()))
            .unzip()
    };
    let random: Vec<(usize, usize)> = batches
        .iter()
        .enumerate()
        .flat_map(|(batch, rows)| (0..rows.num_rows()).map(move |row| (batch, row)))
        .collect();
    let mut layouts = vec![("random", random)];
    for (name, curve) in [
        ("linear a,b", Curve::Linear),
        ("z-order", Curve::ZOrder),
        ("hilbert", Curve::Hilbert),
    ] {
        let sort = CurveSort::new(curve, ["a", "b"]).with_sample_rows(sample_rows);
        layouts.push((name, sort.order(batches).unwrap()));
    }
    println!(
        "{title}: {} rows in {files} files, mean files read over {} predicates",
        random_rows(batches),
        predicates.len()
    );
    println!(
        "{:<12} {:>8} {:>8} {:>8}",
        "layout", "on a", "on b", "on both"
    );
    layouts
        .into_iter()
        .map(|(name, order)| {
            let (va, vb) = in_order(&order);
            let read = files_read(&va, &vb, files, predicates);
            println!(
                "{name:<12} {:>8.1} {:>8.1} {:>8.1}",
                read.a, read.b, read.both
            );
            (name, read)
        })
        .collect()
}

fn random_rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(RecordBatch::num_rows).sum()
}

/// Asserts what the curves are for, with margins wide enough for any seed.
fn assert_curves_serve_both_columns(layouts: &[(&str, FilesRead)], files: f64) {
    let read = |name: &str| layouts.iter().find(|(n, _)| *n == name).unwrap().1;
    let (random, linear) = (read("random"), read("linear a,b"));
    // No layout: every file spans nearly the whole range of both columns.
    assert!(
        random.a > 0.9 * files && random.b > 0.9 * files,
        "{random:?}"
    );
    // Sorting by a serves a only (b gains only where a value of a repeats over many rows).
    assert!(linear.a < 0.2 * random.a, "{linear:?}");
    assert!(linear.b > 0.5 * random.b, "{linear:?}");
    for curve in ["z-order", "hilbert"] {
        let r = read(curve);
        assert!(
            r.a < 0.5 * random.a,
            "{curve} on a: {r:?} vs random {random:?}"
        );
        assert!(
            r.b < 0.5 * random.b,
            "{curve} on b: {r:?} vs random {random:?}"
        );
        assert!(
            r.b < 0.5 * linear.b,
            "{curve} on b: {r:?} vs linear {linear:?}"
        );
        assert!(
            r.both < 0.25 * random.both,
            "{curve} on both: {r:?} vs {random:?}"
        );
        // The price: predicates on a alone read more than under a sort by a.
        assert!(r.a > linear.a, "{curve} on a: {r:?} vs linear {linear:?}");
    }
}

#[test]
fn uniform_columns_curves_serve_predicates_on_either_column() {
    let mut random = SplitMix64(7);
    let unit = |r: &mut SplitMix64| (r.next_u64() >> 11) as f64 / (1_u64 << 53) as f64;
    let (rows_per_batch, batches_n, files) = (25_000, 4, 100);
    let mut a = Vec::new();
    let mut b = Vec::new();
    let mut batches = Vec::new();
    for _ in 0..batches_n {
        let va: Vec<f64> = (0..rows_per_batch).map(|_| unit(&mut random)).collect();
        let vb: Vec<i64> = (0..rows_per_batch)
            .map(|_| random.below(1_000_000) as i64)
            .collect();
        let ca: ArrayRef = Arc::new(Float64Array::from(va.clone()));
        let cb: ArrayRef = Arc::new(Int64Array::from(vb.clone()));
        batches.push(RecordBatch::try_from_iter([("a", ca), ("b", cb)]).unwrap());
        a.push(va);
        b.push(vb);
    }
    // Ranges over 5% of each column's domain.
    let predicates: Vec<Ranges<f64, i64>> = (0..200)
        .map(|_| {
            let la = unit(&mut random) * 0.95;
            let lb = random.below(950_000) as i64;
            ((la, la + 0.05), (lb, lb + 50_000))
        })
        .collect();
    let layouts = compare_layouts(
        "uniform f64 a, uniform i64 b",
        &batches,
        &a,
        &b,
        files,
        &predicates,
        super::DEFAULT_SAMPLE_ROWS,
    );
    assert_curves_serve_both_columns(&layouts, files as f64);
}

#[test]
fn small_skewed_integers_and_strings_still_spread() {
    // a: integers 0..1000 with a third of the rows 0 (raw bits would leave all but the low
    // ten bits equal); b: strings of one prefix (raw bytes would share their first bytes).
    // Ranks from a sample of 5,000 of the 60,000 rows.
    let mut random = SplitMix64(11);
    let (rows_per_batch, batches_n, files) = (20_000, 3, 60);
    let mut a = Vec::new();
    let mut b = Vec::new();
    let mut batches = Vec::new();
    for _ in 0..batches_n {
        let va: Vec<i32> = (0..rows_per_batch)
            .map(|_| match random.below(3) {
                0 => 0,
                _ => random.below(1000) as i32,
            })
            .collect();
        let vb: Vec<String> = (0..rows_per_batch)
            .map(|_| format!("customer-{:06}", random.below(1_000_000)))
            .collect();
        let ca: ArrayRef = Arc::new(Int32Array::from(va.clone()));
        let cb: ArrayRef = Arc::new(StringArray::from(vb.clone()));
        batches.push(RecordBatch::try_from_iter([("a", ca), ("b", cb)]).unwrap());
        a.push(va);
        b.push(vb);
    }
    let predicates: Vec<Ranges<i32, String>> = (0..200)
        .map(|_| {
            let la = 1 + random.below(949) as i32;
            let lb = random.below(950_000);
            (
                (la, la + 50),
                (
                    format!("customer-{lb:06}"),
                    format!("customer-{:06}", lb + 50_000),
                ),
            )
        })
        .collect();
    let layouts = compare_layouts(
        "skewed i32 a (a third 0), prefixed strings b",
        &batches,
        &a,
        &b,
        files,
        &predicates,
        5_000,
    );
    assert_curves_serve_both_columns(&layouts, files as f64);
}
