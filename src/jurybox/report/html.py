"""The report as one HTML file: its CSS, its JavaScript and its data inline, nothing fetched.

The data goes in ``<script type="application/json">``, serialised once with ``<``, ``>``, ``&``
and U+2028/U+2029 written as JSON escapes, so no value (``</script>``, ``<!--``) can end the
element or be read as markup; the page parses it with ``JSON.parse`` and inserts every value as
text. A Content-Security-Policy allows only the page's own script and style (by hash) and no
network at all, so even a value that did become markup could neither run nor fetch anything.

Large data (``compress="auto"``: over :data:`COMPRESS_OVER` bytes of JSON) is stored instead as
the same JSON text gzip-compressed and base64-encoded in ``<script type="application/octet-stream"
data-encoding="gzip-base64">``: base64 has no character that can end the element, and the page
decompresses it with the browser's own ``DecompressionStream('gzip')`` (a stream, no URL, so the
CSP still allows no connection) before the same ``JSON.parse``.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from importlib import resources
from typing import Any

__all__ = ["COMPRESS_MODES", "COMPRESS_OVER", "asset", "data_element", "json_for_script", "render_page",
           "render_report"]

#: ``compress`` values: ``auto`` compresses data over :data:`COMPRESS_OVER` bytes of JSON
COMPRESS_MODES = ("auto", "always", "never")
#: bytes of JSON above which ``compress="auto"`` stores the data gzip-compressed
COMPRESS_OVER = 2_000_000

_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def json_for_script(obj: Any) -> str:
    """``obj`` as JSON safe inside a ``<script>`` element (the characters above escaped; the text
    still parses to ``obj`` with ``JSON.parse``). NaN is refused rather than written as invalid JSON."""
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=str)
    for char, escape in _ESCAPES.items():  # str.replace, 6x faster than str.translate on non-ASCII text
        text = text.replace(char, escape)  # (no escape contains a character escaped here)
    return text


def asset(package: str, name: str) -> str:
    """A file shipped in ``package``'s ``assets`` folder, as text."""
    return resources.files(package).joinpath("assets", name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def _escape_text(t: str) -> str:
    return t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def data_element(data: Any, compress: str = "never") -> str:
    """The ``<script id="jb-data">`` element holding ``data``: JSON (escaped by
    :func:`json_for_script`), or with ``compress`` ``always`` (or ``auto`` and over
    :data:`COMPRESS_OVER` bytes) that JSON gzip-compressed and base64-encoded."""
    if compress not in COMPRESS_MODES:
        raise ValueError(f"compress must be one of {', '.join(COMPRESS_MODES)}, not {compress!r}")
    text = json_for_script(data)
    if compress == "never" or (compress == "auto" and len(text.encode("utf-8")) <= COMPRESS_OVER):
        return f"<script type=\"application/json\" id=\"jb-data\">{text}</script>"
    packed = base64.b64encode(gzip.compress(text.encode("utf-8"), compresslevel=6, mtime=0)).decode("ascii")
    return f"<script type=\"application/octet-stream\" data-encoding=\"gzip-base64\" id=\"jb-data\">{packed}</script>"


def render_page(*, title: str, body: str, css: str, js: str, data: Any, connect: str = "'none'",
                compress: str = "never") -> str:
    """A page with ``body`` (fixed markup, never data), the style and script inline and ``data``
    in ``#jb-data`` (:func:`data_element`; the script must handle the compressed form when
    ``compress`` is not ``never``). ``connect`` is the CSP connect-src (``'self'`` for the review page)."""
    for text in (css, js):
        if "</" in text:
            raise ValueError("an inline asset contains '</', which would end its element")
    csp = (f"default-src 'none'; script-src {_sha256(js)}; style-src {_sha256(css)}; img-src data:; "
           f"connect-src {connect}; base-uri 'none'; form-action 'none'")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            "<meta name=\"referrer\" content=\"no-referrer\">"
            "<link rel=\"icon\" href=\"data:,\">"
            f"<title>{_escape_text(title)}</title><style>{css}</style></head><body>"
            f"{body}"
            f"{data_element(data, compress)}"
            f"<script>{js}</script></body></html>\n")


_BODY = ("<header><h1 id=\"title\"></h1><div class=\"sub\" id=\"sub\"></div><nav id=\"nav\"></nav></header>"
         "<main id=\"main\"></main>")


def render_report(data: dict[str, Any], compress: str = "auto") -> str:
    """The self-contained HTML report of :func:`jurybox.report.data.report_data`'s ``data``
    (``compress``: see :func:`data_element`)."""
    return render_page(title=str(data.get("title") or "jurybox report"), body=_BODY,
                       css=asset("jurybox.report", "report.css"), js=asset("jurybox.report", "report.js"), data=data,
                       compress=compress)
