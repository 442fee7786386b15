"""Verify a Threshold investigation bundle offline: `python verify_bundle.py bundle.zip [--hub-key BASE64]`.

Needs Python 3.11+ and the `cryptography` package, nothing else: this one file re-implements the few rules it
checks (canonical JSON, the chain hash, RFC 6962 Merkle roots) so it can be read and run apart from the hub.
It prints VALID and exits 0, or prints each problem — which file, which event, which link — and exits 1.

What it checks:
- manifest.json is signed by the hub's key, and every file's SHA-256 is the one it lists (no file more or less);
- every checkpoint is signed by the hub, its root is the Merkle root of its heads, and each links to the one before;
- every event shown in full is signed by its source's key, hashes to what the next event's prev says, and says
  the source and seq it is filed under; events withheld (outside the case, or purged) appear as hash and prev;
- each source's events run without a break over the range the manifest gives (a break must be a declared gap),
  and the last one is a head pinned by a checkpoint, with the same hash and key (unless the manifest says no
  checkpoint covered it yet: then that is printed as a note).

What it cannot check: a withheld event's hash is the hub's word, signed in the manifest — proving it would show
the event. Compare the hub key it prints with one kept outside the hub (a witness, an earlier bundle).
"""

import argparse
import base64
import hashlib
import json
import sys
import zipfile
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

GENESIS_PREV = base64.b64encode(bytes(32)).decode("ascii")
MANIFEST = "manifest.json"
HUB = "hub"


