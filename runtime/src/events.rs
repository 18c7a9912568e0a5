//! `--follow`: audit events from the kernel's ring buffer, one JSON object
//! per line.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bpfbox_abi::{self as abi, vocabulary};
use bpfbox_image::elf::CodeMap;
use bpfbox_image::families::family_name;
use bpfbox_image::{capability_name, RuleKind};
use libbpf_rs::{ErrorKind, RingBufferBuilder};
use serde::Serialize;

use crate::shortfalls::Growth;
use serde_json::{json, Value};
use zerocopy::FromBytes;

use crate::decided::{decided_line, PinnedRules};
use crate::failure::Failure;
use crate::kernel::{chars_to_string, entries, registry_exe, scope_name, Maps};
use crate::mounts::Mounts;

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

fn name_of(table: &[(&'static str, u32)], value: u32) -> Value {
    table
        .iter()
        .find(|(_, v)| *v == value)
        .map_or(json!(value), |(n, _)| json!(n))
}

/// Seconds between CLOCK_MONOTONIC (event times) and the wall clock.
fn monotonic_to_wall() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime fills the timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let monotonic = Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_sub(monotonic)
}

/// The names an event's numbers stand for: profiles by slot, function
/// scopes by id, file systems by device.
trait Lookup {
    /// The executable and policy file of the profile in `slot`, if it is
    /// still the one with `serial` (else the event's profile was unloaded
    /// since).
    fn profile(&mut self, slot: u32, serial: u32) -> Option<(String, String)>;
    fn scope(&mut self, id: u32) -> Value;
    /// The absolute path of `in_fs`, a path inside device `dev`'s file system.
    fn absolute(&mut self, dev: u64, in_fs: &str) -> Option<String>;
    /// The policy line of the rule that decided `e` (whose object is at
    /// `path`), if one did.
    fn rule_line(&mut self, e: &abi::bpfbox_event, path: Option<&str>) -> Option<u32>;
    /// The functions of the process's executable `e.frames` return into,
    /// innermost first.
    fn functions(&mut self, e: &abi::bpfbox_event) -> Vec<String>;
}

/// Names read from the pinned maps, cached until a number is unknown.
struct Names<'a> {
    maps: &'a Maps,
    /// slot -> (executable, serial, policy file)
    profiles: HashMap<u32, (String, u32, String)>,
    scopes: HashMap<u32, String>,
    mounts: Mounts,
    /// Executables by path and inode, read once (None: not readable ELF).
    code: HashMap<(String, u64), Option<CodeMap>>,
}

impl Lookup for Names<'_> {
    fn profile(&mut self, slot: u32, serial: u32) -> Option<(String, String)> {
        if self
            .profiles
            .get(&slot)
            .is_none_or(|(_, s, _)| *s != serial)
        {
            self.profiles = self
                .maps
                .registry()
                .iter()
                .map(|(s, e)| (*s, (registry_exe(e), e.serial, chars_to_string(&e.source))))
                .collect();
        }
        match self.profiles.get(&slot) {
            Some((exe, s, source)) if *s == serial => Some((exe.clone(), source.clone())),
            _ => None,
        }
    }

    fn scope(&mut self, id: u32) -> Value {
        if id == 0 {
            return Value::Null;
        }
        if !self.scopes.contains_key(&id) {
            self.scopes = entries::<u32, abi::bpfbox_scope_name>(&self.maps.scope_names)
                .into_iter()
                .map(|(id, n)| (id, scope_name(&n)))
                .collect();
        }
        self.scopes
            .get(&id)
            .map_or(json!(format!("{id:#x}")), |n| json!(n))
    }

    fn absolute(&mut self, dev: u64, in_fs: &str) -> Option<String> {
        if !self.mounts.knows(dev) {
            self.mounts = Mounts::read();
        }
        self.mounts.absolute(dev, in_fs)
    }

    fn rule_line(&mut self, e: &abi::bpfbox_event, path: Option<&str>) -> Option<u32> {
        decided_line(e, path, &mut PinnedRules { maps: self.maps })
    }

    fn functions(&mut self, e: &abi::bpfbox_event) -> Vec<String> {
        if e.frames[0] == 0 {
            return Vec::new();
        }
        let exe = chars_to_string(&e.exe);
        // The path as this reader sees it names the process's executable
        // only if it is that file (not one replaced since, nor another
        // mount namespace's): same device and inode, a regular file of a
        // program's size.
        use std::os::unix::fs::MetadataExt;
        let Ok(meta) = std::fs::metadata(&exe) else {
            return Vec::new();
        };
        const MAX_PROGRAM: u64 = 1 << 30;
        if !meta.is_file()
            || meta.len() > MAX_PROGRAM
            || crate::resolve::kernel_dev(meta.dev()) != e.exe_dev
            || meta.ino() != e.exe_ino
        {
            return Vec::new();
        }
        let code = self
            .code
            .entry((exe.clone(), meta.ino()))
            .or_insert_with(|| CodeMap::load(exe.as_ref()).ok());
        code.as_ref()
            .map_or(Vec::new(), |code| code.functions(e.start_code, &e.frames))
    }
}

