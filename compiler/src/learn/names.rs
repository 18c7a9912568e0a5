//! Which paths a learned rule may widen, and which names are volatile.

/// Trees whose files are named one by one, never by `*` or `**`: a
/// widened rule there would give away what confinement is for.
const SENSITIVE_TREES: &[&str] = &[
    "/etc", "/proc", "/sys", "/dev", "/root", "/boot", "/usr", "/bin", "/sbin", "/lib", "/lib32",
    "/lib64",
];

/// Directories too wide for `**` themselves, though a directory below them
/// may be widened.
const TOO_WIDE: &[&str] = &[
    "/", "/var", "/home", "/srv", "/opt", "/run", "/mnt", "/media",
];

/// Components that mark a secret wherever they are.
const SENSITIVE_COMPONENTS: &[&str] = &[".ssh", ".gnupg", "private", "secrets", "keys"];

/// Whether a rule may cover more of `path` than was observed: never in a
/// sensitive tree, nor where a component looks like a key, nor for a
/// top-level directory. `/var/lib/app/**` is fine; `/var/**` and
/// `/etc/app/**` are not.
pub fn may_widen(path: &str) -> bool {
    let in_sensitive_tree = SENSITIVE_TREES
        .iter()
        .any(|tree| path == *tree || path.starts_with(&format!("{tree}/")));
    !in_sensitive_tree && !TOO_WIDE.contains(&path) && !path.split('/').any(looks_secret)
}

/// Whether a path names a secret: a component that looks like a key.
pub fn is_secret(path: &str) -> bool {
    path.split('/').any(looks_secret)
}

fn looks_secret(component: &str) -> bool {
    let lower = component.to_ascii_lowercase();
    SENSITIVE_COMPONENTS.contains(&lower.as_str())
        || lower.ends_with(".pem")
        || lower.ends_with(".key")
        || lower.split(['.', '-', '_']).any(|word| {
            matches!(
                word,
                "key" | "secret" | "shadow" | "gshadow" | "id_rsa" | "id_ed25519"
            )
        })
}

/// `component` with its volatile parts (pids, counters, hex ids, mkstemp
/// suffixes) replaced by `*`, or `None` when it has none.
pub fn generalize(component: &str) -> Option<String> {
    let mut out = String::with_capacity(component.len());
    let mut changed = false;
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String, changed: &mut bool| {
        if volatile(word) {
            if !out.ends_with('*') {
                out.push('*');
            }
            *changed = true;
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in component.chars() {
        if matches!(c, '.' | '-' | '_' | '@' | ':' | '+') {
            flush(&mut word, &mut out, &mut changed);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out, &mut changed);
    changed.then_some(out)
}

/// A word no program would write in a file name twice: three or more
/// digits, a long hex id, or six random-looking letters and digits.
fn volatile(word: &str) -> bool {
    let digits = word.chars().filter(char::is_ascii_digit).count();
    let alnum = word.chars().all(|c| c.is_ascii_alphanumeric());
    if !alnum || word.is_empty() {
        return false;
    }
    if digits == word.len() {
        return digits >= 3;
    }
    let hex = word.chars().all(|c| c.is_ascii_hexdigit());
    if hex && word.len() >= 8 && digits > 0 {
        return true;
    }
    // mkstemp's XXXXXX: six characters of [A-Za-z0-9] with a digit, or
    // with upper and lower case mixed inside the word.
    let upper = word.chars().filter(char::is_ascii_uppercase).count();
    let lower = word.chars().filter(char::is_ascii_lowercase).count();
    let mixed_inside =
        upper > 0 && lower > 0 && word.chars().skip(1).any(|c| c.is_ascii_uppercase());
    word.len() == 6 && (digits > 0 && digits < 6 || mixed_inside)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volatile_parts_become_stars() {
        for (name, pattern) in [
            ("12345", Some("*")),
            ("nginx.1234.pid", Some("nginx.*.pid")),
            ("tmp.aZ3kQx", Some("tmp.*")),
            ("sess_5f2c9e0a41b7", Some("sess_*")),
            ("0000000001", Some("*")),
            ("access.log", None),
            ("cpu0", None),
            ("libc.so.6", None),
            ("ld-linux-x86-64.so.2", None),
            ("Makefile", None),
            ("nginx", None),
            ("index.html", None),
            ("v2", None),
        ] {
            assert_eq!(generalize(name).as_deref(), pattern, "{name}");
        }
    }

    #[test]
    fn sensitive_places_are_not_widened() {
        for path in [
            "/etc/nginx",
            "/etc",
            "/proc/1",
            "/root/x",
            "/home/a/.ssh/known_hosts",
            "/srv/tls/private",
            "/srv/app/server.key",
            "/",
            "/var",
            "/usr/lib",
        ] {
            assert!(!may_widen(path), "{path}");
        }
        for path in [
            "/var/lib/nginx",
            "/tmp",
            "/run/nginx",
            "/srv/t/out",
            "/home/a/app/cache",
        ] {
            assert!(may_widen(path), "{path}");
        }
    }
}
