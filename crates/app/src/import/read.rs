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
        Format::Csv => Box::new(CsvRows::new(reader)?),
        Format::Jsonl => Box::new(reader.split(b'\n').enumerate().filter_map(|(i, line)| jsonl_row(i as u64 + 1, line))),
    })
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
