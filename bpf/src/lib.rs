//! The ABI shared with the BPF programs: constants and map layouts, generated
//! by bindgen from `bpf/include/bpfbox.h`, and the policy language's flag
//! vocabulary derived from the same header. Both are committed (src/generated;
//! tests/generated.rs fails when they are stale), so that nothing here needs
//! libclang to build.

#![allow(non_camel_case_types, non_upper_case_globals, non_snake_case)]
#![allow(clippy::all)]

mod generated {
    #![allow(
        non_camel_case_types,
        non_upper_case_globals,
        non_snake_case,
        dead_code
    )]
    #![allow(clippy::all, unnecessary_transmutes)]
    include!("generated/bindings.rs");
}

pub use generated::*;

/// The policy language's access flags, by rule family, as (name, bit).
pub mod vocabulary {
    include!("generated/vocabulary.rs");
}
