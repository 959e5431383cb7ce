//! Crash safety: a child process appends under load and is killed with SIGKILL at
//! random moments. After each kill the ledger reopens, every acknowledged event is in
//! it at the index its receipt gave, verify passes, and appending goes on.
//!
//! Rounds: ARMSLEDGER_CRASH_ROUNDS (default 6; CI runs more). Seed:
//! ARMSLEDGER_CRASH_SEED (printed, to replay a failure's kill times).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use armsledger_tests::{env_u64, open_ledger};
use ledger::SystemClock;
use ledger::event::EventId;

/// xorshift64*: enough to spread kill times; seeded so a failure can be replayed.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

#[test]
fn acknowledged_appends_survive_sigkill() {
    let rounds = env_u64("ARMSLEDGER_CRASH_ROUNDS", 6);
    let seed = env_u64(
        "ARMSLEDGER_CRASH_SEED",
        SystemClock::shared().now_unix_millis().unsigned_abs() | 1,
    );
    println!("crash test: {rounds} rounds, ARMSLEDGER_CRASH_SEED={seed}");
    let mut rng = seed;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.redb");
    let mut acknowledged: Vec<(u64, EventId)> = Vec::new();
    let started = Instant::now();
    for round in 0..rounds {
        let mut child = Command::new(env!("CARGO_BIN_EXE_crash_appender"))
            .arg(&path)
            .arg((round * 10_000_000).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|line| {
                    let mut parts = line.split(' ');
                    (parts.next() == Some("ack")).then_some(())?;
                    let index = parts.next()?.parse().ok()?;
                    Some((index, EventId::parse(parts.next()?).ok()?))
                })
                .collect::<Vec<_>>()
        });
        // Let it start (open + repair) and get going, then kill it at a random moment.
        let kill_after = Duration::from_millis(150 + next(&mut rng) % 600);
        std::thread::sleep(kill_after);
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        let acks = reader.join().unwrap();
        println!(
            "round {round}: killed after {kill_after:?}, {} acks",
            acks.len()
        );
        acknowledged.extend(acks);

        // Reopen (redb repairs after the crash) and check everything acknowledged.
        let ledger = open_ledger(&path);
        let reader = ledger.reader().unwrap();
        for (index, id) in &acknowledged {
            let entry = reader
                .entry(*index)
                .unwrap()
                .unwrap_or_else(|| panic!("acknowledged entry {index} lost (seed {seed})"));
            assert_eq!(
                entry.event.envelope().event_id,
                *id,
                "entry {index} (seed {seed})"
            );
        }
        drop(reader);
        ledger
            .verify()
            .unwrap_or_else(|f| panic!("verify after round {round} (seed {seed}): {f}"));
        ledger.close();
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the crash test is bounded in time"
        );
    }
    assert!(
        acknowledged.len() as u64 > rounds,
        "the child appended under load ({} acks)",
        acknowledged.len()
    );
    let report = ledger::verify::verify_file(&path).unwrap();
    assert!(report.entries >= acknowledged.len() as u64 + 2);
}
