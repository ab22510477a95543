//! Markdown to Atlassian Document Format (ADF), the body format of Jira Cloud's REST v3.
//!
//! pulldown-cmark parses GFM ([`convert`] turns its events into a tree of Markdown blocks),
//! then [`fit`] places every block into what its ADF container allows, with a fallback for
//! what it does not (a heading in a list item becomes a bold paragraph, a table in a quote
//! becomes one paragraph per row, …). The output nodes are typed per container ([`node`]), so
//! whatever the input, the result is valid against `@atlaskit/adf-schema`'s `full.json`; the
//! test `tests/adf_schema.rs` checks that on the whole CommonMark spec and generated reports.
//! [`Doc::write_json`] writes the JSON straight into a buffer (the fast path); `Serialize` and
//! [`markdown_to_adf_json`] parse what it writes.
//!
//! Text stays text: raw HTML is shown literally and only safe link destinations become links.

mod autolink;
mod convert;
mod fit;
mod node;
pub mod samples;
mod swar;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use sha2::{Digest, Sha256};

pub use node::Doc;
pub use samples::sample_triage_reports;

/// Converts GFM Markdown to an ADF document. Never fails: every input gives valid ADF.
pub fn markdown_to_adf(markdown: &str) -> Doc {
    let (blocks, text) = convert::parse(markdown);
    fit::document(blocks, text)
}

/// [`markdown_to_adf`] as a JSON value.
pub fn markdown_to_adf_json(markdown: &str) -> serde_json::Value {
    doc_to_value(&markdown_to_adf(markdown))
}

fn doc_to_value(doc: &Doc) -> serde_json::Value {
    // Parsing what the JSON writer wrote fails only if the writer has a bug (the tests parse
    // its output for every construct); the fallback, an empty document, is never used.
    doc.to_value().unwrap_or_else(|_| serde_json::json!({"type": "doc", "version": 1, "content": []}))
}

/// Conversions cached by the SHA-256 of the Markdown, so that a ticket body rendered again (a
/// retry, the same comment on many tickets) is converted once. Holds at most `capacity`
/// documents and evicts the least recently used; `capacity` 0 caches nothing. Safe to share
/// between threads; results are shared, not copied.
#[derive(Debug)]
pub struct AdfCache {
    capacity: usize,
    entries: Mutex<Lru>,
    hits: AtomicU64,
}

#[derive(Debug, Default)]
struct Lru {
    /// Digest → (document, the tick it was last used at).
    by_digest: HashMap<[u8; 32], (Arc<serde_json::Value>, u64)>,
    /// Tick → digest, oldest first.
    by_age: BTreeMap<u64, [u8; 32]>,
    tick: u64,
}

impl AdfCache {
    pub fn new(capacity: usize) -> Self {
        AdfCache { capacity, entries: Mutex::new(Lru::default()), hits: AtomicU64::new(0) }
    }

    pub fn convert(&self, markdown: &str) -> Arc<serde_json::Value> {
        let digest: [u8; 32] = Sha256::digest(markdown.as_bytes()).into();
        if let Some(found) = self.lock().get(&digest) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return found;
        }
        // Converted outside the lock so that other threads are not held up; when two convert
        // the same text at once, both results are equal and the later insert wins.
        let converted = Arc::new(markdown_to_adf_json(markdown));
        if self.capacity > 0 {
            self.lock().insert(digest, Arc::clone(&converted), self.capacity);
        }
        converted
    }

    /// The number of cached documents.
    pub fn len(&self) -> usize {
        self.lock().by_digest.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many conversions were answered from the cache.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lru> {
        // A panic while holding the lock cannot leave the maps inconsistent in a way that
        // matters (at worst an entry is missing), so a poisoned lock is used as is.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Lru {
    fn get(&mut self, digest: &[u8; 32]) -> Option<Arc<serde_json::Value>> {
        self.tick += 1;
        let tick = self.tick;
        let (value, last_used) = self.by_digest.get_mut(digest)?;
        self.by_age.remove(last_used);
        *last_used = tick;
        self.by_age.insert(tick, *digest);
        Some(Arc::clone(value))
    }

    fn insert(&mut self, digest: [u8; 32], value: Arc<serde_json::Value>, capacity: usize) {
        self.tick += 1;
        let tick = self.tick;
        if let Some((_, last_used)) = self.by_digest.insert(digest, (value, tick)) {
            self.by_age.remove(&last_used);
        }
        self.by_age.insert(tick, digest);
        while self.by_digest.len() > capacity {
            let Some((_, oldest)) = self.by_age.pop_first() else { break };
            self.by_digest.remove(&oldest);
        }
    }
}

/// Documents the process keeps converted: ticket bodies are converted again on every retry and
/// replay, and closing and reminder comments repeat across tickets.
const SHARED_CACHE_CAPACITY: usize = 1024;

/// Convert through the process-wide [`AdfCache`] (what the Jira and local ticket adapters use).
pub fn convert_cached(markdown: &str) -> Arc<serde_json::Value> {
    static SHARED: std::sync::OnceLock<AdfCache> = std::sync::OnceLock::new();
    SHARED.get_or_init(|| AdfCache::new(SHARED_CACHE_CAPACITY)).convert(markdown)
}
