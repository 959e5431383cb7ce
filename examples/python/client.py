"""An armsledger client in Python, with nothing but `cryptography`, `rfc8785` and the
standard library: it builds and signs events, submits one and a batch, and then checks,
trusting only the log's verifier key, that its entry is in the log: the checkpoint's
signature (C2SP signed note), the entry's leaf hash, and the RFC 9162 inclusion proof.

    python3 client.py --url http://127.0.0.1:8080 --key be-admin.k1.key.pem \\
        --actor be-admin --key-id k1 --vkey 'armsledger.example.org/be+...' --token AUDITOR_TOKEN

It prints a JSON summary and exits non-zero if any check fails. The end-to-end tests run
it against a real server, so it stays true.
"""

import argparse
import base64
import hashlib
import json
import sys
import time
import urllib.error
import urllib.request
import uuid

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

SIGNING_PREFIX = b"armsledger/event/v1\n"


def uuid7() -> str:
    """A time-ordered event id (UUIDv7), as the ledger prefers."""
    ms = int(time.time() * 1000)
    rand = uuid.uuid4().int
    value = (ms << 80) | (0x7 << 76) | ((rand >> 64) & 0xFFF) << 64 | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


def sign(key, event: dict) -> dict:
    """The signature covers the prefix and the RFC 8785 form of the event without it."""
    signature = key.sign(SIGNING_PREFIX + rfc8785.dumps(event))
    return {**event, "signature": base64.b64encode(signature).decode()}


def legacy_record(actor: str, key_id: str, serial: str) -> dict:
    """A weapon from a closed company's register, entered by the ledger's administrator."""
    return {
        "event_id": uuid7(),
        "stream": f"weapon:{uuid.uuid4()}",
        "expected_version": "none",
        "type": "LegacyRecordImported",
        "type_version": 1,
        "payload": {
            "source_kind": "closed_company",
            "source": "Sales register of Armurerie Dubois (closed 2004)",
            "original_reference": f"register 2, line {serial[-3:]}",
            "known": {"manufacturer": "FN Herstal", "country_of_manufacture": "BE", "serial_number": serial},
        },
        "actor": actor,
        "key_id": key_id,
        "occurred_at": "2004-06-30T12:00:00Z",
    }


def request(method: str, url: str, body: bytes | None = None, token: str | None = None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def open_checkpoint(vkey: str, note: str) -> tuple[int, bytes]:
    """Checks a C2SP signed note against a vkey; returns (tree size, root hash)."""
    name, key_id_hex, key_b64 = vkey.split("+")
    key = base64.b64decode(key_b64)
    if key[0] != 0x01 or len(key) != 33:
        raise ValueError("the vkey is not an ed25519 key")
    key_id = hashlib.sha256(name.encode() + b"\n\x01" + key[1:]).digest()[:4]
    if key_id.hex() != key_id_hex:
        raise ValueError("the vkey's key id does not match its key")
    text, _, signatures = note.partition("\n\n")
    text += "\n"
    for line in signatures.splitlines():
        if not line.startswith("\u2014 "):
            continue
        signer, blob = line[2:].rsplit(" ", 1)
        raw = base64.b64decode(blob)
        if signer == name and raw[:4] == key_id:
            Ed25519PublicKey.from_public_bytes(key[1:]).verify(raw[4:], text.encode())
            origin, size, root = text.splitlines()[:3]
            if origin != name:
                raise ValueError("the checkpoint is for another log")
            return int(size), base64.b64decode(root)
    raise ValueError("no signature by the trusted key")


def verify_inclusion(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--url", required=True)
    args.add_argument("--key", required=True, help="PKCS#8 PEM private key of the actor")
    args.add_argument("--actor", required=True)
    args.add_argument("--key-id", required=True)
    args.add_argument("--vkey", required=True, help="the log's verifier key, given out of band")
    args.add_argument("--token", required=True, help="a bearer token that may read entries (auditor)")
    a = args.parse_args()
    with open(a.key, "rb") as f:
        key = load_pem_private_key(f.read(), password=None)

    # One event, then a batch of two (all or nothing).
    event = sign(key, legacy_record(a.actor, a.key_id, "FN-1987-000411"))
    status, body = request("POST", f"{a.url}/v1/events", json.dumps(event).encode())
    if status != 201:
        print(f"submit refused: {status} {body.decode()}", file=sys.stderr)
        return 1
    receipt = json.loads(body)
    batch = [sign(key, legacy_record(a.actor, a.key_id, f"FN-1987-00042{n}")) for n in range(2)]
    status, body = request("POST", f"{a.url}/v1/events:batch", json.dumps(batch).encode())
    if status != 201:
        print(f"batch refused: {status} {body.decode()}", file=sys.stderr)
        return 1
    receipts = json.loads(body)["receipts"]
    # The same event again is an idempotent retry: the original receipt.
    status, body = request("POST", f"{a.url}/v1/events", json.dumps(event).encode())
    if status != 200 or json.loads(body)["index"] != receipt["index"]:
        print(f"the retry was not idempotent: {status} {body.decode()}", file=sys.stderr)
        return 1

    # Wait for a checkpoint that covers the entry (signed at most every interval).
    index = receipt["index"]
    for _ in range(100):
        status, note = request("GET", f"{a.url}/v1/log/checkpoint")
        size, root = open_checkpoint(a.vkey, note.decode())
        if size > receipts[-1]["index"]:
            break
        time.sleep(0.05)
    else:
        print("no checkpoint covers the entry", file=sys.stderr)
        return 1

    # The entry's exact bytes hash to the receipt's leaf, and hold our event.
    status, line = request("GET", f"{a.url}/v1/log/entries?from={index}&limit=1", token=a.token)
    line = line.rstrip(b"\n")
    leaf = hashlib.sha256(b"\x00" + line).digest()
    if base64.b64encode(leaf).decode() != receipt["leaf_hash"]:
        print("the entry does not hash to the receipt's leaf", file=sys.stderr)
        return 1
    if json.loads(line)["event"] != event:
        print("the entry does not hold the event we signed", file=sys.stderr)
        return 1
    status, body = request("GET", f"{a.url}/v1/log/proof/inclusion?index={index}&tree_size={size}")
    proof = [base64.b64decode(h) for h in json.loads(body)["proof"]]
    if not verify_inclusion(index, size, leaf, proof, root):
        print("the inclusion proof does not lead to the checkpoint's root", file=sys.stderr)
        return 1
    print(json.dumps({"index": index, "batch": [r["index"] for r in receipts],
                      "checkpoint_size": size, "included": True}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
