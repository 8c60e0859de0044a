//! Sizes in bytes as people write them: `134217728`, `128mb`, `128MiB`, `1GiB`.
//!
//! One reading for table properties (`delta.targetFileSize`, which Spark reads with binary
//! units: `128mb` is 128 MiB) and command-line options alike.

/// Reads a byte size: a whole number with an optional unit, `b`, `k`/`kb`/`kib`,
/// `m`/`mb`/`mib`, `g`/`gb`/`gib` or `t`/`tb`/`tib`, in any case, all binary (a `kb` is 1,024
/// bytes, as Spark reads table properties). Zero, negative and overflowing sizes are errors,
/// and so is any other text; the error says what is expected.
pub fn parse_byte_size(text: &str) -> Result<u64, String> {
    let text = text.trim().to_ascii_lowercase();
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(digits_end);
    let number: u64 = digits
        .parse()
        .map_err(|_| "expected a size such as 134217728, 128MiB or 1GiB".to_owned())?;
    let multiplier: u64 = match unit.trim() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        other => {
            return Err(format!(
                "unknown size unit `{other}` (use B, KiB, MiB, GiB or TiB)"
            ));
        }
    };
    let size = number
        .checked_mul(multiplier)
        .ok_or_else(|| "the size is too large".to_owned())?;
    if size == 0 {
        return Err("the size must be positive".to_owned());
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_with_binary_units() {
        assert_eq!(parse_byte_size("134217728"), Ok(128 << 20));
        assert_eq!(parse_byte_size("128MiB"), Ok(128 << 20));
        assert_eq!(parse_byte_size("128mb"), Ok(128 << 20));
        assert_eq!(parse_byte_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_byte_size(" 2 g "), Ok(2 << 30));
        assert_eq!(parse_byte_size("512KiB"), Ok(512 << 10));
        assert_eq!(parse_byte_size("1TiB"), Ok(1 << 40));
        for bad in [
            "",
            "0",
            "0MiB",
            "-1",
            "1.5GiB",
            "MiB",
            "12 parsecs",
            "99999999999999TiB",
        ] {
            assert!(parse_byte_size(bad).is_err(), "{bad}");
        }
    }
}
