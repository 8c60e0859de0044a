//! A store that misbehaves on purpose, by seed: wrapped around a table's real store, it fails
//! requests, delays them, truncates what a read returns, and performs a put or a copy but
//! reports a failure (what a timeout after the request reached the store looks like: the
//! ambiguous commit). The same seed makes the same decisions for the same sequence of
//! requests, so a failing seed can be replayed.
//!
//! Faults are drawn per request from [`Faults`]; [`FaultStore::pause`] lets requests through
//! untouched (for a test's own checks through the same store). Every fault is counted.

use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult,
};

/// How often each fault happens, as a probability per request.
#[derive(Debug, Clone, Copy)]
pub struct Faults {
    /// A request fails before it reaches the store.
    pub fail: f64,
    /// A put or copy is performed, then reported as failed.
    pub ambiguous: f64,
    /// A read returns fewer bytes than asked for (the stream ends early).
    pub truncate: f64,
    /// A request waits up to 3 ms first.
    pub delay: f64,
}

/// What a store did to the requests it saw.
#[derive(Debug, Default)]
pub struct FaultCounts {
    /// Requests seen while faults were on.
    pub requests: AtomicU64,
    /// Requests failed before reaching the store.
    pub failed: AtomicU64,
    /// Puts and copies performed but reported failed.
    pub ambiguous: AtomicU64,
    /// Of them, commits: put-if-absent of a `_delta_log/*.json` file.
    pub ambiguous_commits: AtomicU64,
    /// Reads cut short.
    pub truncated: AtomicU64,
    /// Requests delayed.
    pub delayed: AtomicU64,
}

impl FaultCounts {
    /// Every fault injected.
    pub fn injected(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
            + self.ambiguous.load(Ordering::Relaxed)
            + self.truncated.load(Ordering::Relaxed)
    }
}

/// SplitMix64: small, fast, and the same everywhere.
#[derive(Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// See the module documentation.
#[derive(Debug)]
pub struct FaultStore {
    inner: Arc<dyn ObjectStore>,
    faults: Faults,
    rng: Mutex<Rng>,
    paused: AtomicBool,
    /// What was done.
    pub counts: Arc<FaultCounts>,
}

/// What to do to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Pass,
    Fail,
    Ambiguous,
    Truncate,
}

impl fmt::Display for FaultStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FaultStore({})", self.inner)
    }
}

impl FaultStore {
    /// Wraps `inner`, drawing faults from `seed`.
    pub fn new(inner: Arc<dyn ObjectStore>, faults: Faults, seed: u64) -> Self {
        Self {
            inner,
            faults,
            rng: Mutex::new(Rng::new(seed)),
            paused: AtomicBool::new(false),
            counts: Arc::new(FaultCounts::default()),
        }
    }

    /// Lets every request through untouched until [`resume`](Self::resume).
    pub fn pause(&self) {
        self.paused.store(true, Ordering::SeqCst);
    }

    /// Injects faults again.
    pub fn resume(&self) {
        self.paused.store(false, Ordering::SeqCst);
    }

    /// Decides a request's fate (and waits first, if it is to be delayed). `kinds` says which
    /// faults apply to this kind of request.
    async fn fate(&self, ambiguous_applies: bool, truncate_applies: bool) -> Fate {
        if self.paused.load(Ordering::SeqCst) {
            return Fate::Pass;
        }
        self.counts.requests.fetch_add(1, Ordering::Relaxed);
        let (delay, fate) = {
            let mut rng = self.rng.lock().unwrap();
            let delay = rng
                .chance(self.faults.delay)
                .then(|| Duration::from_micros(rng.below(3000)));
            let fate = if rng.chance(self.faults.fail) {
                Fate::Fail
            } else if ambiguous_applies && rng.chance(self.faults.ambiguous) {
                Fate::Ambiguous
            } else if truncate_applies && rng.chance(self.faults.truncate) {
                Fate::Truncate
            } else {
                Fate::Pass
            };
            (delay, fate)
        };
        if let Some(delay) = delay {
            self.counts.delayed.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(delay).await;
        }
        match fate {
            Fate::Fail => self.counts.failed.fetch_add(1, Ordering::Relaxed),
            Fate::Ambiguous => self.counts.ambiguous.fetch_add(1, Ordering::Relaxed),
            Fate::Truncate => self.counts.truncated.fetch_add(1, Ordering::Relaxed),
            Fate::Pass => 0,
        };
        fate
    }

    fn cut(&self, len: usize) -> usize {
        if len == 0 {
            return 0;
        }
        self.rng.lock().unwrap().below(len as u64) as usize
    }
}

fn injected(what: &str, location: &Path) -> object_store::Error {
    object_store::Error::Generic {
        store: "FaultStore",
        source: format!("injected fault: {what} {location}").into(),
    }
}

