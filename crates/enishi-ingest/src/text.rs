//! The text of a CSV file as the CSV reader sees it: decoded to UTF-8 from the file's
//! encoding (UTF-8, or Shift_JIS / CP932 as Excel and Japanese POS systems write it), with
//! every line break indexed so that a record's true physical line can be told, whatever the
//! line endings (LF, CRLF or CR) and however many line breaks quoted cells hold.

use std::collections::VecDeque;
use std::io::Read;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

/// A file's character encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// Detected: a file that is valid UTF-8 (with or without a byte-order mark) is UTF-8,
    /// any other is read as Shift_JIS (CP932).
    #[default]
    Auto,
    /// UTF-8.
    Utf8,
    /// Shift_JIS as Windows writes it (CP932, Windows-31J): what Excel and Japanese POS
    /// systems save.
    ShiftJis,
}

impl FromStr for Encoding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "auto" => Ok(Encoding::Auto),
            "utf-8" | "utf8" => Ok(Encoding::Utf8),
            "shift-jis" | "sjis" | "cp932" | "windows-31j" | "ms932" => Ok(Encoding::ShiftJis),
            _ => Err(format!("unknown encoding '{s}' (auto, utf-8, shift_jis or cp932)")),
        }
    }
}

impl Encoding {
    /// The encoding's name on the command line and in summaries.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Auto => "auto",
            Encoding::Utf8 => "utf-8",
            Encoding::ShiftJis => "shift_jis",
        }
    }
}

/// Bytes looked at, from the first byte that is not ASCII, to tell UTF-8 from Shift_JIS.
const WINDOW: usize = 4096;
/// Bytes read from the file at a time.
const CHUNK: usize = 64 * 1024;

/// What the decoding reader shares with the CSV reader: the encoding in use once known, and
/// the line breaks of the text not yet passed.
#[derive(Debug, Default)]
pub(crate) struct TextState {
    /// The encoding decided (`Auto` until the first byte that is not ASCII).
    pub(crate) encoding: Encoding,
    /// Whether the encoding was detected rather than given.
    pub(crate) detected: bool,
    /// Offsets (in the decoded text) of line-break bytes not yet passed, and whether each
    /// ends a line (a CR followed by LF does not: the LF does).
    breaks: VecDeque<(u64, bool)>,
    /// Lines ended before the first entry of `breaks`.
    lines_before: u64,
    /// Whether the last byte given out was a CR (a LF right after it is the same break).
    after_cr: bool,
}

impl TextState {
    /// The physical line (1 is the first) on which text that begins at `offset`, after any
    /// line breaks there, starts. Offsets asked must not decrease.
    pub(crate) fn line_at(&mut self, mut offset: u64) -> u64 {
        while let Some(&(at, ends)) = self.breaks.front() {
            if at < offset {
                self.lines_before += u64::from(ends);
                self.breaks.pop_front();
            } else if at == offset {
                // A line break (or a blank line) before the record's first byte.
                self.lines_before += u64::from(ends);
                self.breaks.pop_front();
                offset += 1;
            } else {
                break;
            }
        }
        self.lines_before + 1
    }

    fn index(&mut self, start: u64, text: &[u8]) {
        for (i, &b) in text.iter().enumerate() {
            match b {
                b'\r' => {
                    self.breaks.push_back((start + i as u64, true));
                    self.after_cr = true;
                }
                b'\n' => {
                    self.breaks.push_back((start + i as u64, !self.after_cr));
                    self.after_cr = false;
                }
                _ => self.after_cr = false,
            }
        }
    }
}

/// A reader giving UTF-8 text from a file in `encoding`, indexing line breaks into a shared
/// [`TextState`]. A UTF-8 byte-order mark is dropped. Bytes that are not Shift_JIS become
/// U+FFFD, which [`TextState`]'s users refuse with the cell's line and column.
pub(crate) struct Text<R: Read> {
    inner: R,
    state: Arc<Mutex<TextState>>,
    decoder: Option<encoding_rs::Decoder>,
    /// Raw bytes read and not yet decoded.
    pending: Vec<u8>,
    /// Decoded text not yet given out, from `out_at`.
    out: Vec<u8>,
    out_at: usize,
    /// Bytes given out so far.
    given: u64,
    started: bool,
    eof: bool,
}

impl<R: Read> Text<R> {
    /// Wraps `inner`; the state is shared with whoever needs line numbers.
    pub(crate) fn new(inner: R, encoding: Encoding) -> (Self, Arc<Mutex<TextState>>) {
        let state =
            Arc::new(Mutex::new(TextState { encoding, detected: encoding == Encoding::Auto, ..Default::default() }));
        let decoder =
            (encoding == Encoding::ShiftJis).then(|| encoding_rs::SHIFT_JIS.new_decoder_without_bom_handling());
        let text = Text {
            inner,
            state: state.clone(),
            decoder,
            pending: Vec::new(),
            out: Vec::new(),
            out_at: 0,
            given: 0,
            started: false,
            eof: false,
        };
        (text, state)
    }

    fn encoding(&self) -> Encoding {
        self.state.lock().map(|s| s.encoding).unwrap_or_default()
    }

    fn decide(&mut self, encoding: Encoding) {
        if let Ok(mut s) = self.state.lock() {
            s.encoding = encoding;
        }
        if encoding == Encoding::ShiftJis {
            self.decoder = Some(encoding_rs::SHIFT_JIS.new_decoder_without_bom_handling());
        }
    }

