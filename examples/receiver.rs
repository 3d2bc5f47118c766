//! Placeholder: the example receiver lands with the typed-events work.
fn main() {}
