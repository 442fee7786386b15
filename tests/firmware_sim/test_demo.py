"""`make demo` as a new user runs it: a home of 12 rooms comes up and its events reach the hub."""

import re
import subprocess
import sys
from pathlib import Path

from firmware_sim.local_services import free_port


def test_demo_runs_a_night_and_every_door_reports(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "firmware_sim.demo", "--seconds", "1", "--data-dir", str(tmp_path / "demo"),
         "--api-port", str(free_port())],
        capture_output=True, text=True, timeout=180,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "/docs" in run.stdout
    played = re.search(r"night 1 played: (\d+)/(\d+) doors online, (\d+) events stored", run.stdout)
    assert played, run.stdout
    online, doors, stored = map(int, played.groups())
    assert (online, doors) == (12, 12)
    # A night has knocks, answers, doors, motion and readings in every room: far more than one event a door.
    assert stored > 12 * 3
