//! The canonical encoding is a contract: these golden vectors were produced by an
//! independent implementation (Python's rfc8785 and cryptography), and our code must
//! reproduce every byte.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::SigningKey;
use ledger::entry::Entry;
use ledger::event::{EventLimits, SignedEvent};
use ledger::json::Json;
use ledger::{crypto, merkle};

fn golden() -> serde_json::Value {
    let text = include_str!("../../golden/event-v1.json");
    serde_json::from_str(text).expect("golden vectors parse")
}

fn b64(v: &serde_json::Value) -> Vec<u8> {
    STANDARD
        .decode(v.as_str().expect("base64 string"))
        .expect("base64")
}

/// The golden file in the repository is the same contract as the one in shared/.
#[test]
fn golden_vectors_match_the_shared_contract() {
    let shared = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/testvectors/armsledger/event-v1.json"
    );
    match std::fs::read_to_string(shared) {
        Ok(text) => assert_eq!(text, include_str!("../../golden/event-v1.json")),
        Err(e) => println!("shared/ not present ({e}); the repository's copy is the contract"),
    }
}

#[test]
fn events_reproduce_canonical_bytes_and_signatures() {
    let g = golden();
    let secret: [u8; 32] = hex::decode(g["secret_key_hex"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let key = SigningKey::from_bytes(&secret);
    assert_eq!(
        crypto::public_key_of(&key).to_base64(),
        g["public_key_base64"].as_str().unwrap()
    );
    let events = g["events"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    for (n, v) in events.iter().enumerate() {
        let want_canonical = b64(&v["canonical_bytes_base64"]);
        let want_signature = b64(&v["signature_base64"]);
        // Parse the unsigned envelope exactly as a client would send it (any key order,
        // escapes as Python wrote them), plus the signature.
        let mut unsigned = v["envelope_unsigned"].clone();
        unsigned["signature"] = serde_json::Value::String(STANDARD.encode(&want_signature));
        let text = serde_json::to_vec(&unsigned).unwrap();
        let event = SignedEvent::parse(&text, &EventLimits::default())
            .unwrap_or_else(|e| panic!("event {n}: {e}"));
        assert_eq!(
            event.signing_bytes(),
            want_canonical.as_slice(),
            "canonical bytes of event {n}"
        );
        // Signing the parsed envelope afresh gives the same signature (ed25519 is deterministic).
        let resigned = event.envelope().clone().sign(&key);
        assert_eq!(
            resigned.signature().to_bytes().as_slice(),
            want_signature.as_slice(),
            "signature of event {n}"
        );
        crypto::verify_strict(
            &crypto::public_key_of(&key),
            event.signing_bytes(),
            event.signature(),
        )
        .unwrap_or_else(|e| panic!("event {n} does not verify: {e}"));
    }
}

#[test]
fn entries_reproduce_bytes_and_leaf_hashes() {
    let g = golden();
    let entries = g["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    for (n, v) in entries.iter().enumerate() {
        let want_bytes = b64(&v["entry_bytes_base64"]);
        let want_leaf = b64(&v["leaf_hash_base64"]);
        // Our parser accepts the stored bytes, and writing the entry back gives them again.
        let entry = Entry::parse(&want_bytes).unwrap_or_else(|e| panic!("entry {n}: {e}"));
        assert_eq!(entry.to_bytes().unwrap(), want_bytes, "entry {n} bytes");
        assert_eq!(
            merkle::leaf_hash(&want_bytes).as_slice(),
            want_leaf.as_slice(),
            "leaf hash {n}"
        );
        // And building it from the readable form (any key order) gives the same bytes.
        let readable = serde_json::to_vec(&v["entry"]).unwrap();
        let rebuilt = Json::parse(&readable, 64).unwrap().to_canonical_vec();
        assert_eq!(rebuilt, want_bytes, "JCS of entry {n}");
        assert_eq!(entry.index, n as u64);
    }
}