def canonical(value: Any) -> bytes:
    """The signed bytes of a body: RFC 8785 for what Threshold carries (PROTOCOL.md §4)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def chain_hash(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def merkle_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 MTH: leaves SHA-256(0x00||d), nodes SHA-256(0x01||l||r), split at the largest power of two < n."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + merkle_root(leaves[:k]) + merkle_root(leaves[k:])).digest()


def checkpoint_root(heads: list[Any]) -> str:
    return base64.b64encode(merkle_root([canonical(head) for head in heads])).decode("ascii")


def load_key(text: Any) -> Ed25519PublicKey | None:
    try:
        raw = base64.b64decode(text, validate=True)
        return Ed25519PublicKey.from_public_bytes(raw) if len(raw) == 32 else None
    except (ValueError, TypeError):
        return None


def signature_holds(key: Ed25519PublicKey | None, data: bytes, sig: Any) -> bool:
    if key is None or not isinstance(sig, str):
        return False
    try:
        raw = base64.b64decode(sig, validate=True)
        key.verify(raw, data)
        return True
    except (ValueError, TypeError, InvalidSignature):
        return False


class Bundle:
    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.problems: list[str] = []
        self.notes: list[str] = []
        self.ranges: dict[str, Any] = {}
        self.unanchored: list[Any] = []

    def wrong(self, text: str) -> None:
        self.problems.append(text)

    def json_file(self, name: str) -> Any:
        try:
            return json.loads(self.archive.read(name))
        except KeyError:
            self.wrong(f"{name}: missing from the bundle")
        except ValueError as error:
            self.wrong(f"{name}: not JSON ({error})")
        return None

    def verify(self, pinned_hub_key: str | None) -> None:
        keys = self.json_file("keys.json")
        keys = keys if isinstance(keys, dict) else {}
        hub_key_text = keys.get(HUB)
        if pinned_hub_key is not None and hub_key_text != pinned_hub_key:
            self.wrong("keys.json: the hub key differs from the one given with --hub-key")
        hub_key = load_key(hub_key_text)
        if hub_key is None:
            self.wrong("keys.json: no valid hub key")
        self.notes.append(f"hub key {hub_key_text}")
        self.check_manifest(hub_key)
        checkpoints = self.check_checkpoints(hub_key)
        self.check_events(keys, checkpoints)

    def check_manifest(self, hub_key: Ed25519PublicKey | None) -> None:
        document = self.json_file(MANIFEST)
        if not isinstance(document, dict) or not isinstance(document.get("manifest"), dict):
            self.wrong(f"{MANIFEST}: expected {{\"manifest\": {{…}}, \"sig\": \"…\"}}")
            return
        manifest = document["manifest"]
        self.ranges = manifest["ranges"] if isinstance(manifest.get("ranges"), dict) else {}
        self.unanchored = manifest["unanchored"] if isinstance(manifest.get("unanchored"), list) else []
        if not signature_holds(hub_key, canonical(manifest), document.get("sig")):
            self.wrong(f"{MANIFEST}: the hub's signature does not verify")
        files = manifest.get("files") if isinstance(manifest.get("files"), dict) else {}
        present = set(self.archive.namelist()) - {MANIFEST}
        for name in sorted(present - set(files)):
            self.wrong(f"{name}: in the bundle but not in the manifest")
        for name, listed in sorted(files.items()):
            if name not in present:
                self.wrong(f"{name}: listed in the manifest but missing from the bundle")
                continue
            actual = hashlib.sha256(self.archive.read(name)).hexdigest()
            if actual != listed:
                self.wrong(f"{name}: SHA-256 is {actual}, the manifest says {listed}")

    def check_checkpoints(self, hub_key: Ed25519PublicKey | None) -> list[dict[str, Any]]:
        envelopes = self.json_file("checkpoints.json")
        bodies: list[dict[str, Any]] = []
        previous: dict[str, Any] | None = None
        for index, envelope in enumerate(envelopes if isinstance(envelopes, list) else []):
            body = envelope.get("checkpoint") if isinstance(envelope, dict) else None
            if not isinstance(body, dict) or not isinstance(body.get("heads"), list):
                self.wrong(f"checkpoints.json item {index + 1}: not a checkpoint")
                continue
            where = f"checkpoints.json checkpoint {body.get('n')}"
            if not signature_holds(hub_key, canonical(body), envelope.get("sig")):
                self.wrong(f"{where}: the hub's signature does not verify")
            if checkpoint_root(body["heads"]) != body.get("root"):
                self.wrong(f"{where}: its root is not the Merkle root of its heads")
            if previous is not None:
                if body.get("n") != previous.get("n", 0) + 1:
                    self.wrong(f"{where}: does not follow checkpoint {previous.get('n')}")
                elif body.get("prev_checkpoint") != chain_hash(canonical(previous)):
                    self.wrong(f"{where}: does not link to checkpoint {previous.get('n')}")
            bodies.append(body)
            previous = body
        return bodies

    def check_events(self, keys: dict[str, Any], checkpoints: list[dict[str, Any]]) -> None:
        gaps = self.json_file("gaps.json")
        gaps = gaps if isinstance(gaps, dict) else {}
        chains: dict[str, list[tuple[int, str, str, str]]] = {}
        try:
            lines = self.archive.read("events.jsonl").decode("utf-8").splitlines()
        except KeyError:
            self.wrong("events.jsonl: missing from the bundle")
            return
        except UnicodeDecodeError:
            self.wrong("events.jsonl: not UTF-8")
            return
        shown = 0
        for number, line in enumerate(lines, start=1):
            entry = self.event_entry(number, line, keys)
            if entry is not None:
                source, seq, event_hash, prev, kind = entry
                chains.setdefault(source, []).append(
                    (seq, event_hash, prev, f"events.jsonl line {number} ({source} seq {seq})"))
                shown += kind == "full"
        for source in sorted(set(self.ranges) - set(chains)):
            self.wrong(f"{source}: in the manifest's ranges but no event of it is in events.jsonl")
        for source, chain in sorted(chains.items()):
            self.check_chain(source, chain, gaps.get(source, []), keys.get(source), checkpoints)
        self.notes.append(f"{shown} events shown in full, {len(lines) - shown} as hash and prev only, "
                          f"{len(chains)} sources, {len(checkpoints)} checkpoints")

    def event_entry(self, number: int, line: str, keys: dict[str, Any]) -> tuple[str, int, str, str, str] | None:
        where = f"events.jsonl line {number}"
        try:
            entry = json.loads(line)
        except ValueError:
            self.wrong(f"{where}: not JSON")
            return None
        source, seq = (entry.get("source"), entry.get("seq")) if isinstance(entry, dict) else (None, None)
        if not isinstance(source, str) or not isinstance(seq, int):
            self.wrong(f"{where}: no source and seq")
            return None
        where = f"{where} ({source} seq {seq})"
        if "signed" not in entry:
            if not isinstance(entry.get("hash"), str) or not isinstance(entry.get("prev"), str):
                self.wrong(f"{where}: a withheld event needs its hash and prev")
                return None
            return source, seq, entry["hash"], entry["prev"], "withheld"
        signed = entry["signed"].encode("utf-8") if isinstance(entry["signed"], str) else b""
        try:
            body = json.loads(signed)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self.wrong(f"{where}: its signed bytes are not a JSON object")
            return source, seq, chain_hash(signed), "", "full"
        if not signature_holds(load_key(keys.get(source)), signed, entry.get("sig")):
            self.wrong(f"{where}: the signature does not verify with {source}'s key")
        if body.get("device") != source or body.get("seq") != seq:
            self.wrong(f"{where}: its signed bytes are {body.get('device')} seq {body.get('seq')}")
        return source, seq, chain_hash(signed), str(body.get("prev")), "full"

    def check_chain(self, source: str, chain: list[tuple[int, str, str, str]], gaps: Any,
                    key: Any, checkpoints: list[dict[str, Any]]) -> None:
        declared = {seq for first, last in gaps for seq in range(first, last + 1)} if isinstance(gaps, list) else set()
        chain.sort()
        span = self.ranges.get(source)
        if not (isinstance(span, list) and len(span) == 2 and all(isinstance(seq, int) for seq in span)):
            self.wrong(f"{source}: its events are not in the manifest's ranges")
            span = [chain[0][0], chain[-1][0]]
        present = {seq for seq, *_rest in chain}
        missing = sorted(set(range(span[0], span[1] + 1)) - present - declared)
        for first, last in _runs(missing):
            seqs = f"seq {first}" if first == last else f"seqs {first}–{last}"
            self.wrong(f"{source} {seqs}: missing from events.jsonl and not a declared gap")
        for seq, *_rest, where in chain:
            if not span[0] <= seq <= span[1]:
                self.wrong(f"{where}: outside the manifest's range for {source}")
        for (seq, event_hash, _prev, _where), (next_seq, _hash, next_prev, where) in zip(chain, chain[1:]):
            if next_seq == seq:
                self.wrong(f"{where}: seq {seq} appears twice")
            elif next_seq == seq + 1 and next_prev != event_hash:
                self.wrong(f"{where}: prev does not link to seq {seq}")
        if chain[0][0] == 1 and chain[0][2] != GENESIS_PREV:
            self.wrong(f"{chain[0][3]}: seq 1 does not start from the genesis")
        top_seq, top_hash = span[1], {seq: event_hash for seq, event_hash, *_rest in chain}.get(span[1])
        anchors = [(body.get("n"), head) for body in checkpoints for head in body["heads"]
                   if isinstance(head, dict) and head.get("source") == source and head.get("seq") == top_seq]
        if not anchors and source in self.unanchored:
            self.notes.append(f"note: {source} seq {top_seq} is not yet pinned by a checkpoint in the bundle")
        elif not anchors:
            self.wrong(f"{source} seq {top_seq}: no checkpoint in the bundle pins it, yet the manifest says one does")
        for n, head in anchors:
            if head.get("hash") != top_hash:
                self.wrong(f"checkpoint {n}: head of {source} at seq {top_seq} does not match the bundle's event")
            if head.get("key") != key:
                self.wrong(f"checkpoint {n}: {source}'s key differs from keys.json")


def _runs(seqs: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for seq in seqs:
        if runs and runs[-1][1] == seq - 1:
            runs[-1] = (runs[-1][0], seq)
        else:
            runs.append((seq, seq))
    return runs


def verify(path: str, hub_key: str | None = None) -> tuple[list[str], list[str]]:
    """(problems, notes) for the bundle at `path`; no problems means VALID."""
    try:
        with zipfile.ZipFile(path) as archive:
            bundle = Bundle(archive)
            bundle.verify(hub_key)
            return bundle.problems, bundle.notes
    except (OSError, zipfile.BadZipFile) as error:
        return [f"{path}: cannot be read as a zip ({error})"], []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bundle", help="the bundle's .zip file")
    parser.add_argument("--hub-key", help="the hub's public key (base64) as known from outside the bundle")
    args = parser.parse_args(argv)
    problems, notes = verify(args.bundle, args.hub_key)
    if problems:
        print(f"INVALID: {len(problems)} problem(s)")
        for problem in problems:
            print(problem)
        return 1
    print("VALID")
    for note in notes:
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
