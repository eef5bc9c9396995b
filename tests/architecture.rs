//! The house rules the compiler cannot see, checked on the sources: no module of either crate
//! imports, through any chain of others, a module that imports it back (at the level of single
//! modules, and of the top-level rooms docs/architecture.md names); and the core crate names no
//! runtime, network, terminal or file system API. `.ci/run` checks the core's dependency tree.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The module path of each `.rs` file under `root` (`plan::compute`, `""` for `lib.rs`), with its
/// text up to its unit tests (tests may reach anywhere) and without comments.
fn modules(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            // A module's tests in a file of their own may reach anywhere, as inline ones do.
            if path.extension().is_none_or(|e| e != "rs")
                || path.ends_with("main.rs")
                || path.ends_with("tests.rs")
            {
                continue;
            }
            let rel: PathBuf = path.strip_prefix(root).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                parts.pop();
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
            let code: String = code
                .lines()
                .map(|l| l.split("//").next().unwrap_or(""))
                .collect::<Vec<_>>()
                .join("\n");
            out.insert(parts.join("::"), code);
        }
    }
    out
}

/// Every path the code names through `crate::` or `super::`, as absolute module paths, with
/// `use` groups (`a::{b, c::d}`) expanded.
fn paths(module: &str, code: &str) -> Vec<Vec<String>> {
    fn ident(s: &[u8], i: &mut usize) -> Option<String> {
        let start = *i;
        while *i < s.len() && (s[*i].is_ascii_alphanumeric() || s[*i] == b'_') {
            *i += 1;
        }
        (*i > start).then(|| String::from_utf8_lossy(&s[start..*i]).into_owned())
    }
    // Reads `::a::b` or `::{…}` after `prefix`, pushing each complete path.
    fn tail(s: &[u8], i: &mut usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
        let mut path = prefix;
        while s[*i..].starts_with(b"::") {
            *i += 2;
            if s.get(*i) == Some(&b'{') {
                *i += 1;
                loop {
                    while *i < s.len() && (s[*i].is_ascii_whitespace() || s[*i] == b',') {
                        *i += 1;
                    }
                    if *i >= s.len() || s[*i] == b'}' {
                        *i += 1;
                        break;
                    }
                    match ident(s, i) {
                        Some(name) if name == "self" => out.push(path.clone()),
                        Some(name) => {
                            let mut inner = path.clone();
                            inner.push(name);
                            tail(s, i, inner, out);
                        }
                        None => *i += 1,
                    }
                }
                return;
            }
            match ident(s, i) {
                Some(name) => path.push(name),
                None => break,
            }
        }
        out.push(path);
    }
    let s = code.as_bytes();
    let own: Vec<String> = module
        .split("::")
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let boundary = i == 0 || !(s[i - 1].is_ascii_alphanumeric() || s[i - 1] == b'_');
        if boundary && s[i..].starts_with(b"crate::") {
            i += 5;
            tail(s, &mut i, Vec::new(), &mut out);
        } else if boundary && s[i..].starts_with(b"super::") {
            let mut base = own.clone();
            while s[i..].starts_with(b"super::") {
                base.pop();
                i += 5;
                if s[i..].starts_with(b"::super::") {
                    i += 2;
                }
            }
            tail(s, &mut i, base, &mut out);
        } else {
            i += 1;
        }
    }
    out
}

/// Module → the modules it imports. A module's own children are left out: declaring and
/// re-exporting them is what a parent is for.
fn graph(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules(root);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, code) in &modules {
        for path in paths(module, code) {
            let target = (0..=path.len())
                .rev()
                .map(|n| path[..n].join("::"))
                .find(|p| modules.contains_key(p));
            let Some(target) = target else { continue };
            let child = module.is_empty() || target.starts_with(&format!("{module}::"));
            if target != *module && !child {
                edges.entry(module.clone()).or_default().insert(target);
            }
        }
    }
    edges
}

/// The same graph between top-level rooms (`plan::compute` → `plan`).
fn rooms(edges: &BTreeMap<String, BTreeSet<String>>) -> BTreeMap<String, BTreeSet<String>> {
    let room = |m: &str| m.split("::").next().unwrap_or("").to_owned();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, tos) in edges {
        for to in tos {
            let (a, b) = (room(from), room(to));
            if a != b && !a.is_empty() && !b.is_empty() {
                out.entry(a).or_default().insert(b);
            }
        }
    }
    out
}

/// One circle in `edges`, if there is any, as the modules along it.
fn circle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut found = stack[at..].to_vec();
            found.push(node.to_owned());
            return Some(found);
        }
        if !done.insert(node.to_owned()) {
            return None;
        }
        stack.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, edges, done, stack) {
                return Some(found);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|start| visit(start, edges, &mut done, &mut Vec::new()))
}

fn root(crate_dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(crate_dir)
        .join("src")
}

#[test]
fn the_finder_sees_a_circle_through_a_use_group_and_super() {
    let mut edges = BTreeMap::new();
    for (module, code) in [
        ("a", "use crate::b::{self, x::Y};"),
        ("b", "fn f() { super::c::g() }"),
        ("c", "use crate::{a::Z, d};"),
        ("d", ""),
    ] {
        let mut to = BTreeSet::new();
        for path in paths(module, code) {
            to.insert(path[0].clone());
        }
        edges.insert(module.to_owned(), to);
    }
    assert_eq!(circle(&edges).unwrap(), ["a", "b", "c", "a"]);
    edges.get_mut("c").unwrap().remove("a");
    assert_eq!(circle(&edges), None);
}

