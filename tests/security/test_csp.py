"""Every page carries a Content-Security-Policy without inline script, and nothing of ours needs
one (SPEC §13).

The policy is config/settings/base.py ``CONTENT_SECURITY_POLICY`` (django-csp); the CRM connect
pages add their CRM's origins to ``form-action`` (apps/connectors/csp.py). Here: a walk over the
portal, both setup wizards (connected to the sandboxes), the login pages and every registered
ModelAdmin's changelist / add / change page, as a superuser, an account administrator and a
staff member, checking each HTML answer's header and its HTML; and a scan of the template files
and of the Python that writes HTML. tests/e2e/test_csp_browser.py checks the same in Chromium.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib import admin
from django.templatetags.static import static
from django.test import Client, RequestFactory
from django.urls import reverse

from apps.accounts.models import Role
from apps.connectors.wizard import steps_for
from apps.integrations.keap.demo import connect_demo_keap
from apps.integrations.salesforce.demo import connect_demo_salesforce
from tests.console.conftest import build_account
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_FILES = sorted({*ROOT.glob("templates/**/*.html"), *ROOT.glob("apps/**/templates/**/*.html")})
KEAP_FAMILY = ("https://*.infusionsoft.com", "https://*.keap.com")
LOOPBACK = "http://127.0.0.1:*"


# ------------------------------------------------------------------ reading a policy
def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for part in header.split(";"):
        if part.strip():
            name, *values = part.split()
            parsed[name.lower()] = values
    return parsed


def policy_problems(response) -> list[str]:
    header = response.get("Content-Security-Policy")
    if not header:
        return ["no Content-Security-Policy header"]
    policy = directives(header)
    problems = []
    if policy.get("frame-ancestors") != ["'none'"]:
        problems.append(f"frame-ancestors is {policy.get('frame-ancestors')}, not 'none'")
    for name in ("script-src", "style-src"):
        sources = policy.get(name, policy.get("default-src"))
        if sources is None:
            problems.append(f"no {name} (nor default-src)")
            continue
        unsafe = [s for s in sources if s in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:")]
        if unsafe:
            problems.append(f"{name} allows {' '.join(unsafe)}")
    return problems


# ------------------------------------------------------------------ inline code in HTML
class InlineCodeFinder(HTMLParser):
    """What a policy without 'unsafe-inline' refuses: ``<script>`` without ``src`` (unless it has
    the response's nonce), ``<style>``, ``style=`` and ``on…=`` attributes, ``javascript:`` URLs."""

    def __init__(self, nonce: str | None = None) -> None:
        super().__init__(convert_charrefs=True)
        self.nonce = nonce
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        nonced = self.nonce is not None and values.get("nonce") == self.nonce
        if tag == "script" and not values.get("src") and not nonced:
            self.found.append(f"<script> without src: {self.get_starttag_text()}")
        if tag == "style" and not nonced:
            self.found.append("a <style> element")
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f"{name}= on <{tag}>: {self.get_starttag_text()[:120]}")
            if (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"a javascript: URL in {name}= on <{tag}>")

    handle_startendtag = handle_starttag


def inline_code(html: str, nonce: str | None = None) -> list[str]:
    finder = InlineCodeFinder(nonce)
    finder.feed(html)
    finder.close()
    return finder.found


def response_nonce(response) -> str | None:
    match = re.search(r"'nonce-([^']+)'", response.get("Content-Security-Policy", ""))
    return match.group(1) if match else None


# ------------------------------------------------------------------ the world walked
@pytest.fixture
def world(keap, salesforce):
    """An account with everything the console lists (tests/console/conftest.py) plus a Keap and
    a Salesforce connector connected to the sandboxes; a superuser, an administrator, staff."""
    side = build_account("csp")
    account = side["account"]
    keap_connector = connect_demo_keap(account=account, sandbox_url=keap.url)
    salesforce_connector = connect_demo_salesforce(account=account, sandbox_url=salesforce.url)
    return {
        **side,
        "keap": keap_connector,
        "salesforce": salesforce_connector,
        "superuser": UserFactory(username="root@example.test", is_superuser=True),
        "administrator": MembershipFactory(account=account, role=Role.ADMINISTRATOR).user,
        "staff": MembershipFactory(account=account, role=Role.STAFF).user,
    }


