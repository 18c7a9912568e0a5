//! Where file systems are mounted, from /proc/self/mountinfo.
//!
//! Hooks given only a dentry (create, unlink, setattr, ...) know a file's
//! path inside its file system, not the mount it was reached through. The
//! reader of the events puts a mount point in front, found by the event's
//! device number.

/// One line of mountinfo: the file system's device, the directory of it
/// that is mounted, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Mount {
    /// The mount's id (statx's stx_mnt_id).
    id: u64,
    /// Kernel dev_t: MAJOR << 20 | MINOR, as events carry it.
    dev: u64,
    root: String,
    point: String,
}

#[derive(Clone, Debug, Default)]
pub struct Mounts {
    mounts: Vec<Mount>,
}

impl Mounts {
    /// This process's mounts; none when /proc is not there.
    pub fn read() -> Mounts {
        Mounts::try_read().unwrap_or_default()
    }

    /// This process's mounts; None when they cannot be read.
    pub fn try_read() -> Option<Mounts> {
        let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
        Some(Mounts::parse(&text))
    }

    /// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw`:
    /// the third to fifth fields; lines that do not parse are skipped.
    pub fn parse(text: &str) -> Mounts {
        let mounts = text
            .lines()
            .filter_map(|line| {
                let mut fields = line.split(' ');
                let id = fields.next()?.parse().ok()?;
                let mut fields = fields.skip(1);
                let (major, minor) = fields.next()?.split_once(':')?;
                let dev = (major.parse::<u64>().ok()? << 20) | minor.parse::<u64>().ok()?;
                let root = unescape(fields.next()?);
                let point = unescape(fields.next()?);
                Some(Mount {
                    id,
                    dev,
                    root,
                    point,
                })
            })
            .collect();
        Mounts { mounts }
    }

    /// The absolute path of `in_fs` (a path from the root of device
    /// `dev`'s file system), through the mount of `dev` that shows the most
    /// of it (the smallest root; the first listed of equals); `None` when no
    /// mount of `dev` holds it.
    pub fn absolute(&self, dev: u64, in_fs: &str) -> Option<String> {
        self.mounts
            .iter()
            .filter(|m| m.dev == dev)
            .filter_map(|m| {
                let rest = strip_dir(in_fs, &m.root)?;
                Some((m.root.len(), join(&m.point, rest)))
            })
            .min_by_key(|(root_len, _)| *root_len)
            .map(|(_, path)| path)
    }

    pub fn knows(&self, dev: u64) -> bool {
        self.mounts.iter().any(|m| m.dev == dev)
    }

    /// Whether something may be mounted on a name directly in `dir`, the
    /// absolute path (symlinks resolved) of a directory on mount
    /// `mount_id`. True when that mount is not among these: one of another
    /// mount namespace, whose paths these do not tell.
    pub fn may_have_mount_in(&self, mount_id: u64, dir: &str) -> bool {
        if !self.mounts.iter().any(|m| m.id == mount_id) {
            return true;
        }
        self.mounts.iter().any(|m| match m.point.rsplit_once('/') {
            Some((_, "")) | None => false,
            Some(("", _)) => dir == "/",
            Some((parent, _)) => parent == dir,
        })
    }
}

/// `path` below directory `dir` ("" for `dir` itself), by whole components.
fn strip_dir<'a>(path: &'a str, dir: &str) -> Option<&'a str> {
    if dir == "/" {
        return Some(path.trim_start_matches('/'));
    }
    let rest = path.strip_prefix(dir)?;
    if rest.is_empty() {
        Some("")
    } else {
        rest.strip_prefix('/')
    }
}

fn join(point: &str, rest: &str) -> String {
    match (point, rest) {
        (_, "") => point.to_string(),
        ("/", _) => format!("/{rest}"),
        _ => format!("{point}/{rest}"),
    }
}

/// mountinfo writes space, tab, newline and backslash as `\ooo`.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| {
            let text = std::str::from_utf8(d).ok()?;
            u8::from_str_radix(text, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
23 22 0:21 / /proc rw,nosuid - proc proc rw
30 22 254:1 /srv/www /var/www rw,relatime shared:1 - ext4 /dev/vda1 rw
31 22 0:40 / /run/my\\040dir rw - tmpfs tmpfs rw
32 22 0:41 /sub /data rw - ext4 /dev/vdb rw
garbage
";

    fn dev(major: u64, minor: u64) -> u64 {
        (major << 20) | minor
    }

    #[test]
    fn a_path_in_the_root_file_system_is_itself() {
        let mounts = Mounts::parse(MOUNTINFO);
        assert_eq!(
            mounts
                .absolute(dev(254, 1), "/var/lib/nginx/body")
                .as_deref(),
            Some("/var/lib/nginx/body")
        );
        assert_eq!(mounts.absolute(dev(254, 1), "/").as_deref(), Some("/"));
    }

    #[test]
    fn the_mount_point_goes_in_front() {
        let mounts = Mounts::parse(MOUNTINFO);
        assert_eq!(
            mounts.absolute(dev(0, 40), "/nginx.pid").as_deref(),
            Some("/run/my dir/nginx.pid")
        );
        assert_eq!(
            mounts.absolute(dev(0, 40), "/").as_deref(),
            Some("/run/my dir")
        );
    }

    #[test]
    fn a_bind_mount_of_a_directory_shows_only_what_is_below_it() {
        let mounts = Mounts::parse(MOUNTINFO);
        assert_eq!(
            mounts.absolute(dev(0, 41), "/sub/a").as_deref(),
            Some("/data/a")
        );
        assert_eq!(mounts.absolute(dev(0, 41), "/subway"), None);
        assert_eq!(mounts.absolute(dev(0, 41), "/other"), None);
        assert_eq!(mounts.absolute(dev(9, 9), "/a"), None);
        assert!(!mounts.knows(dev(9, 9)));
    }

    #[test]
    fn a_mount_is_in_the_directory_it_is_a_name_of() {
        let mounts = Mounts::parse(MOUNTINFO);
        for dir in ["/", "/var", "/run"] {
            assert!(mounts.may_have_mount_in(22, dir), "{dir}");
        }
        for dir in ["/var/www", "/srv", "/run/my dir", "/va"] {
            assert!(!mounts.may_have_mount_in(22, dir), "{dir}");
        }
        // A mount of another namespace: its paths are not these.
        assert!(mounts.may_have_mount_in(99, "/srv"));
    }
}
