//! Rendering Cedar's diagnostics as one readable message: the error, its help, its causes.

use std::fmt::Write;

/// The message of a Cedar error with its help text and its chain of causes.
pub(crate) fn render<E: miette::Diagnostic + ?Sized>(error: &E) -> String {
    let mut text = error.to_string();
    if let Some(help) = error.help() {
        let _ = write!(text, " (help: {help})");
    }
    let mut cause = error.source();
    while let Some(c) = cause {
        let _ = write!(text, ": {c}");
        cause = c.source();
    }
    if let Some(related) = error.related() {
        for r in related {
            let _ = write!(text, "; {}", render(r));
        }
    }
    text
}