/// The event at the start of a ring buffer record, as the JSON object
/// --follow prints; `None` for a record too short to hold one.
fn decode(data: &[u8], names: &mut dyn Lookup, epoch: Duration) -> Option<EventJson> {
    let (event, _) = abi::bpfbox_event::read_from_prefix(data).ok()?;
    Some(to_json(&event, names, epoch))
}

/// One event as --follow prints it: the keys in the order of the fields
/// (serde_json's maps would sort them), the object's fields as the event's
/// kind has them.
#[derive(Serialize)]
struct EventJson {
    time: String,
    pid: u32,
    tid: u32,
    ppid: u32,
    comm: String,
    exe: String,
    argv0: String,
    profile: Option<String>,
    op: Value,
    kind: Value,
    access: Vec<&'static str>,
    decision: Value,
    scope: Value,
    functions: Vec<String>,
    rule: Value,
    object: ObjectJson,
}

/// What an event was about: a file, a peer process, a family or a
/// capability.
#[derive(Serialize, Default)]
struct ObjectJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    family: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    capability: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    peer_pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signal: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exe_dev: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exe_ino: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exe: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entry: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_in_fs: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dev: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ino: Option<u64>,
}

impl EventJson {
    /// The event as a JSON value, for reading fields by name.
    fn value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// One event as the JSON object --follow prints.
fn to_json(e: &abi::bpfbox_event, names: &mut dyn Lookup, epoch: Duration) -> EventJson {
    let time = UNIX_EPOCH + epoch + Duration::from_nanos(e.ts_ns);
    let kind = RuleKind::from_code(e.kind as u8);
    let access: Vec<&str> = kind
        .map(|k| {
            k.flags()
                .iter()
                .filter(|(_, bit)| e.access & bit != 0)
                .map(|(n, _)| *n)
                .collect()
        })
        .unwrap_or_default();
    let path = event_path(e, names);
    let profile = names.profile(e.slot, e.serial);
    // The rule that decided, as the policy file's line; null when none did.
    let object_path = match &path {
        EventPath::Absolute(p) => Some(p.as_str()),
        _ => None,
    };
    let rule = match (&profile, names.rule_line(e, object_path)) {
        (_, None) => Value::Null,
        (Some((_, source)), Some(line)) if !source.is_empty() => {
            json!({ "file": source, "line": line })
        }
        (_, Some(line)) => json!({ "line": line }),
    };
    let device = |dev: u64| format!("{}:{}", dev >> 20, dev & 0xfffff);
    let mut object = ObjectJson::default();
    match kind {
        Some(RuleKind::Net) => {
            object.family =
                Some(family_name(e.family as u16).map_or(json!(e.family), |f| json!(f)));
        }
        Some(RuleKind::Cap) => {
            object.capability =
                Some(capability_name(e.number as u16).map_or(json!(e.number), |c| json!(c)));
        }
        Some(RuleKind::Sys) => {}
        None => {}
        Some(RuleKind::Signal | RuleKind::Ptrace | RuleKind::Proc) => {
            object.peer_pid = Some(e.peer_pid);
            if matches!(kind, Some(RuleKind::Signal)) {
                object.signal = Some(e.signal);
            }
            object.exe_dev = Some(device(e.dev));
            object.exe_ino = Some(e.ino);
            if let EventPath::Absolute(exe) = &path {
                object.exe = Some(exe.clone());
            }
        }
        _ => {
            match &path {
                EventPath::Absolute(p) => {
                    object.path = Some(p.clone());
                    let entry = chars_to_string(&e.entry);
                    if !entry.is_empty() {
                        object.entry = Some(if p == "/" {
                            format!("/{entry}")
                        } else {
                            format!("{p}/{entry}")
                        });
                    }
                }
                EventPath::InFs(p) => object.path_in_fs = Some(p.clone()),
                EventPath::None => {}
            }
            object.dev = Some(device(e.dev));
            object.ino = Some(e.ino);
        }
    }
    EventJson {
        time: humantime::format_rfc3339_micros(time).to_string(),
        pid: e.pid,
        tid: e.tid,
        ppid: e.ppid,
        comm: chars_to_string(&e.comm),
        exe: chars_to_string(&e.exe),
        argv0: chars_to_string(&e.argv0),
        profile: profile.map(|(exe, _)| exe),
        op: name_of(vocabulary::OP_NAMES, e.op),
        kind: kind.map_or(json!(e.kind), |k| json!(k.name())),
        access,
        decision: name_of(vocabulary::DECISION_NAMES, e.decision),
        scope: names.scope(e.scope),
        functions: names.functions(e),
        rule,
        object,
    }
}

/// What an event's path field holds, once the reader has resolved it.
enum EventPath {
    None,
    Absolute(String),
    /// A path inside a file system that no mount of this process shows.
    InFs(String),
}

fn event_path(e: &abi::bpfbox_event, names: &mut dyn Lookup) -> EventPath {
    use abi::bpfbox_path_kind::*;
    let path = chars_to_string(&e.path);
    match e.path_kind {
        BPFBOX_PATH_ABSOLUTE if !path.is_empty() => EventPath::Absolute(path),
        BPFBOX_PATH_IN_FS if !path.is_empty() => match names.absolute(e.dev, &path) {
            Some(absolute) => EventPath::Absolute(absolute),
            None => EventPath::InFs(path),
        },
        _ => EventPath::None,
    }
}

/// One event as a line for a person: time, decision, who, what, where.
///
/// `14:37:39.142 deny   webd[103] open read /etc/shadow  (profile /usr/local/bin/webd)`
fn to_line(event: &Value) -> String {
    // The process names its comm, argv[0] and files: a terminal must see
    // their control characters escaped, not obey them.
    let text = |key: &str| printable(event[key].as_str().unwrap_or(""));
    let time = text("time");
    let clock = time.get(11..23).unwrap_or(&time);
    let access: Vec<&str> = event["access"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let object = &event["object"];
    let mut what = ["path", "path_in_fs", "capability", "family"]
        .iter()
        .find_map(|key| object[key].as_str().map(printable))
        .or_else(|| {
            let pid = object["peer_pid"].as_u64()?;
            Some(match object["exe"].as_str() {
                Some(exe) => format!("pid {pid} ({})", printable(exe)),
                None => format!("pid {pid}"),
            })
        })
        .unwrap_or_default();
    if let Some(entry) = object["entry"].as_str() {
        what.push_str(&format!(" for {}", printable(entry)));
    }
    let mut line = format!(
        "{clock} {:<8} {}[{}] {} {} {what}",
        text("decision"),
        text("comm"),
        event["pid"],
        text("op"),
        access.join("|"),
    );
    if let Some(scope) = event["scope"].as_str() {
        line.push_str(&format!(" in {scope}()"));
    } else if let Some(function) = event["functions"][0].as_str() {
        line.push_str(&format!(" from {}()", printable(function)));
    }
    let rule = &event["rule"];
    match (rule["file"].as_str(), rule["line"].as_u64()) {
        (Some(file), Some(n)) => line.push_str(&format!(" by {}:{n}", printable(file))),
        (None, Some(n)) => line.push_str(&format!(" by line {n}")),
        _ if text("decision") == "deny" || text("decision") == "complain" => {
            line.push_str(" (no rule allows it)")
        }
        _ => {}
    }
    match event["profile"].as_str() {
        Some(profile) => line.push_str(&format!("  (profile {})", printable(profile))),
        None => line.push_str("  (a profile unloaded since)"),
    }
    line
}

/// `text` with control characters written as escapes (`\x1b`, `\n`).
fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// Prints events until SIGINT or SIGTERM: JSON lines, or lines for a person.
pub fn follow(maps: &Maps, json: bool) -> Result<(), Failure> {
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
    let epoch = monotonic_to_wall();
    let names = RefCell::new(Names {
        maps,
        profiles: HashMap::new(),
        scopes: HashMap::new(),
        mounts: Mounts::read(),
        code: HashMap::new(),
    });
    let mut builder = RingBufferBuilder::new();
    builder
        .add(&maps.events, |data: &[u8]| {
            if let Some(event) = decode(data, &mut *names.borrow_mut(), epoch) {
                if json {
                    println!("{}", serde_json::to_string(&event).unwrap_or_default());
                } else {
                    println!("{}", to_line(&event.value()));
                }
            }
            0
        })
        .map_err(|e| {
            Failure::kernel(
                format!("cannot read the event ring buffer: {e}"),
                "is another bpfbox-load --follow running? events go to one reader",
            )
        })?;
    let ring = builder.build().map_err(|e| {
        Failure::kernel(
            format!("cannot read the event ring buffer: {e}"),
            "is another bpfbox-load --follow running? events go to one reader",
        )
    })?;
    // Drops (and bpfbox's other shortfalls) are told as they happen, on
    // stderr so JSON lines stay clean, never only at the end: a gap in the
    // log must be visible where it is.
    let mut shortfalls = Growth::default();
    shortfalls.report(&maps.stats());
    while !STOP.load(Ordering::Relaxed) {
        match ring.poll(Duration::from_millis(200)) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(Failure::kernel(
                    format!("reading events failed: {e}"),
                    "try again",
                ))
            }
        }
        shortfalls.report(&maps.stats());
    }
    let _ = ring.consume();
    shortfalls.report(&maps.stats());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Names without maps; `line` is what any rule lookup finds.
    #[derive(Default)]
    struct NoNames {
        line: Option<u32>,
    }

