"""Load test of the running application: concurrent simulated users in a real browser, on loopback.

    .venv/bin/python bench/load.py --users 20 --seconds 60

starts ``streamlit run ui/app.py`` on a free port of 127.0.0.1 over the bundled bank (its index
in ``index/``, built first with ``kb build`` when missing), runs the load, prints a JSON summary
and a Markdown table row, and always stops the application. ``run_load(base_url, ...)`` is the
same load against an application that is already running (tests/test_load.py).

Each user is one Chromium browser context (its own cookies, cache and Streamlit session) in a
single Chromium, driven by Playwright's asyncio API. Until the time is up, each user opens a
search URL (``/?q=…``, a query of eval/queries.jsonl, sometimes with filters or the date sort)
and waits until the results or the "no result" message are drawn and Streamlit has finished
the script run; after a search with results it sometimes opens one of the fiches found
(``/fiche?slug=…``) and waits for its title and its "Fiches similaires" section. The latency
is measured from the start of the navigation to that state: a full page load, a new websocket
session and one script run, as when a shared link is opened.

Errors: navigation failures, timeouts (``--timeout``, 30 s), Streamlit exception blocks, a page
that is not the expected one, JavaScript page errors, websocket errors, HTTP responses >= 400
(except the 404 probes that Streamlit's frontend makes for ``/<page>/_stcore/health`` and
``/<page>/_stcore/host-config`` before the real ones when a page URL is opened directly,
streamlit/streamlit#7074: they are counted apart, in ``ignored``), crashed pages.

Bounded: every user checks the deadline before each request and each request has a timeout,
so the load ends at most ``seconds + timeout`` after it starts; a guard cancels whatever is
left after that (plus a short grace for closing the contexts). Before the load, one page is
loaded (not measured) so that the engine and the model are loaded by then.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "tests"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from apphelpers import CHROMIUM, CHROMIUM_ARGS, START_TIMEOUT, AppStartError, running_app  # noqa: E402

QUERIES_PATH = ROOT / "eval" / "queries.jsonl"
# a few filter combinations with values of kb/data/vocab.yaml (some end with no result)
FILTERS = [
    {"public": "seniors"},
    {"statut": "en-cours"},
    {"densite": "rural"},
    {"type": "communaute-de-communes"},
    {"public": "jeunes", "densite": "urbain-dense"},
    {"tri": "date"},
]
SEARCH_HEADING = "Rechercher une expérience"
NO_RESULT = "Aucune fiche ne correspond"
# many pages at once in one Chromium: do not let it slow down the pages it deems in background
LOAD_ARGS = ["--disable-renderer-backgrounding", "--disable-background-timer-throttling",
             "--disable-backgrounding-occluded-windows"]
PROBE_404 = re.compile(r"^/[^/]+/_stcore/(health|host-config)$")
POLL_MS = 50
SAMPLES = 10

# Evaluated in the page until it returns an object: the outcome of the request. ``false`` while
# Streamlit has not finished the script run (data-test-script-state of the app root, "running"
# indicator, elements left from a previous run) or the expected content is not drawn yet.
OUTCOME_JS = """([kind, expected, heading, noResult]) => {
  const norm = (s) => (s || '').replace(/\\s+/g, ' ').trim();
  const exception = document.querySelector('[data-testid="stException"]');
  if (exception) return {status: 'exception', detail: norm(exception.innerText).slice(0, 300)};
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid="stStatusWidget"]') || document.querySelector('[data-stale="true"]'))
    return false;
  const h1 = document.querySelector('h1');
  if (!h1) return false;
  const title = norm(h1.textContent);
  if (kind === 'search') {
    if (title !== heading) return {status: 'wrong-page', detail: title.slice(0, 200)};
    const heads = [...document.querySelectorAll('h3')].map((h) => norm(h.textContent));
    if (heads.includes('Aucune fiche trouvée')) {
      const alerts = [...document.querySelectorAll('[data-testid="stAlert"]')].map((a) => a.textContent);
      return alerts.some((t) => t.includes(noResult)) ? {status: 'empty', links: []} : false;
    }
    if (!heads.some((t) => /^\\d+ fiches? trouvées?$/.test(t))) return false;
    const links = [...document.querySelectorAll('[class*="st-key-card-"] a[href*="fiche?slug="]')]
      .map((a) => [a.getAttribute('href'), norm(a.textContent)]);
    return links.length ? {status: 'ok', links} : false;
  }
  if (title !== norm(expected)) return {status: 'wrong-page', detail: title.slice(0, 200)};
  const similar = [...document.querySelectorAll('h2')].some((h) => norm(h.textContent) === 'Fiches similaires');
  return similar ? {status: 'ok'} : false;
}"""


def load_queries(path: Path = QUERIES_PATH) -> list[str]:
    """The realistic French queries of the evaluation set (needs described in plain words)."""
    queries = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                queries.append(json.loads(line)["query"])
    return queries


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of sorted values."""
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def latency_summary(values: list[float]) -> dict:
    if not values:
        return {"count": 0, "p50_s": None, "p95_s": None, "max_s": None}
    values = sorted(values)
    return {"count": len(values), "p50_s": round(percentile(values, 50), 3),
            "p95_s": round(percentile(values, 95), 3), "max_s": round(values[-1], 3)}


