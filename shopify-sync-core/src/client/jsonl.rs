//! Streaming JSONL, as bulk operations deliver it: one JSON object per line, nested
//! connections flattened into their own lines that point at their parent through
//! `__parentId`, and bulk mutation results numbered by `__lineNumber`.
//!
//! [`JsonlDecoder`] is the sans-I/O core: push bytes in chunks of any size, take
//! [`JsonlRecord`]s out. It holds at most the unfinished tail of the input (one partial
//! line plus the last chunk), never the file, so memory stays constant however large
//! the file; a line longer than [`JsonlDecoder::with_max_line_bytes`] is reported as
//! an error and skipped rather than buffered without end. [`JsonlStream`] drives it
//! from any byte stream (a download), [`JsonlReader`] from any [`std::io::Read`] (a
//! file).
//!
//! Each line is parsed once, for the few keys the library needs (`id`, `__parentId`,
//! `__lineNumber`), which also proves it is a well-formed JSON object; the line's text
//! is kept as received, so a typed decode ([`JsonlRecord::decode`]) reads it directly
//! and unused lines cost nothing more. JSON escapes are handled by the JSON parser, so
//! Shopify's `\/` (an escaped `/`) reads as `/` in ids and values alike.
//!
//! ```
//! use shopify_sync::client::jsonl::JsonlDecoder;
//! use shopify_sync::model::{Product, ProductVariant};
//! let mut d = JsonlDecoder::new();
//! d.push(br#"{"id":"gid:\/\/shopify\/Product\/1","title":"Tee"}
//! {"id":"gid:\/\/shopify\/ProductVariant\/2","sku":"T-1","__parentId":"gid:\/\/shopify\/Product\/1"}
//! "#);
//! let product = d.next_record().unwrap()?;
//! assert_eq!(product.typename(), Some("Product"));
//! assert_eq!(product.decode::<Product>()?.title, "Tee");
//! let variant = d.next_record().unwrap()?;
//! assert_eq!(variant.parent_id(), Some("gid://shopify/Product/1"));
//! assert_eq!(variant.parent_gid::<Product>()?.map(|g| g.numeric_id()), Some(1));
//! assert!(variant.gid::<ProductVariant>()?.is_some());
//! assert!(d.next_record().is_none());
//! # Ok::<(), shopify_sync::error::Error>(())
//! ```
use crate::error::{Error, ErrorKind, Result};
use crate::model::{Gid, GidKind, GID_PREFIX};
use futures::stream::{BoxStream, Stream};
use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use std::fmt;
use std::io::Read;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The longest line read by default (64 MiB): far above any real bulk line, low enough
/// that a file without newlines cannot exhaust memory.
pub const DEFAULT_MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

/// One line of a bulk operation's JSONL: the object's text as received, plus the keys
/// that place it (its `id`, its parent's id, a mutation result's line number).
#[derive(Clone, PartialEq, Eq)]
pub struct JsonlRecord {
    line: u64,
    raw: String,
    id: Option<String>,
    parent_id: Option<String>,
    line_number: Option<u64>,
}

impl fmt::Debug for JsonlRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = self.raw.as_str();
        if let Some((i, _)) = raw.char_indices().nth(200) {
            raw = &raw[..i];
        }
        f.debug_struct("JsonlRecord")
            .field("line", &self.line)
            .field("id", &self.id)
            .field("parent_id", &self.parent_id)
            .field("line_number", &self.line_number)
            .field("raw", &raw)
            .finish()
    }
}

/// The object type of a global id: `Product` for `gid://shopify/Product/1`.
fn typename_of(gid: &str) -> Option<&str> {
    let rest = gid.strip_prefix(GID_PREFIX)?;
    let name = rest.split(['/', '?']).next()?;
    (!name.is_empty()).then_some(name)
}

impl JsonlRecord {
    /// Parse one line (without its newline). `line` is its 1-based position in the file.
    pub fn parse(line: u64, text: &[u8]) -> Result<JsonlRecord> {
        let bad = |what: String| {
            Error::new(
                ErrorKind::Decode,
                format!("JSONL line {line} is not a JSON object: {what}"),
            )
            .with_json_path(format!("line {line}"))
        };
        let raw = String::from_utf8(text.to_vec()).map_err(|e| bad(e.to_string()))?;
        let head: Head = serde_json::from_str(&raw).map_err(|e| bad(e.to_string()))?;
        Ok(JsonlRecord {
            line,
            raw,
            id: head.id,
            parent_id: head.parent_id,
            line_number: head.line_number,
        })
    }

