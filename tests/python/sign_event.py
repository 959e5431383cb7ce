"""Signs an armsledger event with nothing but Python's `cryptography` and `rfc8785`.

Used by the Rust end-to-end tests to show that a client in another language reads our
PKCS#8 PEM keys and produces the same canonical bytes, so the ledger accepts its events.

    python3 sign_event.py KEY.pem ACTOR KEY_ID STREAM EVENT_ID > event.json
"""

import base64
import json
import sys

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_private_key

SIGNING_PREFIX = b"armsledger/event/v1\n"


def main() -> None:
    key_path, actor, key_id, stream, event_id = sys.argv[1:6]
    with open(key_path, "rb") as f:
        key = load_pem_private_key(f.read(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SystemExit("not an ed25519 key")
    event = {
        "event_id": event_id,
        "stream": stream,
        "expected_version": "none",
        "type": "LegacyRecordImported",
        "type_version": 1,
        "payload": {
            "source_kind": "closed_company",
            "source": "Registre des ventes, Société Française d'Armement (fermée)",
            "original_reference": "registre 3, folio 12",
            "known": {
                "manufacturer": "Société Française d'Armement",
                "country_of_manufacture": "FR",
                "serial_number": "SFA-\u00e9\u00e8-0042",
                "year_of_manufacture": 1999,
            },
            "notes": "line\nfeed, quote \" and emoji \U0001f52b",
        },
        "actor": actor,
        "key_id": key_id,
        "occurred_at": "1999-06-01T08:30:00Z",
    }
    signature = key.sign(SIGNING_PREFIX + rfc8785.dumps(event))
    event["signature"] = base64.b64encode(signature).decode()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    json.dump({"event": event, "public_key": base64.b64encode(public).decode()}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
