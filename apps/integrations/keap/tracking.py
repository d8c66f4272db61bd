"""The Keap web-tracking code: parsed from what an administrator pastes, kept as one URL, served
as JavaScript (SPEC §5 Step 5 and §13 "No administrator-supplied HTML or script is served").

Keap gives each app one tracking tag (Marketing → Settings → Tracking Code)::

    <script type="text/javascript" src="https://ab123.infusionsoft.app/app/webTracking/getTrackingCode"></script>

sometimes with a query (``?trackingId=…``, ``?b=…``) and on any of Keap's host families
(``connection.HOSTS``: ``*.infusionsoft.com``, ``*.infusionsoft.app``, ``*.keap.com``,
``*.keap.app``). The only thing that varies is that script's address, so that is all that is
kept: :func:`parse_snippet` reads the paste with a real HTML parser (``html.parser``) and
:func:`check_script_url` checks the address with ``urllib.parse`` and the outbound policy
(``apps.core.outbound.parse``). Every refusal is a :class:`SnippetRefused` whose message is a
sentence for the administrator.

Wherever the code is shown it is re-rendered from the URL (:func:`render_snippet`); the public
endpoint (``views.tracking_code``) serves :func:`loader_script`, JavaScript that adds a script
element with that URL, never HTML.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from html.parser import HTMLParser
from urllib.parse import urlsplit

from apps.core import outbound

from . import connection

#: A paste longer than this is not a Keap tracking tag (the real one is about 120 characters).
MAX_SNIPPET_CHARS = 2000
#: Longest script address kept (the model field's length).
MAX_URL_CHARS = 500
#: The path of Keap's tracking script, on every host family.
TRACKING_PATH = "/app/webTracking/getTrackingCode"
#: What Keap puts in the query: a few ``name=value`` pairs of letters, digits, ``.``, ``_``, ``-``.
_QUERY_PAIR = r"[A-Za-z][A-Za-z0-9_]{0,39}=[A-Za-z0-9._-]{0,200}"
_QUERY = re.compile(rf"^{_QUERY_PAIR}(?:&{_QUERY_PAIR}){{0,4}}$")
#: Attributes Keap's tag has (``type``) or that change nothing but timing (``async``, ``defer``).
ALLOWED_ATTRIBUTES = ("src", "type", "async", "defer")
WHERE_TO_FIND = "Keap: Marketing → Settings → Tracking Code"


class SnippetRefused(ValueError):
    """The paste or address is not Keap's tracking code; ``str()`` says why, in plain words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class _SnippetReader(HTMLParser):
    """Collects the one ``<script>`` element and the first thing that is not allowed."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)  # character references in text are reported
        self.scripts: list[tuple[list[tuple[str, str | None]], str]] = []
        self.body = ""
        self.open = False
        self.closed = False
        self.problem: str | None = None

    def _refuse(self, message: str) -> None:
        if self.problem is None:
            self.problem = message

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "script":
            self._refuse(f"Only Keap's <script> tag is allowed; remove the <{tag}> element.")
        elif self.scripts:
            self._refuse("Paste only one <script> tag: Keap's tracking code is a single tag.")
        else:
            self.scripts.append((attrs, self.get_starttag_text() or ""))
            self.open = True

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self._refuse("Write the tag as Keap gives it: <script …></script>, not <script … />.")
        else:
            self._refuse(f"Only Keap's <script> tag is allowed; remove the <{tag}> element.")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self.open:
            self.open, self.closed = False, True
        else:
            self._refuse(f"Only Keap's <script> tag is allowed; remove the </{tag}> tag.")

    def handle_data(self, data: str) -> None:
        if self.open:
            self.body += data
        elif data.strip():
            self._refuse("Only Keap's <script> tag is allowed; remove the text around it.")

    def handle_entityref(self, name: str) -> None:
        self._refuse("Only Keap's <script> tag is allowed; remove the text around it.")

    def handle_charref(self, name: str) -> None:
        self._refuse("Only Keap's <script> tag is allowed; remove the text around it.")

    def handle_decl(self, decl: str) -> None:
        self._refuse("Only Keap's <script> tag is allowed; remove the <!…> declaration.")

    def unknown_decl(self, data: str) -> None:
        self._refuse("Only Keap's <script> tag is allowed; remove the <![…]> section.")

    def handle_pi(self, data: str) -> None:
        self._refuse("Only Keap's <script> tag is allowed; remove the <?…> instruction.")

    # Comments (<!-- Infusionsoft Tracking Code -->) are allowed: they are dropped with the rest.


def parse_snippet(snippet: str) -> str:
    """The Keap tracking script's URL (normalised) from a pasted tracking tag, or
    :class:`SnippetRefused`."""
    text = (snippet or "").strip()
    if not text:
        raise SnippetRefused(f"Paste the Keap web tracking code ({WHERE_TO_FIND}).")
    if len(text) > MAX_SNIPPET_CHARS:
        raise SnippetRefused(
            f"This is longer than Keap's tracking code (at most {MAX_SNIPPET_CHARS} characters); "
            "paste only the <script> tag.")
    reader = _SnippetReader()
    reader.feed(text)
    reader.close()
    if reader.problem:
        raise SnippetRefused(reader.problem)
    if not reader.scripts:
        raise SnippetRefused(
            f'Paste the Keap web tracking code: a <script src="https://…infusionsoft…"></script> tag '
            f"({WHERE_TO_FIND}).")
    if not reader.closed:
        raise SnippetRefused("The <script> tag is not closed: it must end with </script>.")
    if reader.body.strip():
        raise SnippetRefused("Keap's tracking tag has nothing between <script …> and </script>; "
                             "remove the code inside it.")
    attrs, raw_tag = reader.scripts[0]
    _check_attributes(attrs, raw_tag)
    return check_script_url(dict(attrs)["src"] or "")


def _check_attributes(attrs: list[tuple[str, str | None]], raw_tag: str) -> None:
    names = [name for name, _ in attrs]
    for name in names:
        if names.count(name) > 1:
            raise SnippetRefused(f"The <script> tag has the attribute {name} twice.")
    extra = [name for name in names if name not in ALLOWED_ATTRIBUTES]
    if extra:
        raise SnippetRefused(
            f"The <script> tag may only have src, type, async and defer; remove {', '.join(extra)}.")
    values = dict(attrs)
    if "src" not in values:
        raise SnippetRefused("The <script> tag has no src address.")
    if "type" in values and (values["type"] or "").strip().lower() != "text/javascript":
        raise SnippetRefused('The <script> tag\'s type must be "text/javascript", as Keap gives it.')
    for flag in ("async", "defer"):
        if flag in values and (values[flag] or "").lower() not in ("", flag):
            raise SnippetRefused(f"The <script> tag's {flag} attribute takes no value.")
    # The parser decodes character references in attribute values (&#104;ttps → https); Keap's tag
    # has none, so one means the address was disguised. ``&amp;`` (an escaped ``&``) is fine.
    plain = raw_tag.replace("&amp;", "")
    if html.unescape(plain) != plain:
        raise SnippetRefused("The <script> tag contains HTML character references (&…;); paste the "
                             "code exactly as Keap gives it.")


def check_script_url(url: str) -> str:
    """The normalised Keap tracking script URL (``https://<host>/app/webTracking/getTrackingCode``
    with an optional simple query), or :class:`SnippetRefused`."""
    what = "The script address"
    if not url:
        raise SnippetRefused("The <script> tag has no src address.")
    if len(url) > MAX_URL_CHARS:
        raise SnippetRefused(f"{what} is longer than {MAX_URL_CHARS} characters.")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise SnippetRefused(f"{what} contains spaces or control characters.")
    parts = urlsplit(url)
    if parts.scheme.lower() != "https":
        raise SnippetRefused(f"{what} must start with https://.")
    if "#" in url:
        raise SnippetRefused(f"{what} must not have a fragment (#…).")
    try:
        checked = outbound.parse(url, connection.HOSTS, what=what, query=True)
        port = parts.port
    except outbound.OutboundRefused as exc:
        raise SnippetRefused(str(exc)) from None
    except ValueError:
        raise SnippetRefused(f"{what} has an invalid port.") from None
    if port is not None:
        raise SnippetRefused(f"{what} must not name a port.")
    # outbound.parse lets a loopback sandbox through in development; a tracking script never is.
    if not connection.HOSTS.allows(checked.host):
        raise SnippetRefused(f"{what} is not a Keap address: {checked.host} is not one of "
                             f"{connection.HOSTS.describe()}.")
    if parts.path != TRACKING_PATH:
        raise SnippetRefused(f"{what} is not Keap's tracking script: its path must be {TRACKING_PATH}.")
    if parts.query and not _QUERY.match(parts.query):
        raise SnippetRefused(f"{what} has a query Keap does not use: only name=value pairs of "
                             "letters, digits, dots, hyphens and underscores.")
    return f"https://{checked.host}{TRACKING_PATH}" + (f"?{parts.query}" if parts.query else "")


def render_snippet(url: str) -> str:
    """The tracking tag as Keap gives it, rebuilt from a stored URL: plain text (the URL's
    ``&`` escaped as HTML wants it), escaped again wherever a template shows it."""
    if not url:
        return ""
    return f'<script type="text/javascript" src="{html.escape(url, quote=True)}"></script>'


def _js_string_list(urls: Iterable[str]) -> str:
    # JSON is a JavaScript literal; <, > and & are escaped too so the body never has markup in it.
    text = json.dumps(list(urls))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def loader_script(urls: Iterable[str]) -> str:
    """JavaScript that loads each (already checked) tracking script URL; "" when there is none.

    Included by a booking form as ``<script src="…/keap/tracking/BP-…/"></script>``.
    """
    urls = list(dict.fromkeys(urls))
    if not urls:
        return ""
    return (
        "(function () {\n"
        f"  {_js_string_list(urls)}.forEach(function (src) {{\n"
        '    var script = document.createElement("script");\n'
        "    script.src = src;\n"
        "    script.async = true;\n"
        "    (document.head || document.documentElement).appendChild(script);\n"
        "  });\n"
        "})();\n"
    )
