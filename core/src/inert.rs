//! Untrusted text made inert for the place it lands. Display names are edited by their owners,
//! addresses come from exports and IdP lists, bodies from servers: none of them may move a
//! terminal's cursor, hide the lines after them, reorder a line, run as a spreadsheet formula or
//! become a link, image or HTML in a Markdown ticket. Every renderer calls one of these.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Characters that act instead of showing: C0 and C1 controls and DEL, bidirectional
/// overrides and isolates, zero-width and other invisible format characters, line and
/// paragraph separators, and the tag characters that can smuggle hidden text.
fn acts(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

fn escape_into(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
}

/// Where the first character that acts (and is not kept) starts. Nearly all text is printable
/// ASCII, which cannot act: it is passed over 16 bytes at a time, in a check the compiler makes
/// one vector compare, and only the other characters are decoded. A million-step review is
/// 200 MB of text scanned twice, so a character-at-a-time scan was a fifth of `plan`'s time.
fn first_acting(text: &str, keep: &impl Fn(char) -> bool) -> Option<usize> {
    const CHUNK: usize = 16;
    let printable = |b: u8| (0x20..0x7f).contains(&b);
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if let Some(chunk) = bytes.get(i..i + CHUNK)
            && chunk.iter().fold(true, |all, &b| all & printable(b))
        {
            i += CHUNK;
            continue;
        }
        if printable(bytes[i]) {
            i += 1;
            continue;
        }
        // Every byte before `i` is ASCII or ends a character passed over whole: `i` starts one.
        let c = text[i..].chars().next()?;
        if acts(c) && !keep(c) {
            return Some(i);
        }
        i += c.len_utf8();
    }
    None
}