    impl Lookup for NoNames {
        fn profile(&mut self, slot: u32, _serial: u32) -> Option<(String, String)> {
            Some((format!("slot {slot}"), "p.policy".into()))
        }
        fn scope(&mut self, id: u32) -> Value {
            if id == 0 {
                Value::Null
            } else {
                json!(id)
            }
        }
        fn absolute(&mut self, dev: u64, in_fs: &str) -> Option<String> {
            (dev == 7).then(|| format!("/mnt{in_fs}"))
        }
        fn rule_line(&mut self, _: &abi::bpfbox_event, _: Option<&str>) -> Option<u32> {
            self.line
        }
        fn functions(&mut self, e: &abi::bpfbox_event) -> Vec<String> {
            e.frames
                .iter()
                .take_while(|f| **f != 0)
                .map(|f| format!("f{f}"))
                .collect()
        }
    }

    const FIELDS: [&str; 16] = [
        "time",
        "pid",
        "tid",
        "ppid",
        "comm",
        "exe",
        "argv0",
        "profile",
        "op",
        "kind",
        "access",
        "decision",
        "scope",
        "functions",
        "rule",
        "object",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Whatever bytes the ring buffer holds, decoding neither panics nor
        /// loses a documented field.
        #[test]
        fn any_record_decodes_to_the_documented_fields(
            data in prop::collection::vec(any::<u8>(), 0..512),
            epoch in any::<u32>(),
        ) {
            let size = std::mem::size_of::<abi::bpfbox_event>();
            match decode(&data, &mut NoNames::default(), Duration::from_secs(u64::from(epoch))) {
                None => prop_assert!(data.len() < size),
                Some(event) => {
                    let value = event.value();
                    prop_assert!(data.len() >= size);
                    for field in FIELDS {
                        prop_assert!(value.get(field).is_some(), "{field} missing in {value}");
                    }
                }
            }
        }
    }

