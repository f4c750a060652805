//! Reading CSV and JSON Lines into raw field maps with line numbers. A line
//! that cannot be read at all becomes a row error; the file goes on.

use super::row::{Fields, RowError};
use std::io::BufRead as _;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
}

impl Format {
    pub fn of(path: &Path) -> Option<Self> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("csv") => Some(Format::Csv),
            Some("jsonl" | "ndjson") => Some(Format::Jsonl),
            _ => None,
        }
    }
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            _ => None,
        }
    }
}

pub type RawRow = Result<(u64, Fields), RowError>;

/// Streams the rows of a file, one at a time: memory stays flat whatever the
/// file's size. A broken line is an error row, never the end of the file.
pub fn rows(path: &Path, format: Format) -> std::io::Result<Box<dyn Iterator<Item = RawRow>>> {
    let file = std::fs::File::open(path)?;
    let reader = std::io::BufReader::with_capacity(1 << 20, file);
    Ok(match format {
        Format::Csv => Box::new(CsvRows::new(CrLf { inner: reader, pending_cr: false })?),
        Format::Jsonl => Box::new(reader.split(b'\n').enumerate().filter_map(|(i, line)| jsonl_row(i as u64 + 1, line))),
    })
}

/// Reads CRLF line ends as LF. The csv crate counts a record's line only
/// when it consumes a `\n`, and it leaves a CRLF terminator's `\n` to the
/// next record, so every row of a Windows-made file was reported one line
/// early (rust-csv issue #395). A `\r\n` inside a quoted field becomes `\n`
/// too; a lone `\r` is kept.
struct CrLf<R> {
    inner: R,
    /// A `\r` ended the last buffer: dropped if the next byte is `\n`.
    pending_cr: bool,
}

impl<R: std::io::BufRead> std::io::Read for CrLf<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                if std::mem::take(&mut self.pending_cr) {
                    out[0] = b'\r';
                    return Ok(1);
                }
                return Ok(0);
            }
            let (mut n, mut used) = (0, 0);
            if std::mem::take(&mut self.pending_cr) && buf[0] != b'\n' {
                out[0] = b'\r';
                n = 1;
            }
            while used < buf.len() && n < out.len() {
                let b = buf[used];
                used += 1;
                if b == b'\r' {
                    match buf.get(used) {
                        Some(b'\n') => continue,
                        Some(_) => {}
                        None => {
                            self.pending_cr = true;
                            break;
                        }
                    }
                }
                out[n] = b;
                n += 1;
            }
            self.inner.consume(used);
            if n > 0 {
                return Ok(n);
            }
        }
    }
}

struct CsvRows<R: std::io::Read> {
    reader: csv::Reader<R>,
    headers: std::sync::Arc<[String]>,
    record: csv::StringRecord,
    done: bool,
}

impl<R: std::io::Read> CsvRows<R> {
    fn new(reader: R) -> std::io::Result<Self> {
        let mut reader = csv::ReaderBuilder::new().flexible(true).has_headers(true).from_reader(reader);
        let headers: std::sync::Arc<[String]> = reader
            .headers()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("cannot read the CSV header row: {e}")))?
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
            .collect();
        Ok(Self { reader, headers, record: csv::StringRecord::new(), done: false })
    }
}

impl<R: std::io::Read> Iterator for CsvRows<R> {
    type Item = RawRow;

    fn next(&mut self) -> Option<RawRow> {
        if self.done {
            return None;
        }
        let line = self.reader.position().line() + 1;
        match self.reader.read_record(&mut self.record) {
            Ok(false) => {
                self.done = true;
                None
            }
            Ok(true) => {
                let line = self.record.position().map(|p| p.line()).unwrap_or(line);
                if self.record.len() != self.headers.len() {
                    return Some(Err(RowError {
                        line,
                        field: "*".into(),
                        reason: format!("the row has {} fields but the header has {}", self.record.len(), self.headers.len()),
                    }));
                }
                Some(Ok((line, Fields::new(self.headers.clone(), self.record.clone()))))
            }
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(line);
                // Bad bytes in one row: report it and go on. Anything else
                // (an I/O error) ends the file, reported as its last row.
                if !matches!(e.kind(), csv::ErrorKind::Utf8 { .. } | csv::ErrorKind::UnequalLengths { .. }) {
                    self.done = true;
                }
                Some(Err(RowError { line, field: "*".into(), reason: format!("unreadable CSV: {e}") }))
            }
        }
    }
}

fn jsonl_row(n: u64, line: std::io::Result<Vec<u8>>) -> Option<RawRow> {
    let bytes = match line {
        Ok(b) => b,
        Err(e) => return Some(Err(RowError { line: n, field: "*".into(), reason: format!("unreadable line: {e}") })),
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Some(Err(RowError { line: n, field: "*".into(), reason: "the line is not UTF-8".into() }));
    };
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return None;
    }
    Some(match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text) {
        Ok(map) => {
            let (mut names, mut values) = (vec![], csv::StringRecord::new());
            for (k, v) in map {
                let s = match v {
                    serde_json::Value::Null => String::new(),
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Object(extra) if k == "extra" => {
                        for (ek, ev) in extra {
                            let s = if let serde_json::Value::String(s) = ev { s } else { ev.to_string() };
                            names.push(format!("extra.{ek}"));
                            values.push_field(&s);
                        }
                        continue;
                    }
                    other => other.to_string(),
                };
                names.push(k.to_ascii_lowercase());
                values.push_field(&s);
            }
            Ok((n, Fields::new(names.into(), values)))
        }
        Err(e) => Err(RowError { line: n, field: "*".into(), reason: format!("not a JSON object: {e}") }),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::{BufReader, Read};

    fn through(bytes: &[u8], capacity: usize) -> Vec<u8> {
        let mut out = vec![];
        CrLf { inner: BufReader::with_capacity(capacity, bytes), pending_cr: false }.read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn crlf_reads_as_lf_across_every_buffer_boundary_and_a_lone_cr_is_kept() {
        let input = b"a,b\r\n1,\"x\r\ny\"\r\n2,z\rq\r\n3,w\r";
        let want = b"a,b\n1,\"x\ny\"\n2,z\rq\n3,w\r";
        for capacity in 1..=input.len() + 1 {
            assert_eq!(through(input, capacity), want, "buffer of {capacity} bytes");
        }
    }

    #[test]
    fn rows_of_a_windows_file_have_the_line_numbers_of_the_same_file_with_lf() {
        let lf = "source,record_id\nBP,1\nBP,\"two\nlines\"\nBP\nBP,4\n";
        let lines = |text: &str| -> Vec<u64> {
            let reader = BufReader::new(std::io::Cursor::new(text.as_bytes().to_vec()));
            CsvRows::new(CrLf { inner: reader, pending_cr: false })
                .unwrap()
                .map(|r| match r {
                    Ok((line, _)) => line,
                    Err(e) => e.line,
                })
                .collect()
        };
        assert_eq!(lines(lf), vec![2, 3, 5, 6]);
        assert_eq!(lines(&lf.replace('\n', "\r\n")), vec![2, 3, 5, 6]);
    }
}