    /// The 1-based line of the file this record was read from.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The object's `id`, when it selected one (a string).
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The object type named by its `id` (`Product`, `ProductVariant` ...).
    pub fn typename(&self) -> Option<&str> {
        self.id.as_deref().and_then(typename_of)
    }

    /// Whether this is an object of kind `T` (by its id).
    pub fn is<T: GidKind>(&self) -> bool {
        self.typename() == Some(T::NAME)
    }

    /// The parent's id (`__parentId`): the object whose connection this one was a node
    /// of. `None` for root objects.
    pub fn parent_id(&self) -> Option<&str> {
        self.parent_id.as_deref()
    }

    /// The parent's type (`Product` for a variant line).
    pub fn parent_typename(&self) -> Option<&str> {
        self.parent_id.as_deref().and_then(typename_of)
    }

    /// Whether this is a root object (no parent).
    pub fn is_root(&self) -> bool {
        self.parent_id.is_none()
    }

    /// `__lineNumber` of a bulk mutation result: the 0-based line of the input it answers.
    pub fn line_number(&self) -> Option<u64> {
        self.line_number
    }

    /// The id typed as a `Gid<T>`: `Ok(None)` when the record has no id or is of another
    /// kind, an error when it claims kind `T` but does not parse.
    pub fn gid<T: GidKind>(&self) -> Result<Option<Gid<T>>> {
        match self.id.as_deref() {
            Some(id) if typename_of(id) == Some(T::NAME) => Gid::parse(id).map(Some),
            _ => Ok(None),
        }
    }

    /// The parent id typed as a `Gid<T>`, on the same terms as [`JsonlRecord::gid`].
    pub fn parent_gid<T: GidKind>(&self) -> Result<Option<Gid<T>>> {
        match self.parent_id.as_deref() {
            Some(id) if typename_of(id) == Some(T::NAME) => Gid::parse(id).map(Some),
            _ => Ok(None),
        }
    }

    /// The line's JSON text exactly as received (escapes such as `\/` included).
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The line's JSON text, owned.
    pub fn into_raw(self) -> String {
        self.raw
    }

    /// The line as a JSON value.
    pub fn value(&self) -> Result<Value> {
        self.decode()
    }

    /// Decode the line into `T` (e.g. [`crate::model::Product`]); a failure names the
    /// line and the JSON path inside it (`line 12: .variants[0].price`).
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T> {
        let mut de = serde_json::Deserializer::from_str(&self.raw);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = format!("line {}: {}", self.line, e.path());
            Error::new(
                ErrorKind::Decode,
                format!("unexpected JSONL shape at {path}: {}", e.inner()),
            )
            .with_json_path(path)
        })
    }
}

/// The keys of a line the library reads; everything else is skipped (and validated).
struct Head {
    id: Option<String>,
    parent_id: Option<String>,
    line_number: Option<u64>,
}

impl<'de> de::Deserialize<'de> for Head {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Head, D::Error> {
        struct HeadVisitor;
        /// A string, or anything else read as "absent".
        struct MaybeString(Option<String>);
        impl<'de> de::Deserialize<'de> for MaybeString {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                match <Value as de::Deserialize>::deserialize(d)? {
                    Value::String(s) => Ok(MaybeString(Some(s))),
                    _ => Ok(MaybeString(None)),
                }
            }
        }
        /// A key of the line, matched without allocating.
        enum Key {
            Id,
            ParentId,
            LineNumber,
            Other,
        }
        impl<'de> de::Deserialize<'de> for Key {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                struct KeyVisitor;
                impl Visitor<'_> for KeyVisitor {
                    type Value = Key;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a key")
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Key, E> {
                        Ok(match v {
                            "id" => Key::Id,
                            "__parentId" => Key::ParentId,
                            "__lineNumber" => Key::LineNumber,
                            _ => Key::Other,
                        })
                    }
                }
                d.deserialize_identifier(KeyVisitor)
            }
        }
        impl<'de> Visitor<'de> for HeadVisitor {
            type Value = Head;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Head, A::Error> {
                let mut head = Head {
                    id: None,
                    parent_id: None,
                    line_number: None,
                };
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::Id => head.id = map.next_value::<MaybeString>()?.0,
                        Key::ParentId => head.parent_id = map.next_value::<MaybeString>()?.0,
                        Key::LineNumber => {
                            head.line_number = map.next_value::<Value>()?.as_u64();
                        }
                        Key::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(head)
            }
        }
        d.deserialize_map(HeadVisitor)
    }
}

