"""The fault drill, short: bench/drill.py runs the distributed mode on a PostgreSQL cluster and a
redis-server of its own (nothing shared with the rest of the suite), puts steady traffic on it,
kills a daphne node, then restarts Redis, and checks every acked message against the receiver's
history and device. About 20 s of traffic after a setup of about 40 s."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

DRILL = Path(__file__).resolve().parents[2] / "bench" / "drill.py"


def test_short_drill_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    result_file = tmp_path / "drill.json"
    argv = [sys.executable, str(DRILL), "--faults", "daphne,redis", "--pairs", "3", "--rate", "3", "--steady", "3",
            "--down", "2", "--recovery", "6", "--settle", "20", "--json", str(result_file)]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=270)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr[-6000:]}"
    result = json.loads(result_file.read_text())
    phases = result["phases"]
    assert [p["fault"] for p in phases] == ["none (steady traffic)", "daphne", "redis"]
    for phase in phases:
        # Every message was acked by the end, none is missing from history or device, none stored twice.
        assert phase["sent"] > 0 and phase["acked"] == phase["sent"], phase
        assert phase["lost"] == 0 and phase["duplicated"] == 0, phase
    for phase in phases[1:]:
        assert phase["recover_s"] is not None, phase  # every sender got an ack again after the fault
    assert result["counts"].get("error:invalid_msg_id", 0) > 0  # the Redis restart really dropped the reservations
