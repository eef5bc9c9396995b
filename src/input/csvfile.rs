//! The CSV plumbing both readers share: encoding checks, header normalisation, record size limit,
//! and cells as trimmed UTF-8 with the line they came from.

use super::{InputError, MAX_RECORD_BYTES};
use csv::ByteRecord;
use std::path::Path;

pub struct CsvTable<'a> {
    path: &'a Path,
    /// Line breaks in the file: an upper bound on its records, to size vectors once.
    lines: usize,
    /// Header names lower-cased, trimmed, inner whitespace folded to one space.
    headers: Vec<String>,
    /// Header names as written, for messages.
    raw_headers: Vec<String>,
    reader: csv::Reader<&'a [u8]>,
}

/// Folds a header cell to the form layouts are matched on.
pub fn normalise_header(cell: &str) -> String {
    cell.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl<'a> CsvTable<'a> {
    pub fn open(path: &'a Path, bytes: &'a [u8]) -> Result<CsvTable<'a>, InputError> {
        if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
            return Err(InputError::Utf16 {
                path: path.to_owned(),
            });
        }
        let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(InputError::Empty {
                path: path.to_owned(),
            });
        }
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(body);
        let header = reader
            .byte_headers()
            .map_err(|e| csv_error(path, &e))?
            .clone();
        if header.as_slice().len() > MAX_RECORD_BYTES {
            return Err(InputError::RecordTooLong {
                path: path.to_owned(),
                line: 1,
                bytes: header.as_slice().len(),
            });
        }
        let mut raw_headers = Vec::with_capacity(header.len());
        for cell in header.iter() {
            let text = std::str::from_utf8(cell).map_err(|_| InputError::NotUtf8 {
                path: path.to_owned(),
                line: 1,
                column: String::from_utf8_lossy(cell).into_owned(),
            })?;
            raw_headers.push(text.trim().to_owned());
        }
        let headers = raw_headers.iter().map(|h| normalise_header(h)).collect();
        let lines = body.iter().filter(|&&b| b == b'\n').count();
        Ok(CsvTable {
            path,
            lines,
            headers,
            raw_headers,
            reader,
        })
    }

    /// At least the number of records left to read.
    pub fn capacity_hint(&self) -> usize {
        self.lines + 1
    }

    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The header as written, for messages: at most a dozen names.
    pub fn found(&self) -> String {
        let mut names: Vec<String> = self
            .raw_headers
            .iter()
            .take(12)
            .map(|h| format!("{h:?}"))
            .collect();
        if self.raw_headers.len() > 12 {
            names.push(format!("and {} more", self.raw_headers.len() - 12));
        }
        names.join(", ")
    }

    /// The column of the first alias present; two aliases present at once is an error, since
    /// the file could mean either.
    pub fn column(
        &self,
        role: &'static str,
        aliases: &[&str],
    ) -> Result<Option<usize>, InputError> {
        let mut hit: Option<usize> = None;
        for (i, h) in self.headers.iter().enumerate() {
            if aliases.contains(&h.as_str()) {
                if let Some(first) = hit {
                    return Err(InputError::AmbiguousColumns {
                        path: self.path.to_owned(),
                        role,
                        first: self.raw_headers[first].clone(),
                        second: self.raw_headers[i].clone(),
                    });
                }
                hit = Some(i);
            }
        }
        Ok(hit)
    }

    pub fn require(&self, role: &'static str, aliases: &[&str]) -> Result<usize, InputError> {
        self.column(role, aliases)?
            .ok_or_else(|| InputError::MissingColumn {
                path: self.path.to_owned(),
                column: role,
                found: self.found(),
            })
    }

    /// Reads the next record into `rec`; returns its first line, or `None` at the end.
    pub fn next(&mut self, rec: &mut ByteRecord) -> Result<Option<u64>, InputError> {
        match self.reader.read_byte_record(rec) {
            Ok(false) => Ok(None),
            Ok(true) => {
                let line = rec.position().map_or(0, |p| p.line());
                if rec.as_slice().len() > MAX_RECORD_BYTES {
                    return Err(InputError::RecordTooLong {
                        path: self.path.to_owned(),
                        line,
                        bytes: rec.as_slice().len(),
                    });
                }
                Ok(Some(line))
            }
            Err(e) => Err(csv_error(self.path, &e)),
        }
    }

    /// The cell at `column`, trimmed; a missing cell reads as empty.
    pub fn cell<'r>(
        &self,
        rec: &'r ByteRecord,
        column: usize,
        line: u64,
    ) -> Result<&'r str, InputError> {
        let bytes = rec.get(column).unwrap_or_default();
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(text.trim()),
            Err(_) => Err(InputError::NotUtf8 {
                path: self.path.to_owned(),
                line,
                column: self.raw_headers[column].clone(),
            }),
        }
    }
}

fn csv_error(path: &Path, e: &csv::Error) -> InputError {
    let line = e.position().map_or(0, |p| p.line());
    let detail = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("this row has {len} cells but the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "the row is not valid UTF-8".to_owned(),
        _ => e.to_string(),
    };
    InputError::Csv {
        path: path.to_owned(),
        line,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_fold_case_and_space() {
        assert_eq!(
            normalise_header("  Last  active date [UTC] "),
            "last active date [utc]"
        );
        assert_eq!(normalise_header("User id"), "user id");
    }
}