@dataclass
class Stats:
    users: int
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"search": [], "fiche": []})
    requests: int = 0
    empty_results: int = 0
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    error_samples: list[dict] = field(default_factory=list)
    ignored: dict[str, int] = field(default_factory=dict)
    per_user_requests: list[int] = field(default_factory=list)
    per_user_ok: list[int] = field(default_factory=list)

    def __post_init__(self):
        self.per_user_requests = [0] * self.users
        self.per_user_ok = [0] * self.users

    def error(self, user: int, kind: str, url: str, detail: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1
        if len(self.error_samples) < SAMPLES:
            self.error_samples.append({"user": user, "kind": kind, "url": url, "detail": detail[:300]})

    def ignore(self, kind: str) -> None:
        self.ignored[kind] = self.ignored.get(kind, 0) + 1


class User:
    """One simulated user: a browser context and its page, looping until the deadline."""

    def __init__(self, index: int, browser, base_url: str, stats: Stats, rng: random.Random, queries: list[str],
                 deadline: float, timeout_ms: int, filter_share: float, fiche_share: float):
        self.index, self.browser, self.base, self.stats, self.rng = index, browser, base_url, stats, rng
        self.queries, self.deadline, self.timeout_ms = queries, deadline, timeout_ms
        self.filter_share, self.fiche_share = filter_share, fiche_share
        self.url = ""  # the request in progress, for the errors reported by page events
        self.found: list[tuple[str, str]] = []  # (slug, title) of the last results
        self.page = None

    def loop_time(self) -> float:
        return asyncio.get_running_loop().time()

    async def new_page(self, context):
        page = await context.new_page()
        page.on("pageerror", lambda exc: self.stats.error(self.index, "pageerror", self.url, str(exc)))
        page.on("response", self.on_response)
        page.on("websocket", lambda ws: ws.on(
            "socketerror", lambda message: self.stats.error(self.index, "websocket", self.url, str(message))))
        page.on("crash", lambda _: self.stats.error(self.index, "crash", self.url, "the page crashed"))
        return page

    def on_response(self, response) -> None:
        if response.status < 400:
            return
        if response.status == 404 and PROBE_404.match(urlsplit(response.url).path):
            self.stats.ignore("streamlit_subpage_probe_404")
            return
        self.stats.error(self.index, "http", self.url, f"HTTP {response.status} {response.url}")

    def search_url(self) -> str:
        params = {"q": self.rng.choice(self.queries)}
        if self.rng.random() < self.filter_share:
            params.update(self.rng.choice(FILTERS))
        return f"{self.base}/?{urlencode(params, quote_via=quote)}"

    async def request(self, kind: str, url: str, expected: str = "") -> dict | None:
        """Open ``url`` and wait for the page to be drawn; the outcome, or None after an error."""
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        self.url = url
        self.stats.requests += 1
        self.stats.per_user_requests[self.index] += 1
        start = time.perf_counter()
        try:
            await self.page.goto(url, wait_until="commit", timeout=self.timeout_ms)
            remaining = max(1.0, self.timeout_ms - (time.perf_counter() - start) * 1000)
            handle = await self.page.wait_for_function(
                OUTCOME_JS, arg=[kind, expected, SEARCH_HEADING, NO_RESULT], polling=POLL_MS, timeout=remaining)
            outcome = await handle.json_value()
        except PlaywrightTimeout:
            self.stats.error(self.index, "timeout", url, f"not drawn after {self.timeout_ms / 1000:g} s")
            return None
        except PlaywrightError as exc:
            self.stats.error(self.index, "navigation", url, str(exc).splitlines()[0] if str(exc) else repr(exc))
            return None
        elapsed = time.perf_counter() - start
        if outcome["status"] not in ("ok", "empty"):
            self.stats.error(self.index, outcome["status"], url, outcome.get("detail", ""))
            return None
        self.stats.latencies[kind].append(elapsed)
        self.stats.per_user_ok[self.index] += 1
        if outcome["status"] == "empty":
            self.stats.empty_results += 1
        return outcome

    async def run(self) -> None:
        context = await self.browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
        try:
            self.page = await self.new_page(context)
            while self.loop_time() < self.deadline:
                if self.page.is_closed():  # after a crash
                    self.page = await self.new_page(context)
                if self.found and self.rng.random() < self.fiche_share:
                    slug, title = self.rng.choice(self.found)
                    await self.request("fiche", f"{self.base}/fiche?slug={quote(slug)}", title)
                    continue
                outcome = await self.request("search", self.search_url())
                if outcome is not None:
                    self.found = [(parse_qs(urlsplit(href).query)["slug"][0], title)
                                  for href, title in outcome.get("links", [])]
        finally:
            await context.close()


async def warm_up(browser, base_url: str, timeout_ms: int) -> None:
    """One search page, not measured: the engine (model and index) is loaded once it is drawn."""
    context = await browser.new_context(locale="fr-FR")
    try:
        page = await context.new_page()
        await page.goto(f"{base_url}/?q={quote('médiation numérique')}", wait_until="commit", timeout=timeout_ms)
        handle = await page.wait_for_function(OUTCOME_JS, arg=["search", "", SEARCH_HEADING, NO_RESULT],
                                              polling=POLL_MS, timeout=timeout_ms)
        outcome = await handle.json_value()
        if outcome["status"] not in ("ok", "empty"):
            raise RuntimeError(f"the application does not answer a search: {outcome}")
    finally:
        await context.close()


async def run_load_async(base_url: str, users: int = 20, seconds: float = 30, timeout: float = 30,
                         queries: list[str] | None = None, filter_share: float = 0.3, fiche_share: float = 0.3,
                         seed: int = 0, warmup_timeout: float = START_TIMEOUT,
                         chromium: Path = CHROMIUM) -> dict:
    from playwright.async_api import async_playwright

    if urlsplit(base_url).hostname != "127.0.0.1":
        raise ValueError(f"the load runs on loopback only (http://127.0.0.1:<port>), not {base_url}")
    base_url = base_url.rstrip("/")
    queries = queries or load_queries()
    stats = Stats(users)
    timeout_ms = int(timeout * 1000)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS + LOAD_ARGS)
        try:
            await warm_up(browser, base_url, int(warmup_timeout * 1000))
            loop = asyncio.get_running_loop()
            start_wall, start = time.perf_counter(), loop.time()
            deadline = start + seconds
            simulated = [User(i, browser, base_url, stats, random.Random(f"{seed}-{i}"), queries, deadline,
                              timeout_ms, filter_share, fiche_share) for i in range(users)]
            tasks = [asyncio.create_task(user.run()) for user in simulated]
            # every request ends by deadline + timeout; the grace covers opening and closing contexts
            done, pending = await asyncio.wait(tasks, timeout=seconds + timeout + 15)
            for task in pending:
                task.cancel()
                stats.error(-1, "overrun", "", "a user was still running after seconds + timeout")
            if pending:
                await asyncio.wait(pending, timeout=10)
            for task in done:
                if task.exception() is not None:
                    exc = task.exception()
                    stats.error(simulated[tasks.index(task)].index, "user-crash", "", f"{type(exc).__name__}: {exc}")
            elapsed = time.perf_counter() - start_wall
        finally:
            await browser.close()
    latencies = {kind: latency_summary(values) for kind, values in stats.latencies.items()}
    latencies["all"] = latency_summary([v for values in stats.latencies.values() for v in values])
    return {
        "users": users,
        "seconds": seconds,
        "elapsed_s": round(elapsed, 1),
        "requests": stats.requests,
        "ok": sum(stats.per_user_ok),
        "errors": stats.errors,
        "error_kinds": stats.error_kinds,
        "error_samples": stats.error_samples,
        "ignored": stats.ignored,
        "empty_results": stats.empty_results,
        "per_user_requests": stats.per_user_requests,
        "per_user_ok": stats.per_user_ok,
        "latency": latencies,
        "throughput_rps": round(sum(stats.per_user_ok) / elapsed, 2) if elapsed else None,
        "request_timeout_s": timeout,
    }


