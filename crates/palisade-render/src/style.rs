//! Terminal colours, decided once by the caller (TTY, `NO_COLOR`, `--color`).

/// Whether to emit ANSI colours.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Style {
    /// Emit ANSI escape codes.
    pub color: bool,
}

impl Style {
    /// No colours.
    pub const PLAIN: Style = Style { color: false };

    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// Bold red: errors, denials.
    pub fn red(self, text: &str) -> String {
        self.paint("1;31", text)
    }

    /// Bold yellow: warnings.
    pub fn yellow(self, text: &str) -> String {
        self.paint("1;33", text)
    }

    /// Bold green: allowed.
    pub fn green(self, text: &str) -> String {
        self.paint("1;32", text)
    }

    /// Bold blue: gutters and locations.
    pub fn blue(self, text: &str) -> String {
        self.paint("1;34", text)
    }

    /// Bold.
    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    /// Dim.
    pub fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }
}
