"""Load test of the running application: concurrent simulated users on loopback.

    .venv/bin/python -m bench.load --users 20 --seconds 60                  # Streamlit protocol
    .venv/bin/python -m bench.load --users 20 --seconds 60 --driver browser # one Chromium page each

Run from the repository root, it starts ``streamlit run kb/webapp/app.py`` on a free port of
127.0.0.1 over the bundled bank (its index in ``index/``, built first with ``kb build`` when
missing), runs the load, prints a JSON summary and a Markdown table, and always stops the
application; it exits with 1 after an error (tests/test_load.py runs it so and checks its JSON
summary). ``run_load(base_url, ...)`` runs the same load against an application already running.

What a user does (both drivers). The users arrive one after the other over the first ``ramp``
seconds, then each loops until the time is up: it opens a search URL (``/?q=…``: a query of
eval/queries.jsonl, sometimes with filters or the date sort) and waits until the results or the
"no result" message are drawn and Streamlit has finished the script run; after a search with
results it sometimes opens one of the fiches found (``/fiche?slug=…``) and waits for its title
and its "Fiches similaires" section; between two requests it reads for ``think`` seconds (drawn
at random in that range).

Driver "protocol" (default). Each request opens a new websocket session and asks for one
script run with the link's query string, as the browser's JavaScript does when a link is
opened (bench/streamlit_client.py); the outcome is judged on the elements the server sends.
The latency is the application's: session, script run, search, every element sent. It leaves
out the browser's download of the page and its rendering, which cost a visitor's own machine,
not the server.

Driver "browser". One Chromium, driven by Playwright's asyncio API; each user has its own page, hence its
own websocket and Streamlit session (its own session state). The users arrive one after the
other over the first ``ramp`` seconds, then each loops until the time is up: it opens a search
URL (``/?q=…``: a query of eval/queries.jsonl, sometimes with filters or the date sort) and
waits until the results or the "no result" message are drawn and Streamlit has finished the
script run; after a search with results it sometimes opens one of the fiches found
(``/fiche?slug=…``) and waits for its title and its "Fiches similaires" section; between two
requests it reads for ``think`` seconds (drawn at random in that range). The latency is
measured from the start of the navigation to that state: a page load, a new websocket session
and one script run, as when a shared link is opened.

The browser shares the machine with the application, and a Streamlit page is heavy for it: on
2 cores, a page load costs Chromium 2 to 4 s of CPU against about 1 s for the server (the summary
gives the CPU used by each, under "cpu"). So that the figures say more about the application:

- the pages share one browser context by default, hence the HTTP cache: like returning
  visitors, they do not download and compile Streamlit's 2.9 MB of JavaScript again (each page
  still has its own websocket and Streamlit session). With ``isolated``, each user has its own
  browser context, with a cold cache: the first page load of each user costs twice the CPU;
- Streamlit's "running" indicator is hidden (``quiet_indicator``): while a script runs, it
  swaps its icon every 200 ms (a render, style, layout and paint each time, in every waiting
  page); with 20 users, hiding it saved about an eighth of the browser's CPU;
- the pages share two renderer processes (``--renderer-process-limit=2``), which saved about a
  third of the browser's CPU with 20 users;
- the browser runs at a lower priority (``nice``), so that it does not starve the application.

The default request timeout (90 s) is long for the same reason: 20 page loads at once keep the
two cores busy for about a minute.

Errors: navigation failures, timeouts (``timeout`` per request), Streamlit exception blocks, a
page that is not the expected one, JavaScript page errors, websocket errors, crashed pages,
HTTP responses >= 400, except the 404 probes that Streamlit's frontend sends to
``/<page>/_stcore/health`` and ``/<page>/_stcore/host-config`` before the real ones when a page
URL is opened directly (streamlit/streamlit#7074): these are counted apart, in ``ignored``.

Bounded: a user checks the deadline before each request and each request has its timeout, so
the load is over at most ``seconds + timeout`` after it starts; a guard cancels whatever would be
left (plus a short grace to close the pages). Before the load, one page is loaded (not measured)
so that the engine and the model are loaded by then.
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
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from bench.streamlit_client import FINISHED_SUCCESSFULLY, plain, run_page
from kb.localapp import CHROMIUM, CHROMIUM_ARGS, ROOT, START_TIMEOUT, AppStartError, running_app

QUERIES_PATH = ROOT / "eval" / "queries.jsonl"
DRIVERS = ("protocol", "browser")
WARM_QUERY = "médiation numérique"
# filter combinations with values of kb/data/vocab.yaml; some give no result with some queries
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
# many pages in one Chromium: none of them must be slowed down as a background page, and they
# share two renderer processes instead of one each (a third less CPU for 20 pages on 2 cores)
LOAD_ARGS = ["--disable-renderer-backgrounding", "--disable-background-timer-throttling",
             "--disable-backgrounding-occluded-windows", "--renderer-process-limit=2"]
VIEWPORT = {"width": 1280, "height": 900}
PROBE_404 = re.compile(r"^/[^/]+/_stcore/(health|host-config)$")
POLL_MS = 100
# Streamlit's "running" indicator swaps its icon every 200 ms while a script runs (a React render,
# style, layout and paint 5 times a second per page): hidden, it is not painted. It stays in the
# page, where OUTCOME_JS looks for it.
QUIET_INDICATOR_JS = """document.addEventListener('DOMContentLoaded', () => {
  const style = document.createElement('style');
  style.textContent = '[data-testid="stStatusWidget"] { display: none !important; }';
  document.head.appendChild(style);
});"""
SAMPLES = 10
CLOSE_GRACE = 15  # seconds, after seconds + timeout, to close the pages

# Evaluated in the page until it returns an object, the outcome of the request: ``false`` while
# Streamlit has not finished the script run (data-test-script-state of the app's root, "running"
# indicator, elements left from the previous run) or the expected content is not drawn yet.
OUTCOME_JS = """([kind, expected, heading, noResult]) => {
  const norm = (s) => (s || '').replace(/\\s+/g, ' ').trim();
  const exception = document.querySelector('[data-testid="stException"]');
  if (exception) return {status: 'exception', detail: norm(exception.textContent).slice(0, 300)};
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
    if (heads.includes('Aucune fiche ne répond à votre besoin')) {
      const alerts = [...document.querySelectorAll('[data-testid="stAlert"]')].map((a) => a.textContent);
      return alerts.some((t) => t.includes(noResult)) ? {status: 'empty', links: []} : false;
    }
    if (!heads.some((t) => /^\\d+ fiches? (?:répondent|répond) à votre besoin$/.test(t))) return false;
    const links = [...document.querySelectorAll('[class*="st-key-card-"] a[href*="fiche?slug="]')]
      .map((a) => [a.getAttribute('href'), norm(a.textContent)]);
    return links.length ? {status: 'ok', links} : false;
  }
  if (title !== norm(expected)) return {status: 'wrong-page', detail: title.slice(0, 200)};
  const similar = [...document.querySelectorAll('h2')].some((h) => norm(h.textContent) === 'Fiches similaires');
  return similar ? {status: 'ok'} : false;
}"""

# What a page shows, for the report of a timeout.
SNAPSHOT_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const h1 = document.querySelector('h1');
  return `script ${app && app.getAttribute('data-test-script-state')}, connection `
    + `${app && app.getAttribute('data-test-connection-state')}, `
    + `h1 ${h1 ? JSON.stringify(h1.textContent.trim().slice(0, 60)) : 'none'}, `
    + `running indicator ${!!document.querySelector('[data-testid="stStatusWidget"]')}, `
    + `stale elements ${document.querySelectorAll('[data-stale="true"]').length}`;
}"""


