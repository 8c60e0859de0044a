//! Finding a column by name, in a Delta schema or an Arrow batch.
//!
//! This module decides how a name in an expression matches a field: an exact match wins;
//! otherwise a single case-insensitive match (Delta column names are case-insensitive), and
//! several are ambiguous. When nothing matches, it names close candidates. It never looks at
//! types.

use super::ExprError;
use super::display::column_sql;

/// The outcome of looking up one name among sibling fields.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Lookup {
    /// The field at this index.
    Found(usize),
    /// No field matches.
    Missing,
    /// Several fields match case-insensitively, none exactly.
    Ambiguous(Vec<usize>),
}

/// Finds `wanted` among `names`.
pub(super) fn find(names: &[&str], wanted: &str) -> Lookup {
    if let Some(index) = names.iter().position(|name| *name == wanted) {
        return Lookup::Found(index);
    }
    let matches: Vec<usize> = names
        .iter()
        .enumerate()
        .filter(|(_, name)| name.to_lowercase() == wanted.to_lowercase())
        .map(|(index, _)| index)
        .collect();
    match matches.as_slice() {
        [] => Lookup::Missing,
        [index] => Lookup::Found(*index),
        _ => Lookup::Ambiguous(matches),
    }
}

/// Looks up `path[depth]` among `names`, turning failures into errors that name the path.
pub(super) fn find_or_error(
    names: &[&str],
    path: &[String],
    depth: usize,
) -> Result<usize, ExprError> {
    let wanted = path.get(depth).map(String::as_str).unwrap_or("");
    match find(names, wanted) {
        Lookup::Found(index) => Ok(index),
        Lookup::Missing => Err(unknown_column(path, names, wanted)),
        Lookup::Ambiguous(indices) => {
            let prefix = &path[..depth.min(path.len())];
            Err(ExprError::AmbiguousColumn {
                column: column_sql(path),
                matches: indices
                    .iter()
                    .map(|index| {
                        let mut full = prefix.to_vec();
                        full.push(names[*index].to_owned());
                        column_sql(&full)
                    })
                    .collect(),
            })
        }
    }
}

/// The error for a missing column: close names if any, else (up to 20) available names.
fn unknown_column(path: &[String], names: &[&str], wanted: &str) -> ExprError {
    let wanted_lower = wanted.to_lowercase();
    let mut close: Vec<(usize, &str)> = names
        .iter()
        .filter_map(|name| {
            let lower = name.to_lowercase();
            let distance = edit_distance(&lower, &wanted_lower);
            let limit = match wanted.chars().count() {
                0..=2 => 0,
                3..=4 => 1,
                _ => 2,
            };
            let related = distance <= limit
                || (wanted_lower.len() >= 3 && lower.contains(&wanted_lower))
                || (lower.len() >= 3 && wanted_lower.contains(&lower));
            related.then_some((distance, *name))
        })
        .collect();
    close.sort();
    let close: Vec<String> = close
        .into_iter()
        .take(5)
        .map(|(_, name)| name.to_owned())
        .collect();
    let available = if close.is_empty() {
        names
            .iter()
            .take(20)
            .map(|name| (*name).to_owned())
            .collect()
    } else {
        Vec::new()
    };
    ExprError::UnknownColumn {
        column: column_sql(path),
        close,
        available,
    }
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_then_case_insensitive() {
        assert_eq!(find(&["a", "A"], "A"), Lookup::Found(1));
        assert_eq!(find(&["Value", "b"], "value"), Lookup::Found(0));
        assert_eq!(
            find(&["Value", "VALUE"], "value"),
            Lookup::Ambiguous(vec![0, 1])
        );
        assert_eq!(find(&["x"], "y"), Lookup::Missing);
    }

    #[test]
    fn suggestions() {
        let path = vec!["valeu".to_owned()];
        let error = find_or_error(&["value", "day", "id"], &path, 0).unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown column `valeu`; did you mean `value`?"
        );
        let path = vec!["zzz".to_owned()];
        let error = find_or_error(&["value", "day"], &path, 0).unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown column `zzz`; available: `value`, `day`"
        );
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
