//! The books CSV of a bulk import (`POST /api/books/import`, `kcl import`): a
//! header row naming the columns, then one book per row.
//!
//! | column | required | also accepted | value |
//! |---|---|---|---|
//! | `title` | yes | `titulo`, `título` | text |
//! | `author` | yes | `autor` | text |
//! | `isbn` | yes | | ISBN-10 or ISBN-13, hyphens allowed |
//! | `year` | yes | `ano` | publication year |
//! | `category` | no (`General`) | `categoria` | text |
//! | `copies` | no (1) | `exemplares`, `copias`, `cópias` | whole number |
//! | `price` | no (0) | `preco`, `preço` | `39.90` or `39,90` |
//! | `summary` | no (empty) | `resumo` | text |
//!
//! Values follow the rules of a single book ([`BookDraft`], [`super::BookLimits`]).
//! Header names ignore case and surrounding blanks; the delimiter is `,` or `;`
//! (whichever the header uses); UTF-8, with or without a byte order mark. Every
//! row is checked before anything is stored, and every problem is reported with
//! its line, so a file is imported whole or not at all (books already in the
//! catalog, by ISBN, are skipped rather than refused, so an import can be run
//! again).

use std::collections::HashMap;

use super::{BookDraft, FieldError, ValidationError};

/// The most books one import file may hold.
pub const MAX_IMPORT_ROWS: usize = 100_000;

/// The most row problems reported (the count of the others is given).
pub const MAX_IMPORT_ERRORS: usize = 100;

/// The columns, their aliases and whether they are required.
const COLUMNS: &[(Column, &[&str], bool)] = &[
    (Column::Title, &["title", "titulo", "título"], true),
    (Column::Author, &["author", "autor"], true),
    (Column::Isbn, &["isbn"], true),
    (Column::Year, &["year", "ano"], true),
    (Column::Category, &["category", "categoria"], false),
    (
        Column::Copies,
        &["copies", "exemplares", "copias", "cópias"],
        false,
    ),
    (Column::Price, &["price", "preco", "preço"], false),
    (Column::Summary, &["summary", "resumo"], false),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Column {
    Title,
    Author,
    Isbn,
    Year,
    Category,
    Copies,
    Price,
    Summary,
}

impl Column {
    fn name(self) -> &'static str {
        COLUMNS
            .iter()
            .find(|(c, ..)| *c == self)
            .map_or("?", |(_, names, _)| names[0])
    }
}

/// A valid book of an import file, with the line it came from (the header is
/// line 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    /// The line where the row starts.
    pub line: u64,
    /// The book.
    pub draft: BookDraft,
}

fn file_error(code: &'static str, message: impl Into<String>) -> ValidationError {
    ValidationError::field("file", code, message)
}