def load_queries(path: Path = QUERIES_PATH) -> list[str]:
    """The queries of the evaluation set: needs in plain French, and short keyword queries."""
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line)["query"] for line in lines if line.strip()]


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of sorted values."""
    return sorted_values[max(1, math.ceil(p / 100 * len(sorted_values))) - 1]


def latency_summary(values: list[float]) -> dict:
    if not values:
        return {"count": 0, "p50_s": None, "p95_s": None, "max_s": None}
    values = sorted(values)
    return {"count": len(values), "p50_s": round(percentile(values, 50), 3),
            "p95_s": round(percentile(values, 95), 3), "max_s": round(values[-1], 3)}


# ----------------------------------------------------------------------------- CPU accounting (Linux)


def _ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def cpu_snapshot(server_pid: int | None) -> dict | None:
    """CPU time used so far by the server, by the browser (this process' descendants other than
    the server) and by the whole machine; None where /proc is not there."""
    try:
        with open("/proc/stat") as stat:
            user, nice, system, idle, iowait, irq, softirq, steal = map(int, stat.readline().split()[1:9])
        machine = user + nice + system + irq + softirq + steal
        server = _ticks(server_pid) if server_pid else 0
        excluded = {server_pid} | _descendants(server_pid) if server_pid else set()
        browser = 0
        for pid in _descendants(os.getpid()) - excluded:
            try:
                browser += _ticks(pid)
            except (OSError, ValueError, IndexError):
                pass  # exited meanwhile
        return {"machine": machine, "server": server, "browser": browser, "client": _ticks(os.getpid())}
    except (OSError, ValueError):
        return None


def cpu_used(before: dict | None, after: dict | None, elapsed: float) -> dict | None:
    if not before or not after:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    used = {key: (after[key] - before[key]) / tick for key in before}
    others = used["machine"] - used["server"] - used["browser"] - used["client"]
    return {"server_s": round(used["server"], 1), "browser_s": round(used["browser"], 1),
            "load_generator_s": round(used["client"], 1), "other_processes_s": round(max(0.0, others), 1),
            "available_s": round((os.cpu_count() or 1) * elapsed, 1)}


# ----------------------------------------------------------------------------- users


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
            self.error_samples.append({"user": user, "kind": kind, "url": url, "detail": detail[:400]})

    def ignore(self, kind: str) -> None:
        self.ignored[kind] = self.ignored.get(kind, 0) + 1


@dataclass
class Plan:
    base_url: str
    deadline: float  # event loop time
    timeout_ms: int
    think: tuple[float, float]
    queries: list[str]
    filter_share: float
    fiche_share: float


class User:
    """One simulated user: its page (own Streamlit session), looping until the deadline."""

    def __init__(self, index: int, plan: Plan, stats: Stats, rng: random.Random):
        self.index, self.plan, self.stats, self.rng = index, plan, stats, rng
        self.url = ""  # the request in progress, for the errors reported by page events
        self.found: list[tuple[str, str]] = []  # (slug, title) of the last results
        self.page = None

    @staticmethod
    def now() -> float:
        return asyncio.get_running_loop().time()

    async def open_page(self, context) -> None:
        page = await context.new_page()
        page.on("pageerror", lambda exc: self.stats.error(self.index, "pageerror", self.url, str(exc)))
        page.on("response", self.on_response)
        page.on("websocket", lambda ws: ws.on(
            "socketerror", lambda message: self.stats.error(self.index, "websocket", self.url, str(message))))
        page.on("crash", lambda _: self.stats.error(self.index, "crash", self.url, "the page crashed"))
        self.page = page

    def on_response(self, response) -> None:
        if response.status < 400:
            return
        if response.status == 404 and PROBE_404.match(urlsplit(response.url).path):
            self.stats.ignore("streamlit_subpage_probe_404")
            return
        self.stats.error(self.index, "http", self.url, f"HTTP {response.status} {response.url}")

    def search_url(self) -> str:
        params = {"q": self.rng.choice(self.plan.queries)}
        if self.rng.random() < self.plan.filter_share:
            params.update(self.rng.choice(FILTERS))
        return f"{self.plan.base_url}/?{urlencode(params, quote_via=quote)}"

    async def snapshot(self) -> str:
        try:
            return await asyncio.wait_for(self.page.evaluate(SNAPSHOT_JS), 2)
        except Exception as exc:  # the page may be gone or stuck: the report says so
            return f"no snapshot ({type(exc).__name__})"

    async def request(self, kind: str, url: str, expected: str = "") -> dict | None:
        """Open ``url`` and wait until it is drawn; the outcome, or None after an error."""
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        self.begin(url)
        timeout_ms = self.plan.timeout_ms
        start = time.perf_counter()
        try:
            await self.page.goto(url, wait_until="commit", timeout=timeout_ms)
            remaining = max(1.0, timeout_ms - (time.perf_counter() - start) * 1000)
            handle = await self.page.wait_for_function(
                OUTCOME_JS, arg=[kind, expected, SEARCH_HEADING, NO_RESULT], polling=POLL_MS, timeout=remaining)
            outcome = await handle.json_value()
        except PlaywrightTimeout:
            snapshot = await self.snapshot()
            self.stats.error(self.index, "timeout", url, f"not drawn after {timeout_ms / 1000:g} s: {snapshot}")
            return None
        except PlaywrightError as exc:
            self.stats.error(self.index, "navigation", url, (str(exc).splitlines() or [repr(exc)])[0])
            return None
        return self.record(kind, url, outcome, time.perf_counter() - start)

    def begin(self, url: str) -> None:
        """Count a request to ``url`` (the page events report their errors against it)."""
        self.url = url
        self.stats.requests += 1
        self.stats.per_user_requests[self.index] += 1

    def record(self, kind: str, url: str, outcome: dict, elapsed: float) -> dict | None:
        """A finished request: its latency when it drew the expected page, else an error (None)."""
        if outcome["status"] not in ("ok", "empty"):
            self.stats.error(self.index, outcome["status"], url, outcome.get("detail", ""))
            return None
        self.stats.latencies[kind].append(elapsed)
        self.stats.per_user_ok[self.index] += 1
        if outcome["status"] == "empty":
            self.stats.empty_results += 1
        return outcome

    async def run(self, context, delay: float) -> None:
        plan = self.plan
        await asyncio.sleep(delay)
        await self.open_page(context)
        first = True
        while self.now() < plan.deadline:
            if not first:  # reading the previous page
                await asyncio.sleep(min(self.rng.uniform(*plan.think), max(0.0, plan.deadline - self.now())))
                if self.now() >= plan.deadline:
                    break
            first = False
            if self.page is not None and self.page.is_closed():  # a browser page, after a crash
                await self.open_page(context)
            if self.found and self.rng.random() < plan.fiche_share:
                slug, title = self.rng.choice(self.found)
                await self.request("fiche", f"{plan.base_url}/fiche?slug={quote(slug)}", title)
                continue
            outcome = await self.request("search", self.search_url())
            if outcome is not None:
                self.found = [(parse_qs(urlsplit(href).query)["slug"][0], title)
                              for href, title in outcome["links"]]


async def load_one_search(context, base_url: str, timeout_ms: int) -> None:
    """One search page, not measured: once it is drawn, the engine (model and index) is loaded
    and, in a shared context, Streamlit's JavaScript is in the browser's cache."""
    page = await context.new_page()
    try:
        await page.goto(f"{base_url}/?q={quote(WARM_QUERY)}", wait_until="commit", timeout=timeout_ms)
        handle = await page.wait_for_function(OUTCOME_JS, arg=["search", "", SEARCH_HEADING, NO_RESULT],
                                              polling=POLL_MS, timeout=timeout_ms)
        outcome = await handle.json_value()
        if outcome["status"] not in ("ok", "empty"):
            raise RuntimeError(f"the application does not answer a search: {outcome}")
    finally:
        await page.close()


class ProtocolUser(User):
    """A user that speaks Streamlit's protocol instead of driving a browser page
    (bench/streamlit_client.py): each request is a new session and one script run, as when a
    link is opened, and its outcome is checked on the elements the server sent. Without the
    browser's rendering, the latency is the application's own."""

    async def open_page(self, context) -> None:
        self.page = None

    async def request(self, kind: str, url: str, expected: str = "") -> dict | None:
        self.begin(url)
        parts = urlsplit(url)
        start = time.perf_counter()
        try:
            run = await run_page(self.plan.base_url, parts.query, parts.path.strip("/"),
                                 timeout=self.plan.timeout_ms / 1000)
        except TimeoutError:
            self.stats.error(self.index, "timeout", url, f"script run not over after {self.plan.timeout_ms / 1000:g} s")
            return None
        except Exception as exc:  # connection refused or closed early: the report names it
            self.stats.error(self.index, "websocket", url, f"{type(exc).__name__}: {exc}")
            return None
        elapsed = time.perf_counter() - start
        return self.record(kind, url, protocol_outcome(run, kind, expected), elapsed)


def protocol_outcome(run, kind: str, expected: str) -> dict:
    """The outcome of a script run, judged as OUTCOME_JS judges a drawn page."""
    if run.exceptions:
        return {"status": "exception", "detail": run.exceptions[0][:300]}
    if run.finished_status != FINISHED_SUCCESSFULLY:
        return {"status": "script-status", "detail": f"script_finished = {run.finished_status}"}
    titles = run.headings_with("h1")
    title = titles[0] if titles else ""
    if kind == "search":
        if title != SEARCH_HEADING:
            return {"status": "wrong-page", "detail": title[:200]}
        counts = run.headings_with("h3")
        if "Aucune fiche ne répond à votre besoin" in counts:
            if any(NO_RESULT in alert for alert in run.alerts):
                return {"status": "empty", "links": []}
            return {"status": "incomplete", "detail": "no result, without the message that says so"}
        links = [(f"/fiche?{query}", plain(label)) for page, query, label in run.page_links
                 if page == "fiche" and query.startswith("slug=")]
        if not any(re.fullmatch(r"\d+ fiches? (?:répondent|répond) à votre besoin", text) for text in counts) or not links:
            return {"status": "incomplete", "detail": f"h3 {counts[:3]}, {len(links)} links to fiches"}
        return {"status": "ok", "links": links}
    if title != plain(expected):
        return {"status": "wrong-page", "detail": title[:200]}
    if "Fiches similaires" not in run.headings_with("h2"):
        return {"status": "incomplete", "detail": "no « Fiches similaires » section"}
    return {"status": "ok"}


def niced_executable(chromium: Path, nice: int, folder: Path) -> Path:
    """A wrapper that starts Chromium (and so all its processes) at a lower priority."""
    if not nice:
        return chromium
    wrapper = folder / "chromium-niced"
    wrapper.write_text(f"#!/bin/sh\nexec nice -n {int(nice)} {shlex.quote(str(chromium))} \"$@\"\n")
    wrapper.chmod(0o755)
    return wrapper


async def run_load_async(base_url: str, users: int = 20, seconds: float = 30, timeout: float = 90,
                         think: tuple[float, float] = (1.0, 4.0), ramp: float | None = None,
                         driver: str = "protocol", isolated: bool = False, nice: int = 10,
                         quiet_indicator: bool = True, queries: list[str] | None = None, filter_share: float = 0.3,
                         fiche_share: float = 0.3, seed: int = 0, warmup_timeout: float = START_TIMEOUT,
                         chromium: Path = CHROMIUM, server_pid: int | None = None) -> dict:
    if urlsplit(base_url).hostname != "127.0.0.1":
        raise ValueError(f"the load runs on loopback only (http://127.0.0.1:<port>), not {base_url}")
    if users < 1 or seconds <= 0 or timeout <= 0:
        raise ValueError("users, seconds and timeout must be positive")
    if driver not in DRIVERS:
        raise ValueError(f"driver must be one of {', '.join(DRIVERS)}, not {driver!r}")
    base_url = base_url.rstrip("/")
    ramp = min(10.0, seconds / 3) if ramp is None else ramp
    stats = Stats(users)

    async def load(contexts: list, user_class: type[User]) -> tuple[float, dict | None]:
        loop = asyncio.get_running_loop()
        cpu_before, start_wall = cpu_snapshot(server_pid), time.perf_counter()
        plan = Plan(base_url, loop.time() + seconds, int(timeout * 1000), think, queries or load_queries(),
                    filter_share, fiche_share)
        simulated = [user_class(i, plan, stats, random.Random(f"{seed}-{i}")) for i in range(users)]
        tasks = [asyncio.create_task(user.run(contexts[i], i * ramp / users)) for i, user in enumerate(simulated)]
        # every request is over by deadline + timeout: nothing should be left after that
        done, pending = await asyncio.wait(tasks, timeout=seconds + timeout + CLOSE_GRACE)
        for task in pending:
            task.cancel()
            stats.error(tasks.index(task), "overrun", "", "still running after seconds + timeout")
        if pending:
            await asyncio.wait(pending, timeout=CLOSE_GRACE)
        for index, task in enumerate(tasks):
            if task in done and task.exception() is not None:
                exc = task.exception()
                stats.error(index, "user-failure", "", f"{type(exc).__name__}: {exc}")
        elapsed = time.perf_counter() - start_wall
        return elapsed, cpu_used(cpu_before, cpu_snapshot(server_pid), elapsed)

    if driver == "protocol":
        warm = protocol_outcome(await run_page(base_url, urlencode({"q": WARM_QUERY}), timeout=warmup_timeout),
                                "search", "")
        if warm["status"] not in ("ok", "empty"):
            raise RuntimeError(f"the application does not answer a search: {warm}")
        elapsed, cpu = await load([None] * users, ProtocolUser)
    else:
        elapsed, cpu = await browser_load(base_url, users, isolated, nice, quiet_indicator, warmup_timeout,
                                          chromium, load)
    latencies = {kind: latency_summary(values) for kind, values in stats.latencies.items()}
    latencies["all"] = latency_summary([v for values in stats.latencies.values() for v in values])
    ok = sum(stats.per_user_ok)
    return {
        "driver": driver,
        "users": users,
        "seconds": seconds,
        "elapsed_s": round(elapsed, 1),
        "requests": stats.requests,
        "ok": ok,
        "errors": stats.errors,
        "error_kinds": stats.error_kinds,
        "error_samples": stats.error_samples,
        "ignored": stats.ignored,
        "empty_results": stats.empty_results,
        "per_user_requests": stats.per_user_requests,
        "per_user_ok": stats.per_user_ok,
        "latency": latencies,
        "throughput_rps": round(ok / elapsed, 2),
        "cpu": cpu,
        "settings": {"driver": driver, "request_timeout_s": timeout, "think_s": list(think),
                     "ramp_s": round(ramp, 1), "filter_share": filter_share, "fiche_share": fiche_share,
                     "seed": seed,
                     **({"isolated_contexts": isolated, "browser_nice": nice,
                         "quiet_running_indicator": quiet_indicator} if driver == "browser" else {})},
    }


async def browser_load(base_url: str, users: int, isolated: bool, nice: int, quiet_indicator: bool,
                       warmup_timeout: float, chromium: Path, load) -> tuple[float, dict | None]:
    """The load with one Chromium page per user (``load`` is run_load_async's inner loop)."""
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory(prefix="kb-load-") as tmp:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=str(niced_executable(chromium, nice, Path(tmp))),
                                                       args=CHROMIUM_ARGS + LOAD_ARGS)
            try:
                async def new_context():
                    context = await browser.new_context(locale="fr-FR", viewport=VIEWPORT)
                    if quiet_indicator:
                        await context.add_init_script(QUIET_INDICATOR_JS)
                    return context

                shared = await new_context()
                await load_one_search(shared, base_url, int(warmup_timeout * 1000))
                contexts = [await new_context() for _ in range(users)] if isolated else [shared] * users
                return await load(contexts, User)
            finally:
                await browser.close()


