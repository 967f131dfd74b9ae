//! Full-text search on FTS5, with exactly the semantics of
//! [`SearchTerms::matches`]: every term is a prefix of some word of the folded
//! document, words being [`kcl_core::domain::words`].
//!
//! FTS5's own tokenizers split and fold text by their own rules (`unicode61` uses
//! Unicode 6.1 tables and folds `ſ` to `s`, for instance), which would make SQLite
//! disagree with the other backends on rare inputs. So the index holds the book's
//! words already split by [`words`], each encoded as ASCII with a *prefix-free*
//! code per character, and uses the `ascii` tokenizer, which only splits on the
//! spaces between them:
//!
//! - `a`-`z` (but `x`) and `0`-`9` stand for themselves (most text stays readable);
//! - `x` is `xx`;
//! - any other character is `xu` and its code point in six hex digits.
//!
//! Because no code is a prefix of another, a term is a prefix of a word exactly when
//! its encoding is a prefix of the word's encoding, so an FTS5 prefix query
//! (`"term"*`) matches exactly the words [`SearchTerms::matches`] accepts.

use kcl_core::domain::{encode_word, words, Book, SearchTerms};

/// What the full-text index holds for `book`: its encoded words, space-separated.
pub(super) fn document(book: &Book) -> String {
    let folded = book.search_document();
    let mut out = String::with_capacity(folded.len());
    for w in words(&folded) {
        if !out.is_empty() {
            out.push(' ');
        }
        encode_word(w, &mut out);
    }
    out
}

/// The FTS5 query: every term as a quoted prefix, ANDed. The encoding holds only
/// `[a-z0-9]`, so no term can carry FTS5 syntax.
pub(super) fn match_expression(terms: &SearchTerms) -> String {
    let mut out = String::new();
    for (i, term) in terms.terms().iter().enumerate() {
        if i > 0 {
            out.push_str(" AND ");
        }
        out.push('"');
        encode_word(term, &mut out);
        out.push_str("\"*");
    }
    out
}

/// The longest (encoded) prefix the FTS5 table indexes (`prefix = '1 ... 8'` in
/// the migration). A prefix query on a longer term merges the posting lists of every
/// word it starts, which costs time in proportion to the matches.
const LONGEST_INDEXED_PREFIX: usize = 8;

/// Whether every term is answered from a prefix index (cheap to evaluate per row).
pub(super) fn prefix_indexed(terms: &SearchTerms) -> bool {
    terms.terms().iter().all(|t| {
        let mut s = String::new();
        encode_word(t, &mut s);
        s.len() <= LONGEST_INDEXED_PREFIX
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_quotes_every_term() {
        let q = SearchTerms::parse("Machado \"x\" OR").unwrap().unwrap();
        assert_eq!(match_expression(&q), r#""machado"* AND "xx"* AND "or"*"#);
    }
}
