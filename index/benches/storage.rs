//! Storage figures (filled in by a later commit).

fn main() {}