    /// Reads more of the file and decodes what can be decoded into `out`.
    fn fill(&mut self) -> std::io::Result<()> {
        if !self.eof {
            let at = self.pending.len();
            self.pending.resize(at + CHUNK, 0);
            let n = loop {
                match self.inner.read(&mut self.pending[at..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        self.pending.truncate(at);
                        return Err(e);
                    }
                }
            };
            self.pending.truncate(at + n);
            self.eof = n == 0;
        }
        if !self.started {
            if self.pending.len() < 3 && !self.eof {
                return Ok(());
            }
            self.started = true;
            if self.pending.starts_with(b"\xEF\xBB\xBF") {
                self.pending.drain(..3);
                if self.encoding() == Encoding::Auto {
                    self.decide(Encoding::Utf8);
                }
            }
        }
        self.out.clear();
        self.out_at = 0;
        match self.encoding() {
            Encoding::Utf8 => self.out.append(&mut self.pending),
            Encoding::ShiftJis => self.decode(),
            Encoding::Auto => {
                let Some(first) = self.pending.iter().position(|b| !b.is_ascii()) else {
                    self.out.append(&mut self.pending);
                    return Ok(());
                };
                if self.pending.len() - first < WINDOW && !self.eof {
                    // Give out the ASCII before it; decide once the window is read.
                    self.out.extend(self.pending.drain(..first));
                    return Ok(());
                }
                let window = &self.pending[first..self.pending.len().min(first + WINDOW)];
                let utf8 = match std::str::from_utf8(window) {
                    Ok(_) => true,
                    // A character cut at the end of the window is still UTF-8.
                    Err(e) => e.error_len().is_none() && first + WINDOW <= self.pending.len(),
                };
                self.decide(if utf8 { Encoding::Utf8 } else { Encoding::ShiftJis });
                return self.fill_decided();
            }
        }
        Ok(())
    }

    fn fill_decided(&mut self) -> std::io::Result<()> {
        match self.encoding() {
            Encoding::ShiftJis => self.decode(),
            _ => self.out.append(&mut self.pending),
        }
        Ok(())
    }

    fn decode(&mut self) {
        let Some(decoder) = self.decoder.as_mut() else { return };
        let room = decoder.max_utf8_buffer_length(self.pending.len()).unwrap_or(self.pending.len() * 3 + 16);
        self.out.resize(room, 0);
        let (_, read, written, _) = decoder.decode_to_utf8(&self.pending, &mut self.out, self.eof);
        self.out.truncate(written);
        self.pending.drain(..read);
    }
}

impl<R: Read> Read for Text<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.out_at >= self.out.len() {
            if self.eof && self.pending.is_empty() {
                return Ok(0);
            }
            self.fill()?;
            if self.eof && self.out.is_empty() && !self.pending.is_empty() {
                // Only a window's worth left at the end: decide on it.
                self.fill()?;
            }
        }
        let n = buf.len().min(self.out.len() - self.out_at);
        buf[..n].copy_from_slice(&self.out[self.out_at..self.out_at + n]);
        if let Ok(mut s) = self.state.lock() {
            s.index(self.given, &buf[..n]);
        }
        self.out_at += n;
        self.given += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: &[u8], encoding: Encoding) -> (String, Encoding) {
        let (mut text, state) = Text::new(bytes, encoding);
        let mut out = String::new();
        text.read_to_string(&mut out).unwrap();
        let decided = state.lock().unwrap().encoding;
        (out, decided)
    }

    #[test]
    fn utf8_and_shift_jis_are_told_apart_and_decoded() {
        let text = "name\n山田 花子\n";
        assert_eq!(read_all(text.as_bytes(), Encoding::Auto), (text.to_string(), Encoding::Utf8));
        let bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
        assert_eq!(read_all(&bom, Encoding::Auto), (text.to_string(), Encoding::Utf8));
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(text);
        assert!(std::str::from_utf8(&sjis).is_err(), "the test's bytes are Shift_JIS");
        assert_eq!(read_all(&sjis, Encoding::Auto), (text.to_string(), Encoding::ShiftJis));
        assert_eq!(read_all(&sjis, Encoding::ShiftJis).0, text);
        // Far into the file, past a chunk of ASCII, and cut across chunks.
        let long = format!("{}\n髙橋①\n", "a,b\n".repeat(40_000));
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(&long);
        assert_eq!(read_all(&sjis, Encoding::Auto), (long.clone(), Encoding::ShiftJis), "CP932 characters too");
        assert_eq!(read_all(long.as_bytes(), Encoding::Auto), (long, Encoding::Utf8));
        assert_eq!(read_all(b"plain,ascii\n", Encoding::Auto).1, Encoding::Auto, "undecided: either reads the same");
    }

    #[test]
    fn bad_shift_jis_becomes_a_replacement_character() {
        assert_eq!(read_all(b"a\x81", Encoding::ShiftJis).0, "a\u{FFFD}");
    }

    #[test]
    fn lines_are_counted_for_every_line_ending() {
        for (text, starts) in [("a\nb\nc\n", [0u64, 2, 4]), ("a\r\nb\r\nc\r\n", [0, 2, 5]), ("a\rb\rc\r", [0, 2, 4])] {
            let (mut t, state) = Text::new(text.as_bytes(), Encoding::Auto);
            std::io::copy(&mut t, &mut std::io::sink()).unwrap();
            let mut s = state.lock().unwrap();
            // The CSV reader reports a record at the offset just after the previous record's
            // first terminator byte: after a CRLF's CR, the LF is still to come.
            let at: Vec<u64> = starts.iter().map(|&o| s.line_at(o)).collect();
            assert_eq!(at, [1, 2, 3], "{text:?}");
        }
        let (mut t, state) = Text::new("a\r\n\r\n\r\nb".as_bytes(), Encoding::Auto);
        std::io::copy(&mut t, &mut std::io::sink()).unwrap();
        assert_eq!(state.lock().unwrap().line_at(2), 4, "blank lines before a record are skipped");
    }
}
