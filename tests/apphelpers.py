"""Helpers to run the Streamlit application in a subprocess and to drive it with Chromium.

Shared by the browser tests (tests/test_browser.py), the load test (tests/test_load.py) and
the load benchmark (bench/load.py). No pytest here: failures raise :class:`AppStartError`.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]
START_TIMEOUT = 120  # seconds: Streamlit start; the first page then loads the model
PAGE_TIMEOUT = 60_000  # milliseconds

# The script run is over: no "running" indicator and no element left from the previous run.
APP_IDLE_JS = """() => !document.querySelector('[data-testid="stStatusWidget"]')
                     && !document.querySelector('[data-stale="true"]')"""


class AppStartError(RuntimeError):
    """Streamlit exited or did not answer in time; the message holds its log."""


class App(NamedTuple):
    url: str  # http://127.0.0.1:<port>
    process: subprocess.Popen
    log_path: Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_command(port: int) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(ROOT / "ui" / "app.py"), "--server.port", str(port),
            "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none"]


@contextlib.contextmanager
def running_app(index_dir: Path, log_path: Path, extra_env: dict[str, str] | None = None,
                start_timeout: float = START_TIMEOUT) -> Iterator[App]:
    """``streamlit run ui/app.py`` on a free port of 127.0.0.1 over the bank of this repository
    and the index in ``index_dir``; yields the :class:`App` once the server answers its health
    check. The server is always stopped on exit (terminate, then kill)."""
    port = free_port()
    env = {**os.environ, "KB_ROOT": str(ROOT), "KB_INDEX_DIR": str(index_dir), "HF_HUB_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false", **(extra_env or {})}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(app_command(port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if process.poll() is not None:
                raise AppStartError(f"Streamlit s'est arrêté (code {process.returncode}):\n{log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AppStartError(f"Streamlit ne répond pas après {start_timeout} s:\n{log_path.read_text()}")
            time.sleep(0.2)  # polling interval, bounded by the deadline above
        yield App(base, process, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def wait_for_app(page) -> None:
    """(Playwright sync API) The page has drawn its title and Streamlit has finished running
    the script: no "running" indicator and no element left from the previous run (``data-stale``)."""
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", level=1)).to_be_visible(timeout=PAGE_TIMEOUT)
    page.wait_for_function(APP_IDLE_JS, timeout=PAGE_TIMEOUT)
