"""Which requests the page answers: those addressed to one of its own addresses, and sent by no other page.

The page's own addresses are the origins a browser can show it at: ``http://`` with the ``--host`` and ``--port`` it
listens on and the names of that address (``127.0.0.1``: also ``localhost``; ``localhost``: every address the name
resolves to, ``127.0.0.1`` and ``[::1]``; ``0.0.0.0``: this computer's names and every address it is reached at),
plus those named with ``--allowed-host``. Scheme, name and port all count: ``http://localhost:8000`` is another page,
even on this computer.

Three attacks on a server that listens on 127.0.0.1 come through the visitor's own browser:

* **DNS rebinding**: a web site whose name is made to resolve to 127.0.0.1 loads the page under that name and, being
  same-origin with it in the browser's eyes, drives it and reads its results. The request's ``Host`` header still
  carries the site's name, so only requests whose ``Host`` names one of the page's own addresses are answered.
  ``Host`` is parsed strictly (one header; a name, an IPv4 address or a bracketed IPv6 address, an optional port,
  nothing else: no user name, path or second colon), so ``evil.com@localhost`` or ``localhost/.evil.com`` do not
  pass for ``localhost``.
* **Cross-site requests**: a form on any site can POST an upload to ``http://127.0.0.1:7860`` (a "simple" request:
  no CORS preflight), and Gradio keeps the file even though the browser hides the answer. Requests whose
  ``Origin`` is not one of the page's own addresses are refused before they reach Gradio.
* **Other pages on this computer**: a development server, a notebook or a malicious package's server on another
  local port is another origin. It is refused like any other site; Gradio's own CORS layer, which treats every
  ``localhost`` origin as the page's and echoes it in ``Access-Control-Allow-Origin`` with credentials, never sees
  such a request: the guard is put in front of it (:func:`guard_first`).

Everything else is refused with ``403`` and one line in the server's log; so is a request with two ``Host`` or two
``Origin`` headers, which proxies and servers may read differently. Requests without ``Origin`` (curl, scripts, the
browser's own navigation) are judged by their ``Host`` alone.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import socket
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocketClose

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"http": 80, "https": 443}
LOOPBACK_ADDRESSES = frozenset({"127.0.0.1", "::1"})  # the addresses "localhost" names
WILDCARD_HOSTS = {"0.0.0.0": 4, "::": 6}  # listening on every interface, and which IP version
# a DNS label (RFC 1123, with the underscore some local networks use); names are compared in lower case
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")


@dataclass(frozen=True)
class Origin:
    """A web origin: scheme, host name (lower case, IPv6 without brackets) and port (the scheme's default if none
    was written)."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if self.port == DEFAULT_PORTS.get(self.scheme) else f":{self.port}"
        return f"{self.scheme}://{host}{port}"


def host_name(text: str | None) -> str | None:
    """``text`` as a host name if it is one exactly as a browser writes it in a URL (an IPv4 address in dotted
    quads, an IPv6 address without brackets and zone, or DNS labels), in lower case; else ``None``."""
    if not text:
        return None
    text = text.lower()
    if ":" in text:
        try:
            address = ipaddress.IPv6Address(text)
        except ValueError:
            return None
        return str(address) if address.scope_id is None else None
    try:
        return str(ipaddress.IPv4Address(text))  # strict: no 127.1, 0x7f.0.0.1 or leading zeros
    except ValueError:
        pass
    labels = text.split(".")
    if len(text) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        return None
    if labels[-1].isdigit():  # 127.1, 2130706433: numbers a browser reads as an IPv4 address, never sends so
        return None
    return text


def parse_authority(text: str | None) -> tuple[str, int | None] | None:
    """``(host, port or None)`` of a ``Host`` header (``name[:port]``, ``[v6][:port]``), or ``None`` unless it is
    exactly that: a user name (``evil.com@localhost``), a path (``localhost/.evil.com``), an empty, signed, padded or
    out-of-range port, a non-canonical address, spaces: all refused."""
    if not text:
        return None
    try:
        parts = urlsplit(f"//{text}")
        port = parts.port
    except ValueError:
        return None
    host = host_name(parts.hostname)
    if host is None or parts.username is not None or parts.password is not None:
        return None
    canonical = (f"[{host}]" if ":" in host else host) + ("" if port is None else f":{port}")
    if canonical != text.lower():  # what urlsplit tolerated: a path, '[::1]x', 'localhost:', ':07860', odd forms
        return None
    return host, port


