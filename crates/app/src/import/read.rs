//! Reading CSV and JSON Lines into raw field maps with line numbers. A line
//! that cannot be read at all becomes a row error; the file goes on.

use super::row::{Fields, RowError};
use std::io::BufRead;
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

/// Reads every row. A broken line is an error row, never the end of the file.
pub fn read_rows(path: &Path, format: Format) -> std::io::Result<Vec<RawRow>> {
    let file = std::fs::File::open(path)?;
    let reader = std::io::BufReader::with_capacity(1 << 20, file);
    match format {
        Format::Csv => read_csv(reader),
        Format::Jsonl => read_jsonl(reader),
    }
}

fn read_csv(reader: impl std::io::Read) -> std::io::Result<Vec<RawRow>> {
    let mut r = csv::ReaderBuilder::new().flexible(true).has_headers(true).from_reader(reader);
    let headers: Vec<String> = r
        .headers()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("cannot read the CSV header row: {e}")))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    let mut out = vec![];
    let mut record = csv::StringRecord::new();
    loop {
        let line = r.position().line() + 1;
        match r.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map(|p| p.line()).unwrap_or(line);
                if record.len() != headers.len() {
                    out.push(Err(RowError {
                        line,
                        field: "*".into(),
                        reason: format!("the row has {} fields but the header has {}", record.len(), headers.len()),
                    }));
                    continue;
                }
                let fields: Fields = headers.iter().cloned().zip(record.iter().map(str::to_string)).collect();
                out.push(Ok((line, fields)));
            }
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(line);
                out.push(Err(RowError { line, field: "*".into(), reason: format!("unreadable CSV: {e}") }));
                if !matches!(e.kind(), csv::ErrorKind::Utf8 { .. } | csv::ErrorKind::UnequalLengths { .. }) {
                    break;
                }
            }
        }
    }
    Ok(out)
}

fn read_jsonl(reader: impl BufRead) -> std::io::Result<Vec<RawRow>> {
    let mut out = vec![];
    for (i, line) in reader.split(b'\n').enumerate() {
        let n = i as u64 + 1;
        let bytes = line?;
        let Ok(text) = std::str::from_utf8(&bytes) else {
            out.push(Err(RowError { line: n, field: "*".into(), reason: "the line is not UTF-8".into() }));
            continue;
        };
        let text = text.trim_start_matches('\u{feff}').trim();
        if text.is_empty() {
            continue;
        }
        match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text) {
            Ok(map) => {
                let mut fields = Fields::new();
                for (k, v) in map {
                    let s = match v {
                        serde_json::Value::Null => String::new(),
                        serde_json::Value::String(s) => s,
                        serde_json::Value::Object(extra) if k == "extra" => {
                            for (ek, ev) in extra {
                                let s = if let serde_json::Value::String(s) = ev { s } else { ev.to_string() };
                                fields.insert(format!("extra.{ek}"), s);
                            }
                            continue;
                        }
                        other => other.to_string(),
                    };
                    fields.insert(k.to_ascii_lowercase(), s);
                }
                out.push(Ok((n, fields)));
            }
            Err(e) => out.push(Err(RowError { line: n, field: "*".into(), reason: format!("not a JSON object: {e}") })),
        }
    }
    Ok(out)
}
