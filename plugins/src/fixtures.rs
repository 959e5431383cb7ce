//! Fixture tests of a policy (`armsledger policy test`): each fixture file holds an input
//! and the decision expected of it, and runs on the compiled module, under the host's
//! limits, exactly as the ledger would run it.
//!
//! A fixture: `{"name": "...", "input": {ABI v1 input}, "expect": {"outcome": "deny",
//! "codes": ["un_arms_embargo"]}}`. `codes` (optional) lists the reason codes expected,
//! in any order. An input without `data` gets the policy's data file, if one is given.

use std::path::{Path, PathBuf};

use ledger::policy::{PolicyOutcome, PolicyVerdict};
use serde::Deserialize;
use serde_json::Value;

use crate::PolicyHost;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    name: String,
    input: Value,
    expect: Expected,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    outcome: PolicyOutcome,
    #[serde(default)]
    codes: Option<Vec<String>>,
}

/// How one fixture went.
#[derive(Debug)]
pub struct FixtureResult {
    pub file: PathBuf,
    pub name: String,
    /// None when the decision is the expected one; else what differed.
    pub failure: Option<String>,
    pub verdict: PolicyVerdict,
}

/// Runs every `*.json` fixture of `dir` (in name order) on `module`.
pub fn run_fixtures(
    host: &PolicyHost,
    module: &[u8],
    dir: &Path,
    data: Option<&Value>,
) -> Result<Vec<FixtureResult>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("{} holds no *.json fixture", dir.display()));
    }
    files
        .into_iter()
        .map(|file| run_one(host, module, file, data))
        .collect()
}

fn run_one(
    host: &PolicyHost,
    module: &[u8],
    file: PathBuf,
    data: Option<&Value>,
) -> Result<FixtureResult, String> {
    let text = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut fixture: Fixture = serde_json::from_slice(&text)
        .map_err(|e| format!("{}: not a fixture: {e}", file.display()))?;
    if let (Some(data), Value::Object(input)) = (data, &mut fixture.input) {
        input.entry("data").or_insert_with(|| data.clone());
    }
    let input = serde_json::to_vec(&fixture.input).map_err(|e| e.to_string())?;
    let verdict = host.evaluate_bytes(module, &input);
    let mut failure = None;
    if verdict.outcome != fixture.expect.outcome {
        failure = Some(format!(
            "expected {:?}, got {:?} ({:?})",
            fixture.expect.outcome, verdict.outcome, verdict.reasons
        ));
    } else if let Some(mut expected) = fixture.expect.codes {
        let mut got: Vec<String> = verdict.reasons.iter().map(|r| r.code.clone()).collect();
        expected.sort();
        got.sort();
        if expected != got {
            failure = Some(format!("expected reason codes {expected:?}, got {got:?}"));
        }
    }
    Ok(FixtureResult {
        file,
        name: fixture.name,
        failure,
        verdict,
    })
}
