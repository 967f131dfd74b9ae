//! Full-text search on a `tsvector` with a GIN index, with exactly the semantics of
//! [`SearchTerms::matches`]: every term is a prefix of some word of the folded
//! document, words being [`kcl_core::domain::words`].
//!
//! PostgreSQL's text-search parsers and dictionaries split and normalize words by
//! their own rules (`co-op` is a hyphenated word with parts, `1e5` a number...),
//! which would make Postgres disagree with the other backends. So nothing of theirs
//! is used: the `search` column is `array_to_tsvector` of the book's words, already
//! split by [`words`], each encoded as ASCII with a *prefix-free* code per
//! character (the same code as the embedded profile's FTS5 index):
//!
//! - `a`-`z` (but `x`) and `0`-`9` stand for themselves (most text stays readable);
//! - `x` is `xx`;
//! - any other character is `xu` and its code point in six hex digits.
//!
//! Because no code is a prefix of another, a term is a prefix of a word exactly when
//! its encoding is a prefix of the word's encoding. The query is a `tsquery` literal
//! (`'term':* & 'other':*`, cast with `::tsquery`, which takes lexemes as they are)
//! built from encoded terms: they hold only `[a-z0-9]`, so no user text can carry
//! `tsquery` syntax.

use kcl_core::domain::{encode_word, words, Book, SearchTerms};

/// The longest lexeme PostgreSQL stores is 2,047 bytes; longer encoded words are
/// cut to this length. A search term has at most 200 characters (`SearchTerms`),
/// 1,600 bytes encoded, so it is a prefix of a cut word exactly when it is a
/// prefix of the whole word.
const MAX_LEXEME_BYTES: usize = 2046;

/// What the `search` column holds for `book`: its encoded words (duplicates are
/// removed by `array_to_tsvector`).
pub(super) fn lexemes(book: &Book) -> Vec<String> {
    let folded = book.search_document();
    words(&folded)
        .map(|w| {
            let mut s = String::with_capacity(w.len());
            encode_word(w, &mut s);
            // ASCII only: any byte index is a character boundary.
            s.truncate(MAX_LEXEME_BYTES);
            s
        })
        .collect()
}

/// The `tsquery` text: every term as a quoted prefix, ANDed.
pub(super) fn tsquery(terms: &SearchTerms) -> String {
    let mut out = String::new();
    for (i, term) in terms.terms().iter().enumerate() {
        if i > 0 {
            out.push_str(" & ");
        }
        out.push('\'');
        let start = out.len();
        encode_word(term, &mut out);
        // Only a term longer than `SearchTerms` allows could be cut here.
        out.truncate(start + MAX_LEXEME_BYTES.min(out.len() - start));
        out.push_str("':*");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_quotes_every_term() {
        let q = SearchTerms::parse("Machado \"x\" OR ' & !")
            .unwrap()
            .unwrap();
        assert_eq!(tsquery(&q), "'machado':* & 'xx':* & 'or':*");
    }

    #[test]
    fn long_words_are_cut_to_a_lexeme() {
        let mut book = kcl_core::domain::Book::new(
            kcl_core::domain::BookId(uuid::Uuid::nil()),
            kcl_core::domain::BookDraft::builder(
                "T",
                "A",
                kcl_core::domain::Isbn::synthetic(1).as_str(),
            )
            .year(2000)
            .build()
            .unwrap(),
            chrono::DateTime::UNIX_EPOCH,
        );
        book.summary = "日".repeat(1000);
        let lex = lexemes(&book);
        assert!(lex.iter().all(|l| l.len() <= MAX_LEXEME_BYTES));
        assert!(lex.iter().any(|l| l.len() == MAX_LEXEME_BYTES));
    }
}