/// Reads a books CSV (the format is in this module's documentation): every row as a draft, or
/// every problem found. Row problems name the line and the column
/// (`line 3: isbn`).
///
/// ```
/// use kcl_core::domain::parse_book_import;
///
/// let csv = "titulo;autor;isbn;ano;exemplares\nDom Casmurro;Machado de Assis;9788535910667;1899;2\n";
/// let rows = parse_book_import(csv.as_bytes()).unwrap();
/// assert_eq!(rows[0].line, 2);
/// assert_eq!(rows[0].draft.copies(), 2);
///
/// let bad = parse_book_import(b"title,author,isbn,year\nA,B,123,1999\n").unwrap_err();
/// assert_eq!(bad.errors[0].field, "line 2: isbn");
/// ```
pub fn parse_book_import(data: &[u8]) -> Result<Vec<ImportRow>, ValidationError> {
    let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
    let text = std::str::from_utf8(data).map_err(|e| {
        file_error(
            "not-utf8",
            format!(
                "the file is not UTF-8 (invalid bytes after byte {}): save it as UTF-8",
                e.valid_up_to()
            ),
        )
    })?;
    let header_line = text.lines().next().unwrap_or("");
    if header_line.trim().is_empty() {
        return Err(file_error(
            "empty-file",
            "the file is empty: a header row is required",
        ));
    }
    if text.bytes().filter(|&b| b == b'"').count() % 2 == 1 {
        return Err(file_error(
            "bad-csv",
            "unbalanced quotes: a quoted field is never closed (a quote inside a field \
             must be doubled, and the field quoted)",
        ));
    }
    let delimiter = if header_line.matches(';').count() > header_line.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => return Err(file_error("bad-csv", format!("the header: {e}"))),
        None => return Err(file_error("empty-file", "the file is empty")),
    };
    let positions = columns(&header)?;
    let mut rows = Vec::new();
    let mut problems = Problems::default();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut count = 0usize;
    // Line numbers from byte offsets (the reader skips blank lines uncounted).
    let (mut counted_to, mut lines_before) = (0usize, 0u64);
    let mut line_at = |byte: u64| {
        let mut byte = usize::try_from(byte).unwrap_or(usize::MAX).min(text.len());
        // A record's position is where the one before ended: skip blank lines.
        while matches!(text.as_bytes().get(byte), Some(b'\r' | b'\n')) {
            byte += 1;
        }
        if byte >= counted_to {
            lines_before += text.as_bytes()[counted_to..byte]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            counted_to = byte;
        }
        lines_before + 1
    };
    for record in records {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| line_at(p.byte()));
                return Err(file_error(
                    "bad-csv",
                    format!("line {line}: the file is not valid CSV: {e}"),
                ));
            }
        };
        let line = record.position().map_or(0, |p| line_at(p.byte()));
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        count += 1;
        if count > MAX_IMPORT_ROWS {
            return Err(file_error(
                "too-many-rows",
                format!("more than {MAX_IMPORT_ROWS} books: split the file"),
            ));
        }
        let cell = |c: Column| {
            positions
                .get(&c)
                .and_then(|&i| record.get(i))
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let mut found = Vec::new();
        let mut number = |c: Column| -> Option<i64> {
            let v = cell(c)?;
            v.parse::<i64>()
                .map_err(|_| {
                    found.push(FieldError {
                        field: c.name().to_owned(),
                        code: "not-a-number",
                        message: format!("{v:?} is not a whole number"),
                    })
                })
                .ok()
        };
        let year = number(Column::Year);
        let copies = number(Column::Copies);
        let mut builder = BookDraft::builder(
            cell(Column::Title).unwrap_or(""),
            cell(Column::Author).unwrap_or(""),
            cell(Column::Isbn).unwrap_or(""),
        );
        match year {
            Some(y) => builder = builder.year(y),
            // Unreadable (reported above), not missing: no `required` on top.
            None if cell(Column::Year).is_some() => {
                builder = builder.year(i64::from(super::BookLimits::FIRST_YEAR));
            }
            None => {}
        }
        if let Some(c) = copies {
            builder = builder.copies(c);
        }
        if let Some(c) = cell(Column::Category) {
            builder = builder.category(c);
        }
        if let Some(p) = cell(Column::Price) {
            builder = builder.price_text(p);
        }
        if let Some(s) = cell(Column::Summary) {
            builder = builder.summary(s);
        }
        match builder.build() {
            Ok(draft) => {
                if let Some(first) = seen.insert(draft.isbn().as_str().to_owned(), line) {
                    found.push(FieldError {
                        field: "isbn".to_owned(),
                        code: "duplicate-isbn",
                        message: format!("the same ISBN as line {first}"),
                    });
                }
                if found.is_empty() {
                    rows.push(ImportRow { line, draft });
                }
            }
            Err(v) => found.extend(v.errors),
        }
        for f in found {
            problems.push(line, f);
        }
    }
    let Problems { mut errors, more } = problems;
    if !errors.is_empty() {
        if more > 0 {
            errors.push(FieldError {
                field: "file".to_owned(),
                code: "more-errors",
                message: format!("{more} more problems not listed"),
            });
        }
        return Err(ValidationError { errors });
    }
    if rows.is_empty() {
        return Err(file_error("no-rows", "the file has a header but no books"));
    }
    Ok(rows)
}

/// Row problems, up to [`MAX_IMPORT_ERRORS`], and how many more.
#[derive(Default)]
struct Problems {
    errors: Vec<FieldError>,
    more: usize,
}

impl Problems {
    fn push(&mut self, line: u64, e: FieldError) {
        if self.errors.len() < MAX_IMPORT_ERRORS {
            self.errors.push(FieldError {
                field: format!("line {line}: {}", e.field),
                ..e
            });
        } else {
            self.more += 1;
        }
    }
}

