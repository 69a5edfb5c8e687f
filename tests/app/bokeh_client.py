"""The browser's side of the Bokeh server protocol, for tests that need every byte it is sent.

:class:`BokehClient` does what BokehJS does in a page served by ``bokeh serve`` (and Panel):
it reads the page for its session token, opens the websocket ``/ws`` with ``["bokeh", token]``
as subprotocols, waits for ``ACK``, asks for the document (``PULL-DOC-REQ``) and then sends the
page's changes and events as ``PATCH-DOC`` messages, as a planner's clicks would. Every frame
the server sends is recorded as it arrives and assembled into :class:`Message` objects:

* a message is three text frames (header, metadata, content: JSON), then ``num_buffers`` pairs
  of a buffer header (``{"id": ...}``) and the buffer's bytes (a binary frame);
* in the content, values use Bokeh's serialization: ``{"type": "ndarray", "array": ...,
  "dtype": ..., "shape": ..., "order": ...}`` where ``array`` is ``{"type": "bytes", "data":
  {"id": ...}}`` (a buffer of the message), base64 of gzip, or a plain list;
  ``{"type": "map", "entries": [[key, value], ...]}``; ``{"type": "object", "name": ...,
  "id": ..., "attributes": {...}}`` for a model (a plain ``{"id": ...}`` refers to one sent
  before), and so on (``bokeh.core.serialization``).

:func:`decode` turns such values into Python: numpy arrays of the dtype and shape given,
dicts, lists, :class:`Ref` for models. :class:`DocumentMirror` keeps the models' attributes as
the browser knows them (what the document said, then every patch), so that a test can find a
widget by its labels and change it.

Only the standard library, numpy and tornado (Bokeh's own dependency) are used; nothing here
runs the server's Python code or trusts it to describe what it sent.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import itertools
import json
import re
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

TOKEN = re.compile(r'"token"\s*:\s*"([^"]+)"')


class NotSettledError(AssertionError):
    """The page did not answer, or did not reach the state waited for, in time."""


@dataclass(frozen=True)
class Ref:
    """A reference to a model of the document (by its id)."""

    id: str


@dataclass
class Message:
    """One message the server sent: its frames as received and their meaning."""

    header: dict[str, Any]
    metadata: Any
    content: Any
    buffers: dict[str, bytes] = field(default_factory=dict)
    frames: list[str | bytes] = field(default_factory=list)
    received: float = 0.0

    @property
    def msgtype(self) -> str:
        return str(self.header.get("msgtype"))

    @property
    def size(self) -> int:
        """Bytes on the wire (text frames as UTF-8)."""
        return sum(len(f) if isinstance(f, bytes) else len(f.encode("utf-8"))
                   for f in self.frames)

    def decoded(self) -> Any:
        """The content with Bokeh's value representations decoded (see :func:`decode`)."""
        return decode(self.content, self.buffers)


# -- decoding -----------------------------------------------------------------------------


def _bytes(rep: dict[str, Any], buffers: dict[str, bytes]) -> bytes:
    data = rep.get("data")
    if isinstance(data, str):
        return gzip.decompress(base64.b64decode(data))
    if isinstance(data, dict) and "id" in data:
        if data["id"] not in buffers:
            msg = f"buffer {data['id']!r} is referred to but was not sent with the message"
            raise ValueError(msg)
        return buffers[data["id"]]
    msg = f"bytes of an unknown form: {str(rep)[:200]}"
    raise ValueError(msg)


def _array(rep: dict[str, Any], buffers: dict[str, bytes]) -> np.ndarray:
    """An ``ndarray`` or ``typed_array`` representation as a numpy array."""
    dtype = rep.get("dtype", "float64")
    data = rep["array"]
    if isinstance(data, dict) and data.get("type") == "bytes":
        raw = _bytes(data, buffers)
        array = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder(
            "<" if rep.get("order", sys.byteorder) == "little" else ">")).copy()
    else:
        values = decode(data, buffers)
        array = np.array(values, dtype=object if dtype == "object" else dtype)
    shape = rep.get("shape")
    if shape and len(shape) > 1:
        array = array.reshape(shape)
    return array


