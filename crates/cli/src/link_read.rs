//! Reading a CSV file for `kinship link` on every core: the file is cut into
//! byte chunks at record boundaries, and each chunk is parsed and checked on
//! a worker thread. The rows come back in file order with their line
//! numbers, exactly as the importer's one-row-at-a-time reader gives them,
//! whatever the thread count.
//!
//! A record boundary is a newline outside quotes: with RFC 4180 quoting, a
//! newline is inside a quoted field exactly when an odd number of quote
//! characters precede it, so chunks end only at newlines with an even count
//! before them. A file whose quoting is broken (a stray quote in the middle
//! of a field) still reads, more slowly: after such a quote no newline
//! qualifies and the rest of the file becomes one chunk.

use anyhow::{Result, anyhow};
use kinship_app::import::read::RawRow;
use kinship_app::import::row::{Fields, RowError};
use std::io::Read as _;
use std::path::Path;
use std::sync::Arc;

/// Bytes per chunk: tens of thousands of rows, enough to keep a thread
/// busy; a few chunks per thread are in memory at once.
const CHUNK: usize = 8 << 20;

/// Parses every row of a CSV file and applies `f` to it on the worker
/// threads; `per_batch` receives the results in file order, a few chunks at
/// a time (so memory follows the results, not the file), with the number of
/// rows so far.
pub fn csv_rows<R: Send>(path: &Path, workers: usize, f: impl Fn(RawRow) -> R + Sync, per_batch: impl FnMut(Vec<R>, u64)) -> Result<()> {
    csv_rows_with_chunk(path, workers, CHUNK, f, per_batch)
}

fn csv_rows_with_chunk<R: Send>(
    path: &Path,
    workers: usize,
    chunk_bytes: usize,
    f: impl Fn(RawRow) -> R + Sync,
    mut per_batch: impl FnMut(Vec<R>, u64),
) -> Result<()> {
    let mut file = std::fs::File::open(path)?;
    let mut buf: Vec<u8> = Vec::new();
    let mut eof = false;
    // The header: the first record.
    let header_end = loop {
        if let Some(end) = record_end(&buf) {
            break end;
        }
        if eof {
            break buf.len();
        }
        eof = fill(&mut file, &mut buf, chunk_bytes)?;
    };
    let names = header(&buf[..header_end])?;
    let mut line = 1 + count_newlines(&buf[..header_end]);
    buf.drain(..header_end);
    let workers = workers.max(1);
    let mut rows = 0u64;
    let f = &f;
    let names = &names;
    // While the workers parse one round of chunks, this thread hands the
    // previous round to `per_batch` (the caller's merge is sequential) and
    // reads the next: the rounds overlap, and results still come in file order.
    std::thread::scope(|s| -> Result<()> {
        let mut pending: Vec<std::thread::ScopedJoinHandle<'_, Vec<R>>> = Vec::new();
        let mut deliver = |handles: Vec<std::thread::ScopedJoinHandle<'_, Vec<R>>>| {
            if handles.is_empty() {
                return;
            }
            let parsed: Vec<Vec<R>> = handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect();
            let mut out = Vec::with_capacity(parsed.iter().map(Vec::len).sum());
            for part in parsed {
                out.extend(part);
            }
            rows += out.len() as u64;
            per_batch(out, rows);
        };
        loop {
            // Cut up to `workers` chunks from the buffered bytes, reading more as needed.
            let mut chunks: Vec<(u64, Vec<u8>)> = Vec::new();
            while chunks.len() < workers && !(eof && buf.is_empty()) {
                while buf.len() < chunk_bytes && !eof {
                    eof = fill(&mut file, &mut buf, chunk_bytes)?;
                }
                let cut = if eof && buf.len() <= chunk_bytes {
                    buf.len()
                } else {
                    // The last record boundary within the first chunk_bytes, or
                    // the first one after them when a record is longer.
                    match last_record_end(&buf[..chunk_bytes.min(buf.len())]) {
                        Some(end) => end,
                        None => loop {
                            if let Some(end) = record_end(&buf) {
                                break end;
                            }
                            if eof {
                                break buf.len();
                            }
                            eof = fill(&mut file, &mut buf, chunk_bytes)?;
                        },
                    }
                };
                let rest = buf.split_off(cut);
                let chunk = std::mem::replace(&mut buf, rest);
                let lines = count_newlines(&chunk);
                chunks.push((line, chunk));
                line += lines;
            }
            // One thread per chunk; joined in chunk order.
            let started: Vec<_> = chunks
                .into_iter()
                .map(|(first_line, bytes)| s.spawn(move || parse_chunk(&bytes, first_line, names).into_iter().map(f).collect::<Vec<R>>()))
                .collect();
            let done = started.is_empty();
            deliver(std::mem::replace(&mut pending, started));
            if done {
                return Ok(());
            }
        }
    })
}

/// Reads up to `n` more bytes; true at the end of the file.
fn fill(file: &mut std::fs::File, buf: &mut Vec<u8>, n: usize) -> Result<bool> {
    let start = buf.len();
    buf.resize(start + n, 0);
    let mut got = 0;
    while got < n {
        match file.read(&mut buf[start + got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    buf.truncate(start + got);
    Ok(got == 0)
}

fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

/// The end (one past the newline) of the first record in `bytes`.
fn record_end(bytes: &[u8]) -> Option<usize> {
    let mut quoted = false;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => return Some(i + 1),
            _ => {}
        }
    }
    None
}

/// The end of the last complete record in `bytes` (which starts at a record
/// boundary).
fn last_record_end(bytes: &[u8]) -> Option<usize> {
    let mut quoted = false;
    let mut last = None;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => last = Some(i + 1),
            _ => {}
        }
    }
    last
}

