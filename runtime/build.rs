//! Compiles the BPF programs in bpf/ into libbpf-rs skeletons.

use std::path::PathBuf;

use libbpf_cargo::SkeletonBuilder;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let bpf = manifest.join("../bpf");
    let include = bpf.join("include");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    // The uapi headers (linux/bpf.h) include <asm/types.h> from the
    // multiarch directory, which clang -target bpf does not search.
    let arch = match std::env::var("CARGO_CFG_TARGET_ARCH").unwrap().as_str() {
        "x86_64" => "x86_64",
        "aarch64" => "aarch64",
        other => panic!("unsupported architecture {other}"),
    };
    let multiarch = format!("/usr/include/{arch}-linux-gnu");
    // libbpf's name for the architecture, for kernel.h's struct pt_regs.
    let target_arch = match arch {
        "x86_64" => "x86",
        _ => "arm64",
    };
    for name in ["bpfbox", "shared", "uprobe", "kfunc"] {
        let source = bpf.join(format!("{name}.bpf.c"));
        SkeletonBuilder::new()
            .source(&source)
            .clang_args([
                format!("-I{}", include.display()),
                format!("-I{multiarch}"),
                format!("-D__TARGET_ARCH_{target_arch}"),
                // v3: atomic fetch-and-add, which claims room in procs.
                "-mcpu=v3".to_string(),
                "-Wall".to_string(),
                "-Werror".to_string(),
            ])
            .build_and_generate(out.join(format!("{name}.skel.rs")))
            .unwrap_or_else(|e| panic!("building {}: {e:#}", source.display()));
        println!("cargo:rerun-if-changed={}", source.display());
    }
    println!("cargo:rerun-if-changed={}", include.display());
    // Every header there, not a list kept by hand.
    for header in std::fs::read_dir(&include)
        .expect("bpf/include is readable")
        .flatten()
    {
        if header.path().extension().is_some_and(|e| e == "h") {
            println!("cargo:rerun-if-changed={}", header.path().display());
        }
    }
}