def decode(value: Any, buffers: dict[str, bytes] | None = None,
           models: Callable[[dict[str, Any]], None] | None = None) -> Any:
    """Bokeh's serialized values as Python values (numpy arrays, dicts, lists, :class:`Ref`).

    ``models`` is called with every full model representation met (``type: object`` with an
    id), innermost first, before it is replaced by its :class:`Ref`.
    """
    buffers = buffers or {}

    def walk(v: Any) -> Any:
        if isinstance(v, list):
            return [walk(x) for x in v]
        if not isinstance(v, dict):
            return v
        kind = v.get("type")
        if kind in ("ndarray", "typed_array") and "array" in v:
            return _array(v, buffers)
        if kind == "bytes" and "data" in v:
            return _bytes(v, buffers)
        if kind == "map":
            out = {}
            for key, val in v.get("entries", []):
                key = walk(key)
                out[key if isinstance(key, str | int | float | Ref) else repr(key)] = walk(val)
            return out
        if kind in ("array", "set"):
            return [walk(x) for x in v.get("entries", [])]
        if kind == "number":
            return float(v["value"])
        if kind == "ref" and "id" in v:
            return Ref(v["id"])
        if kind == "object":
            attributes = {k: walk(x) for k, x in v.get("attributes", {}).items()}
            if "id" not in v:
                return {"__object__": v.get("name"), **attributes}
            if models is not None:
                models({"id": v["id"], "name": v.get("name", ""), "attributes": attributes})
            return Ref(v["id"])
        if set(v) == {"id"}:
            return Ref(v["id"])
        return {k: walk(x) for k, x in v.items()}

    return walk(value)


