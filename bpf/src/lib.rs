//! The ABI shared with the BPF programs: constants and map layouts, generated
//! by bindgen from `bpf/include/bpfbox.h`, and the policy language's flag
//! vocabulary derived from the same header.

#![allow(non_camel_case_types, non_upper_case_globals, non_snake_case)]
#![allow(clippy::all)]

/// Path of the shared header, for tools that compile the BPF side.
pub const HEADER_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/include/bpfbox.h");

mod generated {
    #![allow(
        non_camel_case_types,
        non_upper_case_globals,
        non_snake_case,
        dead_code
    )]
    #![allow(clippy::all, unnecessary_transmutes)]
    include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
}

pub use generated::*;

/// The policy language's access flags, by rule family, as (name, bit).
pub mod vocabulary {
    include!(concat!(env!("OUT_DIR"), "/vocabulary.rs"));
}
