//! The README as a newcomer meets it: its code blocks are compiled by plain
//! `cargo test`, and what it shows matches the files that CI builds.

use std::path::Path;

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|error| panic!("{}: {error}", full.display()))
}

/// The README's fenced blocks: (info string, content).
fn blocks(markdown: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in markdown.lines() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => open = Some((info.trim().to_owned(), String::new())),
            (Some(_), Some("")) => blocks.push(open.take().unwrap()),
            (Some((_, content)), _) => {
                content.push_str(line);
                content.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "an unclosed code block");
    blocks
}

#[test]
fn readme_doctests_run_under_plain_cargo_test() {
    // The README's blocks are doctests of `src/lib.rs` under `cfg(doctest)`
    // alone: no feature the README's `cargo test` leaves off may gate them.
    let lib = read("src/lib.rs");
    let include = lib
        .find("#[doc = include_str!(\"../README.md\")]")
        .expect("src/lib.rs includes the README as doctests");
    let cfg = lib[..include].trim_end().lines().last().unwrap();
    assert_eq!(cfg.trim(), "#[cfg(doctest)]");

    // A Rust block left out of compilation says why, just before it.
    let readme = read("README.md");
    for (info, content) in blocks(&readme) {
        if info.starts_with("rust") && info.contains("ignore") {
            let at = readme.find(&content).unwrap();
            let before = &readme[..at];
            let reason = before.trim_end().rsplit("\n\n").nth(1).unwrap_or_default();
            assert!(
                reason.contains("not compiled by `cargo test`"),
                "an ignored block without a reason: {content}"
            );
        }
    }
    // One name for a declared scheme: `Spec` (`scheme::Hmac` was its former name).
    assert!(!readme.contains("scheme::Hmac") && !readme.contains("Hmac::new"));
}
