"""An import file is read within bounds, and every head field has its type checked (SPEC §13:
bad input never costs availability; no quiet wrong answers).

On the code before these limits a 512-byte file of nested aliases took 15.8 s and 1.66 GB (the
aliases were expanded when the step values were turned into form data), ``kind: [keap]`` was a
500 (unhashable type), ``is_active: 'false'`` switched the connector on and a name of
``{a: 1}`` became ``"{'a': 1}"``.
"""

from __future__ import annotations

import re
import tracemalloc

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.accounts.models import Role
from apps.connectors.models import Connector
from apps.connectors.settings_io import import_connector
from tests.factories import AccountFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

HEAD = "version: 1\nconnector: {name: Keap, kind: keap}\n"
MAX_BYTES, MAX_DEPTH = 256 * 1024, 12  # apps.connectors.settings_yaml
#: 512 bytes: nine anchors of nine aliases each stand for 9⁹ ≈ 387 million strings.
BILLION_LAUGHS = HEAD + (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
    "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
    "steps: {tagging: {extra_tags: *i}}\n"
)
#: Few aliases, but each names a list of 10,000 values: 160,000 values once expanded.
WIDE_ALIASES = HEAD + "a: &a [" + ",".join(["1"] * 10_000) + "]\nb: [" + ",".join(["*a"] * 16) + "]\n"


@pytest.fixture(autouse=True)
def _no_real_keap(settings):
    """A connector without a connection section points at Keap's defaults: a closed local port
    instead (nothing here may reach the internet)."""
    settings.KEAP_API_BASE = "http://127.0.0.1:9/crm"
    settings.KEAP_TOKEN_URL = "http://127.0.0.1:9/token"


def problems(text: str, account=None, **kwargs) -> dict[str, str]:
    """{path: its messages joined by " | "} of an import of ``text``."""
    result = import_connector(account or AccountFactory(), text, **kwargs)
    assert result.connector is None or result.report.ok
    found: dict[str, str] = {}
    for problem in result.report.problems:
        found[problem.path] = " | ".join(filter(None, [found.get(problem.path), problem.message]))
    return found


