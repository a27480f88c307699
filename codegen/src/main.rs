//! `cargo run -p berth-codegen` regenerates `src/wire/`; `-- --check` only compares and fails on
//! a difference (what CI runs).

use std::process::ExitCode;

fn main() -> ExitCode {
    let check = std::env::args().any(|a| a == "--check");
    let root = berth_codegen::workspace_root();
    let files = match berth_codegen::generate_all(&root) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("berth-codegen: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut stale = 0;
    for (path, contents) in files {
        let full = root.join(&path);
        let current = std::fs::read_to_string(&full).unwrap_or_default();
        if current == contents {
            continue;
        }
        if check {
            eprintln!("out of date: {}", path.display());
            stale += 1;
        } else if let Err(e) = std::fs::write(&full, contents) {
            eprintln!("berth-codegen: {}: {e}", full.display());
            return ExitCode::FAILURE;
        } else {
            println!("wrote {}", path.display());
        }
    }
    if stale > 0 {
        eprintln!("{stale} generated file(s) differ: run `cargo run -p berth-codegen`");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
