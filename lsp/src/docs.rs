//! Hover documentation, in the spec's own words: the tables of spec.md
//! (compiled in) are read once, keyed by section and word.

use std::collections::HashMap;
use std::sync::OnceLock;

const SPEC: &str = include_str!("../../spec.md");

/// Which table of spec.md a word's description comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    Rule,
    FsAccess,
    Signal,
    Ptrace,
    NetAccess,
    Capability,
    SysAccess,
    Attribute,
    FileAttribute,
}

fn topic_of(heading: &str) -> Option<Topic> {
    Some(match heading {
        "## Rules" => Topic::Rule,
        "### fs access" => Topic::FsAccess,
        "### Signal sets" => Topic::Signal,
        "### ptrace access" => Topic::Ptrace,
        "### Net access" => Topic::NetAccess,
        "### Capabilities" => Topic::Capability,
        "### sys access" => Topic::SysAccess,
        "## Attributes" => Topic::Attribute,
        "## Profiles" => Topic::FileAttribute,
        _ => return None,
    })
}

/// The word a table row documents: `fs(PATH, ACCESS)` is `fs`, `#[allow]`
/// is `allow`, `#![complain]` is `complain`, `read(PATH)` is `read`.
fn key_of(cell: &str) -> Option<String> {
    let code = cell.trim().strip_prefix('`')?.split('`').next()?;
    let code = code.trim_start_matches("#![").trim_start_matches("#[");
    let word: String = code
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!word.is_empty()).then_some(word)
}

fn table() -> &'static HashMap<(Topic, String), String> {
    static TABLE: OnceLock<HashMap<(Topic, String), String>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut out = HashMap::new();
        let mut topic = None;
        for line in SPEC.lines() {
            if line.starts_with('#') {
                topic = topic_of(line.trim());
                continue;
            }
            let Some(topic) = topic else { continue };
            // `\|` inside a cell is a literal bar, not a column break.
            let line = line.replace("\\|", "\u{1}");
            let cells: Vec<String> = line
                .split('|')
                .map(|c| c.trim().replace('\u{1}', "|"))
                .collect();
            // | `word` | description | [more] |
            if cells.len() < 4 || !cells[0].is_empty() {
                continue;
            }
            if let Some(word) = key_of(&cells[1]) {
                let description = cells[2..cells.len() - 1]
                    .iter()
                    .filter(|c| !c.is_empty())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" — ");
                out.entry((topic, word))
                    .or_insert(format!("`{}` — {description}", cells[1].trim_matches('`')));
            }
        }
        out
    })
}

pub fn lookup(topic: Topic, word: &str) -> Option<&'static str> {
    table().get(&(topic, word.to_string())).map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_of_the_language_is_documented() {
        for (name, _) in bpfbox_image::RuleKind::File.flags() {
            assert!(lookup(Topic::FsAccess, name).is_some(), "fs flag {name}");
        }
        for (name, _) in bpfbox_image::RuleKind::Signal.flags() {
            assert!(lookup(Topic::Signal, name).is_some(), "signal {name}");
        }
        for (name, _) in bpfbox_image::RuleKind::Net.flags() {
            assert!(lookup(Topic::NetAccess, name).is_some(), "net flag {name}");
        }
        for (name, _) in bpfbox_image::capability_names() {
            assert!(
                lookup(Topic::Capability, name).is_some(),
                "capability {name}"
            );
        }
        for (name, _) in bpfbox_image::RuleKind::Sys.flags() {
            assert!(lookup(Topic::SysAccess, name).is_some(), "sys flag {name}");
        }
        for (name, _) in bpfbox_compiler::vocab::ATTRIBUTES {
            assert!(lookup(Topic::Attribute, name).is_some(), "attribute {name}");
        }
        for name in [
            "fs", "read", "proc", "signal", "ptrace", "net", "cap", "sys",
        ] {
            assert!(lookup(Topic::Rule, name).is_some(), "rule {name}");
        }
        for name in ["enforce", "complain"] {
            assert!(
                lookup(Topic::FileAttribute, name).is_some(),
                "file attribute {name}"
            );
        }
        assert!(lookup(Topic::FsAccess, "read")
            .unwrap()
            .contains("open for reading"));
    }
}