def test_the_alias_bomb_is_refused_within_a_small_memory_bound():
    tracemalloc.start()
    try:
        found = problems(BILLION_LAUGHS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 1024 * 1024, f"peak {peak / 1024 / 1024:.0f} MB"
    assert found == {"c[7]": "line 5: more than 16 aliases (*name); a settings file needs none"}
    assert not Connector.objects.exists()


def test_few_aliases_that_expand_to_a_huge_document_are_refused():
    tracemalloc.start()
    try:
        found = problems(WIDE_ALIASES)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 1024 * 1024
    assert "with its aliases expanded" in found[""], found


@pytest.mark.parametrize(("text", "path", "words"), [
    ("x: " + "y" * (MAX_BYTES + 1), "", "at most 256 kB"),
    (HEAD + "steps: " + "[" * 20 + "]" * 20 + "\n", "steps" + "[0]" * (MAX_DEPTH - 1),
     "line 3: nested more than 12 levels deep"),
    (HEAD + "steps:\n  tagging: {extra_tags: " + "[" * 15 + "]" * 15 + "}\n",
     "steps.tagging.extra_tags" + "[0]" * (MAX_DEPTH - 3), "line 4: nested more than 12"),
    (HEAD + "".join(f"k{i}: &a{i} v\n" for i in range(17)), "k16", "more than 16 anchors"),
    (HEAD + "a: &a v\nb: [" + ",".join(["*a"] * 17) + "]\n", "b[16]", "more than 16 aliases"),
    (HEAD + "a: &a [*a]\n", "", "an alias refers to a value that contains it"),
    (HEAD + "a: b: c\n", "", "not valid YAML (line 3, column"),
    ("--- 1\n--- 2\n", "", "not valid YAML"),
    ("[1, 2]", "", "must be a YAML mapping"),
])
def test_each_limit_is_a_problem_with_its_path_and_line(text, path, words):
    found = problems(text)
    assert path in found and words in found[path], found


@pytest.mark.parametrize(("head", "path", "words"), [
    ("version: 1\nconnector: {name: Keap, kind: [keap]}", "connector.kind", "must be a text value"),
    ("version: 1\nconnector: {name: Keap, kind: {a: 1}}", "connector.kind", "must be a text value"),
    ("version: 1\nconnector: {name: Keap, kind: pipedrive}", "connector.kind", "unknown connector kind"),
    ("version: 1\nconnector: {name: {a: 1}, kind: keap}", "connector.name", "must be a text value"),
    ("version: 1\nconnector: {name: [Keap], kind: keap}", "connector.name", "must be a text value"),
    ("version: 1\nconnector: {name: 42, kind: keap}", "connector.name", "must be a text value"),
    ("version: 1\nconnector: {name: '  ', kind: keap}", "connector.name", "must not be empty"),
    ("version: 1\nconnector: {kind: keap}", "connector.name", "is required"),
    ("version: 1\nconnector: {name: Keap, kind: keap, is_active: 'false'}", "connector.is_active",
     "must be true or false"),
    ("version: 1\nconnector: {name: Keap, kind: keap, is_active: 0}", "connector.is_active",
     "must be true or false"),
    ("version: true\nconnector: {name: Keap, kind: keap}", "version", "must be the number 1"),
    ("version: '1'\nconnector: {name: Keap, kind: keap}", "version", "must be the number 1"),
    ("version: 1\nconnector: [Keap, keap]", "connector", "must be a mapping"),
    ("version: 1\nconnector: {name: Keap, kind: keap, colour: red}", "connector.colour", "unknown setting"),
    ("version: 1\nconnector: {name: Keap, kind: keap}\nstepz: {}", "stepz", "unknown section"),
])
def test_head_fields_have_their_types_checked(head, path, words):
    found = problems(head + "\n")
    assert words in found.get(path, ""), found
    assert not Connector.objects.exists()


@pytest.mark.parametrize("name", ["K" * 201, "Ke\x00ap", "Ke\x1bap", "Keap\n"])
def test_names_are_checked_like_the_connector_form(name):
    """On PostgreSQL these were a DataError (a 500 in admin): too long, or a NUL byte."""
    import yaml

    in_file = yaml.safe_dump({"version": 1, "connector": {"name": name, "kind": "keap"}})
    assert "connector.name" in problems(in_file)
    assert "connector.name" in problems(HEAD, name=name)  # the name given to the command / admin
    assert not Connector.objects.exists()


def test_is_active_false_as_text_does_not_switch_the_connector_on():
    account = AccountFactory()
    Connector.objects.create(account=account, kind="keap", name="Keap", is_active=False)
    result = import_connector(account, HEAD.replace("kind: keap", "kind: keap, is_active: 'false'"))
    assert [p.path for p in result.report.problems] == ["connector.is_active"]
    assert Connector.objects.get(account=account).is_active is False
    result = import_connector(account, HEAD.replace("kind: keap", "kind: keap, is_active: true"))
    assert result.report.ok, result.report.problems
    assert Connector.objects.get(account=account).is_active is True


def test_a_name_differing_only_in_case_is_refused_like_in_the_form():
    account = AccountFactory()
    Connector.objects.create(account=account, kind="keap", name="Keap")
    result = import_connector(account, "version: 1\nconnector: {name: KEAP, kind: keap}\n")
    assert "connector.name" in {p.path for p in result.report.problems}
    assert Connector.objects.filter(account=account).count() == 1


@pytest.mark.parametrize(("steps", "path", "words"), [
    ("{tagging: {generic_tags: 'false'}}", "steps.tagging.generic_tags", "must be true or false"),
    ("{tagging: {tag_category: [a, b]}}", "steps.tagging.tag_category", "not a list or a mapping"),
    ("{tagging: {tag_category: true}}", "steps.tagging.tag_category", "not true/false"),
    ("{classification: {priority: {a: 1}}}", "steps.classification.priority", "not a list or a mapping"),
    ("{tagging: {extra_tags: [{scope: booking_page, id: [BP-1], tags: [VIP]}]}}",
     "steps.tagging.extra_tags", "give the page or event type id as text"),
    ("{tagging: {extra_tags: [{scope: [booking_page], id: BP-1, tags: [VIP]}]}}",
     "steps.tagging.extra_tags", "scope must be"),
    ("{tagging: {extra_tags: [{scope: booking_page, id: BP-1, tags: [{a: 1}]}]}}",
     "steps.tagging.extra_tags", "each tag name must be a text value"),
    ("{mapping: {overrides: {ET-1: {email: {a: 1}}}}}", "steps.mapping.overrides", "as text"),
    ("{mapping: {overrides: [1, 2]}}", "steps.mapping.overrides", "keyed by event type id"),
    ("[creation]", "steps", "must be a mapping"),
    ("{creation: [a]}", "steps.creation", "must be a mapping"),
])
def test_step_values_have_the_type_their_field_takes(steps, path, words):
    account = AccountFactory()
    found = problems(HEAD + f"steps: {steps}\n", account)
    assert words in found.get(path, ""), found
    assert not Connector.objects.filter(account=account).exists()


def test_unknown_and_malformed_secrets_are_problems():
    found = problems(HEAD, secrets={"api_key": "x", "service_account_key": "line\nbreak"})
    assert "unknown secret" in found["secrets.api_key"]
    assert "control characters" in found["secrets.service_account_key"]


def test_the_command_and_the_admin_page_show_the_limit(tmp_path, client, capsys):
    account = AccountFactory(slug="limits")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BILLION_LAUGHS)
    with pytest.raises(CommandError, match="1 problem"):
        call_command("import_connector", "limits", str(bomb))
    assert "more than 16 aliases" in capsys.readouterr().err

    user = UserFactory()
    MembershipFactory(account=account, user=user, role=Role.ADMINISTRATOR)
    client.force_login(user)
    page = client.post(reverse("admin:connectors_import_yaml"),
                       {"account": account.pk, "file": SimpleUploadedFile("b.yaml", BILLION_LAUGHS.encode())})
    assert page.status_code == 200
    assert "more than 16 aliases" in page.content.decode()
    huge = client.post(reverse("admin:connectors_import_yaml"), {
        "account": account.pk, "file": SimpleUploadedFile("h.yaml", b"x: " + b"y" * 300_000)})
    assert "at most 256 kB" in huge.content.decode()
    latin1 = client.post(reverse("admin:connectors_import_yaml"), {
        "account": account.pk, "file": SimpleUploadedFile("l.yaml", "name: caf\xe9".encode("latin-1"))})
    assert "not UTF-8 text" in latin1.content.decode()
    assert not Connector.objects.exists()


