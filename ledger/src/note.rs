//! C2SP signed notes (c2sp.org/signed-note), tlog checkpoints (c2sp.org/tlog-checkpoint) and
//! verifier keys ("vkeys", `<name>+<key id hex>+<base64(0x01 || public key)>`).
//!
//! Only Ed25519 (signature type `0x01`) is implemented: the ledger signs and verifies its own
//! checkpoints, and supporting fewer algorithms means fewer ways to be confused.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::SigningKey;
use sha2::{Digest as _, Sha256};

use crate::crypto::{self, KeyError, PublicKey, SIGNATURE_LENGTH, Signature};

/// Signature type identifier byte for Ed25519 in C2SP signed notes.
pub const ALGORITHM_ED25519: u8 = 0x01;

/// Most signature lines a note may carry before it is rejected unread; the spec asks verifiers
/// to bound the work and to accept at least 16.
pub const MAX_SIGNATURES: usize = 100;

/// Every signature line starts with U+2014 EM DASH and a space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// Errors from signing, opening and parsing notes, checkpoints and verifier keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// A key name is empty, or contains a Unicode space or `+`.
    #[error("invalid key name: must be non-empty, without spaces or '+'")]
    InvalidKeyName,
    /// Text handed to the signer cannot be a note text.
    #[error("invalid note text: {0}")]
    InvalidText(&'static str),
    /// The signed note is not well-formed.
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    /// The signed note is not valid UTF-8.
    #[error("malformed note: not valid UTF-8")]
    NotUtf8,
    /// The note carries more than [`MAX_SIGNATURES`] signature lines.
    #[error("note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// A signature line names our key (name and key id) but does not verify.
    #[error("note signature from the verifier's key does not verify")]
    SignatureInvalid,
    /// No signature line is from the verifier's key.
    #[error("note is not signed by the verifier's key")]
    Unverified,
    /// The verifier key string is not `<name>+<8 lowercase hex>+<base64>`.
    #[error("malformed verifier key: {0}")]
    VkeyMalformed(&'static str),
    /// The verifier key is for a signature type other than Ed25519.
    #[error("unsupported verifier key algorithm {0:#04x}")]
    VkeyUnsupportedAlgorithm(u8),
    /// The key id in the verifier key is not the one computed from its name and key.
    #[error("verifier key id does not match its name and key")]
    VkeyKeyIdMismatch,
    /// The public key in a verifier key is not acceptable.
    #[error("verifier key: {0}")]
    Key(#[from] KeyError),
    /// The checkpoint text is not well-formed.
    #[error("malformed checkpoint: {0}")]
    CheckpointMalformed(&'static str),
    /// The checkpoint origin is not the signer's or verifier's key name.
    #[error("checkpoint origin does not match the key name")]
    CheckpointOriginMismatch,
}

impl NoteError {
    /// A stable snake_case code for this error, for logs and API responses.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidKeyName => "key_name_invalid",
            Self::InvalidText(_) => "note_text_invalid",
            Self::Malformed(_) => "note_malformed",
            Self::NotUtf8 => "note_not_utf8",
            Self::TooManySignatures => "note_too_many_signatures",
            Self::SignatureInvalid => "note_signature_invalid",
            Self::Unverified => "note_unverified",
            Self::VkeyMalformed(_) => "vkey_malformed",
            Self::VkeyUnsupportedAlgorithm(_) => "vkey_unsupported_algorithm",
            Self::VkeyKeyIdMismatch => "vkey_key_id_mismatch",
            Self::Key(e) => e.code(),
            Self::CheckpointMalformed(_) => "checkpoint_malformed",
            Self::CheckpointOriginMismatch => "checkpoint_origin_mismatch",
        }
    }
}

/// Whether `name` is a valid key name: non-empty, no Unicode whitespace, no `+`.
///
/// ASCII control characters are refused too: a note containing one is malformed, so a key
/// with such a name could never produce a note that opens.
fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || u32::from(c) < 0x20)
}

/// Whether `s` contains an ASCII control character other than newline, which notes forbid.
fn has_forbidden_control(s: &str) -> bool {
    // Bytes below 0x20 only ever occur in UTF-8 as those ASCII characters themselves.
    s.bytes().any(|b| b < 0x20 && b != b'\n')
}

