//! Ctrl-C and SIGTERM: stop cleanly the first time, at once the second.
//!
//! This module decides what an interrupted command leaves behind. The first SIGINT or
//! SIGTERM sets a flag and wakes whoever waits on [`Interrupt::fired`]: `write` makes its
//! input stream fail, so the write deletes the data files it uploaded and commits nothing;
//! every other command is dropped where it stands, which removes `cat --output`'s temporary
//! file. Either way the process then exits with 130 (SIGINT) or 143 (SIGTERM). A second signal
//! exits at once, leaving whatever the first was cleaning up.
//!
//! A write whose input was read to the end is committing: it is let finish, since the commit
//! is either whole or absent and is quick; interrupting it would only make its outcome
//! unknown.

use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use tokio::sync::Notify;

/// Which signal arrived, if any, and a way to wait for one.
#[derive(Debug, Clone, Default)]
pub(crate) struct Interrupt {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// The signal number, 0 while none arrived.
    signal: AtomicI32,
    notify: Notify,
}

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

/// Why a command stopped early.
#[derive(Debug, thiserror::Error)]
#[error("interrupted by {}", signal_name(*signal))]
pub(crate) struct Interrupted {
    /// The signal number.
    pub(crate) signal: i32,
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT (Ctrl-C)",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

impl Interrupted {
    /// The conventional exit status: 128 + the signal number.
    pub(crate) fn exit_code(&self) -> u8 {
        u8::try_from(128 + self.signal).unwrap_or(1)
    }
}

impl Interrupt {
    /// Starts listening for SIGINT and SIGTERM on the current runtime.
    pub(crate) fn install() -> Interrupt {
        let interrupt = Interrupt::default();
        let listener = interrupt.clone();
        tokio::spawn(async move { listener.listen().await });
        interrupt
    }

    #[cfg(unix)]
    async fn listen(self) {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            // Without handlers the default action (exit) stays in place.
            return;
        };
        loop {
            let number = tokio::select! {
                _ = int.recv() => SIGINT,
                _ = term.recv() => SIGTERM,
            };
            if self.inner.signal.swap(number, Ordering::SeqCst) != 0 {
                eprintln!("error: interrupted again; stopping at once");
                std::process::exit(128 + number);
            }
            eprintln!(
                "{}: stopping; nothing is committed that was not complete (press Ctrl-C again to stop at once)",
                signal_name(number)
            );
            self.inner.notify.notify_waiters();
        }
    }

    #[cfg(not(unix))]
    async fn listen(self) {
        if tokio::signal::ctrl_c().await.is_ok() {
            self.inner.signal.store(SIGINT, Ordering::SeqCst);
            self.inner.notify.notify_waiters();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(128 + SIGINT);
            }
        }
    }

    /// The signal that arrived, if one did.
    pub(crate) fn signal(&self) -> Option<Interrupted> {
        match self.inner.signal.load(Ordering::SeqCst) {
            0 => None,
            signal => Some(Interrupted { signal }),
        }
    }

    /// Waits until a signal arrives (at once if one already has).
    pub(crate) async fn fired(&self) -> Interrupted {
        loop {
            let notified = self.inner.notify.notified();
            if let Some(interrupted) = self.signal() {
                return interrupted;
            }
            notified.await;
        }
    }

    /// A test hook: behaves as if `signal` had arrived.
    #[cfg(test)]
    pub(crate) fn trigger(&self, signal: i32) {
        self.inner.signal.store(signal, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }
}

/// `stream`, failing with [`tarn::Error::Input`] (whose source is [`Interrupted`]) once a
/// signal arrives; the write that reads it then deletes what it wrote and commits nothing.
pub(crate) fn interruptible<S>(
    stream: S,
    interrupt: Interrupt,
) -> impl futures::Stream<Item = tarn::Result<arrow_array::RecordBatch>> + Send
where
    S: futures::Stream<Item = tarn::Result<arrow_array::RecordBatch>> + Send,
{
    use futures::StreamExt;
    let state = (Box::pin(stream), interrupt, false);
    futures::stream::unfold(state, |(mut stream, interrupt, stopped)| async move {
        if stopped {
            return None;
        }
        // The interruption first: a stream whose batches are always ready must still stop.
        tokio::select! {
            biased;
            interrupted = interrupt.fired() => {
                let error = tarn::Error::Input {
                    source: Box::new(interrupted),
                };
                Some((Err(error), (stream, interrupt, true)))
            }
            item = stream.next() => item.map(|item| (item, (stream, interrupt, false))),
        }
    })
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    #[tokio::test]
    async fn an_interrupted_stream_ends_in_an_input_error() {
        let interrupt = Interrupt::default();
        let batch =
            arrow_array::RecordBatch::new_empty(std::sync::Arc::new(arrow_schema::Schema::empty()));
        let endless = futures::stream::repeat_with(move || Ok(batch.clone()));
        let mut stream = Box::pin(interruptible(endless, interrupt.clone()));
        for _ in 0..3 {
            assert!(stream.next().await.unwrap().is_ok());
        }
        interrupt.trigger(SIGTERM);
        let mut last = None;
        while let Some(item) = stream.next().await {
            last = Some(item);
        }
        match last {
            Some(Err(tarn::Error::Input { source })) => {
                let interrupted = source.downcast_ref::<Interrupted>().unwrap();
                assert_eq!(interrupted.exit_code(), 143);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
