"""Load: 20 concurrent simulated users on the running application, on loopback, for a fixed
time: no error, every user served, every page the expected one.

The users speak Streamlit's own protocol (bench/streamlit_client.py): each request is a new
session and a script run, checked on the elements the server sends. Latency is reported
(``pytest -s`` prints it), not asserted. The figures of the README come from
``bench/load.py --users 20 --seconds 60`` (same code).
"""

from __future__ import annotations

import json
import sys

import pytest

from apphelpers import ROOT

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

pytestmark = [pytest.mark.load, pytest.mark.model]

USERS = 20
SECONDS = 20
TIMEOUT = 60  # per request; a request over it is an error


def test_twenty_concurrent_users_are_all_served_without_error(app_server):
    from bench.load import markdown_rows, run_load

    summary = run_load(app_server.url, users=USERS, seconds=SECONDS, timeout=TIMEOUT,
                       server_pid=app_server.process.pid)
    report = {key: summary[key] for key in ("users", "seconds", "elapsed_s", "requests", "ok", "errors",
                                            "error_kinds", "empty_results", "per_user_ok", "latency",
                                            "throughput_rps", "cpu")}
    print("\n" + json.dumps(report, indent=1, ensure_ascii=False))
    print("\n".join(markdown_rows(summary)))

    assert summary["errors"] == 0, json.dumps(summary["error_samples"], indent=1, ensure_ascii=False)
    assert min(summary["per_user_ok"]) >= 1, summary["per_user_ok"]
    assert summary["latency"]["search"]["count"] >= USERS
    assert "Traceback" not in app_server.log_path.read_text(errors="replace")


def test_a_page_with_an_exception_counts_as_an_error():
    """The load test can fail: an exception drawn by the application is an error, not a page."""
    from bench.load import protocol_outcome
    from bench.streamlit_client import FINISHED_SUCCESSFULLY, PageRun

    broken = PageRun(finished_status=FINISHED_SUCCESSFULLY, headings=[("h1", "Rechercher une expérience")],
                     exceptions=["KeyError: 'x'"])
    assert protocol_outcome(broken, "search", "")["status"] == "exception"
    unfinished = PageRun(finished_status=2, headings=[("h1", "Rechercher une expérience")])
    assert protocol_outcome(unfinished, "search", "")["status"] == "script-status"
    other_page = PageRun(finished_status=FINISHED_SUCCESSFULLY, headings=[("h1", "Fiche introuvable")])
    assert protocol_outcome(other_page, "fiche", "Un titre")["status"] == "wrong-page"