/// The C2SP key id of an Ed25519 key: the first 4 bytes of
/// `SHA-256(name || 0x0A || 0x01 || public key)`.
pub fn key_id(name: &str, key: &PublicKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ALGORITHM_ED25519]);
    h.update(key.as_bytes());
    let digest = h.finalize();
    let mut id = [0u8; 4];
    id.copy_from_slice(&digest[..4]);
    id
}

/// Signs note texts with one named Ed25519 key.
pub struct NoteSigner {
    name: String,
    key: SigningKey,
    key_id: [u8; 4],
}

impl fmt::Debug for NoteSigner {
    // Spelled out so that no future change can print the private key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_id", &hex::encode(self.key_id))
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A signer for `name` (non-empty, no spaces, no `+`) with `key`.
    pub fn new(name: &str, key: SigningKey) -> Result<Self, NoteError> {
        if !is_valid_name(name) {
            return Err(NoteError::InvalidKeyName);
        }
        let key_id = key_id(name, &crypto::public_key_of(&key));
        Ok(Self {
            name: name.to_owned(),
            key,
            key_id,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id (first 4 bytes of the SHA-256 over name, algorithm and public key).
    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }

    /// The verifier matching this signer.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key: crypto::public_key_of(&self.key),
        }
    }

    /// Sign `text` and return the whole signed note: the text, a blank line, and one signature
    /// line.
    ///
    /// The text must be non-empty, end in a newline and contain no ASCII control characters
    /// other than newline.
    pub fn sign(&self, text: &str) -> Result<String, NoteError> {
        if !text.ends_with('\n') {
            return Err(NoteError::InvalidText("must end with a newline"));
        }
        if has_forbidden_control(text) {
            return Err(NoteError::InvalidText(
                "must not contain control characters other than newline",
            ));
        }
        let sig = crypto::sign(&self.key, text.as_bytes());
        let mut blob = [0u8; 4 + SIGNATURE_LENGTH];
        blob[..4].copy_from_slice(&self.key_id);
        blob[4..].copy_from_slice(&sig.to_bytes());
        Ok(format!(
            "{text}\n{SIGNATURE_PREFIX}{} {}\n",
            self.name,
            BASE64.encode(blob)
        ))
    }
}

/// Verifies notes signed by one named Ed25519 key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: [u8; 4],
    key: PublicKey,
}

