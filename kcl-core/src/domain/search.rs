use unicode_normalization::UnicodeNormalization;

use super::ValidationError;

/// Folds text for search: lowercase, diacritics removed (`Ação` → `acao`).
///
/// Every adapter indexes and queries folded text, so all backends agree on what
/// matches.
pub fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Splits folded text into words (runs of letters and digits).
pub fn words(folded: &str) -> impl Iterator<Item = &str> {
    folded
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// Appends a prefix-free ASCII encoding of `word` to `out`, for adapters whose
/// full-text index splits or folds words by rules of its own (SQLite FTS5,
/// PostgreSQL `tsvector`): index the encoded [`words`] of a book, query with encoded
/// terms, and a term matches a word exactly when [`SearchTerms::matches`] says so.
///
/// - `a`-`z` (but `x`) and `0`-`9` stand for themselves (most text stays readable);
/// - `x` is `xx`;
/// - any other character is `xu` and its code point in six hex digits.
///
/// No code is a prefix of another, so a term is a prefix of a word exactly when its
/// encoding is a prefix of the word's encoding; and the output holds only
/// `[a-z0-9]`, so no user text can carry query syntax.
///
/// ```
/// use kcl_core::domain::encode_word;
/// let mut s = String::new();
/// encode_word("xadrez42", &mut s);
/// assert_eq!(s, "xxadrez42");
/// ```
pub fn encode_word(word: &str, out: &mut String) {
    use std::fmt::Write;
    for c in word.chars() {
        match c {
            'x' => out.push_str("xx"),
            'a'..='z' | '0'..='9' => out.push(c),
            // Writing to a String cannot fail.
            other => drop(write!(out, "xu{:06x}", u32::from(other))),
        }
    }
}

/// A parsed full-text query: folded words, every one of which must match
/// the start of a word in the title, author or summary (AND of prefixes).
///
/// ```
/// use kcl_core::domain::SearchTerms;
/// let q = SearchTerms::parse("Machado  ASSIS!").unwrap().unwrap();
/// assert_eq!(q.terms(), ["machado", "assis"]);
/// assert!(SearchTerms::parse("  ?! ").unwrap().is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerms(Vec<String>);

/// At most this many words in one query.
const MAX_TERMS: usize = 16;
/// At most this many characters in one query.
const MAX_QUERY_CHARS: usize = 200;

impl SearchTerms {
    /// Parses a user's query; `Ok(None)` when it holds no word at all.
    pub fn parse(q: &str) -> Result<Option<Self>, ValidationError> {
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(ValidationError::field(
                "q",
                "too-long",
                format!("a search has at most {MAX_QUERY_CHARS} characters"),
            ));
        }
        let folded = fold(q);
        let terms: Vec<String> = words(&folded).map(str::to_owned).collect();
        if terms.len() > MAX_TERMS {
            return Err(ValidationError::field(
                "q",
                "too-many-terms",
                format!("a search has at most {MAX_TERMS} words"),
            ));
        }
        Ok((!terms.is_empty()).then_some(Self(terms)))
    }

    /// The folded words.
    pub fn terms(&self) -> &[String] {
        &self.0
    }

    /// Whether the folded `document` matches: every term is a prefix of some word.
    pub fn matches(&self, folded_document: &str) -> bool {
        self.0
            .iter()
            .all(|t| words(folded_document).any(|w| w.starts_with(t.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(w: &str) -> String {
        let mut s = String::new();
        encode_word(w, &mut s);
        s
    }

    #[test]
    fn encoded_words_stay_readable() {
        assert_eq!(enc("machado"), "machado");
        assert_eq!(enc("xadrez42"), "xxadrez42");
        assert_eq!(enc("ſ"), "xu00017f");
    }

    #[test]
    fn encoding_preserves_prefixes_exactly() {
        let words = [
            "a", "ab", "x", "xu", "xx", "ſa", "ſ", "s", "ação", "日本", "日", "u0017f",
        ];
        for t in words {
            for w in words {
                assert_eq!(
                    enc(w).starts_with(&enc(t)),
                    w.starts_with(t),
                    "term {t:?} word {w:?}"
                );
            }
        }
    }

    #[test]
    fn folding() {
        assert_eq!(fold("Ação É ÇA"), "acao e ca");
    }

    #[test]
    fn prefix_and() {
        let q = SearchTerms::parse("mach cas").unwrap().unwrap();
        assert!(q.matches(&fold("Dom Casmurro, by Machado")));
        assert!(!q.matches(&fold("Machado only")));
    }
}
