"""The fault drill, short, with every fault it knows: bench/drill.py runs the distributed mode on
PostgreSQL clusters and a redis-server of its own (nothing shared with the rest of the suite or
with anyone else on the machine), puts traffic on two direct conversations and a group (two
devices per user), then kills a daphne node and the Celery worker (-9), restarts Redis empty, the
main database and the busiest message shard, and checks every acked message against the history
and every device. About 70 s of traffic after a setup of 30-90 s; its report goes into a copy of
docs/operations.md as the full drill's does."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DOC_START, DOC_END = "<!-- drill result: written by bench/drill.py --doc -->", "<!-- end of drill result -->"
FAULTS = ["daphne", "worker", "redis", "postgres-main", "postgres-shard"]


@pytest.mark.timeout(480)
def test_short_drill_with_every_fault_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    result_file, doc = tmp_path / "drill.json", tmp_path / "operations.md"
    shutil.copy(ROOT / "docs" / "operations.md", doc)
    argv = [sys.executable, str(ROOT / "bench" / "drill.py"), "--faults", ",".join(FAULTS), "--pairs", "2",
            "--groups", "1", "--group-size", "3", "--devices", "2", "--rate", "3", "--steady", "3", "--down", "2",
            "--recovery", "5", "--settle", "20", "--json", str(result_file), "--doc", str(doc)]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=450)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr[-6000:]}"
    result = json.loads(result_file.read_text())
    phases = result["phases"]
    assert [p["fault"].split(" (")[0] for p in phases] == ["none", *FAULTS]
    for phase in phases:
        # Every message was acked by the end, none is missing from history or a device, none stored twice.
        assert phase["sent"] > 0 and phase["acked"] == phase["sent"], phase
        assert phase["lost"] == 0 and phase["duplicated"] == 0, phase
    for phase in phases[1:]:
        assert phase["recover_s"] is not None, phase  # every sender got an ack again after the fault
    assert result["counts"].get("error:invalid_msg_id", 0) > 0  # the Redis restart really dropped the reservations
    # The report replaced the table between the markers, one row per phase, with its recovery time.
    text = doc.read_text().split(DOC_START, 1)[1].split(DOC_END, 1)[0]
    assert text.count("| fault | messages sent |") == 1
    rows = [line for line in text.splitlines() if line.startswith(("| none", *(f"| {f}" for f in FAULTS)))]
    assert len(rows) == len(phases) and all(row.endswith(" s |") for row in rows[1:]), rows
    assert "--rate 3" in text and "9 msgs/s offered" in text