fn escaped(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    let Some(first) = first_acting(text, &keep) else {
        return Cow::Borrowed(text);
    };
    let (plain, rest) = text.split_at(first);
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(plain);
    for c in rest.chars() {
        if acts(c) && !keep(c) {
            escape_into(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One value (a name, an address, a server's message) for a terminal line: every character
/// that acts, line breaks and tabs included, shown as a visible escape such as `\u{1b}`.
///
/// ```
/// use mailshift_core::inert::terminal;
///
/// assert_eq!(terminal("Ann\u{1b}[2J"), "Ann\\u{1b}[2J");
/// assert_eq!(terminal("evil\u{202e}gpj.exe"), "evil\\u{202e}gpj.exe");
/// assert_eq!(terminal("Ann\nstep 9"), "Ann\\nstep 9");
/// assert_eq!(terminal("Zoë Lee"), "Zoë Lee");
/// ```
pub fn terminal(text: &str) -> Cow<'_, str> {
    escaped(text, |_| false)
}

/// Text of several lines bound for a terminal, as a last net under the renderers: line breaks
/// and tabs kept, every other character that acts escaped.
pub fn lines(text: &str) -> Cow<'_, str> {
    escaped(text, |c| matches!(c, '\n' | '\t'))
}

/// One cell of a CSV file that a spreadsheet may open: escaped as for a terminal, then, when
/// it starts like a formula (`=`, `+`, `-`, `@`), prefixed with `'` so that it is never run.
///
/// ```
/// use mailshift_core::inert::spreadsheet;
///
/// assert_eq!(spreadsheet("=HYPERLINK(\"http://x\")"), "'=HYPERLINK(\"http://x\")");
/// assert_eq!(spreadsheet("\tnote"), "\\tnote");
/// assert_eq!(spreadsheet("ann@x.example"), "ann@x.example");
/// ```
pub fn spreadsheet(text: &str) -> String {
    let shown = terminal(text);
    match shown.chars().next() {
        Some('=' | '+' | '-' | '@') => format!("'{shown}"),
        _ => shown.into_owned(),
    }
}

/// Characters CommonMark and GitHub's extensions give a meaning to anywhere in a line: code,
/// emphasis, the brackets of links and images, HTML and entities, tables, strikethrough and
/// maths. Each may be backslash-escaped (CommonMark 2.4); with the brackets escaped, `!`, `(`
/// and `)` can make no link or image, and with `<` escaped `>` closes no tag.
fn marks(c: char) -> bool {
    matches!(
        c,
        '\\' | '`' | '*' | '[' | ']' | '<' | '|' | '~' | '&' | '$'
    )
}

/// One value for a Markdown ticket, in a table cell or a list item: escaped as for a terminal
/// (line breaks included, so it stays on its line), every character with a Markdown meaning
/// backslash-escaped, and a start that would open a list, a quote or a heading neutralised.
/// `www.` loses its dot's meaning too, so no autolink is made of it.
///
/// ```
/// use mailshift_core::inert::markdown;
///
/// assert_eq!(markdown("![x](http://t.example/p.png)"), "!\\[x\\](http\\://t.example/p.png)");
/// assert_eq!(markdown("<img src=x>"), "\\<img src=x>");
/// assert_eq!(markdown("- 1. www.t.example"), "\\- 1. www\\.t.example");
/// assert_eq!(markdown("ann.lee@new.example"), "ann.lee@new.example");
/// ```
pub fn markdown(text: &str) -> String {
    let shown = terminal(text);
    let shown = shown.trim_start();
    let mut out = String::with_capacity(shown.len() + 8);
    let digits = shown.bytes().take_while(u8::is_ascii_digit).count();
    let mut before = None;
    let mut chars = shown.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let after = chars.peek().map(|&(_, c)| c);
        let opens_block = (i == 0 && matches!(c, '-' | '+' | '=' | '>' | '#'))
            || (i == digits && digits > 0 && matches!(c, '.' | ')'));
        // `_` inside a word never emphasises, so `ann_lee@` stays as typed.
        let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
        let emphasis = c == '_' && !(word(before) && word(after));
        // The `:` of `http://`, and the dot of `www.`, are what GitHub makes autolinks of.
        let autolink = (c == ':' && after == Some('/'))
            || (c == '.' && i >= 3 && shown.as_bytes()[i - 3..i].eq_ignore_ascii_case(b"www"));
        before = Some(c);
        if marks(c) || opens_block || emphasis || autolink {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_acting_character_is_escaped_for_a_terminal() {
        let hostile =
            "a\u{7}b\u{8}c\u{1b}]8;;http://x\u{7}d\u{9b}e\u{7f}f\u{2066}g\u{200b}h\u{e0041}";
        let shown = terminal(hostile);
        assert!(!shown.chars().any(acts), "{shown}");
        assert_eq!(
            shown,
            "a\\u{7}b\\u{8}c\\u{1b}]8;;http://x\\u{7}d\\u{9b}e\\u{7f}f\\u{2066}g\\u{200b}h\\u{e0041}"
        );
    }

    #[test]
    fn lines_keep_their_breaks_and_nothing_else() {
        assert_eq!(lines("one\n\ttwo\u{1b}[8m\r"), "one\n\ttwo\\u{1b}[8m\\r");
    }

    /// The definition `escaped` must keep: every character tested on its own.
    fn escaped_one_by_one(text: &str, keep: impl Fn(char) -> bool) -> String {
        let mut out = String::new();
        for c in text.chars() {
            if acts(c) && !keep(c) {
                escape_into(&mut out, c);
            } else {
                out.push(c);
            }
        }
        out
    }

    proptest! {
        /// The scan that passes over printable ASCII 16 bytes at a time finds every acting
        /// character wherever it falls: at a chunk's edge, after a multi-byte character, last.
        #[test]
        fn the_fast_scan_escapes_what_the_definition_does(
            text in proptest::collection::vec(
                proptest::sample::select(vec![
                    "a", "Z", " ", "~", "@", "\u{7f}", "\n", "\t", "\r", "\u{1b}", "\u{9b}",
                    "é", "ß", "\u{202e}", "\u{200b}", "\u{fffd}", "中", "\u{e0041}", "😀",
                ]),
                0..80,
            ).prop_map(|parts| parts.concat()),
        ) {
            prop_assert_eq!(terminal(&text), escaped_one_by_one(&text, |_| false));
            prop_assert_eq!(lines(&text), escaped_one_by_one(&text, |c| matches!(c, '\n' | '\t')));
        }
    }

    #[test]
    fn plain_text_is_not_copied() {
        assert!(matches!(terminal("Ann Lee (acc-1)"), Cow::Borrowed(_)));
        assert!(matches!(lines("Ann\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_formula_hidden_behind_a_control_is_still_a_formula_cell() {
        // After escaping, the cell starts with a backslash: a spreadsheet shows it as text.
        assert_eq!(spreadsheet("\r=1+1"), "\\r=1+1");
        assert_eq!(spreadsheet("-2"), "'-2");
        assert_eq!(spreadsheet("+1"), "'+1");
        assert_eq!(spreadsheet("@SUM(A1)"), "'@SUM(A1)");
    }

    #[test]
    fn markdown_leaves_no_link_image_html_or_block() {
        for (raw, inert) in [
            (
                "[click](http://x.example)",
                "\\[click\\](http\\://x.example)",
            ),
            ("a | b", "a \\| b"),
            ("# Heading", "\\# Heading"),
            ("> quote", "\\> quote"),
            ("+ item", "\\+ item"),
            ("12) item", "12\\) item"),
            ("a -> b (c) #1 > 2!", "a -> b (c) #1 > 2!"),
            ("a -> b (c) #1 > 2!", "a -> b (c) #1 > 2!"),
            ("`code`", "\\`code\\`"),
            ("&lt;", "\\&lt;"),
            ("$x$", "\\$x\\$"),
            ("WWW.x.example", "WWW\\.x.example"),
            ("_em_ ann_lee@x.example", "\\_em\\_ ann_lee@x.example"),
            ("712020:5b10 ftp://x", "712020:5b10 ftp\\://x"),
            ("   indented", "indented"),
            ("two\nlines", "two\\\\nlines"),
        ] {
            assert_eq!(markdown(raw), inert, "{raw}");
        }
    }
}