@pytest.mark.parametrize(("setup", "args", "words"), [
    (lambda tmp: tmp.joinpath("l.yaml").write_bytes("name: caf\xe9".encode("latin-1")), ["acme", "l.yaml"],
     "not UTF-8 text"),
    (lambda tmp: tmp.joinpath("h.yaml").write_text("x: " + "y" * 300_000), ["acme", "h.yaml"],
     "larger than 256 kB"),
    (lambda tmp: None, ["ac\x00me", "k.yaml"], "No account"),
    (lambda tmp: None, ["acme", "."], "Cannot read"),
    (lambda tmp: None, ["acme", "missing.yaml"], "Cannot read"),
    (lambda tmp: tmp.joinpath("k.yaml").write_text(HEAD), ["acme", "k.yaml", "--secret", "novalue"],
     "write it as NAME=ENV_VAR"),
])
def test_import_command_refuses_bad_arguments_in_words(tmp_path, monkeypatch, setup, args, words):
    AccountFactory(slug="acme")
    monkeypatch.chdir(tmp_path)
    setup(tmp_path)
    with pytest.raises(CommandError, match=words):
        call_command("import_connector", *args)


def test_export_command_refuses_bad_arguments_in_words(tmp_path):
    account = AccountFactory(slug="acme")
    Connector.objects.create(account=account, kind="keap", name="Keap")
    with pytest.raises(CommandError, match="No connector named"):
        call_command("export_connector", "ac\x00me", "Keap")
    with pytest.raises(CommandError, match="No connector named"):
        call_command("export_connector", "acme", "K" * 300)
    with pytest.raises(CommandError, match="Cannot write"):
        call_command("export_connector", "acme", "Keap", "-o", str(tmp_path))


# ------------------------------------------------------------------------- generated files
CLASS_NAME = re.compile(r"\b[A-Z]\w+(Error|Exception)\b|Traceback|\{\{|%\(")
YAML_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
    st.text(max_size=30), st.sampled_from(["keap", "salesforce", "Keap", "", "\x00", "2024-02-30", "1"]),
)
YAML_VALUES = st.recursive(
    YAML_SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=12), children, max_size=4)),
    max_leaves=25,
)
STEP_NAMES = st.sampled_from(["creation", "classification", "tagging", "mapping", "tracking", "nope"])
FIELD_NAMES = st.sampled_from(["email_update_mode", "generic_tags", "tag_category", "extra_tags",
                               "overrides", "map_email", "priority", "snippet", "enabled", "x"])
DOCUMENTS = st.fixed_dictionaries(
    {"version": st.one_of(st.just(1), YAML_SCALARS),
     "connector": st.one_of(
         st.fixed_dictionaries({"name": st.one_of(st.just("Fuzz"), YAML_VALUES),
                                "kind": st.one_of(st.just("keap"), YAML_VALUES)},
                               optional={"is_active": YAML_VALUES}),
         YAML_VALUES)},
    optional={"steps": st.one_of(st.dictionaries(STEP_NAMES, st.one_of(
        st.dictionaries(FIELD_NAMES, YAML_VALUES, max_size=4), YAML_VALUES), max_size=3), YAML_VALUES),
        "owner_mapping": st.one_of(st.lists(st.one_of(st.fixed_dictionaries(
            {}, optional={"scheduling_user": YAML_VALUES, "crm_user_id": YAML_VALUES,
                          "email": YAML_VALUES}), YAML_VALUES), max_size=3), YAML_VALUES),
        "connection": YAML_VALUES},
)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(document=DOCUMENTS)
def test_generated_files_give_problems_never_an_exception(document):
    import yaml

    account = AccountFactory(slug="fuzz-import")
    before = list(Connector.objects.filter(account=account).values())
    result = import_connector(account, yaml.safe_dump(document, allow_unicode=True))
    for problem in result.report.problems:
        assert problem.message and not CLASS_NAME.search(problem.message), problem
    if not result.report.ok:
        assert result.connector is None
        assert list(Connector.objects.filter(account=account).values()) == before  # nothing saved