/// Sizes seen while decoding, for callers that check memory stays bounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JsonlStats {
    /// Bytes pushed in.
    pub bytes: u64,
    /// Lines read (blank ones included).
    pub lines: u64,
    /// Records produced (lines that were not blank, including ones that failed to parse).
    pub records: u64,
    /// The most bytes the decoder ever held at once.
    pub peak_buffered: usize,
}

/// The sans-I/O JSONL decoder: push bytes, take records.
#[derive(Debug)]
pub struct JsonlDecoder {
    buf: Vec<u8>,
    /// Start of the unread part of `buf`.
    start: usize,
    /// Where the next newline search resumes.
    scanned: usize,
    max_line: usize,
    /// Skipping the rest of an over-long line.
    skipping: bool,
    finished: bool,
    stats: JsonlStats,
}

impl Default for JsonlDecoder {
    fn default() -> Self {
        JsonlDecoder::new()
    }
}

impl JsonlDecoder {
    /// A decoder with the default line limit ([`DEFAULT_MAX_LINE_BYTES`]).
    pub fn new() -> JsonlDecoder {
        JsonlDecoder::with_max_line_bytes(DEFAULT_MAX_LINE_BYTES)
    }

    /// A decoder refusing lines longer than `max` bytes.
    pub fn with_max_line_bytes(max: usize) -> JsonlDecoder {
        JsonlDecoder {
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            max_line: max.max(1),
            skipping: false,
            finished: false,
            stats: JsonlStats::default(),
        }
    }

    /// Sizes so far.
    pub fn stats(&self) -> JsonlStats {
        self.stats
    }

    /// Feed the next bytes of the file.
    pub fn push(&mut self, mut chunk: &[u8]) {
        self.stats.bytes += chunk.len() as u64;
        if self.skipping {
            match chunk.iter().position(|b| *b == b'\n') {
                None => return,
                Some(i) => {
                    self.skipping = false;
                    self.stats.lines += 1;
                    chunk = &chunk[i + 1..];
                }
            }
        }
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.scanned -= self.start;
            self.start = 0;
        }
        self.buf.extend_from_slice(chunk);
        self.stats.peak_buffered = self.stats.peak_buffered.max(self.buf.len());
    }

    /// The next complete line's record, or `None` until more bytes are pushed.
    pub fn next_record(&mut self) -> Option<Result<JsonlRecord>> {
        loop {
            let found = self.buf[self.scanned..].iter().position(|b| *b == b'\n');
            let Some(i) = found else {
                self.scanned = self.buf.len();
                if self.buf.len() - self.start > self.max_line {
                    return Some(Err(self.overlong()));
                }
                return None;
            };
            let end = self.scanned + i;
            let from = self.start;
            self.start = end + 1;
            self.scanned = self.start;
            self.stats.lines += 1;
            if end - from > self.max_line {
                return Some(Err(self.too_long(end - from)));
            }
            if let Some(r) = self.record(from, end) {
                return Some(r);
            }
        }
    }

    /// At the end of the input: the last line if it had no newline, then `None`.
    pub fn finish(&mut self) -> Option<Result<JsonlRecord>> {
        if let Some(r) = self.next_record() {
            return Some(r);
        }
        if self.finished || self.skipping {
            self.finished = true;
            return None;
        }
        self.finished = true;
        let (from, end) = (self.start, self.buf.len());
        self.start = end;
        self.scanned = end;
        if from == end {
            return None;
        }
        self.stats.lines += 1;
        self.record(from, end)
    }

    /// Drop whatever is buffered (the input broke off mid-line): `finish` yields nothing.
    pub fn abandon(&mut self) {
        self.buf.clear();
        self.start = 0;
        self.scanned = 0;
        self.finished = true;
    }

    fn record(&mut self, from: usize, end: usize) -> Option<Result<JsonlRecord>> {
        let mut text = &self.buf[from..end];
        if let [rest @ .., b'\r'] = text {
            text = rest;
        }
        if text.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        self.stats.records += 1;
        Some(JsonlRecord::parse(self.stats.lines, text))
    }

    fn too_long(&mut self, n: usize) -> Error {
        self.stats.records += 1;
        Error::new(
            ErrorKind::Decode,
            format!(
                "JSONL line {} is {n} bytes, over the {}-byte limit; skipped",
                self.stats.lines, self.max_line
            ),
        )
        .with_json_path(format!("line {}", self.stats.lines))
    }

    /// The unfinished line is already too long: drop it and skip to its end.
    fn overlong(&mut self) -> Error {
        let n = self.buf.len() - self.start;
        self.buf.clear();
        self.start = 0;
        self.scanned = 0;
        self.skipping = true;
        self.stats.records += 1;
        Error::new(
            ErrorKind::Decode,
            format!(
                "JSONL line {} is over the {}-byte limit ({n} bytes without a newline so far); skipped",
                self.stats.lines + 1,
                self.max_line
            ),
        )
        .with_json_path(format!("line {}", self.stats.lines + 1))
    }
}