#[async_trait]
impl ObjectStore for FaultStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        match self.fate(true, false).await {
            Fate::Fail => Err(injected("put", location)),
            Fate::Ambiguous => {
                let commit = opts.mode == PutMode::Create
                    && location.as_ref().contains("_delta_log/")
                    && location.as_ref().ends_with(".json");
                self.inner.put_opts(location, payload, opts).await?;
                if commit {
                    self.counts
                        .ambiguous_commits
                        .fetch_add(1, Ordering::Relaxed);
                }
                Err(injected("put (performed, reported failed)", location))
            }
            _ => self.inner.put_opts(location, payload, opts).await,
        }
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        match self.fate(false, false).await {
            Fate::Fail => Err(injected("multipart upload", location)),
            _ => self.inner.put_multipart_opts(location, opts).await,
        }
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        match self.fate(false, !options.head).await {
            Fate::Fail => Err(injected("get", location)),
            Fate::Truncate => {
                let result = self.inner.get_opts(location, options).await?;
                let (meta, range, attributes) = (
                    result.meta.clone(),
                    result.range.clone(),
                    result.attributes.clone(),
                );
                let bytes = result.bytes().await?;
                let cut = self.cut(bytes.len());
                let stream = futures::stream::once(async move { Ok(bytes.slice(..cut)) });
                Ok(GetResult {
                    payload: GetResultPayload::Stream(stream.boxed()),
                    meta,
                    range,
                    attributes,
                })
            }
            _ => self.inner.get_opts(location, options).await,
        }
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        match self.fate(false, true).await {
            Fate::Fail => Err(injected("get ranges", location)),
            Fate::Truncate => {
                let mut parts = self.inner.get_ranges(location, ranges).await?;
                if let Some(last) = parts.last_mut() {
                    let cut = self.cut(last.len());
                    *last = last.slice(..cut);
                }
                Ok(parts)
            }
            _ => self.inner.get_ranges(location, ranges).await,
        }
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        if self.paused.load(Ordering::SeqCst) || self.faults.fail == 0.0 {
            return self.inner.delete_stream(locations);
        }
        // Some deletes fail before reaching the store; the others go through.
        let fail = self.faults.fail;
        let rng = Arc::new(Mutex::new(Rng::new(self.rng.lock().unwrap().next_u64())));
        let counts = Arc::clone(&self.counts);
        let (pass_tx, pass_rx) = futures::channel::mpsc::unbounded::<object_store::Result<Path>>();
        let failed =
            futures::stream::unfold((locations, pass_tx), move |(mut locations, pass_tx)| {
                let (rng, counts) = (Arc::clone(&rng), Arc::clone(&counts));
                async move {
                    loop {
                        let path = match locations.next().await? {
                            Ok(path) => path,
                            Err(err) => return Some((Err(err), (locations, pass_tx))),
                        };
                        counts.requests.fetch_add(1, Ordering::Relaxed);
                        if rng.lock().unwrap().chance(fail) {
                            counts.failed.fetch_add(1, Ordering::Relaxed);
                            let err = injected("delete", &path);
                            return Some((Err(err), (locations, pass_tx)));
                        }
                        let _ = pass_tx.unbounded_send(Ok(path));
                    }
                }
            });
        let passed = self.inner.delete_stream(pass_rx.boxed());
        futures::stream::select(failed, passed).boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        if self.list_fails() {
            let location = prefix.cloned().unwrap_or_default();
            return futures::stream::once(async move { Err(injected("list", &location)) }).boxed();
        }
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        if self.list_fails() {
            let location = prefix.cloned().unwrap_or_default();
            return futures::stream::once(async move { Err(injected("list", &location)) }).boxed();
        }
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        match self.fate(false, false).await {
            Fate::Fail => Err(injected("list", &prefix.cloned().unwrap_or_default())),
            _ => self.inner.list_with_delimiter(prefix).await,
        }
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        match self.fate(true, false).await {
            Fate::Fail => Err(injected("copy", to)),
            Fate::Ambiguous => {
                self.inner.copy_opts(from, to, options).await?;
                Err(injected("copy (performed, reported failed)", to))
            }
            _ => self.inner.copy_opts(from, to, options).await,
        }
    }
}

impl FaultStore {
    /// Whether a list (a synchronous call) fails; lists are not delayed.
    fn list_fails(&self) -> bool {
        if self.paused.load(Ordering::SeqCst) {
            return false;
        }
        self.counts.requests.fetch_add(1, Ordering::Relaxed);
        let fail = self.rng.lock().unwrap().chance(self.faults.fail);
        if fail {
            self.counts.failed.fetch_add(1, Ordering::Relaxed);
        }
        fail
    }
}