/// Where each column is, from the header; refuses unknown, repeated or missing
/// required columns.
fn columns(header: &csv::StringRecord) -> Result<HashMap<Column, usize>, ValidationError> {
    let mut found: HashMap<Column, usize> = HashMap::new();
    let mut errors = Vec::new();
    for (i, name) in header.iter().enumerate() {
        let key = name.trim().to_lowercase();
        if key.is_empty() {
            continue;
        }
        match COLUMNS
            .iter()
            .find(|(_, names, _)| names.contains(&key.as_str()))
        {
            Some((c, ..)) => {
                if found.insert(*c, i).is_some() {
                    errors.push(FieldError {
                        field: "header".to_owned(),
                        code: "duplicate-column",
                        message: format!("column {} appears twice", c.name()),
                    });
                }
            }
            None => errors.push(FieldError {
                field: "header".to_owned(),
                code: "unknown-column",
                message: format!(
                    "unknown column {name:?}; the columns are {}",
                    COLUMNS
                        .iter()
                        .map(|(_, n, _)| n[0])
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
        }
    }
    for (c, _, required) in COLUMNS {
        if *required && !found.contains_key(c) {
            errors.push(FieldError {
                field: "header".to_owned(),
                code: "missing-column",
                message: format!("the required column {} is missing", c.name()),
            });
        }
    }
    if errors.is_empty() {
        Ok(found)
    } else {
        Err(ValidationError { errors })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Book, BookId, Isbn};

    fn codes(e: &ValidationError) -> Vec<(&str, &str)> {
        e.errors
            .iter()
            .map(|f| (f.field.as_str(), f.code))
            .collect()
    }

    fn book(row: &ImportRow) -> Book {
        Book::new(
            BookId(uuid::Uuid::nil()),
            row.draft.clone(),
            chrono::Utc::now(),
        )
    }

    #[test]
    fn reads_every_column_and_defaults() {
        let csv = format!(
            "\u{feff}Title, Author ,ISBN,Year,Category,Copies,Price,Summary\n\
             \"Quincas, o Borba\",Machado,{},1891,Romance,3,29.90,\"Um \"\"filósofo\"\"\"\n\
             \n\
             Outro,Autora,{},2001,,,,\n",
            Isbn::synthetic(1).as_str(),
            Isbn::synthetic(2).as_str()
        );
        let rows = parse_book_import(csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 2);
        let first = book(&rows[0]);
        assert_eq!(first.title, "Quincas, o Borba");
        assert_eq!(first.author, "Machado");
        assert_eq!((first.year, first.copies), (1891, 3));
        assert_eq!(first.price.cents(), 2990);
        assert_eq!(first.summary, "Um \"filósofo\"");
        assert_eq!(
            rows[1].line, 4,
            "blank lines are skipped, lines still count"
        );
        let second = book(&rows[1]);
        assert_eq!(second.category, "General");
        assert_eq!((second.copies, second.price.cents()), (1, 0));
    }

    #[test]
    fn every_row_problem_is_reported_with_its_line() {
        let ok = Isbn::synthetic(3);
        let csv = format!(
            "titulo;autor;isbn;ano;exemplares\n\
             ;Autor;{ok};1999;1\n\
             Livro;Autor;123;dois mil;x\n\
             Bom;Autor;{ok};2000;2\n\
             Outro;Autor;{ok};2000;2\n",
            ok = ok.as_str()
        );
        let e = parse_book_import(csv.as_bytes()).unwrap_err();
        let fields: Vec<_> = e.errors.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "line 2: title",
                "line 3: year",
                "line 3: copies",
                "line 3: isbn",
                "line 5: isbn",
            ],
            "{e}"
        );
        assert_eq!(e.errors[1].code, "not-a-number");
        assert_eq!(e.errors[4].code, "duplicate-isbn");
        assert!(e.errors[4].message.contains("line 4"), "{e}");
    }

    #[test]
    fn bad_headers_and_files_are_refused_as_a_whole() {
        let e = parse_book_import(b"title,autor,isbn,colour\n").unwrap_err();
        assert_eq!(
            codes(&e),
            [("header", "unknown-column"), ("header", "missing-column"),]
        );
        let e = parse_book_import(b"title,titulo,author,isbn,year\n").unwrap_err();
        assert_eq!(codes(&e), [("header", "duplicate-column")]);
        for (data, code) in [
            (&b""[..], "empty-file"),
            (b"\xef\xbb\xbf\n", "empty-file"),
            (b"title,author,isbn,year\n", "no-rows"),
            (b"title,author,isbn,year\n\xff\xfe,a,b,1\n", "not-utf8"),
            (b"title,author,isbn,year\n\"open,a,b,1\n", "bad-csv"),
        ] {
            let e = parse_book_import(data).unwrap_err();
            assert_eq!(e.errors[0].code, code, "{e}");
        }
    }

    #[test]
    fn row_problems_are_capped() {
        let mut csv = String::from("title,author,isbn,year\n");
        for _ in 0..(MAX_IMPORT_ERRORS + 7) {
            csv.push_str("T,A,1,1999\n");
        }
        let e = parse_book_import(csv.as_bytes()).unwrap_err();
        assert_eq!(e.errors.len(), MAX_IMPORT_ERRORS + 1);
        assert_eq!(e.errors[MAX_IMPORT_ERRORS].code, "more-errors");
        assert!(e.errors[MAX_IMPORT_ERRORS].message.starts_with("7 more"));
    }
}