def walk_values(value: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """Every leaf of a decoded value with its path (keys and indices); arrays are leaves."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk_values(v, (*path, k))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from walk_values(v, (*path, i))
    else:
        yield path, value


# -- the document as the browser knows it -------------------------------------------------


@dataclass
class Model:
    id: str
    name: str
    attributes: dict[str, Any]

    def get(self, attr: str, default: Any = None) -> Any:
        return self.attributes.get(attr, default)


class DocumentMirror:
    """The document's models and their attributes, kept up to date from the server's messages.

    Attributes left at their defaults are not sent by the server, so they are absent here.
    """

    def __init__(self) -> None:
        self.models: dict[str, Model] = {}
        self.roots: list[str] = []
        self.applied = 0  # messages applied
        self.changed: dict[str, int] = {}  # model id → number of the last message changing it

    def _model(self, rep: dict[str, Any]) -> None:
        self.changed[rep["id"]] = self.applied - 1
        model = self.models.get(rep["id"])
        if model is None:
            self.models[rep["id"]] = Model(rep["id"], rep["name"], dict(rep["attributes"]))
        else:
            model.attributes.update(rep["attributes"])

    def apply(self, message: Message) -> None:
        """Update the models from a ``PULL-DOC-REPLY`` or a ``PATCH-DOC``."""
        self.applied += 1
        if message.msgtype == "PULL-DOC-REPLY":
            doc = decode(message.content["doc"], message.buffers, self._model)
            self.roots = [r.id for r in doc.get("roots", []) if isinstance(r, Ref)]
            return
        if message.msgtype != "PATCH-DOC":
            return
        for event in decode(message.content.get("events", []), message.buffers, self._model):
            kind = event.get("kind")
            target = event.get("model")
            model = self.models.get(target.id) if isinstance(target, Ref) else None
            if model is not None:
                self.changed[model.id] = self.applied - 1
            if kind == "ModelChanged" and model is not None:
                model.attributes[event["attr"]] = event["new"]
            elif kind == "ColumnDataChanged" and model is not None:
                data = model.attributes.setdefault(event.get("attr", "data"), {})
                if isinstance(data, dict):
                    data.update(event.get("data", {}))
            elif kind == "RootAdded" and isinstance(target, Ref):
                self.roots.append(target.id)
            elif kind == "RootRemoved" and isinstance(target, Ref):
                self.roots = [r for r in self.roots if r != target.id]

    def find(self, name: str, *, shown: bool = True, **attrs: Any) -> list[Model]:
        """Models whose type name is ``name`` (or ends with ``.name``) and whose attributes
        equal ``attrs``; only those still reachable from the roots unless ``shown`` is false
        (a rebuilt panel leaves its old models behind)."""
        live = self.reachable() if shown else self.models.keys()
        return [m for m in self.models.values()
                if m.id in live and (m.name == name or m.name.endswith("." + name))
                and all(m.attributes.get(k) == v for k, v in attrs.items())]

    def resolve(self, value: Any) -> Any:
        """A :class:`Ref` as its :class:`Model` (other values as they are)."""
        return self.models.get(value.id, value) if isinstance(value, Ref) else value

    def reachable(self) -> set[str]:
        """Ids of the models reachable from the roots (what the page shows or may show)."""
        seen: set[str] = set()
        todo = list(self.roots)
        while todo:
            mid = todo.pop()
            if mid in seen or mid not in self.models:
                continue
            seen.add(mid)
            for _, leaf in walk_values(self.models[mid].attributes):
                if isinstance(leaf, Ref):
                    todo.append(leaf.id)
        return seen


# -- the connection -----------------------------------------------------------------------


class BokehClient:
    """A Bokeh server session opened as a browser opens it; every message it is sent recorded.

    Synchronous: each call runs the client's own event loop until the call is done, receiving
    meanwhile. Use as a context manager.
    """

    def __init__(self, url: str, *, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/") + "/"
        self.timeout = timeout
        self.loop = asyncio.new_event_loop()
        self.page = ""
        self.token = ""
        self.frames: list[str | bytes] = []
        self.messages: list[Message] = []
        self.doc = DocumentMirror()
        self._ws: Any = None
        self._parts: list[str | bytes] = []
        self._ids = itertools.count(1)
        self._reader: asyncio.Task | None = None
        self._closed = False
        self.cookies: dict[str, str] = {}
        self.retried: list[str] = []  # changes made again (see :meth:`change`)

    # -- opening ---------------------------------------------------------------------------

    def __enter__(self) -> BokehClient:
        try:
            self.open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def open(self) -> None:
        """GET the page, read its session token, connect and pull the document."""
        self._run(self._open())

    async def _open(self) -> None:
        from tornado.httpclient import AsyncHTTPClient, HTTPRequest
        from tornado.websocket import websocket_connect

        http = AsyncHTTPClient()
        response = await http.fetch(self.url, request_timeout=self.timeout)
        self.page = response.body.decode("utf-8")
        for header in response.headers.get_list("Set-Cookie"):
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        found = TOKEN.search(self.page)
        if not found:
            msg = "the page holds no Bokeh session token"
            raise AssertionError(msg)
        self.token = found.group(1)
        parts = urllib.parse.urlsplit(self.url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        ws_url = urllib.parse.urlunsplit((scheme, parts.netloc, parts.path + "ws", "", ""))
        headers = {"Origin": f"{parts.scheme}://{parts.netloc}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        request = HTTPRequest(ws_url, headers=headers, request_timeout=self.timeout)
        self._ws = await websocket_connect(request, subprotocols=["bokeh", self.token],
                                           max_message_size=256 * 1024 * 1024)
        self._reader = asyncio.ensure_future(self._read())
        await self._until(lambda: any(m.msgtype == "ACK" for m in self.messages),
                          "the server's ACK")
        reqid = await self._send("PULL-DOC-REQ", {})
        await self._until(lambda: any(m.msgtype == "PULL-DOC-REPLY"
                                      and m.header.get("reqid") == reqid
                                      for m in self.messages), "the document")
        # BokehJS announces the rendered page (Panel runs its on-load callbacks then)
        await self._send_patch([self._event_json("document_ready", None, {})])

    def close(self) -> None:
        """Close the websocket (the server then ends the session) and the event loop."""
        if self._closed:
            return
        self._closed = True
        if self._ws is not None:
            self._ws.close()
            if self._reader is not None:
                self._run(asyncio.wait([self._reader], timeout=5))
        self.loop.close()

    # -- receiving -------------------------------------------------------------------------

    async def _read(self) -> None:
        while True:
            frame = await self._ws.read_message()
            if frame is None:
                return
            self.frames.append(frame)
            self._consume(frame)

    def _consume(self, frame: str | bytes) -> None:
        self._parts.append(frame)
        if len(self._parts) < 3:
            if isinstance(frame, bytes):
                msg = ("a binary frame where a message's header, metadata or content belongs: "
                       f"{self._parts}")
                raise AssertionError(msg)
            return
        header = json.loads(self._parts[0])
        wanted = 3 + 2 * int(header.get("num_buffers", 0))
        if len(self._parts) < wanted:
            return
        buffers = {}
        for ref, payload in zip(self._parts[3::2], self._parts[4::2], strict=True):
            if not isinstance(ref, str) or not isinstance(payload, bytes):
                msg = "a buffer must be a text header and a binary payload"
                raise AssertionError(msg)
            buffers[json.loads(ref)["id"]] = payload
        message = Message(header, json.loads(self._parts[1]), json.loads(self._parts[2]),
                          buffers, list(self._parts), time.monotonic())
        self._parts = []
        self.messages.append(message)
        self.doc.apply(message)

    async def _until(self, done: Callable[[], bool], what: str,
                     timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or self.timeout)
        while not done():
            if self._reader is not None and self._reader.done():
                self._reader.result()  # raises what stopped it
                msg = f"the connection closed while waiting for {what}"
                raise AssertionError(msg)
            if time.monotonic() > deadline:
                msg = f"no {what} within {timeout or self.timeout:.0f} s"
                raise AssertionError(msg)
            await asyncio.sleep(0.02)

    def settle(self, *, quiet: float = 1.0, timeout: float | None = None,
               until: Callable[[], bool] | None = None, after: int | None = None) -> None:
        """Receive until ``until()`` holds (if given), a document change came after message
        number ``after`` (if given), and then nothing came for ``quiet`` seconds."""

        def changed() -> bool:
            return after is None or any(m.msgtype == "PATCH-DOC"
                                        for m in self.messages[after:])

        async def wait() -> None:
            deadline = time.monotonic() + (timeout or self.timeout)
            while True:
                if self._reader is not None and self._reader.done():
                    self._reader.result()
                    msg = "the connection closed"
                    raise AssertionError(msg)
                last = self.messages[-1].received if self.messages else 0.0
                now = time.monotonic()
                if ((until is None or until()) and changed() and now - last >= quiet
                        and not self._parts):
                    return
                if now > deadline:
                    last = [m.msgtype for m in self.messages[-5:]]
                    msg = (f"the page did not settle within {timeout or self.timeout:.0f} s "
                           f"(condition met: {until is None or until()}, answered: "
                           f"{changed()}; the last messages: {last})")
                    raise NotSettledError(msg)
                await asyncio.sleep(0.05)

        self._run(wait())

    # -- sending ---------------------------------------------------------------------------

    async def _send(self, msgtype: str, content: dict[str, Any]) -> str:
        msgid = f"test-{next(self._ids)}"
        header = {"msgid": msgid, "msgtype": msgtype}
        for part in (header, {}, content):
            await self._ws.write_message(json.dumps(part))
        return msgid

    async def _send_patch(self, events: list[dict[str, Any]]) -> str:
        msgid = await self._send("PATCH-DOC", {"events": events})
        await self._until(lambda: any(m.header.get("reqid") == msgid for m in self.messages),
                          "answer to a PATCH-DOC")
        answer = next(m for m in self.messages if m.header.get("reqid") == msgid)
        if answer.msgtype != "OK":
            msg = f"the server refused a change: {answer.msgtype} {answer.content}"
            raise AssertionError(msg)
        return msgid

    @staticmethod
    def _event_json(name: str, model: str | None, values: dict[str, Any]) -> dict[str, Any]:
        entries = [["model", {"id": model}]] if model is not None else []
        entries += [[k, v] for k, v in values.items()]
        return {"kind": "MessageSent", "msg_type": "bokeh_event",
                "msg_data": {"type": "event", "name": name,
                             "values": {"type": "map", "entries": entries}}}

    def _set(self, model: Model | str, attr: str, new: Any) -> int:
        """Send one attribute change; the number of messages received before it."""
        mid = model if isinstance(model, str) else model.id
        sent = len(self.messages)
        self._run(self._send_patch([{"kind": "ModelChanged", "model": {"id": mid},
                                     "attr": attr, "new": new}]))
        target = model if isinstance(model, Model) else self.doc.models.get(mid)
        if target is not None:
            target.attributes[attr] = new  # the browser's own state; the server echoes nothing
        return sent

    def change(self, model: Model | str, attr: str, new: Any, *, quiet: float = 1.0,
               until: Callable[[], bool] | None = None, timeout: float | None = None,
               answered: bool = True, retry_after: float = 5.0, previous: Any = None) -> None:
        """Set a model's attribute as the browser does when a widget is used, then wait for
        the page's answer (a document change, unless not ``answered``), ``until()`` and calm.

        A change that gets no answer within ``retry_after`` seconds is made again, from the
        value before it (``previous`` when the document left it at its default), as a user
        clicks again: a Panel widget may drop a browser's change that crosses one of its own.
        """
        target = model if isinstance(model, Model) else self.doc.models.get(model)
        old = target.get(attr, previous) if target is not None else previous
        sent = self._set(model, attr, new)
        if answered:
            try:
                self.settle(quiet=0.0, after=sent, timeout=retry_after)
            except NotSettledError:
                if old is None or old == new:
                    raise
                self.retried.append(f"{attr}={new!r} on {sent}")
                self._set(model, attr, old)
                self.settle(quiet=quiet, timeout=timeout)
                sent = self._set(model, attr, new)
        self.settle(quiet=quiet, until=until, timeout=timeout,
                    after=sent if answered else None)

    def event(self, name: str, model: Model | str | None, *, quiet: float = 1.0,
              until: Callable[[], bool] | None = None, timeout: float | None = None,
              answered: bool = True, **values: Any) -> None:
        """Send a UI event (``button_click``, ``tap``, ...) from a model, then wait as
        :meth:`change` does."""
        mid = model.id if isinstance(model, Model) else model
        sent = len(self.messages)
        self._run(self._send_patch([self._event_json(name, mid, values)]))
        self.settle(quiet=quiet, until=until, timeout=timeout,
                    after=sent if answered else None)
