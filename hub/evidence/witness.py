"""`threshold-hub witness`: run somewhere other than the hub, keep the checkpoints it publishes, and say when a new
one does not fit the ones before — so rewriting history means fooling every witness too.

A checkpoint fits when the hub signed it (with the key the witness first pinned), its root is its heads' Merkle
root, it links to the one numbered before it, a number once seen never changes its body, and against the latest
one seen no chain went backwards, changed its hash at the same seq, changed its key, or vanished. The state file
keeps only what that needs: each checkpoint's hash and prev, and the latest heads.
"""

import json
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.evidence.checkpoints import CheckpointError, body_hash, open_checkpoint
from protocol.signing import public_key_from_b64

STATE_VERSION = 1


class WitnessError(ValueError):
    pass


@dataclass
class WitnessReport:
    accepted: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def read_checkpoints(*, directory: Path | None = None, file: Path | None = None, url: str | None = None,
                     timeout_s: float = 30.0) -> list[dict[str, Any]]:
    """Envelopes from a directory of checkpoint JSON files, the hub's export file, or its export URL."""
    documents: list[Any] = []
    if directory is not None:
        documents += [json.loads(path.read_bytes()) for path in sorted(Path(directory).glob("*.json"))]
    if file is not None:
        documents.append(json.loads(Path(file).read_bytes()))
    if url is not None:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 (the operator's own URL)
            documents.append(json.loads(response.read()))
    envelopes: list[dict[str, Any]] = []
    for document in documents:
        envelopes += document if isinstance(document, list) else [document]
    return envelopes


def _number(envelope: Any) -> int:
    body = envelope.get("checkpoint") if isinstance(envelope, dict) else None
    n = body.get("n") if isinstance(body, dict) else None
    return n if isinstance(n, int) else 0


def _load_state(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"v": STATE_VERSION, "hub_key": None, "seen": {}, "latest": None}
    return json.loads(path.read_text())


def witness(state_path: Path, envelopes: list[dict[str, Any]], hub_key: str | None = None) -> WitnessReport:
    """Check `envelopes` against what the state file remembers, remember the ones that fit, and report."""
    state = _load_state(Path(state_path))
    report = WitnessReport()
    if hub_key and state["hub_key"] and hub_key != state["hub_key"]:
        report.problems.append("the hub key given differs from the one this witness pinned")
        return report
    state["hub_key"] = state["hub_key"] or hub_key
    if not state["hub_key"]:
        raise WitnessError("the first run needs --hub-key: the hub's public key, obtained from the hub's operator")
    key = public_key_from_b64(state["hub_key"])
    seen: dict[str, list[str]] = state["seen"]  # n → [hash of its body, its prev_checkpoint]
    for envelope in sorted(envelopes, key=_number):
        try:
            body = open_checkpoint(envelope, key)
        except CheckpointError as error:
            report.problems.append(str(error))
            continue
        problems = _misfits(body, seen, state["latest"])
        if problems:
            report.problems += [f"checkpoint {body['n']}: {problem}" for problem in problems]
            continue
        n = str(body["n"])
        if n not in seen:
            seen[n] = [body_hash(body), body["prev_checkpoint"]]
            report.accepted.append(body["n"])
        if state["latest"] is None or body["n"] > state["latest"]["n"]:
            state["latest"] = {"n": body["n"], "heads": body["heads"]}
    Path(state_path).write_text(json.dumps(state, indent=1))
    return report


def _misfits(body: dict[str, Any], seen: dict[str, list[str]], latest: dict[str, Any] | None) -> list[str]:
    n = body["n"]
    own = seen.get(str(n))
    if own is not None:
        return [] if own[0] == body_hash(body) else ["differs from the checkpoint with that number seen before"]
    problems = []
    before, after = seen.get(str(n - 1)), seen.get(str(n + 1))
    if before is not None and body["prev_checkpoint"] != before[0]:
        problems.append(f"does not link to checkpoint {n - 1} as seen before")
    if after is not None and after[1] != body_hash(body):
        problems.append(f"checkpoint {n + 1}, seen before, does not link to it")
    if latest is not None and n > latest["n"]:
        heads = {head["source"]: head for head in body["heads"]}
        for old in latest["heads"]:
            head = heads.get(old["source"])
            if head is None:
                problems.append(f"{old['source']} is missing (it was at seq {old['seq']} in checkpoint {latest['n']})")
            elif head["seq"] < old["seq"]:
                problems.append(f"{old['source']} went back from seq {old['seq']} to {head['seq']}")
            elif head["seq"] == old["seq"] and head["hash"] != old["hash"]:
                problems.append(f"{old['source']} at seq {old['seq']} has a different hash than in checkpoint {latest['n']}")
            elif head["key"] != old["key"]:
                problems.append(f"{old['source']}'s key differs from checkpoint {latest['n']}")
    return problems
