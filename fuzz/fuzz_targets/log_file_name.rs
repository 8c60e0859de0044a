//! Log file names: parsing never panics, a parsed name is spelled exactly as it was read
//! (`file_name` is canonical and `parse` of it gives the same name back), and names of
//! different versions or kinds order as their file names sort.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tarn::protocol::log_path::LogFileName;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Two names, split at the first newline, to check the ordering too.
    let (first, second) = text.split_once('\n').unwrap_or((text, ""));
    let parsed: Vec<(&str, LogFileName)> = [first, second]
        .into_iter()
        .filter_map(|name| {
            let parsed = LogFileName::parse(name)?;
            let spelled = parsed.file_name();
            assert_eq!(spelled, name, "{name:?} parsed as {parsed:?}");
            assert_eq!(LogFileName::parse(&spelled).as_ref(), Some(&parsed));
            assert!(name.parse::<LogFileName>().is_ok());
            Some((name, parsed))
        })
        .collect();
    if let [(a_text, a), (b_text, b)] = parsed.as_slice() {
        let same_kind = std::mem::discriminant(&a.kind) == std::mem::discriminant(&b.kind);
        if a.version != b.version || !same_kind {
            assert_eq!(a.cmp(b), a_text.cmp(b_text), "{a_text:?} vs {b_text:?}");
        }
    }
});
