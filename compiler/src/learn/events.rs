//! Audit events as `bpfbox-load --follow --json` prints them (spec.md,
//! "Audit events"), read back for learning.

use bpfbox_image::RuleKind;
use serde_json::Value;

/// What an event asks a policy to allow, in the policy's own words.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Object {
    /// A file event: the file's absolute path; `entry` for a directory's
    /// write when an entry is created, removed, linked or renamed there.
    File {
        path: String,
        entry: Option<String>,
        created: bool,
    },
    /// signal, ptrace and proc: the executable the target process runs.
    Task(RuleKind, String),
    Net(String),
    Cap(String),
    Sys,
}

/// One event that a policy would have to allow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wanted {
    pub profile: String,
    pub object: Object,
    /// Flag names of the object's rule kind.
    pub access: Vec<String>,
    /// The function scope in force, if any.
    pub scope: Option<String>,
    /// `comm[pid]`, for saying who did it first.
    pub process: String,
    /// The functions of the executable the process was in, innermost
    /// first (the event's `functions`).
    pub functions: Vec<String>,
}

/// What reading one line gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    Wanted(Wanted),
    /// Allowed already (audit, taint): nothing to learn.
    Allowed,
    /// A denial the policy needs but the event cannot express as a rule:
    /// the reason.
    Unusable(String),
    /// Not an event (a blank line, a person's line, another program's).
    NotAnEvent,
}

/// One line of `--follow --json` output.
pub fn read_line(line: &str) -> Line {
    let Ok(event) = serde_json::from_str::<Value>(line) else {
        return Line::NotAnEvent;
    };
    let text = |value: &Value| value.as_str().map(str::to_string);
    let (Some(decision), Some(kind)) = (text(&event["decision"]), text(&event["kind"])) else {
        return Line::NotAnEvent;
    };
    if !matches!(decision.as_str(), "complain" | "deny") {
        return Line::Allowed;
    }
    // A denial with a rule is a #[deny] rule's: what the policy asks for.
    if let Some(line) = event["rule"]["line"].as_u64() {
        let file = text(&event["rule"]["file"]).unwrap_or_else(|| "the policy".into());
        return Line::Unusable(format!("denied by the #[deny] rule at {file}:{line}"));
    }
    let Some(profile) = text(&event["profile"]) else {
        return Line::Unusable("events of a profile unloaded before they were read".into());
    };
    let access: Vec<String> = event["access"]
        .as_array()
        .map(|a| a.iter().filter_map(text).collect())
        .unwrap_or_default();
    let op = text(&event["op"]).unwrap_or_default();
    let o = &event["object"];
    let object = match kind.as_str() {
        "file" => match text(&o["path"]) {
            Some(path) => Object::File {
                path,
                entry: text(&o["entry"]),
                created: op == "create" && o["entry"].is_null(),
            },
            None => {
                return Line::Unusable(format!(
                    "a {op} event without a full path ({})",
                    text(&o["path_in_fs"]).unwrap_or_else(|| "no path".into())
                ))
            }
        },
        "signal" | "ptrace" | "proc" => {
            let kind = match kind.as_str() {
                "signal" => RuleKind::Signal,
                "ptrace" => RuleKind::Ptrace,
                _ => RuleKind::Proc,
            };
            match text(&o["exe"]) {
                Some(exe) => Object::Task(kind, exe),
                None => {
                    return Line::Unusable(format!(
                        "a {op} event without the target's executable (pid {})",
                        o["peer_pid"]
                    ))
                }
            }
        }
        "net" => match text(&o["family"]) {
            Some(family) => Object::Net(family),
            None => {
                return Line::Unusable(format!("a {op} event of address family {}", o["family"]))
            }
        },
        "cap" => match text(&o["capability"]) {
            Some(capability) => Object::Cap(capability),
            None => return Line::Unusable(format!("capability {} has no name", o["capability"])),
        },
        "sys" => Object::Sys,
        other => return Line::Unusable(format!("an event of kind `{other}`")),
    };
    if access.is_empty() {
        return Line::Unusable(format!("a {op} event without access flags"));
    }
    Line::Wanted(Wanted {
        profile,
        object,
        access,
        scope: text(&event["scope"]),
        process: format!(
            "{}[{}]",
            text(&event["comm"]).unwrap_or_default(),
            event["pid"]
        ),
        functions: event["functions"]
            .as_array()
            .map(|a| a.iter().filter_map(text).collect())
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_complain_event_is_wanted_and_an_audit_is_not() {
        let line = r#"{"pid":7,"comm":"nginx","profile":"/usr/sbin/nginx","op":"create","kind":"file","access":["write"],"decision":"complain","scope":null,"object":{"path":"/var/lib/nginx","entry":"/var/lib/nginx/body","dev":"254:1","ino":3}}"#;
        let Line::Wanted(wanted) = read_line(line) else {
            panic!("not wanted: {line}")
        };
        assert_eq!(
            wanted.object,
            Object::File {
                path: "/var/lib/nginx".into(),
                entry: Some("/var/lib/nginx/body".into()),
                created: false
            }
        );
        assert_eq!(wanted.process, "nginx[7]");
        assert_eq!(read_line(&line.replace("complain", "audit")), Line::Allowed);
        assert_eq!(
            read_line("14:37:39.142 deny webd[103] open"),
            Line::NotAnEvent
        );
        assert_eq!(read_line("{}"), Line::NotAnEvent);
        let denied = line.replace(
            r#""scope":null"#,
            r#""scope":null,"rule":{"file":"app.policy","line":9}"#,
        );
        assert_eq!(
            read_line(&denied),
            Line::Unusable("denied by the #[deny] rule at app.policy:9".into())
        );
    }

    #[test]
    fn an_event_without_a_path_says_why_it_cannot_be_a_rule() {
        let line = r#"{"pid":7,"profile":"/p","op":"unlink","kind":"file","access":["rm"],"decision":"deny","object":{"path_in_fs":"/x"}}"#;
        assert!(matches!(read_line(line), Line::Unusable(why) if why.contains("/x")));
    }
}
