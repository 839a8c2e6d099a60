//! A reader that counts and hashes what passes through it, for progress bars and for
//! recognising a file imported before.

use sha2::{Digest, Sha256};
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Bytes read so far, shared with whoever draws the progress bar.
#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<AtomicU64>);

impl Progress {
    /// Bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Where a [`Hashing`] reader leaves the SHA-256 of everything it read, once dropped.
#[derive(Clone, Default)]
pub(crate) struct HashSlot(Arc<Mutex<Option<String>>>);

impl HashSlot {
    pub(crate) fn get(&self) -> String {
        self.0.lock().ok().and_then(|g| g.clone()).unwrap_or_default()
    }
}

/// Wraps a reader: counts bytes into a [`Progress`] and hashes them into a [`HashSlot`].
pub(crate) struct Hashing<R: Read> {
    inner: R,
    progress: Progress,
    hash: Sha256,
    slot: HashSlot,
}

impl<R: Read> Hashing<R> {
    pub(crate) fn new(inner: R, progress: Progress) -> (Self, HashSlot) {
        let slot = HashSlot::default();
        (Hashing { inner, progress, hash: Sha256::new(), slot: slot.clone() }, slot)
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.progress.0.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl<R: Read> Drop for Hashing<R> {
    fn drop(&mut self) {
        let digest = std::mem::take(&mut self.hash).finalize();
        if let Ok(mut g) = self.slot.0.lock() {
            *g = Some(hex::encode(digest));
        }
    }
}
