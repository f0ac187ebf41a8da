"""A headless Chromium driven over the DevTools protocol alone, as a wall's kiosk browser runs.

Playwright enables the DevTools Network domain on every page it drives, and while that domain
is on, Chromium keeps a record of every request for the inspector (blink's
NetworkResourcesData): a wall making a few callback requests a second grows that record all
day, and a heap measured through Playwright grows with it. A kiosk has no inspector attached.
`KioskBrowser` launches /usr/bin/chromium with a debugging port and speaks the protocol over
a WebSocket (websocket-client) using only what a soak needs: Storage (the login cookies),
Target (one page), Page, Runtime, Performance and HeapProfiler. Network is never enabled.
"""
from __future__ import annotations

import itertools
import json
import re
import subprocess
import tempfile
import time
from typing import NamedTuple

import websocket

from bench.wall_probe import CHROMIUM, CHROMIUM_ARGS, VIEWPORT

LISTENING = re.compile(r"DevTools listening on (ws://\S+)")


class Session:
    """One DevTools WebSocket (the browser's or a page's): commands answered in order; the
    events it was never asked to enable are not sent, and any others are skipped."""

    def __init__(self, url: str, timeout: float = 120):
        self.url = url
        self.on_event = None  # called with each event message while a command waits
        self.socket = websocket.create_connection(url, timeout=timeout, suppress_origin=True)
        self.ids = itertools.count(1)

    def send(self, method: str, params: dict | None = None) -> dict:
        sent = next(self.ids)
        self.socket.send(json.dumps({"id": sent, "method": method, "params": params or {}}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") != sent:
                if "method" in message and self.on_event is not None:
                    self.on_event(message)
                continue
            if "error" in message:
                raise RuntimeError(f"{method}: {message['error']}")
            return message.get("result", {})

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def close(self) -> None:
        self.socket.close()


class KioskBrowser:
    """Chromium in a fresh profile with one page at 1920×1080, logged in by cookies."""

    def __init__(self, cookies: list[dict]):
        self.profile = tempfile.TemporaryDirectory(prefix="grid-kiosk-", ignore_cleanup_errors=True)
        self.process = subprocess.Popen(
            [CHROMIUM, "--headless=new", *CHROMIUM_ARGS, "--remote-debugging-port=0",
             "--remote-allow-origins=*", f"--user-data-dir={self.profile.name}",
             f"--window-size={VIEWPORT['width']},{VIEWPORT['height']}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.browser = Session(self._read_browser_url())
        self.browser.send("Storage.setCookies", {"cookies": [
            {k: c[k] for k in ("name", "value", "domain", "path", "expires", "httpOnly", "secure")
             if k in c} | ({"sameSite": c["sameSite"]} if c.get("sameSite") in ("Lax", "Strict") else {})
            for c in cookies]})
        target = self.browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        port = self.browser.url.split(":")[2].split("/")[0]
        self.page = Session(f"ws://127.0.0.1:{port}/devtools/page/{target}")
        self.page.send("Performance.enable")

    def _read_browser_url(self, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            found = LISTENING.search(line or "")
            if found:
                return found.group(1)
            if self.process.poll() is not None:
                break
        raise RuntimeError("chromium did not open its debugging port")

    def open(self, url: str, ready: str, timeout: float = 120) -> None:
        """Navigate and wait until the expression `ready` is true; one reload if it is not."""
        for attempt in (1, 2):
            self.page.send("Page.navigate", {"url": url})
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.page.evaluate(f"!!({ready})"):
                    return
                time.sleep(0.5)
            print(f"  {url} not ready after {timeout:.0f} s (attempt {attempt})", flush=True)
        raise RuntimeError(f"{url} never became ready")

    def read_heap(self) -> dict[str, float]:
        """After a full garbage collection: the page's JS heap, DOM nodes and listeners."""
        self.page.send("HeapProfiler.collectGarbage")
        return {m["name"]: m["value"] for m in self.page.send("Performance.getMetrics")["metrics"]}

    def heap_by_type(self) -> HeapBreakdown:
        """A heap snapshot (after a full collection), summed by V8 node type: bytes of "code"
        (compiled functions: V8's, not the page's data), "object", "array", "string",
        "closure", and so on, and the counts of CODE_KINDS. Takes a few seconds and stops the
        page meanwhile."""
        chunks: list[str] = []

        def keep(message: dict) -> None:
            if message.get("method") == "HeapProfiler.addHeapSnapshotChunk":
                chunks.append(message["params"]["chunk"])
        self.page.on_event = keep
        try:
            self.page.send("HeapProfiler.enable")
            self.page.send("HeapProfiler.collectGarbage")
            self.page.send("HeapProfiler.takeHeapSnapshot", {"reportProgress": False})
            self.page.send("HeapProfiler.disable")
        finally:
            self.page.on_event = None
        return sum_by_type(json.loads("".join(chunks)))

    def close(self) -> None:
        for session in (self.page, self.browser):
            try:
                session.close()
            except OSError:
                pass
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.profile.cleanup()


# V8's code objects worth counting: a function (its SharedFunctionInfo), its bytecode, and
# machine code (baseline or optimised). More functions means script compiled anew (eval, new
# Function, a script added); the same functions with more machine code means the JIT
# optimising more of them, which the page's functions bound.
CODE_KINDS = {"system / SharedFunctionInfo": "functions", "system / BytecodeArray": "bytecode arrays",
              "system / InstructionStream": "machine code objects"}


class HeapBreakdown(NamedTuple):
    sizes: dict[str, int]        # self sizes by V8 node type
    code_counts: dict[str, int]  # how many of each CODE_KINDS


def sum_by_type(snapshot: dict) -> HeapBreakdown:
    """Self sizes of a V8 heap snapshot's nodes, by node type, and the counts of CODE_KINDS."""
    meta = snapshot["snapshot"]["meta"]
    fields, types, strings = meta["node_fields"], meta["node_types"][0], snapshot["strings"]
    width, kind, size = len(fields), fields.index("type"), fields.index("self_size")
    named, code = fields.index("name"), types.index("code")
    nodes, sizes, counts = snapshot["nodes"], {}, dict.fromkeys(CODE_KINDS.values(), 0)
    for at in range(0, len(nodes), width):
        name = types[nodes[at + kind]]
        sizes[name] = sizes.get(name, 0) + nodes[at + size]
        if nodes[at + kind] == code and (counted := CODE_KINDS.get(strings[nodes[at + named]])):
            counts[counted] += 1
    return HeapBreakdown(sizes, counts)


def read_login_cookies(storage_state: dict | None) -> list[dict]:
    return list((storage_state or {}).get("cookies", []))

