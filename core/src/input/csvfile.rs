//! The CSV plumbing both readers share: encoding checks, header normalisation, record size limit,
//! and cells as trimmed UTF-8 with the line they came from.

use super::{InputError, MAX_RECORD_BYTES};
use csv::ByteRecord;
use std::path::Path;

pub(super) struct CsvTable<'a> {
    path: &'a Path,
    lines: Lines<'a>,
    /// Header names lower-cased, trimmed, inner whitespace folded to one space.
    headers: Vec<String>,
    /// Header names as written, for messages.
    raw_headers: Vec<String>,
    /// Positioned after the header.
    reader: csv::Reader<&'a [u8]>,
    delimiter: u8,
}

/// The separators a file may use. Excel in many European locales saves "CSV" with semicolons,
/// and "Unicode text" or a copy from a sheet gives tabs.
const DELIMITERS: [u8; 3] = [b',', b';', b'\t'];

/// The separator a file uses, judged from its header line: the one of [`DELIMITERS`] that occurs
/// most often outside quotes (a comma when none does). A header names columns, and no export's
/// column name holds a comma, semicolon or tab, so the header alone decides.
pub(super) fn sniff_delimiter(body: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in body {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            _ if !quoted => {
                if let Some(i) = DELIMITERS.iter().position(|&d| d == b) {
                    counts[i] += 1;
                }
            }
            _ => {}
        }
    }
    let mut best = 0;
    for i in 1..DELIMITERS.len() {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    DELIMITERS[best]
}

/// The separator in words, for the line that says how a file was read.
pub(super) fn delimiter_name(delimiter: u8) -> &'static str {
    match delimiter {
        b';' => "semicolon-separated",
        b'\t' => "tab-separated",
        _ => "comma-separated",
    }
}

/// Folds a header cell to the form layouts are matched on.
pub(super) fn normalise_header(cell: &str) -> String {
    cell.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// What reading a record needs to know about its file.
struct Context<'a> {
    path: &'a Path,
    raw_headers: &'a [String],
}

/// Line numbers as an editor shows them, from byte offsets. The CSV reader's own line count
/// is off for other line endings than `\n`: it places a record after `\r\n` (Excel on Windows)
/// on the line before, and it counts no lines at all where a lone `\r` (Excel for Mac's "CSV")
/// ends them.
struct Lines<'a> {
    body: &'a [u8],
    at: usize,
    line: u64,
}

impl Lines<'_> {
    /// The line that byte `offset` is on; offsets are asked for in increasing order, so the
    /// whole file is counted once.
    fn at(&mut self, offset: u64) -> u64 {
        let mut offset = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.body.len());
        // The reader's position for a record can be the end of the line before it (the `\n` of
        // a `\r\n`) or a blank line it skips; the record itself starts after them.
        while matches!(self.body.get(offset), Some(b'\r' | b'\n')) {
            offset += 1;
        }
        if offset < self.at {
            self.at = 0;
            self.line = 1;
        }
        // memchr jumps between line endings, so counting costs little beside the parse itself.
        for i in memchr::memchr2_iter(b'\n', b'\r', &self.body[self.at..offset]) {
            let i = self.at + i;
            let ends = self.body[i] == b'\n' || self.body.get(i + 1) != Some(&b'\n');
            self.line += u64::from(ends);
        }
        self.at = offset;
        self.line
    }
}

/// One record and the line it starts on; the readers take its cells by column.
pub(super) struct Row<'r> {
    context: &'r Context<'r>,
    rec: &'r ByteRecord,
    pub line: u64,
}

impl<'r> Row<'r> {
    /// The cell at `column`, trimmed.
    pub(super) fn cell(&self, column: usize) -> Result<&'r str, InputError> {
        let bytes = self.rec.get(column).unwrap_or_default();
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(text.trim()),
            Err(_) => Err(InputError::NotUtf8 {
                path: self.context.path.to_owned(),
                line: self.line,
                column: self.context.raw_headers[column].clone(),
            }),
        }
    }
}

