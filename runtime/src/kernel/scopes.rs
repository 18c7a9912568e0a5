//! Function scopes: the uprobes and fentry programs of `#[func]` and
//! `#[kfunc]`, attached per scope and pinned by scope id.

use std::collections::BTreeSet;
use std::mem::MaybeUninit;
use std::path::PathBuf;

use bpfbox_abi as abi;
use bpfbox_image::ScopeKind;
use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::{MapCore, UprobeOpts};
use zerocopy::IntoBytes;

use super::maps::{entries, Maps};
use super::pins::{create_pin_dir, maps_dir, scope_pin, scopes_dir, unpin_link};
use super::programs::{bpf_failure, load_failure};
use super::types::{kept_path, relocate_against};
use crate::failure::Failure;
use crate::skel;

/// Attaches the probes of `scopes` (of `exe`) that are not attached yet;
/// returns the pins created.
pub(super) fn attach_scopes(
    exe: &str,
    slot: u32,
    scopes: &[crate::plan::PlannedScope],
) -> Result<Vec<PathBuf>, Failure> {
    let mut created = Vec::new();
    create_pin_dir(&scopes_dir())?;
    let missing: Vec<&crate::plan::PlannedScope> = scopes
        .iter()
        .filter(|s| !(scope_pin(s.id, "entry").exists() && scope_pin(s.id, "return").exists()))
        .collect();
    let user: Vec<_> = missing
        .iter()
        .filter(|s| s.kind == ScopeKind::User)
        .collect();
    if !user.is_empty() {
        let mut storage = MaybeUninit::uninit();
        let mut builder = skel::uprobe::UprobeSkelBuilder::default();
        // Against the cut the first load made, when this process made it.
        relocate_against(&mut builder.obj_builder, kept_path().as_deref())?;
        let mut open = builder
            .open(&mut storage)
            .map_err(|e| bpf_failure("cannot open the uprobe object", e))?;
        reuse_maps(open.open_object_mut())?;
        let loaded = open
            .load()
            .map_err(|e| load_failure("the uprobe programs", e))?;
        for scope in user {
            for (program, end, retprobe) in [
                (&loaded.progs.scope_entry, "entry", false),
                (&loaded.progs.scope_return, "return", true),
            ] {
                let pin = scope_pin(scope.id, end);
                if pin.exists() {
                    continue;
                }
                let opts = UprobeOpts {
                    cookie: u64::from(scope.id),
                    retprobe,
                    ..UprobeOpts::default()
                };
                let mut link = program
                    .attach_uprobe_with_opts(-1, exe, scope.offset as usize, opts)
                    .map_err(|e| {
                        bpf_failure(
                            &format!("cannot attach a uprobe to #[func {}] in {exe}", scope.name),
                            e,
                        )
                    })?;
                link.pin(&pin)
                    .map_err(|e| bpf_failure("cannot pin a uprobe link", e))?;
                created.push(pin);
            }
        }
    }
    for scope in missing.iter().filter(|s| s.kind == ScopeKind::Kernel) {
        let mut storage = MaybeUninit::uninit();
        let mut builder = skel::kfunc::KfuncSkelBuilder::default();
        // Against the cut the first load made, when this process made it.
        relocate_against(&mut builder.obj_builder, kept_path().as_deref())?;
        let mut open = builder
            .open(&mut storage)
            .map_err(|e| bpf_failure("cannot open the kfunc object", e))?;
        if let Some(rodata) = open.maps.rodata_data.as_deref_mut() {
            rodata.scope_id = scope.id;
            rodata.scope_slot = slot;
        }
        reuse_maps(open.open_object_mut())?;
        for mut program in open.open_object_mut().progs_mut() {
            program
                .set_attach_target(0, Some(scope.name.clone()))
                .map_err(|e| bpf_failure("cannot target a kernel function", e))?;
        }
        let loaded = open.load().map_err(|_| {
            Failure::refused(
                format!(
                    "#[kfunc {}]: this kernel has no traceable function {}",
                    scope.name, scope.name
                ),
                "check the name in /proc/kallsyms; inlined and notrace functions cannot be scoped",
            )
        })?;
        for (program, end) in [
            (&loaded.progs.kfunc_entry, "entry"),
            (&loaded.progs.kfunc_return, "return"),
        ] {
            let pin = scope_pin(scope.id, end);
            let mut link = program.attach().map_err(|e| {
                bpf_failure(
                    &format!("cannot attach to kernel function {}", scope.name),
                    e,
                )
            })?;
            link.pin(&pin)
                .map_err(|e| bpf_failure("cannot pin a kfunc link", e))?;
            created.push(pin);
        }
    }
    Ok(created)
}

pub(super) fn reuse_maps(object: &mut libbpf_rs::OpenObject) -> Result<(), Failure> {
    for mut map in object.maps_mut() {
        let name = map.name().to_string_lossy().into_owned();
        if !name.contains('.') {
            map.set_pin_path(maps_dir().join(&name))
                .map_err(|e| bpf_failure(&format!("cannot reuse map {name}"), e))?;
        }
    }
    Ok(())
}

/// Detaches the scopes of `slot` not in `keep`.
pub(super) fn remove_scopes(maps: &Maps, slot: u32, keep: &BTreeSet<u32>) {
    for (id, name) in entries::<u32, abi::bpfbox_scope_name>(&maps.scope_names) {
        if name.slot == slot && !keep.contains(&id) {
            unpin_link(&scope_pin(id, "entry"));
            unpin_link(&scope_pin(id, "return"));
            let _ = maps.scope_names.delete(id.as_bytes());
        }
    }
}
