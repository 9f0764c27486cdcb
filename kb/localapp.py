"""The Streamlit application of this repository in a subprocess, on a free port of 127.0.0.1,
for the tests that drive it (tests/) and the load benchmark (bench/load.py).

The application is ``kb/webapp/app.py``, part of the package, as ``kb serve`` runs it. Chromium is
Debian's, started headless with the options below by the browser tests and the benchmark.
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
    app = Path(__file__).resolve().parent / "webapp" / "app.py"
    return [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
            "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none"]


def wait_until_healthy(process: subprocess.Popen, base: str, log_path: Path, timeout: float = START_TIMEOUT) -> None:
    """Return once the Streamlit server of ``process`` answers its health check at ``base``;
    :class:`AppStartError` with its log when it exits or does not answer in time."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise AppStartError(f"Streamlit s'est arrêté (code {process.returncode}):\n"
                                f"{log_path.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AppStartError(f"Streamlit ne répond pas après {timeout} s:\n{log_path.read_text(errors='replace')}")
        time.sleep(0.2)  # polling interval, bounded by the deadline above


@contextlib.contextmanager
def running_app(index_dir: Path, log_path: Path, extra_env: dict[str, str] | None = None,
                start_timeout: float = START_TIMEOUT) -> Iterator[App]:
    """``streamlit run kb/webapp/app.py`` on a free port of 127.0.0.1 over the bank of this repository
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
        wait_until_healthy(process, base, log_path, start_timeout)
        yield App(base, process, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
