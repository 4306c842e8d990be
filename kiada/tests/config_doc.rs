//! `kiada --help` and the README configuration tables list the same settings, with the
//! same flags and defaults: both come from one declaration, and this keeps the README so.

#[test]
fn help_and_readme_list_the_same_settings() {
    let readmes = (
        include_str!("../../README.md"),
        Some(include_str!("../README.md")),
    );
    let found =
        service_kit::compare_help_with_readme(env!("CARGO_BIN_EXE_kiada"), "kiada", readmes);
    assert!(found.is_empty(), "{}", found.join("\n"));
}
