"""A minimal client of Streamlit's own protocol, for the load test: what the browser's
JavaScript does when a link of the application is opened, without the browser.

A page request opens a websocket on ``/_stcore/stream`` (a new Streamlit session, as a new tab
does), sends the ``BackMsg`` that asks for a script run with the URL's query string and page,
and reads the ``ForwardMsg`` protobufs that the server sends until ``script_finished``. The
elements drawn (headings, alerts, exceptions, page links) are collected so that the caller can
check that the expected page was drawn. Both message types come from the ``streamlit`` package
itself, so the client speaks the same protocol version as the server.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

FINISHED_SUCCESSFULLY = 0  # ForwardMsg.ScriptFinishedStatus
_MARKDOWN_ESCAPE = re.compile(r"\\(.)")


def plain(markdown: str) -> str:
    """Heading text without Markdown backslash escapes and with collapsed spaces."""
    return " ".join(_MARKDOWN_ESCAPE.sub(r"\1", markdown).split())


@dataclass
class PageRun:
    """What one script run drew."""

    finished_status: int | None = None
    headings: list[tuple[str, str]] = field(default_factory=list)  # (tag, text)
    alerts: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    page_links: list[tuple[str, str, str]] = field(default_factory=list)  # (page, query string, label)
    messages: int = 0

    def headings_with(self, tag: str) -> list[str]:
        return [text for heading_tag, text in self.headings if heading_tag == tag]

    def collect(self, message: ForwardMsg) -> None:
        self.messages += 1
        kind = message.WhichOneof("type")
        if kind == "script_finished":
            self.finished_status = message.script_finished
            return
        if kind != "delta" or message.delta.WhichOneof("type") != "new_element":
            return
        element = message.delta.new_element
        element_kind = element.WhichOneof("type")
        if element_kind == "heading":
            self.headings.append((element.heading.tag, plain(element.heading.body)))
        elif element_kind == "alert":
            self.alerts.append(element.alert.body)
        elif element_kind == "exception":
            self.exceptions.append(f"{element.exception.type}: {element.exception.message}")
        elif element_kind == "page_link":
            link = element.page_link
            self.page_links.append((link.page, link.query_string, link.label))


def stream_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}/_stcore/stream"


async def run_page(base_url: str, query_string: str = "", page: str = "", timeout: float = 60) -> PageRun:
    """Open a new session on the application at ``base_url``, run the script of ``page`` (its URL
    path, "" for the default page) with ``query_string``, and return what it drew.

    Raises ``TimeoutError`` when the run is not over after ``timeout`` seconds, and the
    ``websockets``/``OSError`` exceptions when the connection fails or closes early."""
    request = BackMsg()
    request.rerun_script.query_string = query_string
    request.rerun_script.page_name = page
    origin = base_url.rstrip("/")
    run = PageRun()
    async with asyncio.timeout(timeout):
        async with websockets.connect(stream_url(base_url), origin=origin, max_size=None) as socket:
            await socket.send(request.SerializeToString())
            while run.finished_status is None:
                message = ForwardMsg()
                message.ParseFromString(await socket.recv())
                run.collect(message)
    return run
