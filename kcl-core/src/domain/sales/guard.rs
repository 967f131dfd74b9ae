//! A `Read` adapter that follows the CSV quoting rules byte by byte, ahead of the
//! `csv` crate, so that a record over the size limit and a quote left open at the
//! end of the input become typed errors instead of unbounded buffering.

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read};

/// What the guard refuses; travels inside an `io::Error` through the `csv` reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GuardFault {
    /// A record (one line, or several when a quoted field spans lines) over the limit.
    TooLong { line: u64, limit: usize },
    /// The input ended inside a quoted field.
    OpenQuote { line: u64 },
}

impl fmt::Display for GuardFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong { line, limit } => {
                write!(f, "the record at line {line} is longer than {limit} bytes")
            }
            Self::OpenQuote { line } => {
                write!(f, "the quoted field opened at line {line} is never closed")
            }
        }
    }
}

impl std::error::Error for GuardFault {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

/// Tracks the RFC 4180 state of the stream it hands on (the same rules as `csv`:
/// a quote opens a quoted field only at the start of a field, `""` is an escaped
/// quote, `\r`, `\n` and `\r\n` end a record outside quotes).
pub(crate) struct Guard<R> {
    inner: R,
    delimiter: u8,
    limit: usize,
    state: State,
    line: u64,
    record_line: u64,
    record_bytes: usize,
    fault: Option<GuardFault>,
    /// The start lines of the records handed on and not yet claimed by the reader
    /// (at most one per two bytes of the `csv` reader's read-ahead buffer).
    starts: VecDeque<u64>,
}

impl<R: Read> Guard<R> {
    pub(crate) fn new(inner: R, delimiter: u8, limit: usize) -> Self {
        Self {
            inner,
            delimiter,
            limit,
            state: State::FieldStart,
            line: 1,
            record_line: 1,
            record_bytes: 0,
            fault: None,
            starts: VecDeque::new(),
        }
    }

    /// The start line of the next record `csv` returned (records are counted the
    /// way `csv` does: a line ending with nothing before it is not a record).
    pub(crate) fn take_start(&mut self) -> Option<u64> {
        self.starts.pop_front()
    }

    fn end_record(&mut self) {
        self.state = State::FieldStart;
        self.record_bytes = 0;
    }
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(f) = self.fault {
            return Err(io::Error::other(f));
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            if self.state == State::Quoted {
                let f = GuardFault::OpenQuote {
                    line: self.record_line,
                };
                self.fault = Some(f);
                return Err(io::Error::other(f));
            }
            return Ok(0);
        }
        for (i, &b) in buf[..n].iter().enumerate() {
            if b == b'\n' {
                self.line += 1;
            }
            if self.record_bytes == 0 {
                if b == b'\n' || b == b'\r' {
                    continue;
                }
                self.record_line = self.line;
                self.starts.push_back(self.line);
            }
            self.record_bytes += 1;
            match self.state {
                State::Quoted => {
                    if b == b'"' {
                        self.state = State::QuoteInQuoted;
                    }
                }
                State::FieldStart | State::Unquoted | State::QuoteInQuoted => {
                    if b == b'\n' || b == b'\r' {
                        self.end_record();
                    } else if b == self.delimiter {
                        self.state = State::FieldStart;
                    } else if b == b'"' && self.state != State::Unquoted {
                        // At a field start it opens quotes; right after a closing
                        // quote it is the second half of an escaped `""`.
                        self.state = State::Quoted;
                    } else {
                        self.state = State::Unquoted;
                    }
                }
            }
            if self.record_bytes > self.limit {
                let f = GuardFault::TooLong {
                    line: self.record_line,
                    limit: self.limit,
                };
                self.fault = Some(f);
                if i == 0 {
                    return Err(io::Error::other(f));
                }
                return Ok(i);
            }
        }
        Ok(n)
    }
}
