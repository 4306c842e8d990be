//! The configuration as documented: the settings a binary's `--help` lists and those the
//! README's configuration tables list, read as rows so that each service's test can
//! compare the two (`tests/config_doc.rs` in each service runs its binary's `--help`).
//!
//! A README configuration table has the header `| variable (flag) | services | default |
//! meaning |` (a service's own README leaves out `services`). The first cell lists
//! `` `VARIABLE` (`--flag`) `` entries separated by commas; `services` is `all` or
//! service names; `default` is the declared default (in backticks or not), or words
//! without backticks (`none`, `built-in`, ...) for a setting without one.

use std::collections::BTreeMap;

/// One setting as a document shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub flag: Option<String>,
    /// The default's text: the value for `--help`, the table cell for a README.
    pub default: Option<String>,
}

/// Variable name to row.
pub type Rows = BTreeMap<String, Row>;

/// The settings in `--help` output: every entry tagged `[env: VARIABLE]`.
pub fn from_help(help: &str) -> Rows {
    let mut blocks: Vec<String> = Vec::new();
    for line in help.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let starts = trimmed.starts_with('-') || (indent <= 2 && !trimmed.is_empty());
        if starts || blocks.is_empty() {
            blocks.push(String::new());
        }
        let block = blocks.last_mut().expect("a block was started");
        block.push_str(line);
        block.push('\n');
    }
    let mut rows = Rows::new();
    for block in blocks {
        let Some(variable) = between(&block, "[env: ", "]") else {
            continue;
        };
        let first = block.lines().next().unwrap_or_default().trim_start();
        let flag = first.starts_with('-').then(|| {
            first
                .split([',', ' ', '='])
                .find(|word| word.starts_with("--"))
                .map(str::to_owned)
        });
        let default = between(&block, "[default: ", "]");
        rows.insert(
            variable,
            Row {
                flag: flag.flatten(),
                default,
            },
        );
    }
    rows
}

/// The rows of `markdown`'s configuration tables that apply to `service`.
pub fn from_readme(markdown: &str, service: &str) -> Rows {
    let mut rows = Rows::new();
    let mut columns: Option<(Option<usize>, usize)> = None;
    for line in markdown.lines() {
        let Some(cells) = cells(line) else {
            columns = None;
            continue;
        };
        if cells[0].to_lowercase().starts_with("variable") {
            let find = |name: &str| {
                cells
                    .iter()
                    .position(|cell| cell.eq_ignore_ascii_case(name))
            };
            columns = find("default").map(|default| (find("services"), default));
            continue;
        }
        let Some((services, default)) = columns else {
            continue;
        };
        if cells
            .iter()
            .all(|cell| cell.chars().all(|c| c == '-' || c == ':'))
        {
            continue;
        }
        if let Some(services) = services.and_then(|index| cells.get(index)) {
            let named = services
                .split([',', ' '])
                .map(|name| name.trim_matches('`'));
            if !named.clone().any(|name| name == "all" || name == service) {
                continue;
            }
        }
        let default = cells.get(default).cloned();
        let mut last: Option<String> = None;
        for (index, token) in cells[0].split('`').enumerate() {
            if index % 2 == 0 {
                continue;
            }
            if token.starts_with("--") {
                if let Some(row) = last.as_ref().and_then(|variable| rows.get_mut(variable)) {
                    row.flag = Some(token.to_owned());
                }
            } else {
                last = Some(token.to_owned());
                let row = Row {
                    flag: None,
                    default: default.clone(),
                };
                rows.insert(token.to_owned(), row);
            }
        }
    }
    rows
}

/// What differs between `help` and `readme` (empty when they agree). A README's default
/// matches when it is the help's default, with or without backticks; for a setting
/// without a default it must be words, not a value in backticks.
pub fn differences(help: &Rows, readme: &Rows) -> Vec<String> {
    let mut differences = Vec::new();
    for (variable, row) in help {
        let Some(documented) = readme.get(variable) else {
            differences.push(format!("{variable} is in --help but not in the README"));
            continue;
        };
        if documented.flag != row.flag {
            differences.push(format!(
                "{variable}: --help has flag {:?}, the README {:?}",
                row.flag, documented.flag
            ));
        }
        let cell = documented.default.as_deref().unwrap_or_default();
        let agrees = match &row.default {
            Some(default) => cell.trim_matches('`') == default,
            None => !cell.starts_with('`'),
        };
        if !agrees {
            differences.push(format!(
                "{variable}: --help has default {:?}, the README {cell:?}",
                row.default
            ));
        }
    }
    for variable in readme
        .keys()
        .filter(|variable| !help.contains_key(*variable))
    {
        differences.push(format!("{variable} is in the README but not in --help"));
    }
    differences
}

