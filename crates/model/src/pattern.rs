//! `$regex` patterns: parsed once into a syntax tree that both read models evaluate the same way
//! (the in-memory store with the `regex` crate, PostgreSQL through a translation of the tree).
//!
//! The `regex` crate runs in time linear in the input, so no pattern can backtrack
//! catastrophically. What it cannot do (look-around, back-references) is refused with 102, as are
//! constructs the PostgreSQL translation has no exact equivalent for (see `check`).

use regex_syntax::hir::{Hir, HirKind, Look};

use crate::error::ParseError;

/// Patterns larger than this (compiled) are refused: a query must stay cheap to evaluate.
const SIZE_LIMIT: usize = 1 << 20;
/// PostgreSQL's largest repetition bound (`RE_DUP_MAX`).
pub const MAX_REPEAT: u32 = 255;

#[derive(Debug, Clone)]
pub struct Pattern {
    /// The pattern as the client sent it, and its `$options`.
    pub source: String,
    pub options: String,
    regex: regex::Regex,
    hir: Hir,
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source && self.options == other.options
    }
}

impl Pattern {
    /// Parses `$regex` with `$options` (any of `i`, `m`, `x`, `s`).
    pub fn new(source: &str, options: &str) -> Result<Pattern, ParseError> {
        if !options.chars().all(|c| "imxs".contains(c)) {
            return Err(ParseError::invalid_query(format!(
                "Bad $options value for query: {options}"
            )));
        }
        let bad = |e: &dyn std::fmt::Display| {
            ParseError::invalid_query(format!("bad $regex {source:?}: {e}"))
        };
        let expanded = expand_quotes(source);
        let flag = |c| options.contains(c);
        let hir = regex_syntax::ParserBuilder::new()
            .case_insensitive(flag('i'))
            .multi_line(flag('m'))
            .ignore_whitespace(flag('x'))
            .dot_matches_new_line(flag('s'))
            .nest_limit(100)
            .build()
            .parse(&expanded)
            .map_err(|e| bad(&e))?;
        check(&hir).map_err(|e| bad(&e))?;
        let regex = regex::RegexBuilder::new(&expanded)
            .case_insensitive(flag('i'))
            .multi_line(flag('m'))
            .ignore_whitespace(flag('x'))
            .dot_matches_new_line(flag('s'))
            .nest_limit(100)
            .size_limit(SIZE_LIMIT)
            .build()
            .map_err(|e| bad(&e))?;
        Ok(Pattern {
            source: source.to_string(),
            options: options.to_string(),
            regex,
            hir,
        })
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }

    /// The parsed pattern, flags applied (case folding is already expanded into classes).
    pub fn hir(&self) -> &Hir {
        &self.hir
    }
}

/// Rewrites `\Q…\E` (quoted literal text, which the Parse SDKs use for `startsWith` and
/// friends) into escaped literals, since the `regex` crate has no quoting syntax.
fn expand_quotes(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match after.chars().next() {
            Some('Q') => {
                let quoted = &after[1..];
                let (lit, tail) = match quoted.find("\\E") {
                    Some(end) => (&quoted[..end], &quoted[end + 2..]),
                    None => (quoted, ""),
                };
                out.push_str(&regex::escape(lit));
                rest = tail;
            }
            Some(c) => {
                out.push('\\');
                out.push(c);
                rest = &after[c.len_utf8()..];
            }
            None => {
                out.push('\\');
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Refuses what PostgreSQL's regular expressions cannot express exactly: repetition bounds over
/// 255 and CRLF-aware or half word-boundary assertions.
fn check(hir: &Hir) -> Result<(), String> {
    match hir.kind() {
        HirKind::Repetition(r) => {
            if r.min > MAX_REPEAT || r.max.is_some_and(|m| m > MAX_REPEAT) {
                return Err(format!(
                    "repetition counts above {MAX_REPEAT} are not supported"
                ));
            }
            check(&r.sub)
        }
        HirKind::Look(look) => match look {
            Look::Start
            | Look::End
            | Look::StartLF
            | Look::EndLF
            | Look::WordAscii
            | Look::WordAsciiNegate
            | Look::WordUnicode
            | Look::WordUnicodeNegate => Ok(()),
            other => Err(format!("the assertion {other:?} is not supported")),
        },
        HirKind::Capture(c) => check(&c.sub),
        HirKind::Concat(hs) | HirKind::Alternation(hs) => hs.iter().try_for_each(check),
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_and_matching() {
        assert!(Pattern::new("^ab", "").unwrap().is_match("abc"));
        assert!(!Pattern::new("^ab", "").unwrap().is_match("ABc"));
        assert!(Pattern::new("^ab", "i").unwrap().is_match("ABc"));
        assert!(Pattern::new("^b", "m").unwrap().is_match("a\nb"));
        assert!(!Pattern::new("^b", "").unwrap().is_match("a\nb"));
        assert!(Pattern::new("a.b", "s").unwrap().is_match("a\nb"));
        assert!(Pattern::new("a b", "x").unwrap().is_match("ab"));
        assert_eq!(Pattern::new("a", "g").unwrap_err().code, 102);
    }

    #[test]
    fn quoted_literals() {
        // What the JS SDK sends for startsWith("a.b\\E*").
        let p = Pattern::new(r"^\Qa.b\E\\E\Q*\E", "").unwrap();
        assert!(p.is_match(r"a.b\E*x"));
        assert!(!p.is_match(r"axb\E*x"));
        assert!(Pattern::new(r"\Q(unclosed", "")
            .unwrap()
            .is_match("x(unclosed"));
        assert!(Pattern::new(r"\\Q", "").unwrap().is_match(r"\Q"));
    }

    #[test]
    fn refused_patterns() {
        for bad in [r"(a", r"(?=a)", r"(a)\1", "a{256}", "a{1,300}", "(?mR)^"] {
            assert_eq!(Pattern::new(bad, "").unwrap_err().code, 102, "{bad}");
        }
        // Exponential for a backtracking engine, linear here.
        let p = Pattern::new("^(a+)+$", "").unwrap();
        assert!(!p.is_match(&format!("{}b", "a".repeat(10_000))));
    }
}