/// Records from a stream of byte chunks (a download), in constant memory.
///
/// A failing source (a connection that broke and could not be resumed) ends the
/// stream with its error; the partial line it left is dropped, never parsed.
pub struct JsonlStream {
    source: Option<BoxStream<'static, Result<Vec<u8>>>>,
    decoder: JsonlDecoder,
}

impl fmt::Debug for JsonlStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonlStream")
            .field("open", &self.source.is_some())
            .field("stats", &self.decoder.stats())
            .finish()
    }
}

impl JsonlStream {
    /// Records from `source`'s bytes.
    pub fn new<S>(source: S) -> JsonlStream
    where
        S: Stream<Item = Result<Vec<u8>>> + Send + 'static,
    {
        JsonlStream::with_decoder(source, JsonlDecoder::new())
    }

    /// Records from `source`'s bytes, with a configured decoder.
    pub fn with_decoder<S>(source: S, decoder: JsonlDecoder) -> JsonlStream
    where
        S: Stream<Item = Result<Vec<u8>>> + Send + 'static,
    {
        JsonlStream {
            source: Some(Box::pin(source)),
            decoder,
        }
    }

    /// A stream with no records (a bulk operation that found nothing has no file).
    pub fn empty() -> JsonlStream {
        JsonlStream {
            source: None,
            decoder: JsonlDecoder::new(),
        }
    }

    /// Sizes so far: bytes, lines, and the most bytes ever held at once.
    pub fn stats(&self) -> JsonlStats {
        self.decoder.stats()
    }
}

