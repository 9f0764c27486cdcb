"""``kb serve`` as a deployed program: the application ships in the installed package, and a
SIGTERM (systemd, a container runtime) stops it and frees its port."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from kb.localapp import free_port, wait_until_healthy

pytestmark = pytest.mark.model

START_TIMEOUT = 240  # seconds: a first build encodes the bank's passages, then Streamlit starts


def start_serve(port: int, cwd: Path, env: dict, log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "kb.cli", "serve", "--port", str(port)], cwd=cwd,
                                env={**os.environ, "HF_HUB_OFFLINE": "1", **env}, stdout=out,
                                stderr=subprocess.STDOUT)


def port_is_free(port: int) -> bool:
    """Nothing listens on the port and a new server can bind it (as Streamlit does, with
    SO_REUSEADDR: the health checks' closed connections may linger in TIME_WAIT)."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            return False
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def stop_with_sigterm(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()


def test_sigterm_stops_the_application_and_frees_its_port(bundled_settings, tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    process = start_serve(port, ROOT, {"KB_ROOT": str(ROOT), "KB_INDEX_DIR": str(bundled_settings.index_path)}, log)
    wait_until_healthy(process, f"http://127.0.0.1:{port}", log, START_TIMEOUT)
    stop_with_sigterm(process)
    assert port_is_free(port), "Streamlit still holds the port after SIGTERM"


def test_the_installed_package_serves_a_bank_from_any_folder(tmp_path):
    site = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                              "--target", str(site), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    app = site / "kb" / "webapp" / "app.py"
    for shipped in (app, app.with_name("style.css"), app.parent / ".streamlit" / "config.toml",
                    app.parent / "views" / "rechercher.py", site / "kb" / "data" / "vocab.yaml", site / "kb" / "py.typed"):
        assert shipped.exists(), f"{shipped.relative_to(site)} is not installed"

    bank = tmp_path / "ma-banque"
    (bank / "practices").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "fixtures" / "valid.md", bank / "practices" / "bus-numerique.md")
    port = free_port()
    log = tmp_path / "serve.log"
    process = start_serve(port, bank, {"PYTHONPATH": str(site)}, log)
    try:
        wait_until_healthy(process, f"http://127.0.0.1:{port}", log, START_TIMEOUT)
        command = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")
        assert str(app).encode() in command, command  # the installed copy, not the checkout's
        assert (bank / "index" / "catalog.db").exists()
    finally:
        stop_with_sigterm(process)
    assert port_is_free(port)
