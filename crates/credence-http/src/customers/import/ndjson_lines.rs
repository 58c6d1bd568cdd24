//! NDJSON bodies, read as they arrive: one JSON object a line, lines ended by `\n` (a
//! `\r` before it is dropped). Blank lines are skipped but counted, so line numbers are
//! those of the body: the first line is line 1.

use crate::customers::import::csv_lines::MAX_LINE_BYTES;
use crate::error::ApiError;

/// One non-blank line: its number and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NdjsonLine {
    /// 1 for the first line of the body.
    pub(crate) line: u64,
    /// The line without its line break.
    pub(crate) bytes: Vec<u8>,
}

/// Splits an NDJSON body into lines as its chunks arrive.
#[derive(Debug, Default)]
pub(crate) struct NdjsonSplitter {
    /// The start of a line not yet ended.
    partial: Vec<u8>,
    /// Lines ended so far.
    lines: u64,
}

impl NdjsonSplitter {
    /// Adds a chunk and appends the lines it ended to `out`.
    ///
    /// # Errors
    /// `413` when one line grows past [`MAX_LINE_BYTES`].
    pub(crate) fn push(&mut self, chunk: &[u8], out: &mut Vec<NdjsonLine>) -> Result<(), ApiError> {
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|b| *b == b'\n') {
            self.partial.extend_from_slice(&rest[..end]);
            self.end_line(out);
            rest = &rest[end + 1..];
        }
        self.partial.extend_from_slice(rest);
        if self.partial.len() > MAX_LINE_BYTES {
            return Err(ApiError::new(
                actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("A line of the import is longer than the limit of {MAX_LINE_BYTES} bytes."),
            ));
        }
        Ok(())
    }

    /// The body has ended: appends a last line without a line break.
    pub(crate) fn finish(&mut self, out: &mut Vec<NdjsonLine>) {
        if !self.partial.is_empty() {
            self.end_line(out);
        }
    }

    fn end_line(&mut self, out: &mut Vec<NdjsonLine>) {
        self.lines += 1;
        let mut bytes = std::mem::take(&mut self.partial);
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        if !bytes.iter().all(u8::is_ascii_whitespace) {
            out.push(NdjsonLine {
                line: self.lines,
                bytes,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_in(body: &[u8], chunk: usize) -> Vec<NdjsonLine> {
        let mut splitter = NdjsonSplitter::default();
        let mut out = Vec::new();
        for piece in body.chunks(chunk) {
            splitter.push(piece, &mut out).unwrap();
        }
        splitter.finish(&mut out);
        out
    }

    #[test]
    fn lines_are_numbered_as_in_the_body_whatever_the_chunks() {
        let body = b"{\"a\":1}\r\n\n  \n{\"b\":2}\n{\"c\":3}";
        for chunk in 1..=body.len() {
            let lines = split_in(body, chunk);
            let numbers: Vec<u64> = lines.iter().map(|l| l.line).collect();
            assert_eq!(numbers, [1, 4, 5], "chunks of {chunk} bytes");
            assert_eq!(lines[0].bytes, b"{\"a\":1}");
            assert_eq!(lines[2].bytes, b"{\"c\":3}");
        }
    }
}