impl NoteVerifier {
    /// A verifier for `name` (non-empty, no spaces, no `+`) and `key`.
    pub fn new(name: &str, key: PublicKey) -> Result<Self, NoteError> {
        if !is_valid_name(name) {
            return Err(NoteError::InvalidKeyName);
        }
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, &key),
            key,
        })
    }

    /// Parse a verifier key `<name>+<8 lowercase hex key id>+<base64(0x01 || public key)>`.
    ///
    /// The key id must match the one computed from name and key, and the key must pass
    /// [`PublicKey::from_bytes`]. Uppercase hex is rejected so that each key has one vkey.
    pub fn from_vkey(s: &str) -> Result<Self, NoteError> {
        // The name has no '+', the id is hex; only the base64 part may contain '+'.
        let mut parts = s.splitn(3, '+');
        let name = parts.next().unwrap_or_default();
        let (Some(id_hex), Some(key_b64)) = (parts.next(), parts.next()) else {
            return Err(NoteError::VkeyMalformed("expected <name>+<key id>+<key>"));
        };
        if !is_valid_name(name) {
            return Err(NoteError::VkeyMalformed("invalid key name"));
        }
        let id_is_lower_hex = id_hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if id_hex.len() != 8 || !id_is_lower_hex {
            return Err(NoteError::VkeyMalformed(
                "key id must be 8 lowercase hex digits",
            ));
        }
        let mut id = [0u8; 4];
        hex::decode_to_slice(id_hex, &mut id)
            .map_err(|_| NoteError::VkeyMalformed("key id must be 8 lowercase hex digits"))?;
        let blob = BASE64
            .decode(key_b64)
            .map_err(|_| NoteError::VkeyMalformed("key is not padded standard base64"))?;
        let Some((&alg, key_bytes)) = blob.split_first() else {
            return Err(NoteError::VkeyMalformed("empty key"));
        };
        if alg != ALGORITHM_ED25519 {
            return Err(NoteError::VkeyUnsupportedAlgorithm(alg));
        }
        let key_bytes: &[u8; 32] = key_bytes
            .try_into()
            .map_err(|_| NoteError::VkeyMalformed("Ed25519 key must be 32 bytes"))?;
        let key = PublicKey::from_bytes(key_bytes)?;
        let verifier = Self::new(name, key)?;
        if verifier.key_id != id {
            return Err(NoteError::VkeyKeyIdMismatch);
        }
        Ok(verifier)
    }

    /// This verifier as a vkey string.
    pub fn to_vkey(&self) -> String {
        let mut blob = [0u8; 33];
        blob[0] = ALGORITHM_ED25519;
        blob[1..].copy_from_slice(self.key.as_bytes());
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(self.key_id),
            BASE64.encode(blob)
        )
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }

    /// The public key.
    pub fn key(&self) -> &PublicKey {
        &self.key
    }

    /// Verify a signed note; return its text (the signed part).
    ///
    /// Signature lines from other keys (different name or key id) are ignored, but every line
    /// naming this key must verify and at least one must be present. Malformed notes are
    /// rejected whoever signed them.
    pub fn open<'a>(&self, note: &'a str) -> Result<&'a str, NoteError> {
        if has_forbidden_control(note) {
            return Err(NoteError::Malformed(
                "contains control characters other than newline",
            ));
        }
        // The text may itself contain blank lines; the last blank line separates it from the
        // signatures (signature lines are never empty).
        let Some(split) = note.rfind("\n\n") else {
            return Err(NoteError::Malformed(
                "missing blank line before the signatures",
            ));
        };
        let text = &note[..=split];
        let sigs = &note[split + 2..];
        if sigs.is_empty() {
            return Err(NoteError::Malformed("no signature lines"));
        }
        if !sigs.ends_with('\n') {
            return Err(NoteError::Malformed(
                "signature block must end with a newline",
            ));
        }
        let mut verified = false;
        for (index, line) in sigs.split_terminator('\n').enumerate() {
            if index >= MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures);
            }
            let (name, id, sig) = parse_signature_line(line)?;
            if name != self.name || id != self.key_id {
                continue;
            }
            // A line claiming our name and key id is ours: any failure is a bad signature.
            let sig_bytes: &[u8; SIGNATURE_LENGTH] = sig
                .as_slice()
                .try_into()
                .map_err(|_| NoteError::SignatureInvalid)?;
            let sig = Signature::from_bytes(sig_bytes).map_err(|_| NoteError::SignatureInvalid)?;
            crypto::verify_strict(&self.key, text.as_bytes(), &sig)
                .map_err(|_| NoteError::SignatureInvalid)?;
            verified = true;
        }
        if verified {
            Ok(text)
        } else {
            Err(NoteError::Unverified)
        }
    }

    /// Like [`NoteVerifier::open`] for bytes that have not been checked to be UTF-8 yet.
    pub fn open_bytes<'a>(&self, note: &'a [u8]) -> Result<&'a str, NoteError> {
        let note = std::str::from_utf8(note).map_err(|_| NoteError::NotUtf8)?;
        self.open(note)
    }
}

/// Split a signature line `— <name> <base64(key id || signature)>` into its parts.
fn parse_signature_line(line: &str) -> Result<(&str, [u8; 4], Vec<u8>), NoteError> {
    let rest = line
        .strip_prefix(SIGNATURE_PREFIX)
        .ok_or(NoteError::Malformed(
            "signature line must start with an em dash and a space",
        ))?;
    let (name, b64) = rest.split_once(' ').ok_or(NoteError::Malformed(
        "signature line must be '— <name> <base64>'",
    ))?;
    if !is_valid_name(name) {
        return Err(NoteError::Malformed("invalid key name in signature line"));
    }
    let blob = BASE64
        .decode(b64)
        .map_err(|_| NoteError::Malformed("signature is not padded standard base64"))?;
    // A key id and at least one byte of signature.
    if blob.len() < 5 {
        return Err(NoteError::Malformed("signature too short"));
    }
    let mut id = [0u8; 4];
    id.copy_from_slice(&blob[..4]);
    Ok((name, id, blob[4..].to_vec()))
}