impl Stream for JsonlStream {
    type Item = Result<JsonlRecord>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(r) = this.decoder.next_record() {
                return Poll::Ready(Some(r));
            }
            let Some(source) = this.source.as_mut() else {
                return Poll::Ready(this.decoder.finish());
            };
            match source.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => this.decoder.push(&chunk),
                Poll::Ready(Some(Err(e))) => {
                    this.source = None;
                    this.decoder.abandon();
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => this.source = None,
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// Records from a reader (a file), in constant memory.
///
/// ```no_run
/// use shopify_sync::client::jsonl::JsonlReader;
/// let file = std::fs::File::open("export.jsonl")?;
/// for record in JsonlReader::new(file) {
///     let record = record?;
///     println!("{:?} under {:?}", record.id(), record.parent_id());
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct JsonlReader<R> {
    reader: R,
    decoder: JsonlDecoder,
    chunk: Vec<u8>,
    eof: bool,
}

impl<R: Read> JsonlReader<R> {
    /// Records from `reader`, read 64 KiB at a time.
    pub fn new(reader: R) -> JsonlReader<R> {
        JsonlReader::with_decoder(reader, JsonlDecoder::new())
    }

    /// Records from `reader`, with a configured decoder.
    pub fn with_decoder(reader: R, decoder: JsonlDecoder) -> JsonlReader<R> {
        JsonlReader {
            reader,
            decoder,
            chunk: vec![0; 64 * 1024],
            eof: false,
        }
    }

    /// Sizes so far.
    pub fn stats(&self) -> JsonlStats {
        self.decoder.stats()
    }
}

impl<R: Read> Iterator for JsonlReader<R> {
    type Item = Result<JsonlRecord>;

    fn next(&mut self) -> Option<Result<JsonlRecord>> {
        loop {
            if let Some(r) = self.decoder.next_record() {
                return Some(r);
            }
            if self.eof {
                return self.decoder.finish();
            }
            match self.reader.read(&mut self.chunk) {
                Ok(0) => self.eof = true,
                Ok(n) => self.decoder.push(&self.chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.eof = true;
                    self.decoder.abandon();
                    return Some(Err(Error::new(
                        ErrorKind::Transport,
                        format!("reading JSONL failed: {e}"),
                    )
                    .with_source(e)
                    .persistent()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(d: &mut JsonlDecoder) -> Vec<Result<JsonlRecord>> {
        let mut out = vec![];
        while let Some(r) = d.finish() {
            out.push(r);
        }
        out
    }

    #[test]
    fn lines_split_anywhere_decode_the_same() {
        let text = b"{\"id\":\"gid:\\/\\/shopify\\/Product\\/1\"}\r\n\n{\"id\":\"gid://shopify/ProductVariant/2\",\"__parentId\":\"gid://shopify/Product/1\"}\n{\"data\":{},\"__lineNumber\":7}";
        for size in 1..text.len() {
            let mut d = JsonlDecoder::new();
            let mut got = vec![];
            for c in text.chunks(size) {
                d.push(c);
                while let Some(r) = d.next_record() {
                    got.push(r.unwrap());
                }
            }
            got.extend(all(&mut d).into_iter().map(|r| r.unwrap()));
            assert_eq!(got.len(), 3, "chunk size {size}");
            assert_eq!(got[0].id(), Some("gid://shopify/Product/1"));
            assert_eq!(got[0].line(), 1);
            assert_eq!(got[1].parent_id(), Some("gid://shopify/Product/1"));
            assert_eq!(got[1].typename(), Some("ProductVariant"));
            assert_eq!(got[1].line(), 3);
            assert_eq!(got[2].line_number(), Some(7));
            assert!(got[2].is_root());
        }
    }

    #[test]
    fn bad_lines_are_errors_naming_the_line_and_reading_goes_on() {
        let mut d = JsonlDecoder::new();
        d.push(b"[1,2]\n{\"id\":1}\nnot json\n{\"id\":\"x\"}\n\xff\n");
        let got = all(&mut d);
        assert_eq!(got.len(), 5);
        assert!(got[0].as_ref().unwrap_err().to_string().contains("line 1"));
        assert_eq!(
            got[1].as_ref().unwrap().id(),
            None,
            "a non-string id is no id"
        );
        assert!(got[2].is_err());
        assert_eq!(got[3].as_ref().unwrap().id(), Some("x"));
        assert_eq!(got[4].as_ref().unwrap_err().kind(), ErrorKind::Decode);
    }

    #[test]
    fn overlong_lines_are_skipped_without_buffering_them() {
        let mut d = JsonlDecoder::with_max_line_bytes(16);
        d.push(b"{\"id\":\"a\"}\n{\"id\":\"");
        assert_eq!(d.next_record().unwrap().unwrap().id(), Some("a"));
        assert!(d.next_record().is_none());
        for _ in 0..100 {
            d.push(b"xxxxxxxxxxxxxxxxxxxxxxxx");
            if let Some(r) = d.next_record() {
                assert!(r.unwrap_err().to_string().contains("limit"));
            }
        }
        d.push(b"\"}\n{\"id\":\"b\"}\n");
        assert_eq!(d.next_record().unwrap().unwrap().id(), Some("b"));
        assert!(d.stats().peak_buffered < 64, "{:?}", d.stats());
    }

    #[test]
    fn typed_ids_check_their_kind() {
        use crate::model::{Product, ProductVariant};
        let r = JsonlRecord::parse(
            1,
            br#"{"id":"gid://shopify/Product/9","__parentId":"gid://shopify/Collection/3"}"#,
        )
        .unwrap();
        assert!(r.is::<Product>());
        assert_eq!(r.gid::<Product>().unwrap().unwrap().numeric_id(), 9);
        assert!(r.gid::<ProductVariant>().unwrap().is_none());
        assert_eq!(r.parent_typename(), Some("Collection"));
        assert!(
            JsonlRecord::parse(1, br#"{"id":"gid://shopify/Product/x"}"#)
                .unwrap()
                .gid::<Product>()
                .is_err()
        );
    }
}
