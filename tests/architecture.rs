//! The layering of `src/` (docs/ARCHITECTURE.md): each top-level module imports only from
//! its own layer or the layers below, and no top-level module imports itself back through
//! another. Read from the source text, so a new `crate::…` path that breaks either fails
//! here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Lowest first. A module in the same layer may be imported, as long as no cycle forms.
const LAYERS: &[&[&str]] = &[
    &["domain"],
    &[
        "db",
        "error",
        "config",
        "metrics",
        "telemetry",
        "pagination",
    ],
    &["store"],
    &[
        "jobs",
        "feed",
        "realtime",
        "cascade",
        "account_deletion",
        "media_keys",
        "view_counter",
        "check",
        "email",
        "auth",
        "views",
    ],
    &["core"],
    &["api"],
    &["main", "cli", "startup", "lib"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules a source text names through `crate::`, including the ones in
/// a grouped `use crate::{a::b, c};`.
fn crate_references(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        // `rookery::crate::` cannot occur; skip `$crate::` in macros.
        if text[..at].ends_with('$') {
            continue;
        }
        let rest = &text[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut part = String::new();
            let mut parts = Vec::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => parts.push(std::mem::take(&mut part)),
                    _ if depth == 0 => part.push(c),
                    _ => {}
                }
            }
            parts.push(part);
            for part in parts {
                let name = identifier(part.trim_start());
                if !name.is_empty() {
                    found.insert(name);
                }
            }
        } else {
            let name = identifier(rest);
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

fn identifier(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// Top-level module → the top-level modules it imports (itself left out).
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(&src).expect("under src/");
        let first = relative
            .components()
            .next()
            .expect("a path")
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_owned();
        let text = std::fs::read_to_string(&file).expect("a source file");
        let entry = graph.entry(module.clone()).or_default();
        for target in crate_references(&text) {
            if target != module {
                entry.insert(target);
            }
        }
    }
    graph
}

#[test]
fn every_module_imports_only_its_own_layer_or_below() {
    let graph = imports();
    let mut wrong = Vec::new();
    for (module, targets) in &graph {
        let Some(layer) = layer_of(module) else {
            wrong.push(format!("{module} is in no layer (add it to LAYERS)"));
            continue;
        };
        for target in targets {
            match layer_of(target) {
                Some(l) if l <= layer => {}
                Some(_) => wrong.push(format!("{module} imports {target}, a layer above it")),
                None => wrong.push(format!("{module} imports {target}, which is in no layer")),
            }
        }
    }
    assert!(graph.contains_key("core") && graph.contains_key("api"));
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_module_imports_itself_back() {
    let graph = imports();
    // A depth-first walk from each module; reaching the start again is a cycle.
    let mut cycles = Vec::new();
    for start in graph.keys() {
        let mut stack: Vec<Vec<&String>> = vec![vec![start]];
        let mut seen = BTreeSet::new();
        while let Some(path) = stack.pop() {
            let last = *path.last().expect("a non-empty path");
            for next in graph.get(last).into_iter().flatten() {
                if next == start {
                    let names: Vec<&str> = path.iter().map(|m| m.as_str()).collect();
                    cycles.push(format!("{} → {start}", names.join(" → ")));
                } else if seen.insert(next) {
                    let mut longer = path.clone();
                    longer.push(next);
                    stack.push(longer);
                }
            }
        }
    }
    assert!(cycles.is_empty(), "{}", cycles.join("\n"));
}

#[test]
fn grouped_imports_are_read() {
    let text = "use crate::{store::posts, core::{viewer, Services}};\nlet x = crate::db::Db;";
    let found: Vec<String> = crate_references(text).into_iter().collect();
    assert_eq!(found, ["core", "db", "store"]);
}
