//! A Mermaid picture of the plan's groups that have more than one step — frees, chains, swaps
//! and cycles — so that a reviewer sees why a step waits for another and why a cycle needs a
//! temporary address. Addresses are the boxes; each arrow is one step moving an account.

use crate::plan::{Groups, Plan, Step, StepKind};
use std::collections::HashMap;
use std::io::{self, Write};

/// More than this many groups make a picture nobody reads; the rest are counted.
const MOST_GROUPS: usize = 40;

/// Writes a fenced `mermaid` block, or nothing when every group is a single step.
pub(super) fn render(plan: &Plan, out: &mut dyn Write) -> io::Result<()> {
    let groups = groups(&plan.steps);
    if groups.is_empty() {
        return Ok(());
    }
    writeln!(out, "```mermaid\nflowchart LR")?;
    let mut ids: HashMap<String, usize> = HashMap::new();
    for steps in groups.iter().take(MOST_GROUPS) {
        let group = steps[0].group;
        let steps = &steps[..];
        writeln!(
            out,
            "  subgraph g{group} [\"group {group}: {}\"]",
            shape(steps)
        )?;
        for &s in steps {
            if s.kind == StepKind::Unlink {
                continue;
            }
            let from = node(&mut ids, &s.from, out)?;
            let to = node(&mut ids, &s.to, out)?;
            let arrow = if s.kind == StepKind::Rename {
                "-->"
            } else {
                "-.->"
            };
            writeln!(
                out,
                "    a{from} {arrow}|\"{}. {}{}\"| a{to}",
                s.id,
                text(if s.name.is_empty() {
                    &s.account_id
                } else {
                    &s.name
                }),
                match s.kind {
                    StepKind::Free => " (freed)",
                    StepKind::Temporary => " (temporary)",
                    _ => "",
                }
            )?;
        }
        writeln!(out, "  end")?;
    }
    writeln!(out, "```")?;
    if groups.len() > MOST_GROUPS {
        writeln!(
            out,
            "\n{} more groups of several steps are in the table above.",
            groups.len() - MOST_GROUPS
        )?;
    }
    Ok(())
}

/// The plan's groups of two or more steps, in plan order, as the plan's one group index has
/// them (the pilot's selection and the executor read the same).
fn groups(steps: &[Step]) -> Vec<Vec<&Step>> {
    Groups::of_steps(steps)
        .iter()
        .filter(|members| members.len() > 1)
        .map(|members| members.iter().map(|id| &steps[id.index()]).collect())
        .collect()
}

/// What kind of dependency the group is, said in words.
fn shape(steps: &[&Step]) -> &'static str {
    if steps.iter().any(|s| s.kind == StepKind::Temporary) {
        "a swap or cycle: one account is parked on a temporary address"
    } else if steps.iter().any(|s| s.kind == StepKind::Free) {
        "a holder is freed before the rename that needs its address"
    } else {
        "a chain: each rename waits for the address to be let go"
    }
}

/// The box for an address (letter case aside), declared the first time it is met.
fn node(ids: &mut HashMap<String, usize>, address: &str, out: &mut dyn Write) -> io::Result<usize> {
    let key = crate::model::email_key(address);
    if let Some(&id) = ids.get(&key) {
        return Ok(id);
    }
    let id = ids.len();
    ids.insert(key, id);
    writeln!(out, "    a{id}[\"{}\"]", text(address))?;
    Ok(id)
}

/// Text inside a quoted Mermaid label: quotes and the characters Mermaid reads as markup
/// become entity codes, so an address or a name cannot break the diagram.
fn text(s: &str) -> String {
    let s = crate::inert::terminal(s);
    let mut t = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => t.push_str("#quot;"),
            '#' => t.push_str("#35;"),
            '<' => t.push_str("#lt;"),
            '>' => t.push_str("#gt;"),
            '|' => t.push_str("#124;"),
            '`' => t.push_str("#96;"),
            c => t.push(c),
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_cannot_break_out_of_their_quotes() {
        assert_eq!(
            text("a\"b|c#d<e>f`g\nh"),
            "a#quot;b#124;c#35;d#lt;e#gt;f#96;g\\nh"
        );
    }
}