def parse_origin(text: str | None) -> Origin | None:
    """The :class:`Origin` an ``Origin`` header (``scheme://host[:port]``) names, or ``None`` for ``null``, another
    scheme, a path, a user name or any other form a browser does not send."""
    if not text or "://" not in text:
        return None
    scheme, _, authority = text.partition("://")
    scheme = scheme.lower()
    found = parse_authority(authority) if scheme in DEFAULT_PORTS else None
    if found is None:
        return None
    host, port = found
    origin = Origin(scheme, host, DEFAULT_PORTS[scheme] if port is None else port)
    return origin if port != DEFAULT_PORTS[scheme] else None  # browsers leave the default port out


def _addresses(name: str) -> set[str]:
    """The addresses ``name`` resolves to here (none when it does not)."""
    try:
        return {str(info[4][0]).lower() for info in socket.getaddrinfo(name, None)}
    except OSError:
        return set()


def this_computer_names() -> set[str]:
    """This computer's host name, its fully qualified name and the addresses they resolve to: the names a page
    listening on every interface (``--host 0.0.0.0``) is reached by from the network."""
    names = {socket.gethostname().lower(), socket.getfqdn().lower()}
    for name in list(names):
        names |= _addresses(name)
    return {n for n in names if n}


def listening_names(host: str) -> tuple[set[str], int | None]:
    """The host names a page listening on ``--host host`` is reached by, and for a wildcard (``0.0.0.0``, ``::``)
    the IP version it listens on (else ``None``).

    * a loopback address: itself, and ``localhost`` for 127.0.0.1 and ::1;
    * a name (``localhost``, ``my-laptop.local``): itself and every address it resolves to (the server listens on
      all of them), and ``localhost`` when one of them is 127.0.0.1 or ::1;
    * a wildcard: ``localhost``, the loopback address of its IP version, this computer's names and their addresses
      of that version (and, when a request comes in, the address it came in on: see :meth:`PageOrigins.allows`);
    * any other address: itself only (a name for it goes in ``--allowed-host``).
    """
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    version = WILDCARD_HOSTS.get(host)
    if version is not None:
        names = {"localhost", "127.0.0.1" if version == 4 else "::1"}
        for name in this_computer_names():
            try:
                if ipaddress.ip_address(name).version != version:
                    continue
            except ValueError:
                pass
            names.add(name)
        return names, version
    try:
        names = {str(ipaddress.ip_address(host))}
    except ValueError:
        names = {host} | _addresses(host)
    if names & LOOPBACK_ADDRESSES:
        names.add("localhost")
    return names, None


