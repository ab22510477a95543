//! Embeds the ASFF sample findings and events of `layers/core/tests/fixtures` into the binary,
//! so `secops demo` runs anywhere without the source tree.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../layers/core/tests/fixtures");
    let mut out =
        String::from("/// (kind, file name, JSON) of every sample.\npub const SAMPLES: &[(&str, &str, &str)] = &[\n");
    for kind in ["events", "asff"] {
        let dir = root.join(kind);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files: Vec<_> =
            std::fs::read_dir(&dir).map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect()).unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "json"));
        files.sort();
        for path in files {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            let abs = path.canonicalize().unwrap_or(path);
            writeln!(out, "    ({kind:?}, {name:?}, include_str!({:?})),", abs.display().to_string()).ok();
        }
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join("samples.rs");
    std::fs::write(dest, out).unwrap_or_else(|e| panic!("cannot write samples.rs: {e}"));
}
