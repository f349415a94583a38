//! Transparent gzip that keeps what was read when the stream ends early or is corrupt, as a
//! truncated pcap does: the decoder's error becomes the end of the input, and where it
//! happened is left for the reader's report.

use std::cell::{Cell, RefCell};
use std::io::{self, Read};
use std::rc::Rc;

/// Where a gzip stream broke off, shared between the decoder wrapper and the reader.
#[derive(Debug, Default)]
pub(crate) struct GzipEnd {
    /// Compressed bytes consumed when the error came.
    compressed: Cell<u64>,
    /// Decompressed bytes delivered before it.
    decompressed: Cell<u64>,
    /// The decoder's message, once it failed.
    error: RefCell<Option<String>>,
}

impl GzipEnd {
    /// The warning for the report, if the stream broke off.
    pub(crate) fn warning(&self) -> Option<(u64, String)> {
        let error = self.error.borrow();
        let error = error.as_deref()?;
        let at = self.compressed.get();
        let message = format!(
            "compressed input ends early or is corrupt at byte {at} ({error}); the {} bytes decompressed before it were read",
            self.decompressed.get()
        );
        Some((at, message))
    }
}

/// Counts the compressed bytes the decoder pulls.
struct Counting<R> {
    inner: R,
    end: Rc<GzipEnd>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.end
            .compressed
            .set(self.end.compressed.get() + n as u64);
        Ok(n)
    }
}

/// A multi-member gzip decoder whose data errors (truncation, bad CRC, garbage) end the
/// stream instead of failing the read; errors of the underlying input still fail.
pub(crate) struct TolerantGz<'r> {
    decoder: flate2::read::MultiGzDecoder<Counting<Box<dyn Read + 'r>>>,
    end: Rc<GzipEnd>,
    finished: bool,
}

impl<'r> TolerantGz<'r> {
    pub(crate) fn new(raw: Box<dyn Read + 'r>) -> (Self, Rc<GzipEnd>) {
        let end = Rc::new(GzipEnd::default());
        let counting = Counting {
            inner: raw,
            end: Rc::clone(&end),
        };
        (
            TolerantGz {
                decoder: flate2::read::MultiGzDecoder::new(counting),
                end: Rc::clone(&end),
                finished: false,
            },
            end,
        )
    }
}

impl Read for TolerantGz<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.finished {
            return Ok(0);
        }
        match self.decoder.read(buf) {
            Ok(n) => {
                self.end
                    .decompressed
                    .set(self.end.decompressed.get() + n as u64);
                Ok(n)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::UnexpectedEof
                        | io::ErrorKind::InvalidInput
                        | io::ErrorKind::InvalidData
                ) =>
            {
                self.finished = true;
                *self.end.error.borrow_mut() = Some(e.to_string());
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn a_cut_stream_keeps_its_prefix_and_says_where() {
        let data: Vec<u8> = (0..200_000u32)
            .flat_map(|i| format!("{i}\n").into_bytes())
            .collect();
        let gz = gzip(&data);
        let cut = &gz[..gz.len() / 2];
        let (mut r, end) = TolerantGz::new(Box::new(cut));
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert!(!out.is_empty() && data.starts_with(&out));
        let (at, message) = end.warning().expect("a warning");
        assert!(at > 0 && at <= cut.len() as u64, "{at}");
        assert!(message.contains(&format!("at byte {at}")), "{message}");
    }

    #[test]
    fn a_whole_stream_has_no_warning() {
        let gz = gzip(b"a\nb\n");
        let (mut r, end) = TolerantGz::new(Box::new(&gz[..]));
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"a\nb\n");
        assert!(end.warning().is_none());
    }
}
