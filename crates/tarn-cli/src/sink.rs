//! Where row output goes: stdout, or a file that appears only when the command succeeds.
//!
//! This module decides how bytes reach their destination. On stdout, output is released a
//! batch at a time, so a failing command never leaves half a row on stdout, and a closed pipe
//! (`tarn cat t | head`) ends the output quietly. A file is written under a temporary name
//! in the same directory and renamed over the target at the end; until then the target is
//! untouched, and a failure (or any early return) removes the temporary file. It never
//! decides what the bytes are.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, ErrorKind, Stdout, Write};
use std::path::{Path, PathBuf};

use crate::CliError;

/// A writer for row output. `Write` never fails on stdout (bytes wait for
/// [`Sink::end_batch`]); on a file, the first I/O error is kept so that it can be reported
/// with the file's name ([`Sink::take_error`]).
#[derive(Debug)]
pub(crate) struct Sink {
    target: Target,
    /// Stdout bytes not yet released.
    pending: Vec<u8>,
    /// The reader of stdout has gone.
    closed: bool,
    /// The first error writing the file.
    error: Option<std::io::Error>,
}

#[derive(Debug)]
enum Target {
    Stdout(Stdout),
    File {
        writer: BufWriter<File>,
        temp: TempFile,
    },
}

/// A temporary file that is removed on drop unless it was renamed to its target.
#[derive(Debug)]
struct TempFile {
    path: PathBuf,
    target: PathBuf,
    renamed: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.renamed {
            let _ignored = std::fs::remove_file(&self.path);
        }
    }
}

/// Refuses an existing `path` that `--output` must not replace; see [`Sink::file`].
fn check_target(path: &Path) -> Result<(), CliError> {
    let refuse = |kind: ErrorKind, why: &str| {
        Err(write_error(path, std::io::Error::new(kind, why.to_owned())))
    };
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(write_error(path, err)),
    };
    let file_type = meta.file_type();
    if file_type.is_dir() {
        return refuse(ErrorKind::IsADirectory, "it is a directory");
    }
    if file_type.is_symlink() {
        return refuse(
            ErrorKind::InvalidInput,
            "it is a symbolic link; give the path it points to",
        );
    }
    if !file_type.is_file() {
        return refuse(ErrorKind::InvalidInput, "it is not a regular file");
    }
    if meta.permissions().readonly() {
        return refuse(
            ErrorKind::PermissionDenied,
            "it is read-only; make it writable or remove it first",
        );
    }
    Ok(())
}

fn write_error(path: &Path, source: std::io::Error) -> CliError {
    CliError::WriteFile {
        path: path.display().to_string(),
        source,
    }
}

impl Sink {
    /// Output to stdout.
    pub(crate) fn stdout() -> Sink {
        Sink::new(Target::Stdout(std::io::stdout()))
    }

