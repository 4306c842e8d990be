//! Which binaries are measured, and how they are built.
//!
//! The services are built exactly as CI and the images build them
//! (`cargo build --release --workspace --locked`): no `--examples` or `--all-targets`, which
//! would unify dev-dependencies' features into the libraries and measure a build that
//! never ships. The references live in `bench/`, a workspace of their own (see
//! bench/Cargo.toml for why), and are built apart into the same target directory.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail, ensure};
use serde::Deserialize;

/// Where cargo puts the release binaries, relative to the workspace root.
pub const RELEASE: &str = "target/release";

/// How the shipped binaries are built: what CI and the images run.
const SHIPPED_BUILD: &[&str] = &["build", "--release", "--workspace", "--locked"];

/// How the references are built: their own workspace, the same target directory.
const REFERENCES_BUILD: &[&str] = &[
    "build",
    "--release",
    "--locked",
    "--manifest-path",
    "bench/Cargo.toml",
    "--target-dir",
    "target",
];

/// The workspace root (this package's parent directory).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_owned()
}

/// The shipped services.
pub const SERVICES: [&str; 3] = ["kiada", "quote", "quiz"];

/// The references in bench/: the hello ceiling and kiada's fan-out floor.
pub const REFERENCES: [&str; 2] = ["kiada-bench-hello", "kiada-bench-floor"];

/// What `cargo run` (and so `cargo xtask`) sets for the program it runs, which a nested
/// cargo must not see: build scripts that watch these variables (ring's watches
/// CARGO_MANIFEST_DIR and CARGO_PKG_NAME, for one) would rerun, and with them every crate
/// above them, once here and again at the next cargo build from a shell.
fn is_set_by_cargo_run(variable: &str) -> bool {
    variable.starts_with("CARGO_PKG_")
        || [
            "CARGO_MANIFEST_DIR",
            "CARGO_MANIFEST_PATH",
            "CARGO_CRATE_NAME",
            "CARGO_BIN_NAME",
            "CARGO_PRIMARY_PACKAGE",
        ]
        .contains(&variable)
}

/// `cargo <args>` with the environment of the shell that ran `cargo xtask`.
fn cargo_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO"));
    command.args(args);
    for (variable, _) in std::env::vars_os() {
        if variable.to_str().is_some_and(is_set_by_cargo_run) {
            command.env_remove(variable);
        }
    }
    command
}

fn cargo(args: &[&str]) -> anyhow::Result<()> {
    let status = cargo_command(args).status().context("cannot run cargo")?;
    ensure!(status.success(), "`cargo {}` failed", args.join(" "));
    Ok(())
}

/// Builds the shipped services as CI and the images do.
pub fn build_shipped() -> anyhow::Result<()> {
    cargo(SHIPPED_BUILD)
}

/// Builds the references, apart from the services.
pub fn build_references() -> anyhow::Result<()> {
    cargo(REFERENCES_BUILD)
}

/// The path of each named binary in target/release, or which one is missing and how to
/// build it.
pub fn locate<const N: usize>(names: [&str; N]) -> anyhow::Result<[PathBuf; N]> {
    locate_in(Path::new(RELEASE), names)
}

fn locate_in<const N: usize>(dir: &Path, names: [&str; N]) -> anyhow::Result<[PathBuf; N]> {
    let paths = names.map(|name| dir.join(name));
    for (name, path) in names.iter().zip(&paths) {
        if !path.is_file() {
            let build = if REFERENCES.contains(name) {
                REFERENCES_BUILD
            } else {
                SHIPPED_BUILD
            };
            bail!(
                "{} is missing: run without --no-build (or cargo {})",
                path.display(),
                build.join(" ")
            );
        }
    }
    Ok(paths)
}

#[derive(Deserialize)]
struct Metadata {
    packages: Vec<Package>,
}

