//! Paths to the (device, inode) the kernel sees, for all of a profile's
//! paths at once.
//!
//! A `stat` of one name costs the kernel about 7,000 instructions (in the
//! benchmark VM, relative to an open directory); reading a directory entry
//! with getdents64 about 320. So where a profile names many files of one
//! directory (a 10,000-rule profile: 70 M instructions of stats), the
//! directory is listed once and its entries answer; every other path is a
//! stat relative to its directory, which is opened once.
//!
//! A listed entry answers only where its inode number is the one stat
//! would report and its device the directory's:
//! - a regular file (a symlink is followed by a stat, as exec and open do);
//! - on ext2/3/4, XFS, tmpfs or ramfs, whose entries carry the inode's own
//!   number (overlayfs, FUSE or network file systems may not);
//! - in a directory with no mount point in it (a file mounted over a name
//!   is listed with the number of the file it hides), as this process's
//!   mountinfo shows: a directory on a mount it does not list (of another
//!   mount namespace, reached through /proc/PID/root) is not listed.
//!
//! A name the listing lacks is stat'ed, so a file created since, or a name
//! that differs in case on a case-folding directory, resolves as before.

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;

use rustc_hash::FxHashMap;

use crate::mounts::Mounts;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Inode {
    /// Kernel dev_t encoding (MAJOR << 20 | MINOR), as in inode->i_sb->s_dev.
    pub dev: u64,
    pub ino: u64,
}

pub fn kernel_dev(st_dev: u64) -> u64 {
    let (major, minor) = (libc::major(st_dev) as u64, libc::minor(st_dev) as u64);
    (major << 20) | minor
}

/// The inode a path names, following symlinks, with its metadata.
pub fn inode_of(path: &str) -> std::io::Result<(Inode, std::fs::Metadata)> {
    let meta = std::fs::metadata(path)?;
    Ok((
        Inode {
            dev: kernel_dev(meta.dev()),
            ino: meta.ino(),
        },
        meta,
    ))
}

/// Fewer names than this in a directory are stat'ed: listing pays only for
/// many.
const LIST_AT_LEAST: usize = 32;
/// Listed when the directory is at most this many bytes per name asked for
/// (a directory entry takes 12 to 40 bytes of st_size on the file systems
/// below): at most about 16 entries read per name, cheaper than its stat.
const LIST_BYTES_PER_NAME: u64 = 256;
/// File systems whose directory entries carry the number stat reports.
const LISTABLE_FS: [i64; 4] = [
    0xEF53,     // ext2, ext3, ext4
    0x58465342, // XFS
    0x01021994, // tmpfs
    0x858458f6, // ramfs (the initramfs)
];

struct Dir {
    /// Opened with O_PATH: the base of every stat in it.
    fd: OwnedFd,
    /// Regular files listed, name -> inode number; None when not listed.
    listed: Option<FxHashMap<Box<[u8]>, u64>>,
    /// The directory's device: a listed file's.
    dev: u64,
}

pub struct Resolver {
    /// None for a directory that cannot be opened: its paths are stat'ed
    /// whole, for the error.
    dirs: Vec<Option<Dir>>,
    /// Directory -> its index in `dirs`.
    index: FxHashMap<String, usize>,
    /// The directory of the last path, and its index: a profile's paths
    /// come sorted, so most share the one before's.
    last: Option<(String, usize)>,
    /// How many names each directory is asked for.
    wanted: FxHashMap<String, usize>,
    /// Read when a directory is first worth listing; None inside when they
    /// cannot be read (then no directory is listed).
    mounts: Option<Option<Mounts>>,
    /// The last name stat'ed, NUL-terminated: one buffer, not an allocation
    /// per path.
    name: Vec<u8>,
    /// Directories listed, for tests.
    pub listed_dirs: usize,
}

/// `path` split into its directory and last component; None for a path
/// without both ("/", "", "name", "dir/").
fn split(path: &str) -> Option<(&str, &str)> {
    // '/' is ASCII: the byte index is a char boundary.
    let at = path.bytes().rposition(|b| b == b'/')?;
    match (&path[..at], &path[at + 1..]) {
        (_, "") => None,
        ("", name) => Some(("/", name)),
        split => Some(split),
    }
}

