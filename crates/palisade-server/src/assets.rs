//! The page and its libraries, embedded in the binary: no Node.js to build, no CDN at run
//! time.

use std::io::{self, Write};

/// The page's code (plain JavaScript, no build step).
pub const APP_JS: &str = include_str!("../assets/app.js");
/// The page's styles (light and dark, following the system).
pub const APP_CSS: &str = include_str!("../assets/app.css");
/// cytoscape.js (MIT), pinned in `ui/package.json`.
pub const CYTOSCAPE_JS: &str = include_str!("../assets/vendor/cytoscape.min.js");
/// cytoscape-dagre with dagre bundled (MIT), pinned in `ui/package.json`.
pub const CYTOSCAPE_DAGRE_JS: &str = include_str!("../assets/vendor/cytoscape-dagre.min.js");
/// The page skeleton, with `<!--HEAD-->` and `<!--SCRIPTS-->` slots.
const INDEX_HTML: &str = include_str!("../assets/index.html");

/// The served page: styles and scripts by URL (the CSP allows only same-origin scripts).
pub fn index_html() -> String {
    INDEX_HTML
        .replace(
            "<!--HEAD-->",
            r#"<link rel="stylesheet" href="/assets/app.css">"#,
        )
        .replace(
            "<!--SCRIPTS-->",
            concat!(
                r#"<script src="/assets/vendor/cytoscape.min.js"></script>"#,
                "\n",
                r#"<script src="/assets/vendor/cytoscape-dagre.min.js"></script>"#,
                "\n",
                r#"<script src="/assets/app.js"></script>"#
            ),
        )
}

/// Makes JSON safe inside a `<script>` element (`<\/` is a valid JSON escape of `</`): the
/// reference [`InlineJson`] is tested against.
#[cfg(test)]
fn inline_json(text: &str) -> String {
    text.replace("</", "<\\/").replace("<!--", "<\\u0021--")
}

/// Makes code safe inside a `<script>` or `<style>` element (the embedded files contain
/// neither sequence in code; a string literal reads the same after the escape).
fn inline_code(text: &str) -> String {
    text.replace("</script", "<\\/script")
        .replace("</style", "<\\/style")
        .replace("<!--", "<\\!--")
}

/// The report page: everything inlined, `data` (a JSON object) in a
/// `<script type="application/json">` element, and a CSP that forbids any network access.
pub fn report_html(data: &str) -> String {
    let mut out = Vec::with_capacity(data.len() + REPORT_PAGE_BYTES);
    write_report_html(&mut out, |w| w.write_all(data.as_bytes()))
        .expect("writing to a Vec does not fail");
    String::from_utf8(out).expect("the page is UTF-8 text")
}

/// The bytes [`report_html`] adds around the data (styles, scripts, skeleton), about.
const REPORT_PAGE_BYTES: usize = 1 << 20;

/// [`report_html`] written piece by piece to `out`: `data` writes the JSON object into the
/// writer it is given, which escapes it as [`report_html`] does on the way through. The
/// page is never held whole in memory (at 150,000 pods it is hundreds of MB).
pub fn write_report_html<W: Write + ?Sized>(
    out: &mut W,
    data: impl FnOnce(&mut InlineJson<&mut W>) -> io::Result<()>,
) -> io::Result<()> {
    let (before_head, rest) = split_slot(INDEX_HTML, "<!--HEAD-->");
    let (between, after_scripts) = split_slot(rest, "<!--SCRIPTS-->");
    out.write_all(before_head.as_bytes())?;
    write!(
        out,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\n<style>\n{}\n</style>",
        inline_code(APP_CSS)
    )?;
    out.write_all(between.as_bytes())?;
    out.write_all(b"<script id=\"palisade-data\" type=\"application/json\">")?;
    let mut json = InlineJson::new(&mut *out);
    data(&mut json)?;
    json.finish()?;
    write!(
        out,
        "</script>\n<script>\n{}\n</script>\n<script>\n{}\n</script>\n<script>\n{}\n</script>",
        inline_code(CYTOSCAPE_JS),
        inline_code(CYTOSCAPE_DAGRE_JS),
        inline_code(APP_JS)
    )?;
    out.write_all(after_scripts.as_bytes())
}

/// The text before and after the one `slot` of the page skeleton.
fn split_slot<'a>(text: &'a str, slot: &str) -> (&'a str, &'a str) {
    let (before, after) = text
        .split_once(slot)
        .expect("the page skeleton has each slot");
    debug_assert!(
        !after.contains(slot),
        "the page skeleton has each slot once"
    );
    (before, after)
}

