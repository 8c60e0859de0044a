//! Checking aligned text output: every cell where its header says it is.

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Align {
    Left,
    Right,
}

/// Checks that `rows` lines after the header have every column where the header puts it:
/// a left-aligned cell starts at its header's first character, a right-aligned cell ends at
/// its header's last; columns are separated by at least two spaces. Offsets count
/// characters.
pub(crate) fn assert_aligned(context: &str, text: &str, columns: &[(&str, Align)], rows: usize) {
    let lines: Vec<Vec<char>> = text.lines().map(|l| l.chars().collect()).collect();
    assert!(
        lines.len() > rows,
        "{context}: fewer than {rows} rows:\n{text}"
    );
    let header = &lines[0];
    // Header tokens with their character spans.
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in header.iter().chain([' '].iter()).enumerate() {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                spans.push((header[s..i].iter().collect::<String>(), s, i));
                start = None;
            }
            _ => {}
        }
    }
    let names: Vec<&str> = spans.iter().map(|(n, _, _)| n.as_str()).collect();
    let want: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, want, "{context}: header");
    for (row_index, row) in lines[1..=rows].iter().enumerate() {
        let line: String = row.iter().collect();
        let at = |i: usize| row.get(i).copied().unwrap_or(' ');
        for (column, ((name, align), (_, start, end))) in columns.iter().zip(&spans).enumerate() {
            let last = column + 1 == columns.len();
            let ok = match align {
                Align::Left => {
                    (last && row.len() <= *start)
                        || (at(*start) != ' '
                            && (*start == 0 || (at(start - 1) == ' ' && at(start - 2) == ' ')))
                }
                Align::Right => {
                    at(end - 1) != ' ' && at(*end) == ' ' && (last || at(end + 1) == ' ')
                }
            };
            assert!(
                ok,
                "{context}: row {row_index}, column {name} ({align:?}) is not aligned with the header:\n{}\n{line}",
                header.iter().collect::<String>()
            );
        }
    }
}