/// A tlog checkpoint body: origin, tree size, root hash and optional extension lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity; by the ledger's rule, also the name of the key that signs it.
    pub origin: String,
    /// Number of leaves in the tree.
    pub size: u64,
    /// RFC 6962 Merkle tree root hash at `size`.
    pub root: [u8; 32],
    /// Opaque, non-empty extension lines (not recommended by the spec; kept for round trips).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text of this checkpoint: one line each for origin, size, base64 root and every
    /// extension, each ending in a newline.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        );
        for ext in &self.extensions {
            text.push_str(ext);
            text.push('\n');
        }
        text
    }

    /// Parse a checkpoint note text (as returned by [`NoteVerifier::open`]).
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(NoteError::CheckpointMalformed(
                "text must end with a newline",
            ))?;
        if has_forbidden_control(body) {
            return Err(NoteError::CheckpointMalformed(
                "contains control characters other than newline",
            ));
        }
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(NoteError::CheckpointMalformed("empty origin"));
        }
        let size = lines
            .next()
            .ok_or(NoteError::CheckpointMalformed("missing tree size"))
            .and_then(parse_tree_size)?;
        let root_line = lines
            .next()
            .ok_or(NoteError::CheckpointMalformed("missing root hash"))?;
        let root_bytes = BASE64.decode(root_line).map_err(|_| {
            NoteError::CheckpointMalformed("root hash is not padded standard base64")
        })?;
        let root: [u8; 32] = root_bytes
            .as_slice()
            .try_into()
            .map_err(|_| NoteError::CheckpointMalformed("root hash must be 32 bytes"))?;
        let mut extensions = Vec::new();
        for ext in lines {
            if ext.is_empty() {
                return Err(NoteError::CheckpointMalformed("empty extension line"));
            }
            extensions.push(ext.to_owned());
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }
}

/// Parse a tree size: ASCII decimal u64, no sign, no leading zeros except "0" itself.
fn parse_tree_size(s: &str) -> Result<u64, NoteError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NoteError::CheckpointMalformed(
            "tree size must be decimal digits",
        ));
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err(NoteError::CheckpointMalformed(
            "tree size has a leading zero",
        ));
    }
    s.parse::<u64>()
        .map_err(|_| NoteError::CheckpointMalformed("tree size does not fit in 64 bits"))
}

/// Sign `cp` as a checkpoint note. The origin must equal the signer's key name.
pub fn sign_checkpoint(signer: &NoteSigner, cp: &Checkpoint) -> Result<String, NoteError> {
    if cp.origin != signer.name() {
        return Err(NoteError::CheckpointOriginMismatch);
    }
    let text = cp.to_text();
    // Refuse to sign what would not read back as the same checkpoint (an empty extension, or a
    // newline inside one), so a signed checkpoint always means what the caller passed.
    if Checkpoint::parse(&text)? != *cp {
        return Err(NoteError::CheckpointMalformed(
            "extension lines must be non-empty and contain no newline",
        ));
    }
    signer.sign(&text)
}

