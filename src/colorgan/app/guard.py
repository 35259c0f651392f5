"""Which requests the page answers: those addressed to it by one of its own names, and not sent by another site.

Two attacks on a server that listens on 127.0.0.1 come through the visitor's own browser:

* **DNS rebinding**: a web site whose name is made to resolve to 127.0.0.1 loads the page under that name and, being
  same-origin with it in the browser's eyes, drives it and reads its results. The request's ``Host`` header still
  carries the site's name, so only requests whose ``Host`` is a loopback name or the address the page was started on
  (``--host``, ``--allowed-host``) are answered.
* **Cross-site requests**: a form on any site can POST an upload to ``http://127.0.0.1:7860`` (a "simple" request:
  no CORS preflight), and Gradio keeps the file even though the browser hides the answer. Requests whose
  ``Origin`` header names another site are refused before they reach Gradio.

Everything else is refused with ``403`` and one line in the server's log. Requests without ``Origin`` (curl,
scripts, the browser's own navigation) are judged by their ``Host`` alone.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocketClose

log = logging.getLogger(__name__)

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})


def hostname(value: str | None) -> str | None:
    """The host name of a ``Host`` header (``name[:port]``, ``[v6]:port``) or an ``Origin`` (``scheme://name:port``),
    lower case and without brackets; ``None`` when there is none (a missing header, ``Origin: null``, junk)."""
    if not value or value == "null":
        return None
    try:
        return urlsplit(value if "://" in value else f"//{value}").hostname or None
    except ValueError:
        return None


def this_computer_names() -> set[str]:
    """This computer's host name, its fully qualified name and the addresses they resolve to: the names a page
    listening on every interface (``--host 0.0.0.0``) is reached by from the network."""
    names = {socket.gethostname().lower(), socket.getfqdn().lower()}
    for name in list(names):
        try:
            names.update(str(info[4][0]).lower() for info in socket.getaddrinfo(name, None))
        except OSError:  # a name that does not resolve adds nothing
            continue
    return {n for n in names if n}


class AllowedHosts:
    """The names the page answers to: loopback, the address it listens on, and any named with ``--allowed-host``.

    Args:
        host: the ``--host`` it listens on; a wildcard (``0.0.0.0``, ``::``) adds this computer's names.
        extra: more names (``--allowed-host``), e.g. a name on the local network or a reverse proxy's.
    """

    def __init__(self, host: str, extra: Iterable[str] = ()) -> None:
        self.names = set(LOOPBACK_NAMES)
        host = host.strip().strip("[]").lower()
        if host in WILDCARD_HOSTS:
            self.names |= this_computer_names()
        else:
            self.names.add(host)
        for name in extra:
            self.add(name)

    def add(self, name: str) -> None:
        """Also answer to ``name`` (a bare name, ``name:port`` or a URL), e.g. the share link's host once known."""
        found = hostname(name.strip())
        if found:
            self.names.add(found)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        if name in self.names:
            return True
        try:
            return ipaddress.ip_address(name).is_loopback  # 127.0.0.2 is this computer too
        except ValueError:
            return False


class RequestGuard:
    """ASGI middleware: refuse (403, one log line) a request whose ``Host`` is not one of ``allowed``, or whose
    ``Origin`` is another site's; pass the rest to ``app``."""

    def __init__(self, app: ASGIApp, allowed: AllowedHosts) -> None:
        self.app = app
        self.allowed = allowed

    def refusal(self, headers: Headers) -> str | None:
        """Why a request with these headers is refused, or ``None`` to answer it."""
        host = headers.get("host")
        if hostname(host) not in self.allowed:
            return (
                f"this page does not answer to the name {host!r} (a guard against DNS rebinding): open it by the "
                "address colorgan-app printed, or start it with --allowed-host NAME"
            )
        origin = headers.get("origin")
        if origin is not None and hostname(origin) not in self.allowed:
            return f"requests from another site ({origin}) are refused: use the page itself"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        reason = self.refusal(Headers(scope=scope))
        if reason is None:
            await self.app(scope, receive, send)
            return
        client = scope.get("client") or ("?", 0)
        log.warning("refused %s %s from %s: %s", scope.get("method", "WEBSOCKET"), scope["path"], client[0], reason)
        if scope["type"] == "websocket":
            await WebSocketClose(code=1008, reason="refused")(scope, receive, send)
        else:
            await PlainTextResponse(reason, status_code=403)(scope, receive, send)