class PageOrigins:
    """The page's own origins: where it listens (``--host``, ``--port``, see :func:`listening_names`) and those named
    with ``--allowed-host``. A request's ``Host`` must name one of them, and its ``Origin``, when it has one, must be
    one of them exactly (scheme, name and port).

    Args:
        host: the ``--host`` it listens on.
        port: the ``--port`` it listens on.
        extra: more (``--allowed-host``): ``NAME`` (another name of this computer, at ``port``), ``NAME:PORT`` (a
            tunnel or a proxy on another port, plain http), or ``https://NAME[:PORT]`` (a proxy, exactly so).
    """

    def __init__(self, host: str, port: int, extra: Iterable[str] = ()) -> None:
        if not 0 < port < 65536:
            raise ValueError(f"port {port} is not between 1 and 65535")
        self.port = port
        names, self.wildcard = listening_names(host)
        self.origins = {Origin("http", name, port) for name in names}
        for value in extra:
            self.add(value)

    def add(self, value: str) -> None:
        """Also accept ``value`` (see ``extra`` above), e.g. the share link's address once known.

        Raises:
            ValueError: ``value`` is none of those forms.
        """
        value = value.strip()
        scheme, authority = "http", value
        if "://" in value:
            try:
                parts = urlsplit(value)
            except ValueError:
                parts = urlsplit("")
            scheme, authority = parts.scheme.lower(), parts.netloc
            if scheme not in DEFAULT_PORTS or parts.path not in ("", "/") or parts.query or parts.fragment:
                authority = ""
        found = parse_authority(authority)
        if found is None:
            raise ValueError(
                f"{value!r} is not a host name, an address, NAME:PORT or an address like https://photos.example.com"
            )
        host, port = found
        if port is None:
            port = DEFAULT_PORTS[scheme] if "://" in value else self.port
        self.origins.add(Origin(scheme, host, port))

    def allows(self, origin: Origin, local: tuple[str, int] | None = None) -> bool:
        """True when ``origin`` is one of the page's. ``local``: the address and port the request came in on
        (ASGI's ``server``); listening on every interface, that address is the page's own too."""
        if origin in self.origins:
            return True
        if self.wildcard is None or local is None or origin.scheme != "http" or origin.port != self.port:
            return False
        return local[1] == self.port and origin.host == host_name(str(local[0]))

    def allows_host(self, host: str, port: int | None, local: tuple[str, int] | None = None) -> bool:
        """True when a ``Host`` header naming ``host[:port]`` names one of the page's origins (no port: the
        scheme's default)."""
        return any(
            self.allows(Origin(scheme, host, default if port is None else port), local)
            for scheme, default in DEFAULT_PORTS.items()
        )

    def __str__(self) -> str:
        return ", ".join(sorted(map(str, self.origins)))


class RequestGuard:
    """ASGI middleware: refuse (403, one log line) a request whose ``Host`` is not one of the page's (see
    :class:`PageOrigins`), whose ``Origin`` is another page's, or that has two of either; pass the rest to ``app``."""

    def __init__(self, app: ASGIApp, allowed: PageOrigins) -> None:
        self.app = app
        self.allowed = allowed

    def refusal(self, headers: Headers, local: tuple[str, int] | None = None) -> str | None:
        """Why a request with these headers (which came in on ``local``) is refused, or ``None`` to answer it."""
        hosts, origins = headers.getlist("host"), headers.getlist("origin")
        if len(hosts) > 1 or len(origins) > 1:
            return f"a request with {len(hosts)} Host and {len(origins)} Origin headers is refused: send one of each"
        host = hosts[0] if hosts else None
        found = parse_authority(host)
        if found is None or not self.allowed.allows_host(*found, local):
            return (
                f"this page does not answer to the name {host!r} (a guard against DNS rebinding): open it by the "
                "address colorgan-app printed, or start it with --allowed-host NAME"
            )
        if origins:
            origin = parse_origin(origins[0])
            if origin is None or not self.allowed.allows(origin, local):
                return (
                    f"requests from another site or another page on this computer ({origins[0]}) are refused: "
                    "use the page itself, at the address colorgan-app printed"
                )
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        reason = self.refusal(Headers(scope=scope), scope.get("server"))
        if reason is None:
            await self.app(scope, receive, send)
            return
        client = scope.get("client") or ("?", 0)
        log.warning("refused %s %s from %s: %s", scope.get("method", "WEBSOCKET"), scope["path"], client[0], reason)
        if scope["type"] == "websocket":
            await WebSocketClose(code=1008, reason="refused")(scope, receive, send)
        else:
            await PlainTextResponse(reason, status_code=403)(scope, receive, send)


@asynccontextmanager
async def guard_first(app: Any) -> AsyncIterator[None]:
    """A lifespan that puts :class:`RequestGuard` in front of every other middleware of ``app``.

    Gradio adds its own CORS middleware with ``add_middleware``, which puts it in front of those the app was built
    with: there it answers preflight requests itself and adds ``Access-Control-Allow-Origin`` (with credentials) for
    any ``localhost`` origin, other ports included, to every answer, the guard's refusals too. The server runs the
    lifespan before it listens, so the stack rebuilt here is the one every request meets.
    """
    app.user_middleware.sort(key=lambda middleware: middleware.cls is not RequestGuard)
    if not app.user_middleware or app.user_middleware[0].cls is not RequestGuard:
        raise RuntimeError("the page's request guard is missing from its middleware")
    app.middleware_stack = None  # built again, in the new order, for the first request
    yield
