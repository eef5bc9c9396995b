//! The review printed while the plan file is written. Every review names the plan's content
//! hash first, and the hash is known only once the file is written; so the review is rendered
//! with a placeholder, held back until the hash comes, then let through with the hash in place.
//! What is held is the head (where the placeholder stands) and what the renderer made while the
//! file was being written (the file is written in less time than a large review is printed),
//! not the whole review.

use std::io::{self, Write};
use std::sync::mpsc::Receiver;

/// What renderers print where the hash goes, until it is known: 64 characters, as the hash.
pub(super) const PLACEHOLDER: &str =
    "content-sha256-not-yet-known-content-sha256-not-yet-known-000000";

/// Only the head of a review names the hash: the placeholder is looked for this far.
const HEAD: usize = 4096;

/// Holds what is written until the hash arrives on `hash`, then writes it on to `inner` with
/// the placeholder replaced. If the hash never comes (the plan file could not be written),
/// nothing is written at all.
pub(super) struct HashFirst<'a> {
    inner: &'a mut dyn Write,
    hash: Receiver<String>,
    held: Option<Held>,
}

/// What is held: the head, then the rest in chunks. A large review holds a hundred megabytes
/// while the file is written; one growing buffer copied all of it again at each doubling.
#[derive(Default)]
struct Held {
    head: Vec<u8>,
    rest: Vec<Vec<u8>>,
}

/// The size of each chunk of the rest.
const CHUNK: usize = 1 << 20;

impl Held {
    fn push(&mut self, buf: &[u8]) {
        if self.head.len() < HEAD {
            self.head.extend_from_slice(buf);
            return;
        }
        match self.rest.last_mut() {
            Some(last) if last.capacity() - last.len() >= buf.len() => last.extend_from_slice(buf),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK.max(buf.len()));
                chunk.extend_from_slice(buf);
                self.rest.push(chunk);
            }
        }
    }
}

impl<'a> HashFirst<'a> {
    pub(super) fn new(inner: &'a mut dyn Write, hash: Receiver<String>) -> HashFirst<'a> {
        HashFirst {
            inner,
            hash,
            held: Some(Held::default()),
        }
    }

    /// Writes what is held once the hash is here; `wait`: block until it is.
    fn release(&mut self, wait: bool) -> io::Result<()> {
        if self.held.is_none() {
            return Ok(());
        }
        let hash = if wait {
            self.hash.recv().map_err(|_| not_written())?
        } else {
            match self.hash.try_recv() {
                Ok(hash) => hash,
                Err(std::sync::mpsc::TryRecvError::Empty) => return Ok(()),
                Err(std::sync::mpsc::TryRecvError::Disconnected) => return Err(not_written()),
            }
        };
        let held = self.held.take().unwrap_or_default();
        let head = held.head.len().min(HEAD);
        let patched = String::from_utf8_lossy(&held.head[..head]).replace(PLACEHOLDER, &hash);
        self.inner.write_all(patched.as_bytes())?;
        self.inner.write_all(&held.head[head..])?;
        for chunk in &held.rest {
            self.inner.write_all(chunk)?;
        }
        Ok(())
    }
}

fn not_written() -> io::Error {
    io::Error::other("the plan was not written, so its review is not printed")
}

impl Write for HashFirst<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.held {
            // The head is held whole before anything goes out: the hash may come before the
            // renderer's first write, and the placeholder in that write must still be patched.
            Some(held) => {
                held.push(buf);
                if held.head.len() >= HEAD {
                    self.release(false)?;
                }
            }
            None => self.inner.write_all(buf)?,
        }
        Ok(buf.len())
    }

    /// Waits for the hash: a flush is the renderer's end.
    fn flush(&mut self) -> io::Result<()> {
        self.release(true)?;
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_review_waits_for_the_hash_and_gets_it_in_place() {
        let (tx, rx) = std::sync::mpsc::channel();
        let mut out = Vec::new();
        let filler = ".".repeat(HEAD);
        {
            let mut w = HashFirst::new(&mut out, rx);
            writeln!(w, "sha {PLACEHOLDER}").unwrap();
            writeln!(w, "{filler}").unwrap();
            tx.send("ab".repeat(32)).unwrap();
            writeln!(w, "rest {PLACEHOLDER}").unwrap();
            w.flush().unwrap();
        }
        // The head is patched; what comes after it goes through as rendered.
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("sha {}\n{filler}\nrest {PLACEHOLDER}\n", "ab".repeat(32))
        );
    }

    #[test]
    fn a_hash_that_comes_before_the_first_write_is_put_in_place() {
        // A large review renders its first bytes after the plan file is written and hashed.
        let (tx, rx) = std::sync::mpsc::channel();
        tx.send("cd".repeat(32)).unwrap();
        let mut out = Vec::new();
        {
            let mut w = HashFirst::new(&mut out, rx);
            writeln!(w, "sha {PLACEHOLDER}").unwrap();
            w.write_all(&vec![b'.'; 2 * HEAD]).unwrap();
            w.flush().unwrap();
        }
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with(&format!("sha {}\n", "cd".repeat(32))),
            "{}",
            &text[..80]
        );
        assert_eq!(text.len(), "sha \n".len() + 64 + 2 * HEAD);
    }

    #[test]
    fn a_review_held_over_many_chunks_comes_out_whole_and_in_order() {
        let (tx, rx) = std::sync::mpsc::channel();
        let mut out = Vec::new();
        let mut written = format!("sha {PLACEHOLDER}\n").into_bytes();
        {
            let mut w = HashFirst::new(&mut out, rx);
            w.write_all(&written).unwrap();
            // Three chunks' worth, in writes of every size up to one larger than a chunk.
            let mut n = 0u32;
            while written.len() < 3 * CHUNK {
                let len = (n as usize * 7919) % (CHUNK + 10);
                let piece: Vec<u8> = (0..len)
                    .map(|i| b'a' + ((i as u32 + n) % 26) as u8)
                    .collect();
                w.write_all(&piece).unwrap();
                written.extend_from_slice(&piece);
                n += 1;
            }
            tx.send("ef".repeat(32)).unwrap();
            w.flush().unwrap();
        }
        let expected =
            String::from_utf8(written)
                .unwrap()
                .replacen(PLACEHOLDER, &"ef".repeat(32), 1);
        assert!(out == expected.as_bytes(), "the review came out changed");
    }

    #[test]
    fn without_a_hash_nothing_is_printed() {
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        drop(tx);
        let mut out = Vec::new();
        let mut w = HashFirst::new(&mut out, rx);
        assert!(write!(w, "review").is_err() || w.flush().is_err());
        drop(w);
        assert!(out.is_empty());
    }
}