    #[test]
    fn printed_keys_come_in_the_documented_order() {
        let mut e = abi::bpfbox_event {
            op: abi::bpfbox_op::BPFBOX_OP_OPEN,
            kind: abi::bpfbox_rule_kind::BPFBOX_RULE_FILE,
            path_kind: abi::bpfbox_path_kind::BPFBOX_PATH_IN_FS,
            dev: 7,
            ..Default::default()
        };
        text(&mut e.path, "/etc/hosts");
        let event = to_json(&e, &mut NoNames::default(), Duration::ZERO);
        let line = serde_json::to_string(&event).unwrap();
        let at: Vec<usize> = FIELDS
            .iter()
            .chain(&["path", "dev", "ino"])
            .map(|key| line.find(&format!("\"{key}\":")).unwrap_or(usize::MAX))
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{line}");
    }

    #[test]
    fn a_line_for_a_person_escapes_control_characters() {
        let event = json!({
            "time": "2026-11-26T15:47:13.518109Z", "pid": 7, "comm": "x\u{1b}[2J",
            "decision": "deny", "op": "open", "access": ["read"], "scope": null,
            "object": { "path": "/tmp/a\nfake line" }, "profile": "/p",
        });
        assert_eq!(
            to_line(&event),
            "15:47:13.518 deny     x\\u{1b}[2J[7] open read /tmp/a\\nfake line (no rule allows it)  (profile /p)"
        );
    }

