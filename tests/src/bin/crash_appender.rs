//! The child process of the crash test: appends under load to a ledger and prints one
//! line `ack <index> <event id>` for every append the ledger acknowledged, until it is
//! killed. Usage: `crash_appender DB_PATH FIRST_WEAPON_NUMBER`.
#![expect(
    clippy::expect_used,
    reason = "a test helper process: failing loudly is the point"
)]

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use armsledger_tests::{Signer, create_ledger, log_key, register, test_key};
use ledger::{Ledger, LedgerConfig, SystemClock};

const THREADS: u64 = 8;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(args.next().expect("DB_PATH"));
    let first: u64 = args
        .next()
        .expect("FIRST_WEAPON_NUMBER")
        .parse()
        .expect("a number");
    let config = LedgerConfig::default();
    let ledger = if path.exists() {
        Ledger::open(&path, log_key(), config, SystemClock::shared()).expect("reopen after a crash")
    } else {
        let ledger = create_ledger(&path, config, SystemClock::shared());
        register(&ledger, "zz-police", "police", 10);
        ledger
    };
    let police = Signer::new("zz-police", "k1", test_key(10));
    let out = Mutex::new(std::io::stdout());
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (ledger, police, out) = (ledger.clone(), police.clone(), &out);
            s.spawn(move || {
                for n in 0.. {
                    let event = police.weapon_marked(first + n * THREADS + t);
                    let id = event.envelope().event_id;
                    let receipt = ledger.append(event).expect("append");
                    let mut out = out.lock().expect("stdout");
                    writeln!(out, "ack {} {id}", receipt.index).expect("write");
                    out.flush().expect("flush");
                }
            });
        }
    });
}