#[test]
fn no_module_of_either_crate_imports_itself_back() {
    for crate_dir in ["core", "."] {
        let edges = graph(&root(crate_dir));
        assert!(
            edges.len() > 10,
            "{crate_dir}: the graph is empty: {edges:?}"
        );
        if let Some(found) = circle(&edges) {
            panic!(
                "{crate_dir}/src: modules in a circle: {}",
                found.join(" → ")
            );
        }
        if let Some(found) = circle(&rooms(&edges)) {
            panic!("{crate_dir}/src: rooms in a circle: {}", found.join(" → "));
        }
    }
}

#[test]
fn the_core_names_no_runtime_network_terminal_or_file_system_api() {
    let banned = [
        "std::fs",
        "std::net",
        "std::process",
        "std::env",
        "std::io::stdin",
        "std::io::stdout",
        "std::io::stderr",
        "tokio",
        "reqwest",
        "axum",
        "hyper",
        "clap",
        "indicatif",
        "anstream",
        "tempfile",
        "println!",
        "eprintln!",
    ];
    let mut found = Vec::new();
    for (module, code) in modules(&root("core")) {
        for name in banned {
            if code.contains(name) {
                found.push(format!("core::{module} names {name}"));
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}

/// The "may import" column of one of docs/architecture.md's room tables (the one after the
/// line starting `heading`): each room → the rooms it may import (`None`: anything). A cell
/// that says "each other" allows the row's own rooms; "nothing of ours", none; "everything" or
/// "the areas whose errors it wraps", anything. A room named with a path (`plan::file`,
/// `sim::limiter`) counts as its top-level room.
fn may_import(doc: &str, heading: &str) -> BTreeMap<String, Option<BTreeSet<String>>> {
    fn ticked(cell: &str) -> BTreeSet<String> {
        // Only the names outside parentheses: `api` (`client`) names the room `api`.
        let mut depth = 0;
        let mut outside = String::new();
        for c in cell.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ if depth == 0 => outside.push(c),
                _ => {}
            }
        }
        outside
            .split('`')
            .skip(1)
            .step_by(2)
            .map(|name| name.split("::").next().unwrap_or(name).to_owned())
            .collect()
    }
    let start = doc
        .lines()
        .position(|l| l.starts_with(heading))
        .unwrap_or_else(|| panic!("docs/architecture.md has no line starting {heading:?}"));
    let mut out = BTreeMap::new();
    for line in doc
        .lines()
        .skip(start + 1)
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
    {
        let cells: Vec<&str> = line.split(" | ").collect();
        let (rooms, allowed) = (ticked(cells[0]), cells[cells.len() - 1]);
        let allowed = if allowed.contains("each other") {
            Some(rooms.clone())
        } else if allowed.contains("nothing of ours") {
            Some(BTreeSet::new())
        } else if allowed.contains("everything") || allowed.contains("whose errors") {
            None
        } else {
            Some(ticked(allowed))
        };
        for room in rooms {
            out.insert(room, allowed.clone());
        }
    }
    out
}

#[test]
fn every_room_imports_only_what_the_architecture_says_it_may() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/architecture.md"))
            .unwrap();
    let mut wrong = Vec::new();
    for (crate_dir, heading) in [("core", "In `mailshift-core`"), (".", "In `mailshift` (")] {
        let table = may_import(&doc, heading);
        assert!(
            table.len() > 5,
            "{crate_dir}: the table was not read: {table:?}"
        );
        let edges = graph(&root(crate_dir));
        for (from, tos) in rooms(&edges) {
            let Some(allowed) = table.get(&from) else {
                wrong.push(format!(
                    "{crate_dir}/src: room `{from}` is not in the table"
                ));
                continue;
            };
            for to in tos {
                // A shell room that only re-exports a core room counts as the core room, which
                // every shell room may import.
                let core_room = crate_dir == "." && !table.contains_key(&to);
                if allowed.as_ref().is_some_and(|a| !a.contains(&to)) && !core_room {
                    wrong.push(format!("{crate_dir}/src: `{from}` imports `{to}`"));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports docs/architecture.md does not allow:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_table_reader_takes_rooms_outside_parentheses_and_the_special_cells() {
    let doc = "In `x`:\n\n| room | what | may import |\n|---|---|---|\n\
               | `a`, `b` | x | each other |\n\
               | `c` (`d`, `e`) | the loop (`f`) | `a`, `sim::limiter` (harness) |\n\
               | `g` | x | nothing of ours |\n\
               | `h` | x | everything |\n\nafter\n";
    let t = may_import(doc, "In `x`");
    let set = |v: &[&str]| Some(v.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>());
    assert_eq!(t["a"], set(&["a", "b"]));
    assert_eq!(t["c"], set(&["a", "sim"]));
    assert!(
        !t.contains_key("d"),
        "a submodule in parentheses is not a room"
    );
    assert_eq!(t["g"], set(&[]));
    assert_eq!(t["h"], None);
}
