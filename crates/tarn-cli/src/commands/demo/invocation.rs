//! How the demo's closing suggestions spell the `tarn` command, so that each works when typed
//! in the shell the demo ran from.
//!
//! `tarn` only when the `tarn` found on the `PATH` is this very binary (after `cargo install
//! --path crates/tarn-cli`); `cargo run -q -p tarn-cli --` when `cargo run` started the demo
//! (cargo then sets `CARGO_PKG_NAME` for the binary, and the shell is inside the workspace,
//! where cargo found the package); otherwise the binary's own path.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The words that run this binary from the demo's shell.
pub(crate) fn tarn_command() -> String {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| std::fs::canonicalize(p).ok());
    let Some(exe) = exe else {
        return "tarn".to_owned();
    };
    let on_path = std::env::var_os("PATH").and_then(|path| find_on_path(&path, "tarn"));
    let under_cargo = std::env::var_os("CARGO_PKG_NAME").as_deref() == Some(OsStr::new("tarn-cli"));
    choose(&exe, on_path.as_deref(), under_cargo)
}

/// The first file named `name` in the directories of `path` (a `PATH` value), resolved.
fn find_on_path(path: &OsStr, name: &str) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .and_then(|found| std::fs::canonicalize(found).ok())
}

/// The pure decision: `exe` is this binary and `on_path` what `tarn` resolves to, both
/// canonical.
fn choose(exe: &Path, on_path: Option<&Path>, under_cargo: bool) -> String {
    if on_path == Some(exe) {
        "tarn".to_owned()
    } else if under_cargo {
        "cargo run -q -p tarn-cli --".to_owned()
    } else {
        super::report::shell_word(&exe.display().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tarn_only_when_the_path_finds_this_binary() {
        let exe = Path::new("/home/me/.cargo/bin/tarn");
        assert_eq!(choose(exe, Some(exe), true), "tarn");
        assert_eq!(choose(exe, Some(exe), false), "tarn");
        let built = Path::new("/work/target/debug/tarn");
        assert_eq!(
            choose(built, Some(exe), true),
            "cargo run -q -p tarn-cli --"
        );
        assert_eq!(choose(built, None, true), "cargo run -q -p tarn-cli --");
        assert_eq!(choose(built, Some(exe), false), "/work/target/debug/tarn");
        assert_eq!(
            choose(Path::new("/my dir/tarn"), None, false),
            "'/my dir/tarn'"
        );
    }

    #[test]
    fn the_path_is_searched_in_order() {
        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        std::fs::write(second.path().join("tarn"), "").unwrap();
        let path = std::env::join_paths([first.path(), second.path()]).unwrap();
        let found = find_on_path(&path, "tarn");
        assert_eq!(
            found,
            std::fs::canonicalize(second.path().join("tarn")).ok()
        );
        assert_eq!(find_on_path(&path, "absent"), None);
    }
}