/// What differs between `binary --help` and the README tables of `service`: the main
/// README's rows for it (`all` or its name) must be exactly the settings in the help; its
/// own README, when it has a table, exactly those that are not `all`.
pub fn compare_help_with_readme(
    binary: &str,
    service: &str,
    (main_readme, own_readme): (&str, Option<&str>),
) -> Vec<String> {
    match std::process::Command::new(binary).arg("--help").output() {
        Ok(output) => {
            let help = String::from_utf8_lossy(&output.stdout);
            compare(service, &help, main_readme, own_readme)
        }
        Err(error) => vec![format!("{binary} --help did not run: {error}")],
    }
}

fn compare(service: &str, help: &str, main_readme: &str, own_readme: Option<&str>) -> Vec<String> {
    let help = from_help(help);
    if help.is_empty() {
        return vec![format!("{service}'s --help lists no settings")];
    }
    let main = from_readme(main_readme, service);
    let mut found = differences(&help, &main);
    if let Some(own) = own_readme {
        let shared = from_readme(main_readme, "all");
        let own_settings: Rows = help
            .into_iter()
            .filter(|(variable, _)| !shared.contains_key(variable))
            .collect();
        let own = from_readme(own, service);
        let mut extra = differences(&own_settings, &own);
        for difference in &mut extra {
            *difference = format!("{service}'s own README: {difference}");
        }
        found.extend(extra);
    }
    found
}

fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(text[from..to].to_owned())
}

/// The cells of a Markdown table row, trimmed; `None` for any other line.
fn cells(line: &str) -> Option<Vec<String>> {
    let inner = line.trim().strip_prefix('|')?.strip_suffix('|')?;
    Some(
        inner
            .split('|')
            .map(|cell| cell.trim().to_owned())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_help_layouts_and_the_environment_only_lines() {
        let help = "Options:\n      --listen-port <PORT>  HTTP port [env: LISTEN_PORT] [default: 8080]\n      \
                    --tips-file <PATH>\n          Tips [env: QUOTE_TIPS_FILE]\n\n          [default: x]\n  \
                    -h, --help  Print help\n\nRead from the environment only:\n  \
                    RUST_LOG  levels [env: RUST_LOG] [default: info]\n";
        let rows = from_help(help);
        let row = |flag: Option<&str>, default: &str| Row {
            flag: flag.map(str::to_owned),
            default: Some(default.to_owned()),
        };
        assert_eq!(rows["LISTEN_PORT"], row(Some("--listen-port"), "8080"));
        assert_eq!(rows["QUOTE_TIPS_FILE"], row(Some("--tips-file"), "x"));
        assert_eq!(rows["RUST_LOG"], row(None, "info"));
        assert_eq!(rows.len(), 3);
    }

    #[test]
    fn reads_the_rows_of_one_service_and_compares() {
        let readme = "| variable (flag) | services | default | meaning |\n| --- | --- | --- | --- |\n\
                      | `LISTEN_PORT` (`--listen-port`) | all | 8080 | port |\n\
                      | `A` (`--a`), `B` (`--b`) | kiada | none | x |\n\
                      | `C` (`--c`) | quote | 1 | y |\n\n| `D` | all | 2 | not a config table |\n";
        let rows = from_readme(readme, "kiada");
        assert_eq!(rows.keys().collect::<Vec<_>>(), ["A", "B", "LISTEN_PORT"]);
        assert_eq!(rows["B"].flag.as_deref(), Some("--b"));
        let help = from_help(
            "      --listen-port <P>  p [env: LISTEN_PORT] [default: 8080]\n      \
             --a <A>  a [env: A]\n      --bee <B>  b [env: B] [default: 3]\n",
        );
        assert_eq!(
            differences(&help, &rows),
            [
                "B: --help has flag Some(\"--bee\"), the README Some(\"--b\")",
                "B: --help has default Some(\"3\"), the README \"none\""
            ]
        );
    }
}