impl<'a> CsvTable<'a> {
    pub(super) fn open(path: &'a Path, bytes: &'a [u8]) -> Result<CsvTable<'a>, InputError> {
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
        let mut lines = Lines {
            body,
            at: 0,
            line: 1,
        };
        let delimiter = sniff_delimiter(body);
        let mut reader = reader_for(body, delimiter);
        let header = match reader.byte_headers() {
            Ok(header) => header.clone(),
            Err(e) => return Err(csv_error(path, &e, &reader, &mut lines)),
        };
        let line = lines.at(header.position().map_or(0, csv::Position::byte));
        if header.as_slice().len() > MAX_RECORD_BYTES {
            return Err(InputError::RecordTooLong {
                path: path.to_owned(),
                line,
                bytes: header.as_slice().len(),
            });
        }
        let mut raw_headers = Vec::with_capacity(header.len());
        for cell in &header {
            let text = std::str::from_utf8(cell).map_err(|_| InputError::NotUtf8 {
                path: path.to_owned(),
                line,
                column: String::from_utf8_lossy(cell).into_owned(),
            })?;
            raw_headers.push(text.trim().to_owned());
        }
        let headers = raw_headers.iter().map(|h| normalise_header(h)).collect();
        Ok(CsvTable {
            path,
            lines,
            headers,
            raw_headers,
            reader,
            delimiter,
        })
    }

    pub(super) fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The header names as the file writes them.
    pub(super) fn raw_headers(&self) -> &[String] {
        &self.raw_headers
    }

    pub(super) fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// The header as written, for messages: at most a dozen names.
    pub(super) fn found(&self) -> String {
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
    pub(super) fn column(
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

    pub(super) fn require(
        &self,
        role: &'static str,
        aliases: &[&str],
    ) -> Result<usize, InputError> {
        self.column(role, aliases)?
            .ok_or_else(|| InputError::MissingColumn {
                path: self.path.to_owned(),
                column: role,
                accepted: accepted(aliases),
                found: self.found(),
            })
    }

    /// Every record turned into a value by `parse` (`None` skips the record), in file order; the
    /// first error stops the reading.
    pub(super) fn rows<T>(
        self,
        mut parse: impl FnMut(&Row) -> Result<Option<T>, InputError>,
    ) -> Result<Vec<T>, InputError> {
        let CsvTable {
            path,
            mut lines,
            raw_headers,
            mut reader,
            ..
        } = self;
        let context = Context {
            path,
            raw_headers: &raw_headers,
        };
        read(&mut reader, &mut lines, &context, &mut parse)
    }
}

/// Header names a role accepts, for messages: `"a", "b" or "c"`.
pub(super) fn accepted(aliases: &[&str]) -> String {
    let quoted: Vec<String> = aliases.iter().map(|a| format!("{a:?}")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

fn reader_for(bytes: &[u8], delimiter: u8) -> csv::Reader<&[u8]> {
    // Flexible, because `read` reports a row whose length differs from the header's itself,
    // in the words of the other messages.
    csv::ReaderBuilder::new()
        .has_headers(true)
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(bytes)
}

/// Reads the records to the end.
fn read<T>(
    reader: &mut csv::Reader<&[u8]>,
    lines: &mut Lines,
    context: &Context,
    parse: &mut dyn FnMut(&Row) -> Result<Option<T>, InputError>,
) -> Result<Vec<T>, InputError> {
    let mut values = Vec::new();
    let mut rec = ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => return Ok(values),
            Err(e) => return Err(csv_error(context.path, &e, reader, lines)),
        }
        let start = rec
            .position()
            .map_or(reader.position().byte(), csv::Position::byte);
        let line = lines.at(start);
        if rec.as_slice().len() > MAX_RECORD_BYTES {
            return Err(InputError::RecordTooLong {
                path: context.path.to_owned(),
                line,
                bytes: rec.as_slice().len(),
            });
        }
        if rec.len() != context.raw_headers.len() {
            return Err(InputError::Csv {
                path: context.path.to_owned(),
                line,
                detail: format!(
                    "this row has {} cells but the header has {}",
                    rec.len(),
                    context.raw_headers.len()
                ),
            });
        }
        let row = Row {
            context,
            rec: &rec,
            line,
        };
        if let Some(value) = parse(&row)? {
            if values.capacity() == 0 {
                values.reserve(reader_hint(reader));
            }
            values.push(value);
        }
    }
}

/// Room for the records a reader has left, judged from the bytes left and the size of the
/// records so far, so that a large file's vector is not copied as it grows.
fn reader_hint(reader: &csv::Reader<&[u8]>) -> usize {
    let read = reader.position().byte().max(1);
    let records = reader.position().record().max(1);
    let left = reader.get_ref().len() as u64 - read.min(reader.get_ref().len() as u64);
    usize::try_from(left / (read / records).max(1) + 16).unwrap_or(16)
}

fn csv_error(
    path: &Path,
    e: &csv::Error,
    reader: &csv::Reader<&[u8]>,
    lines: &mut Lines,
) -> InputError {
    let line = lines.at(e
        .position()
        .map_or(reader.position().byte(), csv::Position::byte));
    let detail = match e.kind() {
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
    fn lines_count_lone_carriage_returns_as_editors_do() {
        let mut lines = Lines {
            body: b"a\r\nb\rc\nd",
            at: 0,
            line: 1,
        };
        assert_eq!(lines.at(0), 1);
        assert_eq!(lines.at(3), 2);
        assert_eq!(lines.at(5), 3);
        assert_eq!(lines.at(7), 4);
        // The reader's position for a record after a `\r\n` is the `\n`.
        assert_eq!(lines.at(2), 2);
        assert_eq!(lines.at(1), 2);
    }

    #[test]
    fn the_header_decides_the_separator() {
        assert_eq!(sniff_delimiter(b"User id,User name,email\nx;y;z\n"), b',');
        assert_eq!(sniff_delimiter(b"User id;User name;email\na,b;c;d\n"), b';');
        assert_eq!(sniff_delimiter(b"login\temail\tfirstName\n"), b'\t');
        // A separator inside a quoted name does not count.
        assert_eq!(sniff_delimiter(b"\"a;b;c\",d,e\n"), b',');
        assert_eq!(sniff_delimiter(b"email\n"), b',');
    }

    #[test]
    fn headers_fold_case_and_space() {
        assert_eq!(
            normalise_header("  Last  active date [UTC] "),
            "last active date [utc]"
        );
        assert_eq!(normalise_header("User id"), "user id");
    }
}
