"""Time to the first results after the application starts, in a real browser.

    .venv/bin/python -m bench.first_query

Starts ``streamlit run kb/webapp/app.py`` on a free localhost port over the bundled bank's index
(``index/``, built first if missing), opens the search page as a visitor would, then types a
first query and measures until its first result card is shown. Prints the three durations:
server start → health check answering, page open → search box ready (the engine and the
model load there, once per server), first query → first results.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(url)


def main() -> None:
    from playwright.sync_api import expect, sync_playwright

    env = {**os.environ, "KB_ROOT": str(ROOT), "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, "-m", "kb", "build", "-q"], cwd=ROOT, env=env, check=True)
    port = free_port()
    start = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "kb/webapp/app.py", "--server.port", str(port),
                               "--server.address", "127.0.0.1", "--server.headless", "true",
                               "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/_stcore/health")
        health = time.perf_counter() - start
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page()
            opened = time.perf_counter()
            page.goto(base)
            box = page.get_by_label("Décrivez votre besoin…")
            expect(box).to_be_visible(timeout=120_000)
            expect(page.locator('[class*="st-key-card-"]').first).to_be_visible(timeout=120_000)
            ready = time.perf_counter() - opened
            box.fill("aider les personnes âgées à faire leurs démarches en ligne")
            asked = time.perf_counter()
            box.press("Enter")
            expect(page.get_by_text("Recherche élargie à")).to_be_visible(timeout=60_000)
            expect(page.locator('[class*="st-key-card-"] mark').first).to_be_visible(timeout=60_000)
            first = time.perf_counter() - asked
            browser.close()
        print(json.dumps({"server_health_s": round(health, 2), "page_ready_s": round(ready, 2),
                          "first_query_results_s": round(first, 2)}))
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