impl Resolver {
    /// A resolver for `paths`, the paths it will be asked about.
    pub fn new<'a>(paths: impl IntoIterator<Item = &'a str>) -> Resolver {
        let mut wanted: FxHashMap<String, usize> = FxHashMap::default();
        // Counted a run of paths in one directory at a time.
        let mut run: Option<(&str, usize)> = None;
        for (dir, _) in paths.into_iter().filter_map(split) {
            match &mut run {
                Some((current, count)) if *current == dir => *count += 1,
                _ => {
                    if let Some((current, count)) = run.replace((dir, 1)) {
                        *wanted.entry(current.to_string()).or_default() += count;
                    }
                }
            }
        }
        if let Some((current, count)) = run {
            *wanted.entry(current.to_string()).or_default() += count;
        }
        Resolver {
            dirs: Vec::new(),
            index: FxHashMap::default(),
            last: None,
            wanted,
            mounts: None,
            name: Vec::new(),
            listed_dirs: 0,
        }
    }

    /// The inode a path names (following symlinks, as exec and open do).
    pub fn inode(&mut self, path: &str) -> std::io::Result<Inode> {
        let Some((dir, name)) = split(path) else {
            return inode_of(path).map(|(inode, _)| inode);
        };
        let at = match &self.last {
            Some((last, at)) if last == dir => *at,
            _ => {
                // Looked up by &str first: a String key made per call was
                // a tenth of a 10,000-rule reload.
                let at = match self.index.get(dir) {
                    Some(&at) => at,
                    None => {
                        let opened = self.open_dir(dir);
                        self.dirs.push(opened);
                        self.index.insert(dir.to_string(), self.dirs.len() - 1);
                        self.dirs.len() - 1
                    }
                };
                self.last = Some((dir.to_string(), at));
                at
            }
        };
        let Some(d) = &self.dirs[at] else {
            return inode_of(path).map(|(inode, _)| inode);
        };
        if let Some(&ino) = d.listed.as_ref().and_then(|l| l.get(name.as_bytes())) {
            return Ok(Inode { dev: d.dev, ino });
        }
        self.name.clear();
        self.name.extend_from_slice(name.as_bytes());
        self.name.push(0);
        let name = CStr::from_bytes_with_nul(&self.name)
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
        let st = stat_at(&d.fd, name, 0)?;
        Ok(Inode {
            dev: kernel_dev(st.st_dev),
            ino: st.st_ino,
        })
    }

    fn open_dir(&mut self, dir: &str) -> Option<Dir> {
        let c = CString::new(dir).ok()?;
        // SAFETY: a valid C string; the result is checked.
        let fd = unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return None;
        }
        // SAFETY: fd is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let st = stat_at(&fd, c"", libc::AT_EMPTY_PATH).ok()?;
        let wanted = self.wanted.get(dir).copied().unwrap_or(0);
        let listed = (wanted >= LIST_AT_LEAST
            && (st.st_size as u64) <= wanted as u64 * LIST_BYTES_PER_NAME
            && listable_fs(&fd)
            && !self.has_mount_in(&fd))
        .then(|| list_regular_files(&fd))
        .flatten();
        self.listed_dirs += usize::from(listed.is_some());
        Some(Dir {
            fd,
            listed,
            dev: kernel_dev(st.st_dev),
        })
    }

    /// Whether something may be mounted on a name in the directory `fd`
    /// is: true unless this process's mounts show its mount, and nothing
    /// on a name in it.
    fn has_mount_in(&mut self, fd: &OwnedFd) -> bool {
        let Some(mount_id) = mount_id(fd) else {
            return true;
        };
        // Its path as mountinfo writes it: with symlinks resolved.
        let Ok(real) = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())) else {
            return true;
        };
        let Some(real) = real.to_str() else {
            return true;
        };
        match self.mounts.get_or_insert_with(Mounts::try_read) {
            Some(mounts) => mounts.may_have_mount_in(mount_id, real),
            None => true,
        }
    }
}

/// The id of the mount `fd` is on (statx's STATX_MNT_ID, Linux 5.8).
fn mount_id(fd: &OwnedFd) -> Option<u64> {
    // SAFETY: statx fills the zeroed struct; fd and the empty path are valid.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    let ok = unsafe {
        libc::statx(
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            libc::STATX_MNT_ID,
            &mut stx,
        )
    } == 0;
    (ok && stx.stx_mask & libc::STATX_MNT_ID != 0).then_some(stx.stx_mnt_id)
}

fn stat_at(dir: &OwnedFd, name: &CStr, flags: libc::c_int) -> std::io::Result<libc::stat> {
    // SAFETY: fstatat fills the zeroed struct; fd and name are valid.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatat(dir.as_raw_fd(), name.as_ptr(), &mut st, flags) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(st)
}

fn listable_fs(fd: &OwnedFd) -> bool {
    // SAFETY: fstatfs writes into the zeroed struct we pass.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::fstatfs(fd.as_raw_fd(), &mut st) } == 0;
    ok && LISTABLE_FS.contains(&(st.f_type as i64))
}

