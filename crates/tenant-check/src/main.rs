//! `tenant-check [DIR...]`: validates every tenant under `tenants/` (or the given tenant dirs).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    let dirs = if args.is_empty() {
        tenant_dirs(Path::new("tenants"))
    } else {
        args
    };
    if dirs.is_empty() {
        eprintln!("tenant-check: no tenants found under tenants/");
        return ExitCode::FAILURE;
    }
    let mut failed = 0;
    for dir in &dirs {
        let source = dir.to_string_lossy().trim_end_matches('/').to_string();
        match tenant_check::check_tenant_dir(dir, &source) {
            Ok(t) => println!(
                "ok    {source} (tenant `{}`, chat model {})",
                t.tenant_id, t.chat_model
            ),
            Err(e) => {
                failed += 1;
                println!("FAIL  {e}");
            }
        }
    }
    println!("{} tenants checked, {failed} failed", dirs.len());
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn tenant_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.join("wrangler.toml").is_file())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}