/// A writer that makes JSON safe inside a `<script>` element on the way through, as
/// `inline_json` does to a whole text: `</` becomes `<\/` and `<!--` becomes
/// `<\u0021--`, also when a sequence is split across writes. Call
/// [`finish`](Self::finish) after the last write: it writes out a `<`, `<!` or `<!-` held
/// back at the end.
pub struct InlineJson<W: Write> {
    inner: W,
    /// A prefix of `<!--` (never the whole) seen at the end of the last write.
    held: usize,
}

impl<W: Write> InlineJson<W> {
    /// Escapes into `inner`.
    pub fn new(inner: W) -> Self {
        InlineJson { inner, held: 0 }
    }

    /// Writes out what is held back.
    pub fn finish(&mut self) -> io::Result<()> {
        let held = self.held;
        self.held = 0;
        self.inner.write_all(&b"<!-"[..held])
    }
}

impl<W: Write> Write for InlineJson<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while !rest.is_empty() {
            if self.held == 0 {
                let Some(at) = rest.iter().position(|&b| b == b'<') else {
                    self.inner.write_all(rest)?;
                    break;
                };
                self.inner.write_all(&rest[..at])?;
                self.held = 1;
                rest = &rest[at + 1..];
                continue;
            }
            let b = rest[0];
            match (self.held, b) {
                (1, b'/') => {
                    self.inner.write_all(b"<\\/")?;
                    self.held = 0;
                }
                (1, b'!') | (2, b'-') => self.held += 1,
                (3, b'-') => {
                    self.inner.write_all(b"<\\u0021--")?;
                    self.held = 0;
                }
                _ => {
                    // Not an escaped sequence: what was held is text, and `b` is looked at
                    // again (it may start a sequence itself).
                    self.finish()?;
                    continue;
                }
            }
            rest = &rest[1..];
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The page as it was built before it was streamed: the reference for
    /// [`write_report_html`].
    fn report_html_whole(data: &str) -> String {
        let head = format!(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">\n<style>\n{}\n</style>",
            inline_code(APP_CSS)
        );
        let scripts = format!(
            "<script id=\"palisade-data\" type=\"application/json\">{}</script>\n<script>\n{}\n</script>\n<script>\n{}\n</script>\n<script>\n{}\n</script>",
            inline_json(data),
            inline_code(CYTOSCAPE_JS),
            inline_code(CYTOSCAPE_DAGRE_JS),
            inline_code(APP_JS)
        );
        INDEX_HTML
            .replace("<!--HEAD-->", &head)
            .replace("<!--SCRIPTS-->", &scripts)
    }

    fn streamed(data: &str, cuts: &[usize]) -> String {
        let mut out = Vec::new();
        write_report_html(&mut out, |w| {
            let mut at = 0;
            for &c in cuts {
                let c = c.min(data.len()).max(at);
                w.write_all(&data.as_bytes()[at..c])?;
                at = c;
            }
            w.write_all(&data.as_bytes()[at..])
        })
        .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn skeleton_has_each_slot_once() {
        for slot in ["<!--HEAD-->", "<!--SCRIPTS-->"] {
            assert_eq!(INDEX_HTML.matches(slot).count(), 1, "{slot}");
        }
        assert!(INDEX_HTML.find("<!--HEAD-->") < INDEX_HTML.find("<!--SCRIPTS-->"));
    }

    #[test]
    fn streamed_page_is_the_whole_page() {
        let data = r#"{"a":"</script><!-- x --> <<!--</","b":"<!-<!<"}"#;
        assert_eq!(report_html(data), report_html_whole(data));
        for cut in 0..data.len() {
            assert_eq!(
                streamed(data, &[cut]),
                report_html_whole(data),
                "cut at {cut}"
            );
        }
    }

    proptest! {
        /// Escaping on the way through, in any chunks, equals escaping the whole text.
        #[test]
        fn inline_json_streamed_equals_whole(
            text in "[<!/\\-a]{0,40}",
            mut cuts in proptest::collection::vec(0usize..41, 0..6),
        ) {
            cuts.sort_unstable();
            let mut out = Vec::new();
            let mut w = InlineJson::new(&mut out);
            let mut at = 0;
            for c in cuts {
                let c = c.min(text.len()).max(at);
                w.write_all(&text.as_bytes()[at..c]).unwrap();
                at = c;
            }
            w.write_all(&text.as_bytes()[at..]).unwrap();
            w.finish().unwrap();
            prop_assert_eq!(String::from_utf8(out).unwrap(), inline_json(&text));
        }
    }
}
