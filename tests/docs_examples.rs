//! Every `console` block of the README and of `docs/` is run, and its output checked, so the
//! documentation cannot drift from the binary. A block is one shell session in a scratch folder
//! holding a copy of `fixtures/`, with `mailshift` on the PATH and no credentials in the
//! environment. `$ ` starts a command; the lines up to the next `$ ` are its expected output
//! (standard output and error together), where `...` alone on a line stands for any lines and
//! `[..]` for any text within a line (snapbox's syntax, as trycmd's). A command ending in `&`
//! runs in the background; the session waits for its first line of output, which is checked
//! only if the example shows it. `sh` blocks are
//! templates with placeholders and are not run.
//!
//! `MAILSHIFT_DOCS_SHOW=1 cargo test --test docs_examples` prints what each command printed,
//! for writing a new example.

use std::path::{Path, PathBuf};
use std::process::Command;

struct Example {
    command: String,
    expected: String,
}

struct Block {
    line: usize,
    examples: Vec<Example>,
}

fn blocks(file: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(file).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<Block> = None;
    for (i, line) in text.lines().enumerate() {
        match &mut current {
            None if line.trim_start() == "```console" => {
                current = Some(Block {
                    line: i + 1,
                    examples: Vec::new(),
                });
            }
            None => {}
            Some(_) if line.trim_start() == "```" => blocks.extend(current.take()),
            Some(block) => {
                if let Some(command) = line.strip_prefix("$ ") {
                    block.examples.push(Example {
                        command: command.to_owned(),
                        expected: String::new(),
                    });
                } else if let Some(last) = block.examples.last_mut() {
                    last.expected.push_str(line);
                    last.expected.push('\n');
                }
            }
        }
    }
    blocks
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// Runs a block's commands in one shell; returns each command's output.
fn run(block: &Block) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&root.join("fixtures"), &dir.path().join("fixtures"));
    let mut script =
        String::from("set +e\ntrap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null' EXIT\n");
    for (i, example) in block.examples.iter().enumerate() {
        let out = format!(".out{i}");
        match example.command.trim_end().strip_suffix('&') {
            Some(background) => script.push_str(&format!(
                "{background} > {out} 2>&1 &\nfor _ in $(seq 200); do [ -s {out} ] && break; sleep 0.05; done\n"
            )),
            None => script.push_str(&format!("{{ {}\n}} > {out} 2>&1\n", example.command)),
        }
    }
    let bin = Path::new(env!("CARGO_BIN_EXE_mailshift")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let status = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env("MAILSHIFT_LOCK_DIR", dir.path().join(".plan-locks"))
        .env_remove("ATLASSIAN_API_KEY")
        .env_remove("ATLASSIAN_ORG_ID")
        .env_remove("MAILSHIFT_API_URL")
        .env_remove("MAILSHIFT_OPERATOR")
        .status()
        .unwrap();
    assert!(status.code().is_some(), "the session was killed");
    (0..block.examples.len())
        .map(|i| std::fs::read_to_string(dir.path().join(format!(".out{i}"))).unwrap_or_default())
        .collect()
}

#[test]
fn every_console_example_in_the_readme_and_docs_prints_what_it_shows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    let show = std::env::var_os("MAILSHIFT_DOCS_SHOW").is_some();
    let mut commands = 0;
    for file in &files {
        for block in blocks(file) {
            let outputs = run(&block);
            for (example, actual) in block.examples.iter().zip(&outputs) {
                commands += 1;
                let place = format!(
                    "{}:{}: $ {}",
                    file.strip_prefix(root).unwrap().display(),
                    block.line,
                    example.command
                );
                if show {
                    println!("{place}\n{actual}");
                    continue;
                }
                // A background command's output is shown only when the example says what it is.
                let background = example.command.trim_end().ends_with('&');
                if background && example.expected.is_empty() {
                    continue;
                }
                eprintln!("checking {place}");
                snapbox::assert_data_eq!(actual.as_str(), example.expected.as_str());
            }
        }
    }
    assert!(commands >= 10, "only {commands} example commands found");
}