#[derive(Deserialize, PartialEq, Eq, PartialOrd, Ord)]
struct Package {
    name: String,
    version: String,
    /// None for a path package (this project's own).
    source: Option<String>,
}

/// Every crates.io package (name and version) in a workspace's lock file, through
/// `cargo metadata`.
fn locked_packages(manifest: &Path) -> anyhow::Result<BTreeSet<(String, String)>> {
    let output = cargo_command(&["metadata", "--locked", "--format-version", "1"])
        .arg("--manifest-path")
        .arg(manifest)
        .output()
        .context("cannot run cargo metadata")?;
    ensure!(
        output.status.success(),
        "cargo metadata --manifest-path {} failed: {}",
        manifest.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Metadata = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("cannot read cargo metadata of {}", manifest.display()))?;
    Ok(metadata
        .packages
        .into_iter()
        .filter(|package| package.source.is_some())
        .map(|package| (package.name, package.version))
        .collect())
}

/// The references run on the very crates the services run on: every package version in
/// bench/Cargo.lock is one that Cargo.lock holds (`root`: the workspace root).
pub fn check_same_stack(root: &Path) -> anyhow::Result<()> {
    let services = locked_packages(&root.join("Cargo.toml"))?;
    let references = locked_packages(&root.join("bench/Cargo.toml"))?;
    let foreign: Vec<String> = references
        .difference(&services)
        .map(|(name, version)| format!("{name} {version}"))
        .collect();
    ensure!(
        foreign.is_empty(),
        "bench/Cargo.lock has versions that Cargo.lock lacks ({}): \
         cp Cargo.lock bench/Cargo.lock && cargo update --manifest-path bench/Cargo.toml --workspace",
        foreign.join(", ")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_binary_says_how_to_build_it_in_one_line() {
        let empty = tempfile::tempdir().unwrap();
        let dir = empty.path().join("target/release");
        let service = locate_in(&dir, ["kiada"]).unwrap_err();
        assert_eq!(
            format!("{service:#}"),
            format!(
                "{}/kiada is missing: run without --no-build \
                 (or cargo build --release --workspace --locked)",
                dir.display()
            )
        );
        let reference = locate_in(&dir, ["kiada-bench-floor"]).unwrap_err();
        assert_eq!(
            format!("{reference:#}"),
            format!(
                "{}/kiada-bench-floor is missing: run without --no-build (or cargo build \
                 --release --locked --manifest-path bench/Cargo.toml --target-dir target)",
                dir.display()
            )
        );
    }

    #[test]
    fn a_present_binary_is_found() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("quote"), "").unwrap();
        let [quote] = locate_in(dir.path(), ["quote"]).unwrap();
        assert_eq!(quote, dir.path().join("quote"));
    }

    #[test]
    fn nested_cargo_does_not_see_what_cargo_run_set() {
        for variable in [
            "CARGO_MANIFEST_DIR",
            "CARGO_PKG_NAME",
            "CARGO_PKG_VERSION_MAJOR",
        ] {
            assert!(is_set_by_cargo_run(variable), "{variable}");
        }
        for variable in [
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_TERM_COLOR",
            "RUSTFLAGS",
        ] {
            assert!(!is_set_by_cargo_run(variable), "{variable}");
        }
        // cargo test sets CARGO_MANIFEST_DIR and CARGO_PKG_NAME for this test too.
        let removed: Vec<_> = cargo_command(&["version"])
            .get_envs()
            .filter(|(_, value)| value.is_none())
            .map(|(variable, _)| variable.to_string_lossy().into_owned())
            .collect();
        assert!(
            removed.contains(&"CARGO_MANIFEST_DIR".to_owned()),
            "{removed:?}"
        );
        assert!(
            removed.contains(&"CARGO_PKG_NAME".to_owned()),
            "{removed:?}"
        );
    }

    #[test]
    fn the_references_run_on_the_services_crates() {
        check_same_stack(&workspace_root()).unwrap();
    }
}
