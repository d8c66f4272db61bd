"""Stored tracking snippets (HTML) become the address of Keap's tracking script.

Every stored ``TrackingSettings.snippet`` is read by the same rules as the wizard's parser
(``apps.integrations.keap.tracking.parse_snippet``): exactly one ``<script>`` tag with only
``src`` / ``type="text/javascript"`` / ``async`` / ``defer`` and no body, and an
``https://<app>.<Keap host family>/app/webTracking/getTrackingCode`` address with at most a
simple query. A good one keeps working (its URL is kept); a refused one is removed, tracking is
switched off and ``refused_notice`` says why, which the Tracking step shows until it is saved
again.

The parser is a frozen copy, on purpose: a migration is history and must do the same on every
database, forever, whatever later becomes of the live module (renamed, stricter, reading other
settings), and must not fail to import when it changes. The copy uses the standard library only.
It is at least as strict as the live parser was when this was written (the attack cases of
tests/security/test_tracking_snippet.py are run through both), and the endpoint checks every
stored URL again with the live rules before serving it.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

from django.db import migrations

TRACKING_PATH = "/app/webTracking/getTrackingCode"
KEAP_HOST_SUFFIXES = (".infusionsoft.com", ".keap.com", ".infusionsoft.app", ".keap.app")
ALLOWED_ATTRIBUTES = ("src", "type", "async", "defer")
HOST_NAME = re.compile(r"^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?:\.(?!-)[a-z0-9-]{1,63})*$")
QUERY_PAIR = r"[A-Za-z][A-Za-z0-9_]{0,39}=[A-Za-z0-9._-]{0,200}"
QUERY = re.compile(rf"^{QUERY_PAIR}(?:&{QUERY_PAIR}){{0,4}}$")
BAD_URL_CHARACTERS = set("\\^`{}|<>\"")
MAX_SNIPPET_CHARS = 2000
MAX_URL_CHARS = 500
ONLY_THE_TAG = "only Keap's <script> tag is allowed, and there was more"

NOTICE = (
    "The tracking code stored before this update was removed and tracking was switched off, "
    "because Bookbridge no longer accepts it: {reason}. Paste the code from Keap (Marketing → "
    "Settings → Tracking Code) and save this step to switch tracking on again."
)


class Refused(ValueError):
    pass


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.scripts = []
        self.body = ""
        self.open = False
        self.closed = False
        self.problem = None

    def _refuse(self, message):
        if self.problem is None:
            self.problem = message

    def handle_starttag(self, tag, attrs):
        if tag != "script":
            self._refuse(f"{ONLY_THE_TAG} (a <{tag}> element)")
        elif self.scripts:
            self._refuse("it has more than one <script> tag")
        else:
            self.scripts.append((attrs, self.get_starttag_text() or ""))
            self.open = True

    def handle_startendtag(self, tag, attrs):
        self._refuse(f"{ONLY_THE_TAG} (a <{tag} … /> tag)")

    def handle_endtag(self, tag):
        if tag == "script" and self.open:
            self.open, self.closed = False, True
        else:
            self._refuse(f"{ONLY_THE_TAG} (a </{tag}> tag)")

    def handle_data(self, data):
        if self.open:
            self.body += data
        elif data.strip():
            self._refuse(f"{ONLY_THE_TAG} (text around it)")

    def handle_entityref(self, name):
        self._refuse(f"{ONLY_THE_TAG} (text around it)")

    def handle_charref(self, name):
        self._refuse(f"{ONLY_THE_TAG} (text around it)")

    def handle_decl(self, decl):
        self._refuse(f"{ONLY_THE_TAG} (a <!…> declaration)")

    def unknown_decl(self, data):
        self._refuse(f"{ONLY_THE_TAG} (a <![…]> section)")

    def handle_pi(self, data):
        self._refuse(f"{ONLY_THE_TAG} (a <?…> instruction)")


def frozen_parse_snippet(snippet: str) -> str:
    """The Keap tracking script URL of a stored snippet, or ``Refused`` (the reason)."""
    text = (snippet or "").strip()
    if len(text) > MAX_SNIPPET_CHARS:
        raise Refused("it is longer than Keap's tracking code")
    reader = _Reader()
    reader.feed(text)
    reader.close()
    if reader.problem:
        raise Refused(reader.problem)
    if not reader.scripts:
        raise Refused("it has no <script> tag")
    if not reader.closed:
        raise Refused("its <script> tag is not closed")
    if reader.body.strip():
        raise Refused("its <script> tag has code inside it")
    attrs, raw_tag = reader.scripts[0]
    names = [name for name, _ in attrs]
    if len(set(names)) != len(names):
        raise Refused("its <script> tag repeats an attribute")
    extra = [name for name in names if name not in ALLOWED_ATTRIBUTES]
    if extra:
        raise Refused(f"its <script> tag has attributes other than src, type, async and defer "
                      f"({', '.join(extra)})")
    values = dict(attrs)
    if "type" in values and (values["type"] or "").strip().lower() != "text/javascript":
        raise Refused('its <script> tag\'s type is not "text/javascript"')
    for flag in ("async", "defer"):
        if flag in values and (values[flag] or "").lower() not in ("", flag):
            raise Refused(f"its <script> tag's {flag} attribute has a value")
    plain = raw_tag.replace("&amp;", "")
    if html.unescape(plain) != plain:
        raise Refused("its <script> tag contains HTML character references (&…;)")
    return frozen_check_url(values.get("src") or "")


def frozen_check_url(url: str) -> str:
    if not url:
        raise Refused("its <script> tag has no src address")
    if len(url) > MAX_URL_CHARS:
        raise Refused("the script address is too long")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 or ch in BAD_URL_CHARACTERS for ch in url):
        raise Refused("the script address contains characters a URL cannot have")
    parts = urlsplit(url)
    if parts.scheme.lower() != "https":
        raise Refused("the script address does not start with https://")
    if "#" in url:
        raise Refused("the script address has a fragment (#…)")
    if "@" in parts.netloc:
        raise Refused("the script address contains a user name or password (…@)")
    if "%" in parts.netloc:
        raise Refused("the script address has an escaped (%…) host name")
    try:
        port = parts.port
    except ValueError:
        raise Refused("the script address has an invalid port") from None
    if port is not None or parts.netloc.endswith(":"):
        raise Refused("the script address names a port")
    try:
        host = (parts.hostname or "").rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise Refused("the script address has an invalid host name") from None
    if not HOST_NAME.match(host):
        raise Refused("the script address has an invalid host name")
    if not any(host.endswith(suffix) and len(host) > len(suffix) for suffix in KEAP_HOST_SUFFIXES):
        raise Refused(f"the script comes from {host}, which is not a Keap address")
    if parts.path != TRACKING_PATH:
        raise Refused(f"the script address is not Keap's tracking script ({TRACKING_PATH})")
    if parts.query and not QUERY.match(parts.query):
        raise Refused("the script address has a query Keap does not use")
    return f"https://{host}{TRACKING_PATH}" + (f"?{parts.query}" if parts.query else "")


def snippets_to_urls(apps, schema_editor):
    TrackingSettings = apps.get_model("keap", "TrackingSettings")
    for row in TrackingSettings.objects.exclude(snippet="").iterator():
        try:
            row.script_url = frozen_parse_snippet(row.snippet)
        except Refused as exc:
            row.script_url = ""
            row.enabled = False
            row.refused_notice = NOTICE.format(reason=exc)
        row.snippet = ""
        row.save(update_fields=["script_url", "enabled", "refused_notice", "snippet"])


def urls_to_snippets(apps, schema_editor):
    """Back: the tag rebuilt from the kept URL (refused snippets are gone for good)."""
    TrackingSettings = apps.get_model("keap", "TrackingSettings")
    for row in TrackingSettings.objects.exclude(script_url="").iterator():
        row.snippet = f'<script type="text/javascript" src="{html.escape(row.script_url)}"></script>'
        row.save(update_fields=["snippet"])


class Migration(migrations.Migration):
    dependencies = [
        ("keap", "0003_trackingsettings_script_url"),
    ]

    operations = [
        migrations.RunPython(snippets_to_urls, urls_to_snippets),
    ]