def run_load(base_url: str, users: int = 20, seconds: float = 30, timeout: float = 30, **options) -> dict:
    """Simulate ``users`` concurrent users of the application running at ``base_url``
    (http://127.0.0.1:<port>) for ``seconds``; see the module's docstring. Returns the summary:
    requests, errors (count, kinds, samples), latency p50/p95/max per kind, throughput."""
    return asyncio.run(run_load_async(base_url, users=users, seconds=seconds, timeout=timeout, **options))


def markdown_rows(summary: dict) -> list[str]:
    def seconds(kind: str, key: str) -> str:
        value = summary["latency"][kind][key]
        return "–" if value is None else f"{value:.2f} s"

    header = ("| utilisateurs | durée | requêtes | erreurs | recherche p50 | recherche p95 | recherche max "
              "| fiche p50 | fiche p95 | fiche max | débit |")
    row = (f"| {summary['users']} | {summary['seconds']:g} s | {summary['requests']} | {summary['errors']} "
           f"| {seconds('search', 'p50_s')} | {seconds('search', 'p95_s')} | {seconds('search', 'max_s')} "
           f"| {seconds('fiche', 'p50_s')} | {seconds('fiche', 'p95_s')} | {seconds('fiche', 'max_s')} "
           f"| {summary['throughput_rps']:.2f} req/s |")
    return [header, "|" + "---|" * 11, row]


