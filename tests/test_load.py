"""Load: 20 concurrent simulated users on the running application, on loopback, for a fixed
time: no error, every user served, every page the expected one.

The test runs the load benchmark as its users do, ``python -m bench.load`` (it starts the
application on the session's index), and checks the JSON summary it writes. The users speak
Streamlit's own protocol: each request is a new session and a script run, checked on the
elements the server sends. Latency is reported (``pytest -s`` prints it), not asserted. The
figures of the README come from ``python -m bench.load --users 20 --seconds 60`` (same code).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from kb.localapp import ROOT, START_TIMEOUT

pytestmark = [pytest.mark.load, pytest.mark.model]

USERS = 20
SECONDS = 20
TIMEOUT = 60  # per request; a request over it is an error
# the application's start, the load, its last requests, closing (bench/load.py is bounded so)
WALL_TIMEOUT = START_TIMEOUT + SECONDS + 2 * TIMEOUT + 60


def test_twenty_concurrent_users_are_all_served_without_error(bundled_settings, tmp_path):
    summary_path = tmp_path / "load.json"
    command = [sys.executable, "-m", "bench.load", "--users", str(USERS), "--seconds", str(SECONDS),
               "--timeout", str(TIMEOUT), "--index-dir", str(bundled_settings.index_path),
               "--json", str(summary_path)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=WALL_TIMEOUT)
    print("\n" + run.stdout.rsplit("\n\n", 1)[-1])  # the Markdown table
    assert summary_path.exists(), f"exit code {run.returncode}:\n{run.stderr[-4000:]}"
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    report = {key: summary[key] for key in ("users", "seconds", "elapsed_s", "requests", "ok", "errors",
                                            "error_kinds", "empty_results", "per_user_ok", "latency",
                                            "throughput_rps", "cpu")}
    print(json.dumps(report, indent=1, ensure_ascii=False))

    assert summary["errors"] == 0, json.dumps(summary["error_samples"], indent=1, ensure_ascii=False)
    assert min(summary["per_user_ok"]) >= 1, summary["per_user_ok"]
    assert summary["latency"]["search"]["count"] >= USERS
    assert summary["server_log_tracebacks"] == 0
    assert run.returncode == 0, run.stderr[-4000:]
