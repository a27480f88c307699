//! The committed wire types must be exactly what the generator makes from the vendored models:
//! nobody edits `src/wire/` by hand, and a generator change lands with its output.

#[test]
fn committed_wire_types_match_a_fresh_generation() {
    let root = berth_codegen::workspace_root();
    let files = berth_codegen::generate_all(&root).expect("generation succeeds");
    assert!(
        files.len() >= 10,
        "every service and the module index are generated"
    );
    let mut stale = Vec::new();
    for (path, contents) in files {
        let committed = std::fs::read_to_string(root.join(&path)).unwrap_or_default();
        if committed != contents {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "out of date (run `cargo run -p berth-codegen`): {stale:?}"
    );
}
