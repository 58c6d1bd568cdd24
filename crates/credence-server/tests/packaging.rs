//! The deployment files name only what exists: every path the `Dockerfile` copies, every
//! `CREDENCE_*` setting of `deploy/compose.yaml` (the binary starts with them), and the
//! commands of `deploy/credence.service`. None of them is built or run here (no container
//! engine in CI); this keeps them from drifting from the code.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests panic on a broken environment"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_dockerfile_copies_only_what_exists() {
    let dockerfile = read("Dockerfile");
    let mut copied = 0;
    for line in dockerfile.lines().map(str::trim) {
        let Some(args) = line.strip_prefix("COPY ") else {
            continue;
        };
        if args.starts_with("--from=") {
            continue;
        }
        let parts: Vec<&str> = args.split_whitespace().collect();
        for source in &parts[..parts.len() - 1] {
            assert!(root().join(source).exists(), "COPY {source}: no such path");
            copied += 1;
        }
    }
    assert!(copied >= 4, "the workspace is copied: {copied} paths");
    for file in ["LICENSE-MIT", "LICENSE-APACHE", "CHANGELOG.md"] {
        assert!(root().join(file).exists(), "{file}");
    }
}

/// The `CREDENCE_*` variables of the compose file, as `(name, value)`.
fn compose_settings() -> Vec<(String, String)> {
    read("deploy/compose.yaml")
        .lines()
        .filter_map(|line| {
            let (name, value) = line.trim().split_once(':')?;
            name.starts_with("CREDENCE_")
                .then(|| (name.to_owned(), value.trim().trim_matches('"').to_owned()))
        })
        .collect()
}

#[test]
fn the_compose_file_names_only_real_settings() {
    let settings = compose_settings();
    assert!(settings.len() >= 4, "{settings:?}");
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_credence"));
    command.arg("migrate").current_dir(dir.path());
    for (name, value) in &settings {
        // The database is the compose file's PostgreSQL; the key comes from the operator.
        let value = match name.as_str() {
            "CREDENCE_DATABASE_URL" => format!("sqlite://{}", dir.path().join("c.db").display()),
            "CREDENCE_ADMIN_KEY" => "packaging-admin-key-0123456789".to_owned(),
            _ => value.clone(),
        };
        command.env(name, value);
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "credence refuses the compose file's settings: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_systemd_unit_runs_real_commands() {
    let unit = read("deploy/credence.service");
    let mut commands = 0;
    for line in unit.lines() {
        let Some(command) = line
            .strip_prefix("ExecStart=")
            .or_else(|| line.strip_prefix("ExecStartPre="))
        else {
            continue;
        };
        let mut words = command.split_whitespace();
        assert_eq!(words.next(), Some("/usr/local/bin/credence"));
        let args: Vec<&str> = words.collect();
        // `--help` after the subcommand: clap checks the flags and the subcommand, runs nothing.
        let output = Command::new(env!("CARGO_BIN_EXE_credence"))
            .args(&args)
            .arg("--help")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{command}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        commands += 1;
    }
    assert_eq!(commands, 2, "migrate, then serve");
}