def portal_urls(world) -> list[str]:
    slug = world["account"].slug
    urls = [
        reverse("accounts:home"),
        reverse("connectors:account", args=[slug]),
        reverse("connectors:connector-new", args=[slug]),
        reverse("connectors:connector-edit", args=[slug, world["connector"].pk]),
        reverse("salesforce:new", args=[slug]),
    ]
    for kind in ("keap", "salesforce"):
        connector = world[kind]
        urls += [
            reverse(f"{kind}:connect", args=[slug, connector.pk]),
            reverse(f"{kind}:wizard", args=[slug, connector.pk]),
            reverse(f"{kind}:wizard-owners", args=[slug, connector.pk]),
            *(reverse(f"{kind}:wizard-step", args=[slug, connector.pk, step.key])
              for step in steps_for(connector)),
        ]
    return urls


def admin_urls(superuser) -> list[str]:
    """Admin index, the dashboard, the YAML import and, for every registered ModelAdmin, its
    app index, its changelist, its add page (where a superuser may add) and the change page of
    its first row."""
    request = RequestFactory().get("/admin/")
    request.user = superuser
    urls = [reverse("admin:index"), reverse("admin:console-dashboard"),
            reverse("admin:connectors_import_yaml"), reverse("admin:password_change")]
    for model, model_admin in admin.site._registry.items():
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        urls += [reverse("admin:app_list", args=[model._meta.app_label]), reverse(f"{name}_changelist")]
        if model_admin.has_add_permission(request):
            urls.append(reverse(f"{name}_add"))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            urls.append(reverse(f"{name}_change", args=[first.pk]))
    return list(dict.fromkeys(urls))


def walk(client: Client, urls: list[str]) -> tuple[dict[str, int], list[str]]:
    """GET each URL (following redirects): the status of each HTML page, and every problem."""
    pages, problems = {}, []
    for url in urls:
        response = client.get(url, follow=True)
        where = f"{url} ({response.status_code})"
        if response.status_code >= 500:
            problems.append(f"{where}: server error")
            continue
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        pages[url] = response.status_code
        problems += [f"{where}: {p}" for p in policy_problems(response)]
        html = response.content.decode()
        problems += [f"{where}: {p}" for p in inline_code(html, response_nonce(response))]
    return pages, problems


@pytest.mark.parametrize("role", ["superuser", "administrator", "staff"])
def test_every_page_carries_a_strict_policy_and_no_inline_code(world, role):
    client = Client()
    client.force_login(world[role])
    portal = portal_urls(world)
    urls = portal + admin_urls(world["superuser"])
    pages, problems = walk(client, urls)
    assert problems == []
    assert len(urls) > 3 * len(admin.site._registry)  # every ModelAdmin: app, changelist, a row
    # The walk saw real pages, not only refusals (staff are refused the wizards, some models).
    shown = {url for url, status in pages.items() if status == 200}
    if role == "superuser":
        assert shown == set(urls)
    else:
        must_show = portal[:2] + [reverse("admin:index"), reverse("admin:sync_syncjob_changelist")]
        assert set(must_show) <= shown
        if role == "administrator":
            assert set(portal) <= shown


def test_login_pages_carry_the_policy():
    urls = [reverse("login"), reverse("admin:login")]
    assert walk(Client(), urls) == (dict.fromkeys(urls, 200), [])


def test_an_admin_page_with_rows_and_badges_renders_no_inline_style(world):
    """The status badges and the dashboard's chart legend (Python-made HTML) are class-styled."""
    client = Client()
    client.force_login(world["superuser"])
    jobs = client.get(reverse("admin:sync_syncjob_changelist"))
    assert 'class="bb-status bb-status-failed"' in jobs.content.decode()
    dashboard = client.get(reverse("admin:console-dashboard"))
    body = dashboard.content.decode()
    assert 'class="bb-swatch"' in body and "bookbridge/dashboard.js" in body
    assert inline_code(jobs.content.decode()) == inline_code(body) == []


def test_the_moved_scripts_and_styles_are_served():
    """static/bookbridge/ (what replaced the inline code) is served, by WhiteNoise's finders here."""
    files = sorted((ROOT / "static" / "bookbridge").iterdir())
    assert {f.name for f in files} >= {"admin.css", "autosubmit.js", "dashboard.css", "dashboard.js"}
    for path in files:
        response = Client().get(static(f"bookbridge/{path.name}"))
        assert response.status_code == 200, path.name
        assert b"".join(response.streaming_content) == path.read_bytes()


