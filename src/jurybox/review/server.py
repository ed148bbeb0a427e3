"""The review page's local server (aiohttp).

Security, in order of the checks every request passes:

* it binds 127.0.0.1 unless told otherwise, and answers only requests whose ``Host`` is the address
  it serves (a DNS-rebinding page on another name gets 421);
* every request needs the random token printed at start (``?token=`` for the page, the
  ``X-Jurybox-Token`` header for the API), compared in constant time; without it: 403;
* state changes are POSTs with a JSON body, the token header (a cross-site form cannot set a
  header, and no CORS header is ever sent) and, when the browser sends one, an ``Origin`` equal to
  the page's own (CSRF);
* the server has no file access: it answers three paths from memory and 404 for anything else,
  so no path can reach a file;
* the page inserts judged text as text (see review.js) under a CSP that allows only its own
  script and style and requests to itself.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from typing import Any

from aiohttp import web

from jurybox.report.html import asset, render_page
from jurybox.review.decisions import DECISIONS, ReviewSet, current_decisions, reviewer_agreement
from jurybox.store import Store

__all__ = ["ReviewServer", "make_app"]

TOKEN_HEADER = "X-Jurybox-Token"
_BODY = ("<header><h1 id=\"title\"></h1><div class=\"sub\" id=\"sub\"></div></header>"
         "<main id=\"main\"></main>")


class ReviewServer:
    """One review set, one store, one reviewer name; ``token`` guards every request."""

    def __init__(self, review_set: ReviewSet, store: Store, *, reviewer: str, token: str | None = None,
                 n_resamples: int = 1000) -> None:
        self.set = review_set
        self.store = store
        self.reviewer = reviewer
        self.token = token or secrets.token_urlsafe(24)
        self.n_resamples = n_resamples
        self.hosts: set[str] = set()
        self._keys = review_set.keys()
        self._labels = set(review_set.labels)
        self._page = render_page(title=f"jurybox review: {review_set.source}", body=_BODY,
                                 css=asset("jurybox.review", "review.css"), js=asset("jurybox.review", "review.js"),
                                 data={"set": review_set.page_data(), "reviewer": reviewer}, connect="'self'")

    # -- checks
    def _check_host(self, request: web.Request) -> None:
        if request.host not in self.hosts:
            raise web.HTTPMisdirectedRequest(text="unknown host")

    def _check_token(self, given: str | None) -> None:
        if not given or not hmac.compare_digest(given.encode(), self.token.encode()):
            raise web.HTTPForbidden(text="a valid token is required (use the URL printed by jurybox review)")

    def _check_post(self, request: web.Request) -> None:
        self._check_host(request)
        self._check_token(request.headers.get(TOKEN_HEADER))
        origin = request.headers.get("Origin")
        if origin is not None and origin not in {f"http://{h}" for h in self.hosts}:
            raise web.HTTPForbidden(text="cross-origin request refused")
        if request.content_type != "application/json":
            raise web.HTTPUnsupportedMediaType(text="expected application/json")

    # -- state
    def state(self) -> dict[str, Any]:
        rows = self.store.reviews(self.set.id)
        decided = {k: v for k, v in current_decisions(rows).items() if k in self._keys}
        return {"decided": {k: {"decision": v["decision"], "new_label": v["new_label"], "reason": v["reason"],
                                "reviewer": v["reviewer"], "id": v["id"]} for k, v in decided.items()},
                "n_items": len(self.set.items), "n_decided": len(decided), "n_rows": len(rows),
                "agreement": reviewer_agreement(self.set, decided, n_resamples=self.n_resamples)}

    # -- handlers
    async def page(self, request: web.Request) -> web.Response:
        self._check_host(request)
        self._check_token(request.query.get("token"))
        return web.Response(text=self._page, content_type="text/html", headers=_NO_STORE)

    async def get_state(self, request: web.Request) -> web.Response:
        self._check_host(request)
        self._check_token(request.headers.get(TOKEN_HEADER))
        return web.json_response(await asyncio.to_thread(self.state), headers=_NO_STORE)

    async def decide(self, request: web.Request) -> web.Response:
        self._check_post(request)
        body = await _json(request)
        item = body.get("item")
        if not isinstance(item, str) or item not in self._keys:
            raise web.HTTPBadRequest(text="unknown item")
        undo = body.get("decision") == "undo"
        decision = body.get("decision")
        label = body.get("label")
        if not undo:
            if decision not in DECISIONS:
                raise web.HTTPBadRequest(text=f"decision must be one of {', '.join(DECISIONS)} or undo")
            if decision == "relabel":
                if not isinstance(label, str) or label not in self._labels:
                    raise web.HTTPBadRequest(text="relabel needs a label from the label set")
            else:
                label = None
        reason = body.get("reason")
        reason = reason.strip()[:2000] or None if isinstance(reason, str) else None
        row = await asyncio.to_thread(self.store.add_review, self.set.id, item, self.reviewer,
                                      str(decision), label if not undo else None, reason, undo=undo)
        state = await asyncio.to_thread(self.state)
        return web.json_response({"row": row, "state": state}, headers=_NO_STORE)


_NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
             "Referrer-Policy": "no-referrer"}


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text="the body is not JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="the body must be a JSON object")
    return body


def make_app(server: ReviewServer) -> web.Application:
    app = web.Application(client_max_size=64 * 1024)
    app.router.add_get("/", server.page)
    app.router.add_get("/api/state", server.get_state)
    app.router.add_post("/api/decide", server.decide)
    return app


async def serve(server: ReviewServer, host: str, port: int, *, ready: Any = None) -> None:
    """Run until cancelled; ``ready(url)`` is called once listening (``port`` 0: a free port)."""
    runner = web.AppRunner(make_app(server), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    sockets = getattr(site._server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    names = {host, "127.0.0.1", "localhost"}  # bound elsewhere, the page is still asked for by one of these
    server.hosts = {f"{n}:{bound}" for n in names}
    url = f"http://{'127.0.0.1' if host in ('127.0.0.1', 'localhost', '0.0.0.0') else host}:{bound}/?token={server.token}"
    if ready is not None:
        ready(url)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()

