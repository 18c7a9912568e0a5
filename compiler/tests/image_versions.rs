//! Images written by earlier formats still load: each image under
//! testsuite/images was written by the bpfboxc of its format version from a
//! policy under testsuite/compile, and reads as the same model the compiler
//! makes of that policy today.

use std::path::Path;

use bpfbox_compiler::{analyze, Options};

fn compiled_today(policy: &str) -> bpfbox_image::Image {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join(policy)).unwrap();
    let options = Options {
        check_paths: false,
        ..Options::default()
    };
    let mut image = analyze(&text, &options).image().expect("compiles");
    image.source = Some(policy.to_string());
    image
}

fn read(image: &str) -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::read(root.join(image)).unwrap()
}

#[test]
fn format_1_3_images_read_as_they_compile_today() {
    for (image, policy) in [
        (
            "testsuite/images/format-1.3-every-rule-kind.bbx",
            "testsuite/compile/every_rule_kind.policy",
        ),
        (
            "testsuite/images/format-1.3-quiet-and-unix-sockets.bbx",
            "testsuite/compile/quiet_and_unix_sockets.policy",
        ),
    ] {
        let old = read(image);
        assert_eq!(
            u16::from_le_bytes([old[8], old[9]]),
            1,
            "{image} is a 1.x image"
        );
        assert_eq!(
            bpfbox_image::read(&old),
            Ok(compiled_today(policy)),
            "{image}"
        );
        // Written again today: a 2.0 image of the same model, smaller.
        let new = bpfbox_image::write(&compiled_today(policy));
        assert_eq!(u16::from_le_bytes([new[8], new[9]]), 2);
        assert!(
            new.len() < old.len(),
            "{image}: {} >= {}",
            new.len(),
            old.len()
        );
    }
}
