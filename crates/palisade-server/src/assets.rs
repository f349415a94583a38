//! The page and its libraries, embedded in the binary: no Node.js to build, no CDN at run
//! time.

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

/// Makes JSON safe inside a `<script>` element (`<\/` is a valid JSON escape of `</`).
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