    #[test]
    fn a_capability_event_names_the_capability() {
        let mut e = abi::bpfbox_event {
            op: abi::bpfbox_op::BPFBOX_OP_CAPABLE,
            kind: abi::bpfbox_rule_kind::BPFBOX_RULE_CAP,
            number: abi::bpfbox_capability::BPFBOX_CAPABILITY_SYS_ADMIN,
            access: abi::BPFBOX_CAP_USE,
            decision: abi::bpfbox_decision::BPFBOX_DECISION_DENY,
            ..Default::default()
        };
        e.comm[0] = b'x' as std::os::raw::c_char;
        let value = to_json(&e, &mut NoNames { line: Some(7) }, Duration::ZERO).value();
        assert_eq!(value["op"], "capable");
        assert_eq!(value["kind"], "cap");
        assert_eq!(value["object"]["capability"], "sys_admin");
        assert_eq!(value["decision"], "deny");
        assert_eq!(value["rule"], json!({"file": "p.policy", "line": 7}));
        assert_eq!(value["comm"], "x");
        assert_eq!(
            to_line(&value),
            "00:00:00.000 deny     x[0] capable use sys_admin by p.policy:7  (profile slot 0)"
        );
    }

    fn text(bytes: &mut [std::os::raw::c_char], value: &str) {
        for (slot, byte) in bytes.iter_mut().zip(value.bytes()) {
            *slot = byte as std::os::raw::c_char;
        }
    }

    #[test]
    fn a_directory_write_names_the_entry_through_its_mount() {
        let mut e = abi::bpfbox_event {
            op: abi::bpfbox_op::BPFBOX_OP_CREATE,
            kind: abi::bpfbox_rule_kind::BPFBOX_RULE_FILE,
            access: abi::bpfbox_fs_access::BPFBOX_FS_WRITE,
            decision: abi::bpfbox_decision::BPFBOX_DECISION_COMPLAIN,
            path_kind: abi::bpfbox_path_kind::BPFBOX_PATH_IN_FS,
            dev: 7,
            ..Default::default()
        };
        text(&mut e.path, "/nginx");
        text(&mut e.entry, "body");
        text(&mut e.comm, "nginx");
        let value = to_json(&e, &mut NoNames::default(), Duration::ZERO).value();
        assert_eq!(value["object"]["path"], "/mnt/nginx");
        assert_eq!(value["object"]["entry"], "/mnt/nginx/body");
        assert_eq!(
            to_line(&value),
            "00:00:00.000 complain nginx[0] create write /mnt/nginx for /mnt/nginx/body (no rule allows it)  (profile slot 0)"
        );
        e.dev = 8;
        let value = to_json(&e, &mut NoNames::default(), Duration::ZERO).value();
        assert_eq!(value["object"]["path_in_fs"], "/nginx");
        assert!(value["object"].get("path").is_none());
    }
}