/// Column names as the importer's reader has them: trimmed, lower case,
/// without a byte-order mark.
fn header(bytes: &[u8]) -> Result<Arc<[String]>> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).has_headers(false).from_reader(bytes);
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => Ok(record.iter().map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase()).collect()),
        Ok(false) => Err(anyhow!("cannot read the CSV header row: the file is empty")),
        Err(e) => Err(anyhow!("cannot read the CSV header row: {e}")),
    }
}

/// Every row of one chunk; `first_line` is the file line the chunk starts on.
fn parse_chunk(bytes: &[u8], first_line: u64, names: &Arc<[String]>) -> Vec<RawRow> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).has_headers(false).from_reader(bytes);
    let mut record = csv::StringRecord::new();
    let mut out = Vec::new();
    // Lines are counted from the bytes (the csv crate's own line count
    // leaves out lines that end in CRLF): the line a record starts on is the
    // chunk's first line plus the newlines before the record's first byte.
    let (mut seen_byte, mut seen_line) = (0usize, first_line);
    let mut line_at = |byte: u64| {
        // A record's position may point at the line end before it (after a
        // CR, the LF is read with the next record): skip to its first byte.
        let mut byte = (byte as usize).min(bytes.len());
        while bytes.get(byte).is_some_and(|b| matches!(b, b'\r' | b'\n')) {
            byte += 1;
        }
        if byte >= seen_byte {
            seen_line += count_newlines(&bytes[seen_byte..byte]);
            seen_byte = byte;
        }
        seen_line
    };
    loop {
        let start = reader.position().byte();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = line_at(record.position().map(|p| p.byte()).unwrap_or(start));
                if record.len() != names.len() {
                    out.push(Err(RowError {
                        line,
                        field: "*".into(),
                        reason: format!("the row has {} fields but the header has {}", record.len(), names.len()),
                    }));
                    continue;
                }
                out.push(Ok((line, Fields::new(names.clone(), record.clone()))));
            }
            Err(e) => {
                let line = line_at(e.position().map(|p| p.byte()).unwrap_or(start));
                out.push(Err(RowError { line, field: "*".into(), reason: format!("unreadable CSV: {e}") }));
                // Bytes in memory: only a bad row, never an I/O error; go on.
                if !matches!(e.kind(), csv::ErrorKind::Utf8 { .. } | csv::ErrorKind::UnequalLengths { .. }) {
                    break;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serial(text: &str) -> Result<Vec<String>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("x.csv");
        std::fs::write(&path, text)?;
        let rows = kinship_app::import::read::rows(&path, kinship_app::import::Format::Csv)?;
        Ok(rows.map(|r| show(&r)).collect())
    }

    fn show(r: &RawRow) -> String {
        match r {
            Ok((line, f)) => format!("{line}: {}", f.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("|")),
            Err(e) => format!("{}: error {} {}", e.line, e.field, e.reason),
        }
    }

    fn chunked(text: &str, chunk_bytes: usize) -> Result<Vec<String>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("x.csv");
        std::fs::write(&path, text)?;
        let mut out = vec![];
        csv_rows_with_chunk(&path, 2, chunk_bytes, |r| show(&r), |batch, _| out.extend(batch))?;
        Ok(out)
    }

    fn text(quoted_newlines: bool) -> String {
        let mut text = String::from("\u{feff}Source,Record_ID,notes\r\n");
        for i in 0..300 {
            match i % 7 {
                0 if quoted_newlines => text.push_str(&format!("BP,R{i},\"two\nlines, \"\"quoted\"\"\"\r\n")),
                0 => text.push_str(&format!("BP,R{i},\"one line, \"\"quoted\"\"\"\r\n")),
                3 => text.push_str(&format!("BP,R{i}\n")), // one field short
                _ => text.push_str(&format!("BP,R{i},plain\n")),
            }
        }
        text.push_str("BP,last,no newline at the end");
        text
    }

    fn without_lines(rows: Vec<String>) -> Vec<String> {
        rows.into_iter().map(|r| r.split_once(": ").map(|(_, rest)| rest.to_string()).unwrap_or(r)).collect()
    }

    #[test]
    fn chunked_reading_gives_the_serial_readers_rows_at_their_file_lines() -> Result<()> {
        // The same rows and errors as the importer's serial reader, each
        // numbered by the file line it starts on (R0 is on line 2; after a
        // record with a quoted newline the next starts two lines on).
        for (quoted_newlines, second_line) in [(false, "3: "), (true, "4: ")] {
            let text = text(quoted_newlines);
            let want = without_lines(serial(&text)?);
            assert_eq!(want.len(), 301);
            for chunk_bytes in [1, 7, 64, 1000, 1 << 20] {
                let got = chunked(&text, chunk_bytes)?;
                assert!(got[0].starts_with("2: ") && got[1].starts_with(second_line), "{:?}", &got[..2]);
                assert!(got[300].starts_with(if quoted_newlines { "345: " } else { "302: " }), "{}", got[300]);
                assert_eq!(without_lines(got), want, "chunks of {chunk_bytes} bytes");
            }
        }
        Ok(())
    }
}
