//! What must hold before bpfbox-load touches the kernel: privilege, BTF,
//! an active BPF LSM, a mounted BPF file system.

use std::ffi::CString;
use std::path::Path;

use crate::failure::{exit, io_message, Failure};

pub const LSM_FILE: &str = "/sys/kernel/security/lsm";
pub const BTF_FILE: &str = "/sys/kernel/btf/vmlinux";
pub const BPF_FS: &str = "/sys/fs/bpf";
const BPF_FS_MAGIC: i64 = 0xcafe4a11;

pub fn privileges() -> Result<(), Failure> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(Failure::new(
            exit::PRIVILEGE,
            "bpfbox-load must run as root: it loads BPF LSM programs",
            "run it as root (sudo bpfbox-load ...), or with CAP_SYS_ADMIN, CAP_BPF and CAP_PERFMON",
        ));
    }
    Ok(())
}

/// The active LSMs, mounting securityfs if nobody has.
pub fn active_lsms() -> Result<Vec<String>, Failure> {
    let read = || std::fs::read_to_string(LSM_FILE);
    let text = match read() {
        Ok(text) => text,
        Err(_) => {
            mount("securityfs", "/sys/kernel/security", "securityfs");
            read().map_err(|e| {
                Failure::kernel(
                    format!(
                        "cannot tell whether BPF LSM is active: {LSM_FILE}: {}",
                        io_message(&e)
                    ),
                    "mount securityfs: mount -t securityfs securityfs /sys/kernel/security",
                )
            })?
        }
    };
    Ok(text
        .trim()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect())
}

pub fn kernel() -> Result<(), Failure> {
    if !Path::new(BTF_FILE).exists() {
        return Err(Failure::kernel(
            format!("this kernel has no BTF ({BTF_FILE} is missing), which bpfbox's CO-RE programs need"),
            "boot a kernel built with CONFIG_DEBUG_INFO_BTF=y (Debian's are)",
        ));
    }
    let lsms = active_lsms()?;
    if !lsms.iter().any(|l| l == "bpf") {
        let list = lsms.join(",");
        return Err(Failure::kernel(
            format!("BPF LSM is not active (active LSMs: {list})"),
            format!("add bpf to lsm= on the kernel command line, e.g. lsm={list},bpf, and reboot (needs CONFIG_BPF_LSM=y)"),
        ));
    }
    if !is_bpf_fs(BPF_FS) {
        mount("bpf", BPF_FS, "bpf");
        if !is_bpf_fs(BPF_FS) {
            return Err(Failure::kernel(
                format!("no BPF file system at {BPF_FS}, and mounting one failed"),
                "mount it: mount -t bpf bpf /sys/fs/bpf",
            ));
        }
    }
    Ok(())
}

fn is_bpf_fs(path: &str) -> bool {
    let c = CString::new(path).unwrap();
    // SAFETY: statfs writes into the zeroed struct we pass.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    unsafe { libc::statfs(c.as_ptr(), &mut st) == 0 && st.f_type as i64 == BPF_FS_MAGIC }
}

fn mount(source: &str, target: &str, fstype: &str) {
    let (s, t, f) = (
        CString::new(source).unwrap(),
        CString::new(target).unwrap(),
        CString::new(fstype).unwrap(),
    );
    // SAFETY: valid NUL-terminated strings; failure is checked by the caller.
    unsafe {
        libc::mount(s.as_ptr(), t.as_ptr(), f.as_ptr(), 0, std::ptr::null());
    }
}