def run_load(base_url: str, users: int = 20, seconds: float = 30, **options) -> dict:
    """Simulate ``users`` concurrent users of the application running at ``base_url``
    (http://127.0.0.1:<port>) for ``seconds`` (see the module's docstring for the options).

    Returns the summary: requests, errors (count, kinds, samples), latency count/p50/p95/max per
    kind ("search", "fiche", "all"), throughput, CPU used (when /proc is there)."""
    return asyncio.run(run_load_async(base_url, users=users, seconds=seconds, **options))


def markdown_rows(summary: dict) -> list[str]:
    """A Markdown table (header, separator, one row) of a summary, for the README."""
    def cell(kind: str, key: str) -> str:
        value = summary["latency"][kind][key]
        return "–" if value is None else f"{value:.2f} s"

    header = ("| client | utilisateurs | durée | requêtes | erreurs | recherche p50 | recherche p95 | recherche max "
              "| fiche p50 | fiche p95 | fiche max | débit |")
    client = {"protocol": "protocole Streamlit", "browser": "Chromium"}[summary["driver"]]
    row = (f"| {client} | {summary['users']} | {summary['seconds']:g} s | {summary['requests']} | {summary['errors']} "
           f"| {cell('search', 'p50_s')} | {cell('search', 'p95_s')} | {cell('search', 'max_s')} "
           f"| {cell('fiche', 'p50_s')} | {cell('fiche', 'p95_s')} | {cell('fiche', 'max_s')} "
           f"| {summary['throughput_rps']:.2f} pages/s |")
    return [header, "|" + "---|" * 12, row]


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
    parser.add_argument("--timeout", type=float, default=90, help="timeout of one request, seconds (default 90)")
    parser.add_argument("--think", type=float, nargs=2, default=(1.0, 4.0), metavar=("MIN", "MAX"),
                        help="reading time between two requests of a user, seconds (default 1 4)")
    parser.add_argument("--ramp", type=float, help="the users arrive over this many seconds "
                                                   "(default: a third of the duration, at most 10)")
    parser.add_argument("--driver", choices=DRIVERS, default="protocol",
                        help="protocol: Streamlit's websocket protocol (default); browser: one Chromium page per user")
    parser.add_argument("--isolated", action="store_true", help="one browser context (cold cache) per user")
    parser.add_argument("--nice", type=int, default=10, help="priority of the browser (default 10, 0: same)")
    parser.add_argument("--index-dir", type=Path, default=ROOT / "index", help="index of the bundled bank")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the summary to this file")
    args = parser.parse_args(argv)
    if args.driver == "browser" and not CHROMIUM.exists():
        parser.error(f"Chromium is missing ({CHROMIUM}): install Debian's chromium package")
    signal.signal(signal.SIGTERM, _stop)
    index_dir = args.index_dir.resolve()
    ensure_index(index_dir)
    with tempfile.TemporaryDirectory(prefix="kb-load-app-") as tmp:
        try:
            with running_app(index_dir, Path(tmp) / "streamlit.log") as app:
                summary = run_load(app.url, users=args.users, seconds=args.seconds, timeout=args.timeout,
                                   think=tuple(args.think), ramp=args.ramp, driver=args.driver, isolated=args.isolated,
                                   nice=args.nice,
                                   seed=args.seed, server_pid=app.process.pid)
        except AppStartError as exc:
            print(exc, file=sys.stderr)
            return 2
        server_log = app.log_path.read_text(errors="replace")
    summary["server_log_tracebacks"] = server_log.count("Traceback (most recent call last)")
    summary["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "system": platform.platform(), "load_average_after": [round(x, 2) for x in os.getloadavg()]}
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
