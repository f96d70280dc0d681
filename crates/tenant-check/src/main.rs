//! `tenant-check [DIR...]`: validates every tenant under `tenants/` (or the given tenant dirs), reporting every problem.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const HELP: &str = "\
tenant-check: validates tenant configs (each folder's wrangler.toml and its [vars.TENANT])

usage: cargo run -q -p tenant-check [-- DIR...]

With no DIR, checks every folder under tenants/ that holds a wrangler.toml. Every problem of
every tenant is listed (a TOML syntax error with its line and column), and two tenants may not
share a worker `name`. Folders whose name starts with `_` are templates: their placeholders
(`REPLACE-WITH-...`, the template's tenantId) are allowed there and refused everywhere else.
Exits 1 when any tenant has a problem. Field rules: docs/configuration.md.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{HELP}");
        return ExitCode::SUCCESS;
    }
    if let Some(flag) = args.iter().find(|a| a.starts_with('-')) {
        eprintln!("tenant-check: unknown option `{flag}` (try --help)");
        return ExitCode::FAILURE;
    }
    let dirs: Vec<PathBuf> = if args.is_empty() {
        tenant_dirs(Path::new("tenants"))
    } else {
        args.iter().map(PathBuf::from).collect()
    };
    if dirs.is_empty() {
        eprintln!("tenant-check: no tenants found under tenants/");
        return ExitCode::FAILURE;
    }
    let mut failed = 0;
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for dir in &dirs {
        let source = dir.to_string_lossy().trim_end_matches('/').to_string();
        let outcome = tenant_check::check_tenant_dir(dir, &source).and_then(|c| {
            match names.insert(c.name.clone(), source.clone()) {
                Some(other) => Err(vec![gateway::ConfigError::new(
                    &source,
                    "wrangler.toml: name",
                    format!(
                        "`{}` is also the worker name of {other}: each tenant deploys its own worker",
                        c.name
                    ),
                )]),
                None => Ok(c),
            }
        });
        match outcome {
            Ok(c) => println!(
                "ok    {source} (tenant `{}`, worker `{}`, chat model {})",
                c.tenant.tenant_id, c.name, c.tenant.chat_model
            ),
            Err(problems) => {
                failed += 1;
                println!("FAIL  {source}: {} problem(s)", problems.len());
                for p in problems {
                    println!("      {p}");
                }
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
