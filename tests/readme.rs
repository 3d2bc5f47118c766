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

/// The README's section `heading`, up to the next `## `.
fn section<'a>(readme: &'a str, heading: &str) -> &'a str {
    let start = readme
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("no {heading:?} in the README"));
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |at| at + 3);
    &rest[..end]
}

#[test]
fn the_quickstart_blocks_are_the_quickstart_crate_that_ci_builds() {
    let readme = read("README.md");
    let quickstart = blocks(section(&readme, "## Quickstart (axum)"));
    let toml = quickstart
        .iter()
        .find(|(info, _)| info == "toml")
        .expect("the quickstart shows its [dependencies]");
    let code = quickstart
        .iter()
        .find(|(info, _)| info.starts_with("rust"))
        .expect("the quickstart shows its main.rs");

    let manifest = read("quickstart/Cargo.toml");
    let start = manifest.find("\n[dependencies]\n").expect("[dependencies]") + 1;
    let end = manifest[start..]
        .find("\n\n")
        .map_or(manifest.len(), |at| start + at + 1);
    assert_eq!(
        toml.1,
        manifest[start..end],
        "README's block vs quickstart/Cargo.toml"
    );
    assert_eq!(
        code.1,
        read("quickstart/src/main.rs"),
        "README's block vs quickstart/src/main.rs"
    );

    // What a newcomer needs from the first paste: the features it uses, and
    // a subscriber, or the handler's log line goes nowhere.
    assert!(toml.1.contains("tower-webhook = "));
    for used in ["axum", "serde", "tokio", "tracing", "tracing-subscriber"] {
        assert!(
            toml.1.contains(&format!("\n{used} = ")),
            "{used} is not in {}",
            toml.1
        );
    }
    assert_eq!(
        code.1.matches("tracing_subscriber::").count(),
        1,
        "one subscriber line"
    );
    // CI builds the crate as it is locked.
    let ci = read(".ci/run");
    assert!(ci.contains("(cd quickstart && cargo fmt -- --check && cargo build --locked)"));
}

#[test]
fn the_readme_is_a_front_door_that_links_every_provider_to_its_rustdoc() {
    let readme = read("README.md");
    // The sections others keep up to date stay where readers look for them.
    for heading in [
        "## Security considerations",
        "## Several replicas",
        "## Performance",
        "## Status codes",
    ] {
        assert!(
            readme.lines().any(|line| line.starts_with(heading)),
            "{heading} is gone"
        );
    }
    // No table wider than a screen: the provider table lives in rustdoc.
    for line in readme.lines().filter(|line| line.starts_with("|---")) {
        assert!(
            line.matches('|').count() <= 5,
            "a table of more than 4 columns: {line}"
        );
    }
    let scheme_docs = read("src/scheme/mod.rs");
    assert!(
        scheme_docs.contains("//! # Providers"),
        "the provider table is in the scheme module's docs"
    );
    // Every preset the crate exports is linked from the README to its page.
    let providers = section(&readme, "## Providers");
    let exports = read("src/scheme/provider/mod.rs");
    let mut presets = Vec::new();
    for line in exports.lines().filter(|line| line.starts_with("pub use self::")) {
        let names = line.rsplit("::").next().unwrap().trim_end_matches(';');
        let names = names.trim_matches(|c| c == '{' || c == '}');
        presets.extend(
            names
                .split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty() && !name.ends_with("Endpoint"))
                .map(str::to_owned),
        );
    }
    assert!(presets.len() >= 30, "{presets:?}");
    for preset in presets {
        let page = |kind: &str| format!("scheme/{kind}.{preset}.html");
        assert!(
            providers.contains(&page("struct")) || providers.contains(&page("type")),
            "{preset} has no link to its rustdoc page in the README"
        );
    }
}
