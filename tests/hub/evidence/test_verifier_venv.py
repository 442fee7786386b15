"""The verifier an investigator gets in the bundle runs in a fresh virtual environment holding only
`cryptography`, away from the project: VALID on a real bundle, and each tampering named."""

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.hub.evidence.bundles import as_lines, case_bundle, event_lines, members, rewrite
from tests.hub.evidence.conftest import EvidenceHome

PIP_TIMEOUT_S = 600


@pytest.fixture(scope="session")
def clean_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One virtual environment per session: no project, no site packages, `cryptography` from the registry."""
    where = tmp_path_factory.mktemp("investigator") / "venv"
    venv.create(where, with_pip=True, clear=True)
    python = where / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "cryptography"],
                   check=True, timeout=PIP_TIMEOUT_S)
    return python


def _outside_env() -> dict[str, str]:
    """This machine's environment without any path into the project."""
    return {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}


def _run(python: Path, bundle: Path) -> subprocess.CompletedProcess[str]:
    """Run the verifier copied out of the bundle, from a folder holding only it, with no path into the project."""
    folder = bundle.parent / f"{bundle.stem}-verifier"
    folder.mkdir()
    with zipfile.ZipFile(bundle) as archive:
        (folder / "verify_bundle.py").write_bytes(archive.read("verify_bundle.py"))
    return subprocess.run([str(python), "verify_bundle.py", str(bundle)], cwd=folder, env=_outside_env(), capture_output=True,
                          text=True, timeout=60)


def test_the_environment_is_clean(clean_python: Path) -> None:
    probe = subprocess.run([str(clean_python), "-c", "import hub"], capture_output=True, text=True, cwd="/",
                           env=_outside_env())
    assert probe.returncode != 0 and "No module named 'hub'" in probe.stderr
    assert Path(sys.prefix) != clean_python.parent.parent


def test_a_real_bundle_is_valid_and_each_tampering_is_named(clean_python: Path, home: EvidenceHome,
                                                           tmp_path: Path) -> None:
    bundle = tmp_path / "case.zip"
    case_bundle(home, bundle, rooms=["room-01"], staff=[])
    valid = _run(clean_python, bundle)
    assert (valid.returncode, valid.stdout.splitlines()[0]) == (0, "VALID"), valid.stdout + valid.stderr

    entries = event_lines(bundle)
    changed = [dict(entry) for entry in entries]
    changed[4]["signed"] = changed[4]["signed"].replace('"boot":"boot-1"', '"boot":"boot-2"')
    result = _run(clean_python, rewrite(bundle, tmp_path / "changed.zip", {"events.jsonl": as_lines(changed)}))
    assert result.returncode == 1
    assert "events.jsonl line 5 (door-01 seq 5): the signature does not verify with door-01's key" in result.stdout
    assert "events.jsonl line 6 (door-01 seq 6): prev does not link to seq 5" in result.stdout

    dropped = entries[:2] + entries[3:]
    result = _run(clean_python, rewrite(bundle, tmp_path / "dropped.zip", {"events.jsonl": as_lines(dropped)}))
    assert result.returncode == 1
    assert "door-01 seq 3: missing from events.jsonl and not a declared gap" in result.stdout

    document = json.loads(members(bundle)["manifest.json"])
    document["manifest"]["files"]["checkpoints.json"] = "f" * 64
    result = _run(clean_python, rewrite(bundle, tmp_path / "manifest.zip",
                                        {"manifest.json": json.dumps(document).encode()}))
    assert result.returncode == 1
    assert "manifest.json: the hub's signature does not verify" in result.stdout
    assert "the manifest says " + "f" * 64 in result.stdout
