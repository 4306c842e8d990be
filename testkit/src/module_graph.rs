//! In every crate of the workspace, the top-level modules form a DAG: no module
//! reaches, through `crate::` paths, a module that reaches it back. Read from the
//! source, so a new import that closes a cycle fails here with the crate and the cycle
//! named. `cargo test -p kiada-testkit module_graph -- --nocapture` prints the graphs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

// The whole module is tests: it reads the workspace's sources.

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Every `.rs` file at or below `path`.
fn rust_files(path: &Path, files: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            rust_files(&entry.unwrap().path(), files);
        }
    } else if path.is_file() && path.extension().is_some_and(|ext| ext == "rs") {
        files.push(path.to_owned());
    }
}

/// The module names that `text` reaches as `crate::<name>` (also `crate::{a, b}`).
fn crate_references(text: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut found = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        let names: Vec<String> = match rest.strip_prefix('{') {
            Some(group) => group
                .split('}')
                .next()
                .unwrap_or_default()
                .split(',')
                .map(|part| ident(part.trim()))
                .collect(),
            None => vec![ident(rest)],
        };
        found.extend(names.into_iter().filter(|name| modules.contains(name)));
    }
    found
}

/// The top-level modules of the crate whose sources are in `src`, each with the
/// modules it reaches.
fn module_graph(src: &Path) -> Graph {
    let modules: BTreeSet<String> = std::fs::read_dir(src)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        // Modules are `.rs` files and folders; data files beside them are not.
        .filter(|path| path.is_dir() || path.extension().is_some_and(|ext| ext == "rs"))
        .filter_map(|path| Some(path.file_stem()?.to_str()?.to_owned()))
        .filter(|name| name != "lib" && name != "main")
        .collect();
    modules
        .iter()
        .map(|module| {
            let mut files = Vec::new();
            rust_files(&src.join(format!("{module}.rs")), &mut files);
            rust_files(&src.join(module), &mut files);
            let mut reaches = BTreeSet::new();
            for file in files {
                let text = std::fs::read_to_string(&file).unwrap();
                reaches.extend(crate_references(&text, &modules));
            }
            reaches.remove(module);
            (module.clone(), reaches)
        })
        .collect()
}

/// A cycle through `graph`, as the modules along it, if there is one.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        module: &str,
        graph: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|m| m == module) {
            let mut cycle = path[start..].to_vec();
            cycle.push(module.to_owned());
            return Some(cycle);
        }
        if done.contains(module) {
            return None;
        }
        path.push(module.to_owned());
        for next in graph.get(module).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(module.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|module| visit(module, graph, &mut Vec::new(), &mut done))
}

/// The workspace's crates, as folders beside this one, with the fewest top-level
/// modules each has (so that a wrong path cannot pass with an empty graph).
const CRATES: &[(&str, usize)] = &[
    ("service-kit", 10),
    ("testkit", 5),
    ("wire", 2),
    ("quote", 2),
    ("quiz", 5),
    ("kiada", 8),
    ("suite", 0),
    ("e2e", 10),
    ("doc-runner", 5),
    ("xtask", 5),
];

#[test]
fn the_modules_of_every_crate_form_a_dag() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    for (name, at_least) in CRATES {
        let graph = module_graph(&workspace.join(name).join("src"));
        println!("== {name}");
        for (module, reaches) in &graph {
            let reaches: Vec<&str> = reaches.iter().map(String::as_str).collect();
            println!("{module} -> {}", reaches.join(", "));
        }
        assert!(
            graph.len() >= *at_least,
            "{name}: modules not found: {graph:?}"
        );
        if let Some(cycle) = find_cycle(&graph) {
            panic!("{name}: import cycle: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn a_cycle_is_found() {
    let modules: BTreeSet<String> = ["a", "b", "c"].map(String::from).into();
    assert_eq!(
        crate_references("use crate::{a, b::X};\nlet _ = crate::c::f();", &modules),
        modules
    );
    let graph: Graph = [("a", "b"), ("b", "c"), ("c", "a")]
        .into_iter()
        .map(|(from, to)| (from.to_owned(), BTreeSet::from([to.to_owned()])))
        .collect();
    assert_eq!(
        find_cycle(&graph).unwrap(),
        ["a", "b", "c", "a"].map(String::from)
    );
}