def ensure_index(index_dir: Path) -> None:
    """Build the bundled bank's index with ``kb build`` when there is none."""
    if (index_dir / "catalog.db").exists():
        return
    print(f"No index in {index_dir}: kb build…", file=sys.stderr)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "KB_ROOT": str(ROOT)}
    subprocess.run([sys.executable, "-m", "kb", "--index-dir", str(index_dir), "build", "--quiet"], cwd=ROOT,
                   env=env, check=True)


def _stop(signum, frame):  # SIGTERM: unwind, so that the application is stopped too
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20, help="concurrent simulated users (default 20)")
    parser.add_argument("--seconds", type=float, default=60, help="duration of the load (default 60)")
    parser.add_argument("--timeout", type=float, default=30, help="timeout of one request, in seconds (default 30)")
    parser.add_argument("--index-dir", type=Path, default=ROOT / "index", help="index of the bundled bank")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the summary to this file")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        parser.error(f"Chromium is missing ({CHROMIUM}): install Debian's chromium package")
    signal.signal(signal.SIGTERM, _stop)
    ensure_index(args.index_dir.resolve())
    with tempfile.TemporaryDirectory(prefix="kb-load-") as tmp:
        log_path = Path(tmp) / "streamlit.log"
        try:
            with running_app(args.index_dir.resolve(), log_path) as base:
                summary = run_load(base, users=args.users, seconds=args.seconds, timeout=args.timeout, seed=args.seed)
        except AppStartError as exc:
            print(exc, file=sys.stderr)
            return 2
        server_log = log_path.read_text(errors="replace")
    summary["server_log_tracebacks"] = server_log.count("Traceback (most recent call last)")
    summary["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()}
    text = json.dumps(summary, indent=2, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n", encoding="utf-8")
    print()
    print("\n".join(markdown_rows(summary)))
    return 0 if summary["errors"] == 0 and summary["server_log_tracebacks"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