/// Verify a checkpoint note with `verifier`, parse it, and require its origin to equal the
/// verifier's key name.
pub fn open_checkpoint(verifier: &NoteVerifier, note: &str) -> Result<Checkpoint, NoteError> {
    let text = verifier.open(note)?;
    let cp = Checkpoint::parse(text)?;
    if cp.origin != verifier.name() {
        return Err(NoteError::CheckpointOriginMismatch);
    }
    Ok(cp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// The shared test-vector directory; a missing directory fails the test, never skips it.
    fn vectors_dir() -> PathBuf {
        let dir = match std::env::var_os("ARMSLEDGER_TESTVECTORS") {
            Some(d) => PathBuf::from(d),
            None => PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shared/testvectors"
            )),
        };
        assert!(
            dir.is_dir(),
            "test vector directory {} is missing (set ARMSLEDGER_TESTVECTORS)",
            dir.display()
        );
        dir
    }

    /// The vkey and the note from the C2SP example file.
    fn c2sp_example() -> (String, String) {
        let path = vectors_dir().join("c2sp/signed-note-example.txt");
        let content = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let (header, note) = content
            .split_once("\n\n")
            .expect("header, blank line, note");
        let vkey = header
            .lines()
            .filter(|l| !l.starts_with('#'))
            .find_map(|l| l.strip_prefix("vkey: "))
            .expect("vkey line");
        (vkey.to_owned(), note.to_owned())
    }

    fn signer(name: &str) -> NoteSigner {
        NoteSigner::new(name, crypto::generate_signing_key().expect("rng")).expect("signer")
    }

    #[test]
    fn c2sp_example_verifies() {
        let (vkey, note) = c2sp_example();
        let v = NoteVerifier::from_vkey(&vkey).expect("example vkey parses");
        assert_eq!(v.name(), "example.com/foo");
        let id_hex = vkey.split('+').nth(1).expect("id part");
        assert_eq!(hex::encode(key_id(v.name(), v.key())), id_hex);
        assert_eq!(hex::encode(v.key_id()), "530d903a");
        assert_eq!(v.to_vkey(), vkey);
        assert_eq!(v.open(&note), Ok("This is an example message.\n"));
        assert_eq!(
            v.open_bytes(note.as_bytes()),
            Ok("This is an example message.\n")
        );
    }

    #[test]
    fn c2sp_example_fails_on_any_byte_flip() {
        let (vkey, note) = c2sp_example();
        let v = NoteVerifier::from_vkey(&vkey).expect("vkey");
        let bytes = note.as_bytes();
        let mut checked = 0;
        for i in 0..bytes.len() {
            for mask in [0x01u8, 0x02, 0x20, 0x80] {
                let mut m = bytes.to_vec();
                m[i] ^= mask;
                let res = v.open_bytes(&m);
                assert!(
                    res.is_err(),
                    "flip {mask:#04x} at byte {i} still verifies: {res:?}"
                );
                checked += 1;
            }
        }
        assert!(checked > 400);
    }

    #[test]
    fn wrong_key_fails() {
        let (vkey, note) = c2sp_example();
        let real = NoteVerifier::from_vkey(&vkey).expect("vkey");
        // Same name, other key: different key id, the signature is not ours.
        let other = signer("example.com/foo").verifier();
        assert_eq!(other.open(&note), Err(NoteError::Unverified));
        // Same name and key id but another key (as if the id collided): must not verify.
        let forged = NoteVerifier {
            key: *other.key(),
            ..real.clone()
        };
        assert_eq!(forged.open(&note), Err(NoteError::SignatureInvalid));
        // Same key, other name.
        let renamed = NoteVerifier::new("example.com/bar", *real.key()).expect("verifier");
        assert_eq!(
            renamed.open(&note).map_err(|e| e.code()),
            Err("note_unverified")
        );
    }

    #[test]
    fn sign_and_open_round_trip() {
        let s = signer("log.example/test");
        let v = s.verifier();
        assert_eq!(v.key_id(), s.key_id());
        assert_eq!(v.key_id(), key_id(s.name(), v.key()));
        let text = "line one\n\nline three after a blank line\nünïcode ✓\n";
        let note = s.sign(text).expect("sign");
        assert!(note.starts_with(text));
        assert!(note.contains("\n\n\u{2014} log.example/test "));
        assert_eq!(v.open(&note), Ok(text));
        // Another verifier's key does not open it.
        assert_eq!(
            signer("log.example/test").verifier().open(&note),
            Err(NoteError::Unverified)
        );
        // Cosigned: unknown signatures are ignored, in any order.
        let w = signer("witness.example");
        let cosig = w.sign(text).expect("sign");
        let cosig_line = &cosig[text.len() + 1..];
        let both = format!("{note}{cosig_line}");
        assert_eq!(v.open(&both), Ok(text));
        assert_eq!(w.verifier().open(&both), Ok(text));
        let reversed = format!("{text}\n{cosig_line}{}", &note[text.len() + 1..]);
        assert_eq!(v.open(&reversed), Ok(text));
        // A second line claiming our key with a bad signature rejects the whole note.
        let mut bad_line = note[text.len() + 1..].to_owned();
        bad_line.replace_range(bad_line.len() - 6..bad_line.len() - 4, "AA");
        let with_bad = format!("{note}{bad_line}");
        assert_eq!(v.open(&with_bad), Err(NoteError::SignatureInvalid));
    }

    #[test]
    fn sign_rejects_bad_text_and_names() {
        let s = signer("a");
        assert_eq!(
            s.sign("no newline").map_err(|e| e.code()),
            Err("note_text_invalid")
        );
        assert_eq!(s.sign("").map_err(|e| e.code()), Err("note_text_invalid"));
        assert!(s.sign("tab\there\n").is_err());
        assert!(s.sign("cr\r\n").is_err());
        for bad in [
            "",
            "has space",
            "has+plus",
            "tab\tname",
            "nbsp\u{a0}name",
            "em\u{2003}space",
            "ctl\u{1}name",
        ] {
            let key = crypto::generate_signing_key().expect("rng");
            assert_eq!(
                NoteSigner::new(bad, key).map(|_| ()),
                Err(NoteError::InvalidKeyName),
                "{bad:?}"
            );
            let pk = *s.verifier().key();
            assert_eq!(
                NoteVerifier::new(bad, pk).map(|_| ()),
                Err(NoteError::InvalidKeyName)
            );
        }
        // Debug must not show the key.
        let dbg = format!("{s:?}");
        assert!(
            dbg.contains("NoteSigner") && !dbg.contains("secret"),
            "{dbg}"
        );
    }

    #[test]
    fn malformed_notes_rejected() {
        let s = signer("example.org/m");
        let v = s.verifier();
        let text = "hello\n";
        let note = s.sign(text).expect("sign");
        let sig_line = &note[text.len() + 1..];
        let (_, b64) = sig_line.trim_end().rsplit_once(' ').expect("line");
        let cases: Vec<(&str, String)> = vec![
            ("missing blank line", format!("{text}{sig_line}")),
            ("no signatures", format!("{text}\n")),
            ("no final newline", note.trim_end_matches('\n').to_owned()),
            (
                "hyphen instead of em dash",
                format!("{text}\n- example.org/m {b64}\n"),
            ),
            ("en dash", format!("{text}\n\u{2013} example.org/m {b64}\n")),
            (
                "no space after dash",
                format!("{text}\n\u{2014}example.org/m {b64}\n"),
            ),
            (
                "missing signature",
                format!("{text}\n\u{2014} example.org/m\n"),
            ),
            (
                "empty signature",
                format!("{text}\n\u{2014} example.org/m \n"),
            ),
            (
                "bad base64",
                format!(
                    "{text}\n\u{2014} example.org/m {}!\n",
                    &b64[..b64.len() - 1]
                ),
            ),
            (
                "unpadded base64",
                format!(
                    "{text}\n\u{2014} example.org/m {}\n",
                    b64.trim_end_matches('=')
                ),
            ),
            (
                "two spaces",
                format!("{text}\n\u{2014} example.org/m  {b64}\n"),
            ),
            (
                "trailing space",
                format!("{text}\n\u{2014} example.org/m {b64} \n"),
            ),
            ("CRLF", note.replace('\n', "\r\n")),
            (
                "tab in text",
                s.sign("a\n").expect("sign").replacen('a', "\t", 1),
            ),
            (
                "short blob",
                format!(
                    "{text}\n{sig_line}\u{2014} other {}\n",
                    BASE64.encode([1u8, 2, 3, 4])
                ),
            ),
            ("garbage after signatures", format!("{note}junk\n")),
            (
                "text not ending in newline",
                format!("hello\n\u{2014} example.org/m {b64}\n").replacen("hello\n", "hello", 1),
            ),
        ];
        for (what, bad) in &cases {
            let res = v.open(bad);
            assert!(res.is_err(), "{what}: {bad:?} accepted");
        }
        // The specific codes for the structural failures.
        assert_eq!(
            v.open(&cases[0].1).map_err(|e| e.code()),
            Err("note_malformed")
        );
        assert_eq!(
            v.open(&cases[3].1).map_err(|e| e.code()),
            Err("note_malformed")
        );
        assert_eq!(
            v.open(&cases[8].1).map_err(|e| e.code()),
            Err("note_malformed")
        );
        assert_eq!(
            v.open(&cases[12].1).map_err(|e| e.code()),
            Err("note_malformed")
        );

        // Not UTF-8.
        let mut bytes = note.clone().into_bytes();
        bytes[1] = 0xff;
        assert_eq!(v.open_bytes(&bytes), Err(NoteError::NotUtf8));

        // More than MAX_SIGNATURES lines: rejected even though ours is first and valid.
        let other = signer("other");
        let other_line = &other.sign(text).expect("sign")[text.len() + 1..];
        let mut many = note.clone();
        for _ in 0..MAX_SIGNATURES - 1 {
            many.push_str(other_line);
        }
        assert_eq!(
            v.open(&many),
            Ok(text),
            "exactly {MAX_SIGNATURES} lines are fine"
        );
        many.push_str(other_line);
        assert_eq!(v.open(&many), Err(NoteError::TooManySignatures));
    }

    fn sample_checkpoint(origin: &str) -> Checkpoint {
        Checkpoint {
            origin: origin.to_owned(),
            size: 20_852_163,
            root: [0xab; 32],
            extensions: vec![],
        }
    }

    #[test]
    fn checkpoint_text_round_trip() {
        // The body of the example in c2sp.org/tlog-checkpoint.
        let text =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let cp = Checkpoint::parse(text).expect("parse");
        assert_eq!(cp.origin, "example.com/behind-the-sofa");
        assert_eq!(cp.size, 20_852_163);
        assert_eq!(
            BASE64.encode(cp.root),
            "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
        );
        assert!(cp.extensions.is_empty());
        assert_eq!(cp.to_text(), text);

        let mut cp = sample_checkpoint("log.example");
        cp.extensions = vec!["ext one".into(), "— two".into()];
        assert_eq!(Checkpoint::parse(&cp.to_text()), Ok(cp.clone()));
        for size in [0, 1, 10, u64::MAX] {
            cp.size = size;
            assert_eq!(Checkpoint::parse(&cp.to_text()), Ok(cp.clone()));
        }
    }

    #[test]
    fn malformed_checkpoints_rejected() {
        let root = BASE64.encode([7u8; 32]);
        let bad = [
            ("size 01", format!("o\n01\n{root}\n")),
            ("size -1", format!("o\n-1\n{root}\n")),
            ("size +1", format!("o\n+1\n{root}\n")),
            ("size empty", format!("o\n\n{root}\n")),
            ("size with space", format!("o\n 1\n{root}\n")),
            (
                "size overflow",
                format!("o\n18446744073709551616\n{root}\n"),
            ),
            ("size hex", format!("o\n0x10\n{root}\n")),
            ("missing root", "o\n5\n".to_owned()),
            ("empty root", "o\n5\n\n".to_owned()),
            (
                "31-byte root",
                format!("o\n5\n{}\n", BASE64.encode([7u8; 31])),
            ),
            (
                "33-byte root",
                format!("o\n5\n{}\n", BASE64.encode([7u8; 33])),
            ),
            (
                "unpadded root",
                format!("o\n5\n{}\n", root.trim_end_matches('=')),
            ),
            ("empty origin", format!("\n5\n{root}\n")),
            ("no final newline", format!("o\n5\n{root}")),
            ("empty extension", format!("o\n5\n{root}\n\n")),
            (
                "empty extension in middle",
                format!("o\n5\n{root}\na\n\nb\n"),
            ),
            ("control character", format!("o\r\n5\n{root}\n")),
            ("only origin", "o\n".to_owned()),
            ("empty", String::new()),
        ];
        for (what, text) in &bad {
            let res = Checkpoint::parse(text);
            assert_eq!(
                res.as_ref().map_err(|e| e.code()),
                Err("checkpoint_malformed"),
                "{what}: {res:?}"
            );
        }
        assert_eq!(
            Checkpoint::parse("o\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")
                .map(|c| c.size),
            Ok(0)
        );
    }

    #[test]
    fn checkpoint_sign_and_open() {
        let s = signer("log.example/one");
        let v = s.verifier();
        let mut cp = sample_checkpoint("log.example/one");
        cp.extensions.push("note: extension".into());
        let note = sign_checkpoint(&s, &cp).expect("sign");
        assert_eq!(open_checkpoint(&v, &note), Ok(cp.clone()));
        // Any change to the body breaks the signature.
        let tampered = note.replacen("20852163", "20852164", 1);
        assert_eq!(
            open_checkpoint(&v, &tampered),
            Err(NoteError::SignatureInvalid)
        );

        // The signer refuses another origin, and unrepresentable extensions.
        assert_eq!(
            sign_checkpoint(&s, &sample_checkpoint("log.example/two")),
            Err(NoteError::CheckpointOriginMismatch)
        );
        let mut bad = cp.clone();
        bad.extensions.push(String::new());
        assert_eq!(
            sign_checkpoint(&s, &bad).map_err(|e| e.code()),
            Err("checkpoint_malformed")
        );
        bad.extensions = vec!["a\nb".into()];
        assert_eq!(
            sign_checkpoint(&s, &bad).map_err(|e| e.code()),
            Err("checkpoint_malformed")
        );

        // A validly signed note whose origin is not the key name is refused on open.
        let other_origin = s
            .sign(&sample_checkpoint("log.example/two").to_text())
            .expect("sign");
        assert_eq!(
            open_checkpoint(&v, &other_origin),
            Err(NoteError::CheckpointOriginMismatch)
        );
        // A validly signed note that is not a checkpoint.
        let not_cp = s.sign("log.example/one\nnot a size\n").expect("sign");
        assert_eq!(
            open_checkpoint(&v, &not_cp).map_err(|e| e.code()),
            Err("checkpoint_malformed")
        );
    }

    #[test]
    fn vkey_round_trip_and_malformed() {
        let s = signer("example.com/log");
        let v = s.verifier();
        let vkey = v.to_vkey();
        assert_eq!(NoteVerifier::from_vkey(&vkey), Ok(v.clone()));
        let (name, rest) = vkey.split_once('+').expect("name");
        let (id, key_b64) = rest.split_once('+').expect("id");
        assert_eq!(name, "example.com/log");
        assert_eq!(id, hex::encode(s.key_id()));
        let blob = BASE64.decode(key_b64).expect("base64");
        assert_eq!(blob.len(), 33);
        assert_eq!(blob[0], ALGORITHM_ED25519);
        assert_eq!(&blob[1..], v.key().as_bytes());

        let pk = v.key().as_bytes();
        let with_alg = |alg: u8, key: &[u8]| {
            let mut b = vec![alg];
            b.extend_from_slice(key);
            BASE64.encode(b)
        };
        let wrong_id = format!("{:08x}", u32::from_be_bytes(s.key_id()) ^ 1);
        // The identity point, encoded 01 00 .. 00, is of small order. The key is checked before
        // the id, so any well-formed id shows the key error.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let cases: Vec<(&str, String, &str)> = vec![
            ("empty", String::new(), "vkey_malformed"),
            ("name only", name.to_owned(), "vkey_malformed"),
            ("no key", format!("{name}+{id}"), "vkey_malformed"),
            ("empty key", format!("{name}+{id}+"), "vkey_malformed"),
            ("empty name", format!("+{id}+{key_b64}"), "vkey_malformed"),
            (
                "space in name",
                format!("a b+{id}+{key_b64}"),
                "vkey_malformed",
            ),
            // An id of digits only has no upper case: force a letter in.
            (
                "uppercase id",
                format!("{name}+{}A+{key_b64}", &id[..7]),
                "vkey_malformed",
            ),
            (
                "short id",
                format!("{name}+{}+{key_b64}", &id[..7]),
                "vkey_malformed",
            ),
            (
                "long id",
                format!("{name}+{id}0+{key_b64}"),
                "vkey_malformed",
            ),
            (
                "non-hex id",
                format!("{name}+zzzzzzzz+{key_b64}"),
                "vkey_malformed",
            ),
            (
                "wrong id",
                format!("{name}+{wrong_id}+{key_b64}"),
                "vkey_key_id_mismatch",
            ),
            (
                "other name",
                format!("example.com/other+{id}+{key_b64}"),
                "vkey_key_id_mismatch",
            ),
            // Without the algorithm byte the key's first byte is read as the algorithm.
            (
                "no algorithm byte",
                format!("{name}+{id}+{}", BASE64.encode(pk)),
                if pk[0] == ALGORITHM_ED25519 {
                    "vkey_malformed"
                } else {
                    "vkey_unsupported_algorithm"
                },
            ),
            (
                "algorithm 2",
                format!("{name}+{id}+{}", with_alg(2, pk)),
                "vkey_unsupported_algorithm",
            ),
            (
                "34 bytes",
                format!(
                    "{name}+{id}+{}",
                    with_alg(1, &[pk.as_slice(), &[0]].concat())
                ),
                "vkey_malformed",
            ),
            // 33 bytes are exactly 44 base64 characters, without padding.
            ("extra padding", format!("{vkey}="), "vkey_malformed"),
            (
                "truncated",
                vkey[..vkey.len() - 1].to_owned(),
                "vkey_malformed",
            ),
            (
                "space in key",
                format!("{name}+{id}+ {key_b64}"),
                "vkey_malformed",
            ),
            ("trailing newline", format!("{vkey}\n"), "vkey_malformed"),
            (
                "small-order key",
                format!("{name}+{id}+{}", with_alg(1, &identity)),
                "key_small_order",
            ),
        ];
        for (what, bad, code) in &cases {
            let res = NoteVerifier::from_vkey(bad);
            assert_eq!(
                res.as_ref().map_err(|e| e.code()),
                Err(*code),
                "{what}: {bad:?} -> {res:?}"
            );
        }
    }
}
