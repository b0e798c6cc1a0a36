//! Translates a parsed `$regex` (a `regex_syntax` tree, flags already applied) into a
//! PostgreSQL advanced regular expression that matches exactly the same strings.
//!
//! The tree is small and explicit: case folding is already expanded into classes, `.` is a class,
//! so the output only uses what both engines read the same way: literal characters written as
//! `\uXXXX`/`\UXXXXXXXX` escapes, bracket classes of ranges, non-capturing groups, bounded
//! repetitions, `^`/`$` (start/end of the string: the PostgreSQL `~` operator is not
//! newline-sensitive), and look-around for line and word boundaries. `model::pattern` refuses the
//! rest before a pattern gets here.

use std::fmt::Write;

use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// The PostgreSQL pattern for `hir`.
pub fn to_postgres(hir: &Hir) -> String {
    let mut out = String::new();
    push(&mut out, hir);
    out
}

fn push(out: &mut String, hir: &Hir) {
    match hir.kind() {
        HirKind::Empty => out.push_str("(?:)"),
        HirKind::Literal(lit) => {
            for c in String::from_utf8_lossy(&lit.0).chars() {
                push_char(out, c);
            }
        }
        HirKind::Class(class) => push_class(out, &ranges(class)),
        HirKind::Look(look) => push_look(out, *look),
        HirKind::Repetition(rep) => {
            out.push_str("(?:");
            push(out, &rep.sub);
            out.push(')');
            match (rep.min, rep.max) {
                (0, None) => out.push('*'),
                (1, None) => out.push('+'),
                (0, Some(1)) => out.push('?'),
                (min, None) => {
                    let _ = write!(out, "{{{min},}}");
                }
                (min, Some(max)) if min == max => {
                    let _ = write!(out, "{{{min}}}");
                }
                (min, Some(max)) => {
                    let _ = write!(out, "{{{min},{max}}}");
                }
            }
            if !rep.greedy {
                out.push('?');
            }
        }
        HirKind::Capture(cap) => {
            out.push_str("(?:");
            push(out, &cap.sub);
            out.push(')');
        }
        HirKind::Concat(hs) => hs.iter().for_each(|h| push(out, h)),
        HirKind::Alternation(hs) => {
            out.push_str("(?:");
            for (i, h) in hs.iter().enumerate() {
                if i > 0 {
                    out.push('|');
                }
                push(out, h);
            }
            out.push(')');
        }
    }
}

/// A character as itself when it is an ASCII letter or digit, else as a code-point escape, so
/// no character is ever read as an operator.
fn push_char(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() {
        out.push(c);
    } else {
        push_escape(out, c as u32);
    }
}

fn push_escape(out: &mut String, cp: u32) {
    if cp <= 0xFFFF {
        let _ = write!(out, "\\u{cp:04x}");
    } else {
        let _ = write!(out, "\\U{cp:08x}");
    }
}

/// The code-point ranges of a class. Text never holds NUL (writes refuse it), and PostgreSQL
/// cannot write it, so ranges start at 1.
fn ranges(class: &Class) -> Vec<(u32, u32)> {
    let all: Vec<(u32, u32)> = match class {
        Class::Unicode(c) => c
            .iter()
            .map(|r| (r.start() as u32, r.end() as u32))
            .collect(),
        Class::Bytes(c) => c
            .iter()
            .map(|r| (u32::from(r.start()), u32::from(r.end())))
            .collect(),
    };
    all.into_iter()
        .filter(|&(_, end)| end >= 1)
        .map(|(start, end)| (start.max(1), end))
        .collect()
}

fn push_class(out: &mut String, ranges: &[(u32, u32)]) {
    if ranges.is_empty() {
        // Matches nothing: the only character outside this bracket is NUL, which text never holds.
        out.push_str("[^\\u0001-\\U0010ffff]");
        return;
    }
    out.push('[');
    for &(start, end) in ranges {
        push_escape(out, start);
        if end != start {
            out.push('-');
            push_escape(out, end);
        }
    }
    out.push(']');
}

fn push_look(out: &mut String, look: Look) {
    match look {
        Look::Start => out.push('^'),
        Look::End => out.push('$'),
        Look::StartLF => out.push_str("(?:^|(?<=\\u000a))"),
        Look::EndLF => out.push_str("(?:$|(?=\\u000a))"),
        Look::WordAscii | Look::WordAsciiNegate => {
            push_word_boundary(out, &ascii_word(), look == Look::WordAsciiNegate)
        }
        Look::WordUnicode | Look::WordUnicodeNegate => {
            push_word_boundary(out, &unicode_word(), look == Look::WordUnicodeNegate)
        }
        // Refused by model::pattern::check; a pattern that matches nothing is the safe reading.
        _ => push_class(out, &[]),
    }
}

/// A word boundary spelled with look-around over an explicit word class, so that PostgreSQL's
/// locale-dependent notion of a word character plays no part.
fn push_word_boundary(out: &mut String, word: &[(u32, u32)], negate: bool) {
    let mut w = String::new();
    push_class(&mut w, word);
    if negate {
        let _ = write!(out, "(?:(?<={w})(?={w})|(?<!{w})(?!{w}))");
    } else {
        let _ = write!(out, "(?:(?<={w})(?!{w})|(?<!{w})(?={w}))");
    }
}

fn ascii_word() -> Vec<(u32, u32)> {
    vec![(0x30, 0x39), (0x41, 0x5a), (0x5f, 0x5f), (0x61, 0x7a)]
}

fn unicode_word() -> Vec<(u32, u32)> {
    match regex_syntax::parse(r"\w").map(|h| h.into_kind()) {
        Ok(HirKind::Class(class)) => ranges(&class),
        _ => ascii_word(),
    }
}