/// The regular files of the directory `dir` is (an O_PATH descriptor) and
/// their inode numbers; None when it cannot be read.
fn list_regular_files(dir: &OwnedFd) -> Option<FxHashMap<Box<[u8]>, u64>> {
    // SAFETY: "." relative to a directory descriptor; the result is checked.
    let fd = unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c".".as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return None;
    }
    // SAFETY: fd is a fresh descriptor we own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut files = FxHashMap::default();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // SAFETY: the kernel writes at most buf.len() bytes of records.
        let n = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                fd.as_raw_fd(),
                buf.as_mut_ptr(),
                buf.len(),
            )
        };
        if n < 0 {
            return None;
        }
        if n == 0 {
            return Some(files);
        }
        // struct linux_dirent64: d_ino (8), d_off (8), d_reclen (2),
        // d_type (1), d_name (NUL-terminated).
        let mut records = &buf[..n as usize];
        while records.len() >= 19 {
            let ino = u64::from_ne_bytes(records[0..8].try_into().ok()?);
            let reclen = usize::from(u16::from_ne_bytes(records[16..18].try_into().ok()?));
            if reclen < 19 || reclen > records.len() {
                return None;
            }
            let name = &records[19..reclen];
            let name = &name[..name.iter().position(|&b| b == 0)?];
            if records[18] == libc::DT_REG {
                files.insert(name.into(), ino);
            }
            records = &records[reclen..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn expected(path: &str) -> Option<Inode> {
        inode_of(path).ok().map(|(inode, _)| inode)
    }

    /// Every kind of name resolves as a stat of the whole path would, in a
    /// directory listed (on this machine's file systems that allow it) and
    /// in one that is not.
    #[test]
    fn resolves_as_stat_does() {
        let tmp = std::env::temp_dir().join(format!("bpfbox-resolve-{}", std::process::id()));
        let many = tmp.join("many");
        let few = tmp.join("few");
        std::fs::create_dir_all(&many).unwrap();
        std::fs::create_dir_all(&few).unwrap();
        for i in 0..100 {
            std::fs::write(many.join(format!("f{i}")), "").unwrap();
        }
        std::fs::write(few.join("target"), "").unwrap();
        std::os::unix::fs::symlink(few.join("target"), many.join("link")).unwrap();
        std::fs::create_dir(many.join("sub")).unwrap();
        std::fs::write(few.join("one"), "").unwrap();
        let dir = |d: &Path, name: &str| format!("{}/{name}", d.display());
        let mut paths: Vec<String> = (0..100).map(|i| dir(&many, &format!("f{i}"))).collect();
        paths.extend([
            dir(&many, "link"),
            dir(&many, "sub"),
            dir(&many, "missing"),
            dir(&few, "one"),
            dir(&few, "missing"),
            dir(&tmp.join("absent"), "x"),
            "/".to_string(),
        ]);
        let mut resolver = Resolver::new(paths.iter().map(String::as_str));
        for path in &paths {
            assert_eq!(resolver.inode(path).ok(), expected(path), "{path}");
        }
        // `few` has two names: stat'ed, not listed.
        let mut st: libc::statfs = unsafe { std::mem::zeroed() };
        let c = CString::new(many.to_str().unwrap()).unwrap();
        let fs_listable = unsafe { libc::statfs(c.as_ptr(), &mut st) } == 0
            && LISTABLE_FS.contains(&(st.f_type as i64));
        assert_eq!(resolver.listed_dirs, usize::from(fs_listable));
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    /// A file mounted over a name is what the name resolves to: the
    /// directory is not listed. Needs root; skipped without.
    #[test]
    fn a_file_mounted_over_a_name_is_the_one_resolved() {
        if unsafe { libc::geteuid() } != 0 {
            return;
        }
        let tmp = std::env::temp_dir().join(format!("bpfbox-resolve-mount-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        let paths: Vec<String> = (0..40).map(|i| format!("{}/f{i}", tmp.display())).collect();
        for path in &paths {
            std::fs::write(path, "").unwrap();
        }
        let over = tmp.with_extension("over");
        std::fs::write(&over, "").unwrap();
        let (source, target) = (
            CString::new(over.to_str().unwrap()).unwrap(),
            CString::new(paths[7].as_str()).unwrap(),
        );
        let mounted = unsafe {
            libc::mount(
                source.as_ptr(),
                target.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND,
                std::ptr::null(),
            )
        } == 0;
        let mut resolver = Resolver::new(paths.iter().map(String::as_str));
        let got = resolver.inode(&paths[7]).ok();
        if mounted {
            unsafe { libc::umount(target.as_ptr()) };
            assert_eq!(got, expected(over.to_str().unwrap()));
            assert_eq!(resolver.listed_dirs, 0);
        }
        std::fs::remove_dir_all(&tmp).unwrap();
        std::fs::remove_file(&over).unwrap();
    }

    /// A file created after the listing is found by its stat.
    #[test]
    fn a_name_the_listing_lacks_is_stated() {
        let tmp = std::env::temp_dir().join(format!("bpfbox-resolve-late-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        let paths: Vec<String> = (0..40).map(|i| format!("{}/f{i}", tmp.display())).collect();
        for path in &paths[..39] {
            std::fs::write(path, "").unwrap();
        }
        let mut resolver = Resolver::new(paths.iter().map(String::as_str));
        assert!(resolver.inode(&paths[0]).is_ok());
        std::fs::write(&paths[39], "").unwrap();
        assert_eq!(resolver.inode(&paths[39]).ok(), expected(&paths[39]));
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
