//! `act policy test`: finds the `*_test.yaml` suites, loads their policies from disk, runs them
//! with the one suite runner ([`act_server::suite`], which `POST /v1/policies` runs too) and
//! prints PASS/FAIL lines.

use crate::exit::{CmdResult, Failure, CHECK_FAILED, SUITE};
use act_server::suite::{is_suite_name, parse_suite, run_suite, SuiteError};
use std::path::{Path, PathBuf};

/// Finds the suites under `path` (a folder, or one suite file).
fn suites(path: &Path) -> Result<Vec<PathBuf>, Failure> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries =
        std::fs::read_dir(path).map_err(|e| Failure::new(crate::exit::IO, format!("{}: {e}", path.display())))?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(is_suite_name))
        .collect();
    found.sort();
    if found.is_empty() {
        return Err(Failure::new(
            SUITE,
            format!("{}: no *_test.yaml suites found", path.display()),
        ));
    }
    Ok(found)
}

/// Runs every suite; prints PASS/FAIL lines and a `N passed, M failed` summary.
pub fn run(path: &Path, verbose: bool) -> CmdResult {
    let (mut passed, mut failed) = (0usize, 0usize);
    for file in suites(path)? {
        let text = crate::exit::read(&file)?;
        let suite = parse_suite(&file.display().to_string(), &text).map_err(|e| match e {
            SuiteError::Syntax(d) => Failure::new(
                SUITE,
                d.iter()
                    .map(crate::exit::diagnostic_line)
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            SuiteError::At(line, m) => Failure::new(SUITE, format!("{}:{line}: {m}", file.display())),
        })?;
        let dir = file.parent().unwrap_or(Path::new("."));
        let policies = match &suite.policies {
            Some((_, p)) => dir.join(p),
            None => dir.to_path_buf(),
        };
        let set = act_core::policy::load_path(&policies).map_err(crate::policy::report)?;
        for r in run_suite(&suite, &set) {
            let where_ = format!("{}:{}", file.display(), r.line);
            match (&r.case, &r.failure) {
                (Some(name), None) => {
                    passed += 1;
                    if verbose {
                        println!("PASS {} › {name}", r.suite);
                    }
                }
                (Some(name), Some(why)) => {
                    failed += 1;
                    println!("FAIL {} › {name} ({where_}): {why}", r.suite);
                }
                (None, why) => {
                    failed += 1;
                    println!("FAIL {} › ({where_}): {}", r.suite, why.as_deref().unwrap_or_default());
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        return Err(Failure::new(CHECK_FAILED, String::new()));
    }
    Ok(())
}
