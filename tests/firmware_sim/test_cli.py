"""threshold-sim as a command: `run --loop` plays until Ctrl-C, then stops its doors and exits cleanly."""

import signal
import subprocess
import sys
import time
from pathlib import Path

from firmware_sim.local_services import PROJECT_ROOT, LocalBroker


def test_run_loop_stops_on_ctrl_c_while_it_pauses(broker: LocalBroker, tmp_path: Path) -> None:
    sim = subprocess.Popen(
        [sys.executable, "-m", "firmware_sim", "run", "--broker-port", str(broker.port), "--data-dir",
         str(tmp_path / "doors"), "--rooms", "1", "--scenario", "polite_entry", "--speed", "10", "--loop",
         "--pause-s", "600"],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert sim.stdout is not None
        assert sim.stdout.readline().startswith("round 1: polite_entry")
        time.sleep(2)  # the round (0.45 s at speed 10) played: the loop is in its ten-minute pause
        sim.send_signal(signal.SIGINT)
        out, err = sim.communicate(timeout=30)
    finally:
        if sim.poll() is None:
            sim.kill()
            sim.wait(10)
    assert sim.returncode == 0, err
    assert "round 2" not in out