    /// Output to `path`, through a temporary file beside it. Fails now, before any row is
    /// read, if the directory cannot take the file or `path` is anything but absent or a
    /// writable regular file: a directory, a symbolic link (renaming over it would replace the
    /// link, not write where it points), a read-only file (the rename would replace it
    /// although its mode says not to), a FIFO or a device.
    pub(crate) fn file(path: &Path) -> Result<Sink, CliError> {
        check_target(path)?;
        let name = path
            .file_name()
            .ok_or_else(|| {
                write_error(
                    path,
                    std::io::Error::new(ErrorKind::InvalidInput, "not a file name"),
                )
            })?
            .to_string_lossy()
            .into_owned();
        let dir = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut attempt = 0u32;
        let (file, temp_path) = loop {
            let temp_path = dir.join(format!(".{name}.tarn-{}-{attempt}.tmp", std::process::id()));
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp_path)
            {
                Ok(file) => break (file, temp_path),
                Err(err) if err.kind() == ErrorKind::AlreadyExists && attempt < 100 => {
                    attempt += 1;
                }
                Err(err) => return Err(write_error(path, err)),
            }
        };
        Ok(Sink::new(Target::File {
            writer: BufWriter::with_capacity(1 << 20, file),
            temp: TempFile {
                path: temp_path,
                target: path.to_path_buf(),
                renamed: false,
            },
        }))
    }

    fn new(target: Target) -> Sink {
        Sink {
            target,
            pending: Vec::new(),
            closed: false,
            error: None,
        }
    }

    /// Whether the reader of stdout has gone; the command should stop producing rows.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    /// The error that made a write to the file fail, as a [`CliError`] naming the file.
    pub(crate) fn take_error(&mut self) -> Option<CliError> {
        let err = self.error.take()?;
        match &self.target {
            Target::File { temp, .. } => Some(write_error(&temp.target, err)),
            Target::Stdout(_) => Some(CliError::Output(err.to_string())),
        }
    }

    /// Releases the bytes written since the last call: complete rows, or a complete header.
    pub(crate) fn end_batch(&mut self) -> Result<(), CliError> {
        if let Some(err) = self.take_error() {
            return Err(err);
        }
        let Target::Stdout(stdout) = &mut self.target else {
            return Ok(());
        };
        if self.closed || self.pending.is_empty() {
            self.pending.clear();
            return Ok(());
        }
        let mut lock = stdout.lock();
        let result = lock.write_all(&self.pending).and_then(|()| lock.flush());
        self.pending.clear();
        match result {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            Err(err) => Err(CliError::Output(err.to_string())),
        }
    }

    /// Releases the last bytes; a file is flushed to disk and renamed to its target.
    pub(crate) fn commit(mut self) -> Result<(), CliError> {
        self.end_batch()?;
        let Target::File { writer, temp } = &mut self.target else {
            return Ok(());
        };
        let target = temp.target.clone();
        writer.flush().map_err(|e| write_error(&target, e))?;
        writer
            .get_ref()
            .sync_all()
            .map_err(|e| write_error(&target, e))?;
        std::fs::rename(&temp.path, &target).map_err(|e| write_error(&target, e))?;
        temp.renamed = true;
        Ok(())
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.target {
            Target::Stdout(_) => {
                if !self.closed {
                    self.pending.extend_from_slice(buf);
                }
                Ok(buf.len())
            }
            Target::File { writer, .. } => {
                if self.error.is_some() {
                    return Err(std::io::Error::other("an earlier write failed"));
                }
                writer.write(buf).inspect_err(|err| {
                    self.error = Some(std::io::Error::new(err.kind(), err.to_string()));
                })
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        // Bytes are released by `end_batch` and `commit`, at row boundaries.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_appears_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        let mut sink = Sink::file(&target).unwrap();
        sink.write_all(b"a,b\n").unwrap();
        sink.end_batch().unwrap();
        assert!(!target.exists());
        sink.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "a,b\n");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file is left");
    }

    #[cfg(unix)]
    #[test]
    fn links_read_only_files_and_special_files_are_not_replaced() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let precious = dir.path().join("precious.txt");
        std::fs::write(&precious, "keep").unwrap();
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink(&precious, &link).unwrap();
        let read_only = dir.path().join("ro.csv");
        std::fs::write(&read_only, "keep").unwrap();
        std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o444)).unwrap();
        let fifo = dir.path().join("fifo.csv");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        for (path, why) in [
            (&link, "symbolic link"),
            (&read_only, "read-only"),
            (&fifo, "not a regular file"),
            (&dir.path().to_path_buf(), "directory"),
        ] {
            let err = Sink::file(path).unwrap_err().to_string();
            assert!(err.contains(why), "{}: {err}", path.display());
        }
        assert_eq!(std::fs::read_to_string(&precious).unwrap(), "keep");
        assert_eq!(std::fs::read_to_string(&read_only).unwrap(), "keep");
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        // Nothing was created beside them.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 4);
    }

    #[test]
    fn a_dropped_file_sink_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        std::fs::write(&target, "old").unwrap();
        {
            let mut sink = Sink::file(&target).unwrap();
            sink.write_all(b"new").unwrap();
        }
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_directory_or_missing_parent_fails_up_front() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Sink::file(dir.path()).is_err());
        assert!(Sink::file(&dir.path().join("missing/out.csv")).is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
