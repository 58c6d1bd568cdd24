//! CSV bodies, read as they arrive: bytes go in chunk by chunk, complete records come out
//! with the number of the line they start on.
//!
//! The `csv` crate reads from a buffer of what has arrived; every record it finds is
//! complete except, perhaps, the last, which may still be cut short (a quoted value may even
//! hold line breaks), so the last one is kept back with its bytes until more arrive or the
//! body ends. What was read is dropped from the buffer, which so holds about one chunk.
//!
//! The header is line 1; its names are the customer's wire names. Records are `flexible`
//! here so that a line with the wrong number of values is reported as that line's error
//! instead of ending the body.

use csv::{ByteRecord, ReaderBuilder};

use crate::error::ApiError;

/// The longest a single line (record) may be: one customer is a few hundred bytes.
pub(crate) const MAX_LINE_BYTES: usize = 1024 * 1024;

/// One record: the line it starts on and its raw values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CsvRecord {
    /// 1 for the header.
    pub(crate) line: u64,
    /// Its values, as sent (not yet checked as UTF-8).
    pub(crate) values: Vec<Vec<u8>>,
}

/// Splits a CSV body into records as its chunks arrive.
#[derive(Debug, Default)]
pub(crate) struct CsvSplitter {
    buffer: Vec<u8>,
    /// The line the buffer starts on, less one.
    lines_before: u64,
}

impl CsvSplitter {
    /// Adds a chunk and appends the records it completed to `out`.
    ///
    /// # Errors
    /// `413` when one record grows past [`MAX_LINE_BYTES`].
    pub(crate) fn push(&mut self, chunk: &[u8], out: &mut Vec<CsvRecord>) -> Result<(), ApiError> {
        self.buffer.extend_from_slice(chunk);
        self.split(false, out);
        if self.buffer.len() > MAX_LINE_BYTES {
            return Err(line_too_long());
        }
        Ok(())
    }

    /// The body has ended: appends the last records to `out`.
    pub(crate) fn finish(&mut self, out: &mut Vec<CsvRecord>) {
        self.split(true, out);
    }

    fn split(&mut self, last: bool, out: &mut Vec<CsvRecord>) {
        let mut reader = ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(self.buffer.as_slice());
        let mut record = ByteRecord::new();
        let mut found: Vec<(u64, u64, Vec<Vec<u8>>)> = Vec::new();
        // A malformed record cannot happen with these settings (the reader is lenient about
        // quotes); an error would only repeat, so it ends this pass like the end of input.
        while let Ok(true) = reader.read_byte_record(&mut record) {
            let Some(position) = record.position() else {
                break;
            };
            // A record's position is where the reader started looking for it, before the
            // blank lines it skipped: its own line is past them.
            let start = usize::try_from(position.byte()).unwrap_or(usize::MAX);
            let blank = self
                .buffer
                .get(start..)
                .unwrap_or_default()
                .iter()
                .take_while(|b| matches!(b, b'\n' | b'\r'))
                .filter(|b| **b == b'\n')
                .count() as u64;
            found.push((
                position.byte(),
                position.line() + blank,
                record.iter().map(<[u8]>::to_vec).collect(),
            ));
        }
        if !last {
            // The last record may be cut short: keep its bytes for the next pass.
            let Some((start, _, _)) = found.pop() else {
                return;
            };
            let consumed = usize::try_from(start).unwrap_or(self.buffer.len());
            self.emit(found, out);
            self.lines_before += count_lines(&self.buffer[..consumed]);
            self.buffer.drain(..consumed);
        } else {
            self.emit(found, out);
            self.buffer.clear();
        }
    }

    fn emit(&self, found: Vec<(u64, u64, Vec<Vec<u8>>)>, out: &mut Vec<CsvRecord>) {
        out.extend(found.into_iter().map(|(_, line, values)| CsvRecord {
            line: self.lines_before + line,
            values,
        }));
    }
}

/// Line breaks as the `csv` crate counts them (each `\n`).
fn count_lines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|b| **b == b'\n').count() as u64
}

fn line_too_long() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("A line of the import is longer than the limit of {MAX_LINE_BYTES} bytes."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_in(body: &[u8], chunk: usize) -> Vec<CsvRecord> {
        let mut splitter = CsvSplitter::default();
        let mut out = Vec::new();
        for piece in body.chunks(chunk) {
            splitter.push(piece, &mut out).unwrap();
        }
        splitter.finish(&mut out);
        out
    }

    fn texts(record: &CsvRecord) -> Vec<String> {
        record
            .values
            .iter()
            .map(|v| String::from_utf8(v.clone()).unwrap())
            .collect()
    }

    #[test]
    fn records_are_the_same_whatever_the_chunks() {
        let body = b"reference,name\nC1,\"Acme, Inc.\"\r\nC2,\"two\nlines\"\n\nC3,\"quoted \"\"x\"\"\"\nC4,last";
        let whole = split_in(body, body.len());
        assert_eq!(whole.len(), 5);
        for chunk in 1..body.len() {
            assert_eq!(split_in(body, chunk), whole, "chunks of {chunk} bytes");
        }
        assert_eq!(texts(&whole[1]), ["C1", "Acme, Inc."]);
        assert_eq!(texts(&whole[2]), ["C2", "two\nlines"]);
        assert_eq!(texts(&whole[3]), ["C3", "quoted \"x\""]);
        assert_eq!(texts(&whole[4]), ["C4", "last"]);
    }

    #[test]
    fn each_record_has_the_line_it_starts_on() {
        let body = b"reference,name\nC1,a\nC2,\"two\nlines\"\n\nC3,c\n";
        let lines: Vec<u64> = split_in(body, 3).iter().map(|r| r.line).collect();
        // The header is line 1; the blank line 5 is skipped; C3 starts on line 6.
        assert_eq!(lines, [1, 2, 3, 6]);
    }

    #[test]
    fn a_line_with_another_number_of_values_is_kept_as_sent() {
        let records = split_in(b"a,b\n1\n1,2,3\n", 4);
        assert_eq!(records[1].values.len(), 1);
        assert_eq!(records[2].values.len(), 3);
    }

    #[test]
    fn bytes_that_are_not_utf8_are_kept_for_the_line_to_report() {
        let records = split_in(b"a\n\xff\xfe\n", 2);
        assert_eq!(records[1].values, [vec![0xff, 0xfe]]);
    }

    #[test]
    fn a_line_past_the_limit_is_refused() {
        let mut splitter = CsvSplitter::default();
        let mut out = Vec::new();
        let long = vec![b'x'; MAX_LINE_BYTES + 1];
        let error = splitter.push(&long, &mut out).unwrap_err();
        assert_eq!(error.status().as_u16(), 413);
    }
}
