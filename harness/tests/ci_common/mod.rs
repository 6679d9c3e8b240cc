//! What a test does when its data or tool is absent (included with `mod`,
//! not a test): under CI (`CI=true`, set by `.ci/run`) it fails, so a green
//! CI run means the test ran; elsewhere it says so and skips.
//! `scripts/test.sh` prepares everything these tests need.

/// Whether this is a CI run (`CI=true`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
}

/// Reports that `what` is absent: panics under CI, else prints a note (the
/// caller then returns, skipping the test).
pub fn absent(what: &str, how: &str) {
    assert!(
        !in_ci(),
        "{what} is absent and CI=true: this test must run ({how})"
    );
    eprintln!("note: {what} is absent; skipping ({how}; CI=true makes this a failure)");
}
