//! Every read checked for length: a store wrapper under each store tarn reads through.
//!
//! A store can answer a read with fewer bytes than it promised: a connection closed early by
//! a proxy, a body cut short, a buggy server or store client. Left alone, that is silent
//! damage — a commit file cut at a line boundary parses as a shorter commit, and the Parquet
//! reader asserts (panics) on a range shorter than it asked for. So every store a
//! [`TableLocation`](crate::TableLocation) uses is wrapped in [`VerifiedStore`]: a `get`
//! whose body ends before (or runs past) the byte range its result announces, and a
//! `get_ranges` answer whose buffers do not match the ranges asked for, become an error
//! naming the object and both lengths. Everything else passes straight through.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
};

/// See the module documentation.
#[derive(Debug)]
pub struct VerifiedStore {
    inner: Arc<dyn ObjectStore>,
}

impl VerifiedStore {
    /// Wraps `inner`.
    pub fn wrap(inner: Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> {
        Arc::new(Self { inner })
    }
}

impl fmt::Display for VerifiedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The store as its owner named it: errors and logs show what the user configured.
        fmt::Display::fmt(&self.inner, f)
    }
}

fn short_read(location: &Path, got: u64, expected: u64) -> object_store::Error {
    object_store::Error::Generic {
        store: "tarn",
        source: format!(
            "read of {location} returned {got} bytes where {expected} were expected \
             (the response was cut short or ran long)"
        )
        .into(),
    }
}

/// `stream`, failing at its end unless it yielded exactly `expected` bytes.
fn checked(
    stream: BoxStream<'static, object_store::Result<Bytes>>,
    expected: u64,
    location: Path,
) -> BoxStream<'static, object_store::Result<Bytes>> {
    struct State {
        stream: BoxStream<'static, object_store::Result<Bytes>>,
        seen: u64,
        done: bool,
    }
    let state = State {
        stream,
        seen: 0,
        done: false,
    };
    futures::stream::unfold(state, move |mut state| {
        let location = location.clone();
        async move {
            if state.done {
                return None;
            }
            match state.stream.next().await {
                Some(Ok(bytes)) => {
                    state.seen += bytes.len() as u64;
                    if state.seen > expected {
                        state.done = true;
                        return Some((Err(short_read(&location, state.seen, expected)), state));
                    }
                    Some((Ok(bytes), state))
                }
                Some(Err(err)) => {
                    state.done = true;
                    Some((Err(err), state))
                }
                None => {
                    state.done = true;
                    if state.seen == expected {
                        None
                    } else {
                        Some((Err(short_read(&location, state.seen, expected)), state))
                    }
                }
            }
        }
    })
    .boxed()
}

#[async_trait]
impl ObjectStore for VerifiedStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let result = self.inner.get_opts(location, options).await?;
        match result.payload {
            GetResultPayload::Stream(stream) => {
                let expected = result.range.end.saturating_sub(result.range.start);
                Ok(GetResult {
                    payload: GetResultPayload::Stream(checked(stream, expected, location.clone())),
                    meta: result.meta,
                    range: result.range,
                    attributes: result.attributes,
                })
            }
            // A local file is read with the exact range by object_store itself.
            payload @ GetResultPayload::File(..) => Ok(GetResult { payload, ..result }),
        }
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        let buffers = self.inner.get_ranges(location, ranges).await?;
        if buffers.len() != ranges.len() {
            return Err(object_store::Error::Generic {
                store: "tarn",
                source: format!(
                    "read of {location} returned {} ranges where {} were asked for",
                    buffers.len(),
                    ranges.len()
                )
                .into(),
            });
        }
        for (range, buffer) in ranges.iter().zip(&buffers) {
            let expected = range.end.saturating_sub(range.start);
            if buffer.len() as u64 != expected {
                return Err(short_read(location, buffer.len() as u64, expected));
            }
        }
        Ok(buffers)
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;
    use object_store::{ObjectStoreExt, PutPayload};

    /// A store whose reads end early: every body and range comes back one byte short.
    #[derive(Debug)]
    struct Short(InMemory);

    impl fmt::Display for Short {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("Short")
        }
    }

    #[async_trait]
    impl ObjectStore for Short {
        async fn put_opts(
            &self,
            location: &Path,
            payload: PutPayload,
            opts: PutOptions,
        ) -> object_store::Result<PutResult> {
            self.0.put_opts(location, payload, opts).await
        }
        async fn put_multipart_opts(
            &self,
            location: &Path,
            opts: PutMultipartOptions,
        ) -> object_store::Result<Box<dyn MultipartUpload>> {
            self.0.put_multipart_opts(location, opts).await
        }
        async fn get_opts(
            &self,
            location: &Path,
            options: GetOptions,
        ) -> object_store::Result<GetResult> {
            let result = self.0.get_opts(location, options).await?;
            let (meta, range, attributes) = (
                result.meta.clone(),
                result.range.clone(),
                result.attributes.clone(),
            );
            let bytes = result.bytes().await?;
            let cut = bytes.slice(..bytes.len().saturating_sub(1));
            Ok(GetResult {
                payload: GetResultPayload::Stream(
                    futures::stream::once(async move { Ok(cut) }).boxed(),
                ),
                meta,
                range,
                attributes,
            })
        }
        async fn get_ranges(
            &self,
            location: &Path,
            ranges: &[Range<u64>],
        ) -> object_store::Result<Vec<Bytes>> {
            let mut parts = self.0.get_ranges(location, ranges).await?;
            for part in &mut parts {
                *part = part.slice(..part.len().saturating_sub(1));
            }
            Ok(parts)
        }
        fn delete_stream(
            &self,
            locations: BoxStream<'static, object_store::Result<Path>>,
        ) -> BoxStream<'static, object_store::Result<Path>> {
            self.0.delete_stream(locations)
        }
        fn list(
            &self,
            prefix: Option<&Path>,
        ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
            self.0.list(prefix)
        }
        async fn list_with_delimiter(
            &self,
            prefix: Option<&Path>,
        ) -> object_store::Result<ListResult> {
            self.0.list_with_delimiter(prefix).await
        }
        async fn copy_opts(
            &self,
            from: &Path,
            to: &Path,
            options: CopyOptions,
        ) -> object_store::Result<()> {
            self.0.copy_opts(from, to, options).await
        }
    }

    #[tokio::test]
    async fn short_reads_are_errors_and_whole_ones_pass() {
        let path = Path::from("a/00.json");
        let whole = VerifiedStore::wrap(Arc::new(InMemory::new()));
        whole.put(&path, PutPayload::from("abcdef")).await.unwrap();
        let bytes = whole.get(&path).await.unwrap().bytes().await.unwrap();
        assert_eq!(&bytes[..], b"abcdef");
        assert_eq!(&whole.get_range(&path, 1..3).await.unwrap()[..], b"bc");
        assert_eq!(
            whole.get_ranges(&path, &[0..2, 4..6]).await.unwrap().len(),
            2
        );

        let short = Short(InMemory::new());
        short.put(&path, PutPayload::from("abcdef")).await.unwrap();
        let verified = VerifiedStore::wrap(Arc::new(short));
        let err = verified
            .get(&path)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("returned 5 bytes where 6"),
            "{err}"
        );
        let err = verified.get_range(&path, 1..4).await.unwrap_err();
        assert!(
            err.to_string().contains("returned 2 bytes where 3"),
            "{err}"
        );
        let err = verified.get_ranges(&path, &[0..2, 4..6]).await.unwrap_err();
        assert!(err.to_string().contains("a/00.json"), "{err}");
    }
}