# ------------------------------------------------------------------ form-action on connect pages
def test_connect_pages_let_their_forms_be_redirected_to_the_crm_only(world, settings):
    client = Client()
    client.force_login(world["administrator"])
    slug = world["account"].slug
    keap_page = client.get(reverse("keap:connect", args=[slug, world["keap"].pk]))
    salesforce_page = client.get(reverse("salesforce:new", args=[slug]))
    account_page = client.get(reverse("connectors:account", args=[slug]))

    keap_targets = directives(keap_page["Content-Security-Policy"])["form-action"]
    assert keap_targets[0] == "'self'" and set(KEAP_FAMILY) <= set(keap_targets)
    assert LOOPBACK in keap_targets  # the tests' Keap sandbox: ALLOW_INSECURE_CRM_URLS is on
    salesforce_targets = directives(salesforce_page["Content-Security-Policy"])["form-action"]
    assert {"'self'", "https://login.salesforce.com", "https://test.salesforce.com",
            "https://*.salesforce.com"} <= set(salesforce_targets)
    assert not set(KEAP_FAMILY) & set(salesforce_targets)
    assert directives(account_page["Content-Security-Policy"])["form-action"] == ["'self'"]

    settings.ALLOW_INSECURE_CRM_URLS = False  # production: https to the CRM's hosts only
    strict = directives(client.get(reverse("keap:connect", args=[slug, world["keap"].pk]))
                        ["Content-Security-Policy"])["form-action"]
    assert LOOPBACK not in strict and not [s for s in strict if s.startswith("http:")]


def test_an_operators_host_pattern_cannot_change_the_policy(world, settings):
    settings.OUTBOUND_EXTRA_ALLOWED_HOSTS = {"keap": ["api.keap.example.net", "x.keap.com; script-src *"]}
    client = Client()
    client.force_login(world["administrator"])
    page = client.get(reverse("keap:connect", args=[world["account"].slug, world["keap"].pk]))
    policy = directives(page["Content-Security-Policy"])
    assert "https://api.keap.example.net" in policy["form-action"]
    assert policy["script-src"] == ["'self'"] and "*" not in policy["form-action"]


# ------------------------------------------------------------------ the sources themselves
INLINE_IN_TEMPLATES = {
    "inline <script>": re.compile(r"<script\b(?![^>]*\b(?:src|nonce)\s*=)[^>]*>", re.I),
    "<style> element": re.compile(r"<style\b", re.I),
    "style= attribute": re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I),
    "on…= handler": re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


def test_no_template_has_inline_script_handlers_or_styles():
    assert len(TEMPLATE_FILES) > 15  # the scan found the project's templates
    found = [f"{path.relative_to(ROOT)}: {what}"
             for path in TEMPLATE_FILES
             for what, pattern in INLINE_IN_TEMPLATES.items() if pattern.search(path.read_text())]
    assert found == []


def test_no_python_writes_html_with_inline_styles_or_handlers():
    """format_html / mark_safe strings in apps/ and config/: no ``<tag … style=`` or ``on…=``."""
    attribute = re.compile(r"<[a-z][^>\n]*\s(?:style|on[a-z]+)\s*=", re.I)
    found = [f"{path.relative_to(ROOT)}:{number}"
             for folder in ("apps", "config")
             for path in sorted((ROOT / folder).rglob("*.py"))
             for number, line in enumerate(path.read_text().splitlines(), 1) if attribute.search(line)]
    assert found == []


def test_the_policy_is_tunable_from_the_environment():
    """CSP_* variables (README, Configuration): report-only mode, a report URI, extra sources."""
    program = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "r = Client().get('/login/')\n"
        "print('enforced=' + r.get('Content-Security-Policy', ''))\n"
        "print('report-only=' + r.get('Content-Security-Policy-Report-Only', ''))\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "CSP_REPORT_ONLY": "true",
           "CSP_REPORT_URI": "https://reports.example/csp", "CSP_IMG_SRC": "'self',https://img.example"}
    out = subprocess.run([sys.executable, "-c", program], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=60, check=True).stdout
    lines = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    assert lines["enforced"] == ""
    policy = directives(lines["report-only"])
    assert policy["report-uri"] == ["https://reports.example/csp"]
    assert policy["img-src"] == ["'self'", "https://img.example"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["script-src"] == ["'self'"]
