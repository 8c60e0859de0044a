//! A progress line on stderr for long writes: file, rows and bytes read, percentage.
//!
//! Drawn only when stderr is a terminal, at most ten times a second, and erased when the
//! input is read, so that scripts (stderr redirected) never see it and the one-line
//! `error: ...` contract holds. This module only draws; it never reads input.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use crate::output::human_bytes;

const REDRAW_EVERY: Duration = Duration::from_millis(100);
const BAR_WIDTH: usize = 24;

/// Progress of reading the input files of a write.
#[derive(Debug)]
pub(crate) struct Progress {
    enabled: bool,
    files: usize,
    total_bytes: u64,
    file_index: usize,
    file_name: String,
    rows: u64,
    bytes: u64,
    last_draw: Option<Instant>,
    drawn: bool,
}

impl Progress {
    /// Progress over `files` files of `total_bytes` bytes; drawn only if stderr is a terminal.
    pub(crate) fn new(files: usize, total_bytes: u64) -> Self {
        Self::with_enabled(std::io::stderr().is_terminal(), files, total_bytes)
    }

    fn with_enabled(enabled: bool, files: usize, total_bytes: u64) -> Self {
        Self {
            enabled,
            files,
            total_bytes,
            file_index: 0,
            file_name: String::new(),
            rows: 0,
            bytes: 0,
            last_draw: None,
            drawn: false,
        }
    }

    /// Starts reading file `index` (0-based).
    pub(crate) fn start_file(&mut self, index: usize, name: &str) {
        self.file_index = index;
        self.file_name = name.to_owned();
        self.draw(true);
    }

    /// Records rows read and the bytes of input consumed so far (over all files).
    pub(crate) fn advance(&mut self, rows: u64, bytes_so_far: u64) {
        self.rows += rows;
        self.bytes = bytes_so_far.min(self.total_bytes);
        self.draw(false);
    }

    /// Erases the line.
    pub(crate) fn finish(&mut self) {
        if self.enabled && self.drawn {
            let mut stderr = std::io::stderr().lock();
            let _ignored = write!(stderr, "\r\x1b[2K").and_then(|()| stderr.flush());
            self.drawn = false;
        }
    }

    fn draw(&mut self, force: bool) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if !force
            && self
                .last_draw
                .is_some_and(|t| now.duration_since(t) < REDRAW_EVERY)
        {
            return;
        }
        self.last_draw = Some(now);
        let line = self.line();
        let mut stderr = std::io::stderr().lock();
        let _ignored = write!(stderr, "\r\x1b[2K{line}").and_then(|()| stderr.flush());
        self.drawn = true;
    }

    /// The progress line, without terminal control characters.
    fn line(&self) -> String {
        let fraction = if self.total_bytes == 0 {
            0.0
        } else {
            self.bytes as f64 / self.total_bytes as f64
        };
        let filled = ((fraction * BAR_WIDTH as f64).round() as usize).min(BAR_WIDTH);
        format!(
            "reading {} ({}/{}) [{}{}] {:>3}%  {} rows  {} of {}",
            self.file_name,
            self.file_index + 1,
            self.files,
            "#".repeat(filled),
            "-".repeat(BAR_WIDTH - filled),
            (fraction * 100.0).floor() as u64,
            self.rows,
            human_bytes(self.bytes),
            human_bytes(self.total_bytes),
        )
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A status line on stderr for a long operation whose progress is a text the caller
/// renders: drawn when stderr is a terminal, at most ten times a second, erased when done.
#[derive(Debug)]
pub(crate) struct StatusLine {
    enabled: bool,
    last_draw: Option<Instant>,
    drawn: bool,
}

impl StatusLine {
    /// A status line, drawn only if stderr is a terminal.
    pub(crate) fn new() -> Self {
        Self {
            enabled: std::io::stderr().is_terminal(),
            last_draw: None,
            drawn: false,
        }
    }

    /// Shows `text` (throttled unless `force`).
    pub(crate) fn show(&mut self, text: &str, force: bool) {
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if !force
            && self
                .last_draw
                .is_some_and(|t| now.duration_since(t) < REDRAW_EVERY)
        {
            return;
        }
        self.last_draw = Some(now);
        let mut stderr = std::io::stderr().lock();
        let _ignored = write!(stderr, "\r\x1b[2K{text}").and_then(|()| stderr.flush());
        self.drawn = true;
    }

    /// Erases the line.
    pub(crate) fn finish(&mut self) {
        if self.enabled && self.drawn {
            let mut stderr = std::io::stderr().lock();
            let _ignored = write!(stderr, "\r\x1b[2K").and_then(|()| stderr.flush());
            self.drawn = false;
        }
    }
}

impl Drop for StatusLine {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A [`StatusLine`] shared with a progress callback (which a library may call from any
/// task): clones draw on the same line.
#[derive(Debug, Clone)]
pub(crate) struct SharedStatusLine(std::sync::Arc<std::sync::Mutex<StatusLine>>);

impl SharedStatusLine {
    /// A shared status line, drawn only if stderr is a terminal.
    pub(crate) fn new() -> Self {
        Self(std::sync::Arc::new(
            std::sync::Mutex::new(StatusLine::new()),
        ))
    }

    /// Shows `label [bar] detail`, the bar filled to `done` of `total` (full when `total` is
    /// 0); drawn at once when `force`, else throttled.
    pub(crate) fn show(&self, label: &str, (done, total): (u64, u64), detail: &str, force: bool) {
        let fraction = if total == 0 {
            1.0
        } else {
            done as f64 / total as f64
        };
        if let Ok(mut line) = self.0.lock() {
            line.show(
                &format!("{label} {} {detail}", bar(fraction, BAR_WIDTH)),
                force,
            );
        }
    }

    /// Erases the line.
    pub(crate) fn finish(&self) {
        if let Ok(mut line) = self.0.lock() {
            line.finish();
        }
    }
}

/// A bar of `width` cells filled to `fraction` (0 to 1): `[#####-----]`.
pub(crate) fn bar(fraction: f64, width: usize) -> String {
    let filled = ((fraction.clamp(0.0, 1.0) * width as f64).round() as usize).min(width);
    format!("[{}{}]", "#".repeat(filled), "-".repeat(width - filled))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_shows_file_rows_bytes_and_share() {
        let mut progress = Progress::with_enabled(false, 2, 4096);
        progress.start_file(1, "b.csv");
        progress.advance(10, 1024);
        progress.advance(5, 2048);
        assert_eq!(
            progress.line(),
            "reading b.csv (2/2) [############------------]  50%  15 rows  2.0 KiB of 4.0 KiB"
        );
        progress.advance(0, 99_999);
        assert!(progress.line().contains("100%"), "{}", progress.line());
    }
}
