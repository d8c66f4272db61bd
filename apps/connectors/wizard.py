"""The shared setup-wizard framework: steps per connector kind, navigation, per-step save.

How an integration offers a wizard (the Keap package is the worked example)::

    # apps/integrations/<crm>/wizard_steps.py (any module of the integration)
    from apps.connectors.wizard import WizardStep

    def steps():
        return [
            WizardStep(
                key="creation",                      # URL slug, unique within the kind
                title="Creation",                    # shown in the step navigation
                form_class=CreationForm,             # a Form or ModelForm (crispy helper optional)
                get_instance=lambda c: CreationSettings.for_connector(c),  # ModelForm instance
                form_kwargs=lambda c: {"choices": ...},  # extra kwargs, e.g. live CRM choices
                has_defaults=True,                   # "Skip" keeps the defaults
                is_done=None,                        # default: saved or skipped once
                save=None,                           # default: form.save()
                refresh=None,                        # (connector) -> str: a "re-read" button
                description="How contacts are created…",
            ),
            ...
        ]

    # apps/integrations/<crm>/integration.py (imported from the package's AppConfig.ready)
    class MyCrm(CrmIntegration):            # apps.connectors.contract
        key = "<crm>"
        def wizard_steps(self): return wizard_steps.steps()
        ...                                 # is_connected, connect_url, setup_url, ...
    registry.register(MyCrm())

    # the integration's urls.py (its ``app_name`` must equal the kind key)
    app_name = "<crm>"
    urlpatterns = [*wizard.urls("<crm>"), ...own views...]

``wizard.urls(kind_key)`` gives, under ``a/<account_slug>/<kind_key>/<connector_id>/wizard/``:
``<kind>:wizard`` (index: the first step not done), ``<kind>:wizard-step`` (``<step_key>/``),
``<kind>:wizard-owners`` (``owners/``, owner mapping, only when the kind ``maps_owners``),
``<kind>:wizard-review`` (``review/``: each step's settings in words, "Send a test booking"
through ``apps.connectors.test_bookings``, and "Go live", ``services.go_live``). The
navigation numbers the pages "Step n of N", the same for every CRM: the connection (the
kind's connect page), the kind's steps, owner mapping, review and go live.
All views are for Administrators only (``account_view(role=Role.ADMINISTRATOR)``); staff get
403, other accounts 404. The wizard is locked (a page with the connect/reconnect button from
``CrmIntegration.connect_url``) while ``CrmIntegration.is_connected(connector)`` is false.

Each step page: the step navigation (done steps ticked), the form (buttons "Save and continue",
and "Skip (keep defaults)" when ``has_defaults``), and the preview panel
(``apps.connectors.preview``): pick a sample booking or paste a webhook payload, see the plan
the saved settings produce. Steps done are kept in ``connector.settings["wizard"]["done"]``.

Form conventions: forms receive ``connector=`` only if they accept it (declare
``def __init__(self, *args, connector=None, **kwargs)``); validation messages should be plain
words. ``WizardStep.export`` (optional) overrides how ``apps.connectors.settings_io`` turns a
step into YAML; by default the form's fields are exported from the form's initial data and
imported by binding the form, so the import validates exactly as the wizard does
(``importable=False``: the kind's import hook sets the step instead). Forms are also built for a
*staged* connector (``apps.connectors.staging``) during an import: they must read settings rows
with ``staging.row_for`` / ``connector_id=connector.pk`` and write nothing before ``save``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse

from apps.accounts.models import Role
from apps.accounts.permissions import account_view

from . import owner_mapping, registry, services, test_bookings
from . import preview as preview_module
from .errors import CrmError, crm_error_text
from .forms import choices_in_words
from .models import Connector, ConnectorStatus

DONE_KEY = "done"


@dataclass(frozen=True)
class WizardStep:
    key: str
    title: str
    form_class: type[forms.BaseForm]
    #: (connector) -> model instance for a ModelForm (created with defaults when missing).
    get_instance: Callable[[Connector], Any] | None = None
    #: (connector) -> extra keyword arguments for the form (e.g. choices read from the CRM).
    form_kwargs: Callable[[Connector], dict[str, Any]] | None = None
    #: The step has defaults, so it can be skipped ("Skip" keeps them).
    has_defaults: bool = True
    #: (connector) -> bool. Default: the step was saved or skipped once.
    is_done: Callable[[Connector], bool] | None = None
    #: (connector, form) -> None. Default: ``form.save()`` for ModelForms.
    save: Callable[[Connector, forms.BaseForm], None] | None = None
    description: str = ""
    template: str = "connectors/wizard_step.html"
    #: (connector) -> dict for YAML export (default: the form's field values).
    export: Callable[[Connector], dict[str, Any]] | None = None
    #: False: an import does not bind this step's form; the kind's ``import_settings`` sets it
    #: from a top-level section of the file (the Salesforce connection, from ``connection``).
    importable: bool = True
    #: (connector) -> str. Re-read what the step's choices come from in the CRM (its cached
    #: metadata) and say what changed, in plain words. Offered as a button (``refresh_label``)
    #: next to the form; called with no transaction open (it talks to the CRM).
    refresh: Callable[[Connector], str] | None = None
    refresh_label: str = "Re-read from the CRM"
    #: (the step's form) -> [(label, value)]: its settings in words on the review page.
    #: Default: every visible field (``step_summary``); a row editor lists its filled rows
    #: (``mapping_table_lines``), not the spare empty rows it offers.
    summary: Callable[[forms.BaseForm], list[tuple[str, str]]] | None = None

    # --- helpers used by the views and by settings_io -----------------------------------
    def build_form(self, connector: Connector, data=None, **extra) -> forms.BaseForm:
        kwargs: dict[str, Any] = dict(self.form_kwargs(connector) if self.form_kwargs else {})
        kwargs.update(extra)
        if self.get_instance is not None:
            kwargs["instance"] = self.get_instance(connector)
        if _accepts_connector(self.form_class):
            kwargs["connector"] = connector
        return choices_in_words(self.form_class(data, **kwargs))

    def save_form(self, connector: Connector, form: forms.BaseForm) -> None:
        if self.save is not None:
            self.save(connector, form)
        elif hasattr(form, "save"):
            form.save()

    @property
    def offers_refresh(self) -> bool:
        """For templates (which would call ``refresh`` itself)."""
        return self.refresh is not None

    def done(self, connector: Connector) -> bool:
        if self.is_done is not None:
            return self.is_done(connector)
        return self.key in done_steps(connector)


def _accepts_connector(form_class: type) -> bool:
    for klass in form_class.__mro__:
        init = vars(klass).get("__init__")
        if init is not None and "connector" in inspect.signature(init).parameters:
            return True
    return False


def steps_for(connector: Connector) -> list[WizardStep]:
    kind = registry.get(connector.kind)
    if kind is None:
        return []
    return list(kind.wizard_steps())


def get_step(connector: Connector, key: str) -> WizardStep:
    for step in steps_for(connector):
        if step.key == key:
            return step
    raise Http404("No such wizard step.")


def done_steps(connector: Connector) -> list[str]:
    return list((connector.settings or {}).get("wizard", {}).get(DONE_KEY, []))


def mark_done(connector: Connector, key: str) -> None:
    """Record a step as done (saved or skipped); safe under concurrent saves."""
    with transaction.atomic():
        fresh = Connector.objects.select_for_update().get(pk=connector.pk)
        settings = dict(fresh.settings or {})
        wizard = dict(settings.get("wizard") or {})
        done = list(wizard.get(DONE_KEY) or [])
        if key not in done:
            done.append(key)
        wizard[DONE_KEY] = done
        settings["wizard"] = wizard
        fresh.settings = settings
        fresh.save(update_fields=["settings", "updated_at"])
    connector.settings = settings


def is_connected(connector: Connector) -> bool:
    kind = registry.get(connector.kind)
    if kind is None:
        return True
    return bool(kind.is_connected(connector))


CONNECTION = "connection"
OWNERS = "owners"
REVIEW = "review"


def navigation(request, connector: Connector, current: str = "") -> list[dict[str, Any]]:
    """The step navigation, numbered: [{key, title, url, done, current, number}].

    The same order for every CRM: the connection (the kind's connect page), the kind's steps,
    owner mapping (when the kind maps owners), then "Review and go live". A kind step keyed
    ``connection`` (Salesforce's) is the connection itself, so it is listed once, first.
    """
    ns = connector.kind
    account_slug = connector.account.slug
    kind = registry.get(connector.kind)
    steps = steps_for(connector)
    own_connection = next((step for step in steps if step.key == CONNECTION), None)
    items = []
    if kind is not None and kind.connect_url(connector):
        items.append({
            "key": CONNECTION,
            "title": own_connection.title if own_connection else "Connection",
            "url": kind.connect_url(connector),
            "done": is_connected(connector),
        })
    items += [
        {
            "key": step.key,
            "title": step.title,
            "url": reverse(f"{ns}:wizard-step", args=[account_slug, connector.pk, step.key]),
            "done": step.done(connector),
        }
        for step in steps if step.key != CONNECTION
    ]
    if kind is not None and kind.maps_owners:
        items.append({
            "key": OWNERS,
            "title": "Owner mapping",
            "url": reverse(f"{ns}:wizard-owners", args=[account_slug, connector.pk]),
            "done": owner_mapping.is_done(connector),
        })
    items.append({
        "key": REVIEW,
        "title": "Review and go live",
        "url": reverse(f"{ns}:wizard-review", args=[account_slug, connector.pk]),
        "done": connector.is_live,
    })
    for number, item in enumerate(items, start=1):
        item["number"] = number
        item["current"] = item["key"] == current
    return items


def progress(connector: Connector) -> dict[str, Any]:
    """For the account page: the first open step of a draft, "step n of N" (``navigation``)."""
    nav = navigation(None, connector)
    open_item = next((item for item in nav if not item["done"]), nav[-1])
    return {"number": open_item["number"], "total": len(nav), "title": open_item["title"],
            "url": open_item["url"]}


def _connector(account, connector_id: int, kind_key: str) -> Connector:
    return get_object_or_404(Connector, account=account, pk=connector_id, kind=kind_key)


def _locked(request, account, connector: Connector):
    kind = registry.get(connector.kind)
    connect_url = kind.connect_url(connector) if kind else ""
    # A disconnected connector keeps its settings: they stay readable (in words, as on the
    # review page) until it is reconnected; a connector never connected has none yet.
    sections = ([s for s in review_sections(connector) if s["key"] not in (CONNECTION, REVIEW)]
                if connector.status == ConnectorStatus.DISCONNECTED else [])
    return render(
        request,
        "connectors/wizard_locked.html",
        {"account": account, "connector": connector, "connect_url": connect_url, "sections": sections},
        status=200,
    )


@account_view(role=Role.ADMINISTRATOR)
def wizard_index(request, account, connector_id: int, kind_key: str):
    connector = _connector(account, connector_id, kind_key)
    if not is_connected(connector):
        return _locked(request, account, connector)
    steps = steps_for(connector)
    if not steps:
        raise Http404("This connector has no setup wizard.")
    first = next((s for s in steps if not s.done(connector)), steps[0])
    return redirect(f"{kind_key}:wizard-step", account.slug, connector.pk, first.key)


@account_view(role=Role.ADMINISTRATOR)
def wizard_step(request, account, connector_id: int, step_key: str, kind_key: str):
    connector = _connector(account, connector_id, kind_key)
    if not is_connected(connector):
        return _locked(request, account, connector)
    step = get_step(connector, step_key)
    steps = steps_for(connector)
    index = [s.key for s in steps].index(step.key)
    next_step = steps[index + 1] if index + 1 < len(steps) else None
    action = request.POST.get("action", "save") if request.method == "POST" else ""

    def after_step():
        if next_step is not None:
            return redirect(f"{kind_key}:wizard-step", account.slug, connector.pk, next_step.key)
        unfinished = next((s for s in steps if not s.done(connector)), None)
        if unfinished is not None:  # e.g. a step whose CRM now asks for more (is_done)
            messages.warning(request, f"The setup is not complete: {unfinished.title} still "
                                      "needs your attention.")
            return redirect(f"{kind_key}:wizard-step", account.slug, connector.pk, unfinished.key)
        # The last step of the kind: owner mapping, then the review (which says what is open).
        nav = navigation(request, connector, step.key)
        index = next(i for i, item in enumerate(nav) if item["key"] == step.key)
        return redirect(nav[index + 1]["url"])

    if action == "refresh":
        # Before the form is built: the form reads what the refresh re-reads.
        refresh(request, connector, step)
        return redirect(f"{kind_key}:wizard-step", account.slug, connector.pk, step.key)
    form = step.build_form(connector)
    preview_result = None
    preview_form = preview_module.PreviewForm(account=account)
    if action == "save":
        form = step.build_form(connector, request.POST)
        if form.is_valid():
            step.save_form(connector, form)
            mark_done(connector, step.key)
            messages.success(request, f"{step.title}: saved.")
            return after_step()
        messages.error(request, "Please correct the problems shown below.")
    elif action == "skip":
        if not step.has_defaults:
            messages.error(request, f"{step.title} has no defaults and cannot be skipped.")
        else:
            if step.get_instance is not None:
                step.get_instance(connector)  # creates the defaults row
            mark_done(connector, step.key)
            messages.info(request, f"{step.title}: skipped, the defaults apply.")
            return after_step()
    elif action == "preview":
        preview_form = preview_module.PreviewForm(request.POST, account=account)
        if preview_form.is_valid():
            preview_result = preview_module.run_preview(
                connector,
                sample=preview_form.cleaned_data.get("sample") or "",
                envelope=preview_form.cleaned_data.get("envelope"),
            )
    return render(
        request,
        step.template,
        {
            "account": account,
            "connector": connector,
            "step": step,
            "form": form,
            "nav": navigation(request, connector, step.key),
            "next_step": next_step,
            "preview_form": preview_form,
            "preview": preview_result,
        },
    )


def refresh(request, connector: Connector, step: WizardStep) -> None:
    """The step's "re-read from the CRM" button: its message says what changed."""
    if step.refresh is None:
        messages.error(request, f"{step.title} has nothing to re-read.")
        return
    try:
        messages.success(request, step.refresh(connector))
    except CrmError as exc:
        messages.error(request, crm_error_text(exc, doing="re-reading the values"))


@account_view(role=Role.ADMINISTRATOR)
def wizard_owners(request, account, connector_id: int, kind_key: str):
    connector = _connector(account, connector_id, kind_key)
    if not is_connected(connector):
        return _locked(request, account, connector)
    crm_users = owner_mapping.crm_users(connector)
    if request.method != "POST":
        owner_mapping.auto_match(connector, crm_users)
    formset = owner_mapping.formset(connector, crm_users, request.POST or None)
    if request.method == "POST":
        if formset.is_valid():
            owner_mapping.save_formset(connector, formset, crm_users)
            messages.success(request, "Owner mapping saved.")
            # Like every step's "Save and continue": on to the next (and last) item, the review.
            return redirect(f"{kind_key}:wizard-review", account.slug, connector.pk)
        messages.error(request, "Nothing was saved: please correct the problems shown below.")
    return render(
        request,
        "connectors/wizard_owners.html",
        {
            "account": account,
            "connector": connector,
            "formset": formset,
            "crm_users": crm_users,
            "nav": navigation(request, connector, "owners"),
        },
    )


def _shown_value(field: forms.BoundField) -> str:
    """A field's saved value in words: choice labels, yes/no, "—" when empty."""
    value = field.value()
    if isinstance(field.field, forms.BooleanField):
        return "Yes" if value else "No"
    values = value if isinstance(value, (list, tuple)) else [value]
    labels = {}
    if isinstance(field.field, forms.ChoiceField):
        for key, label in field.field.choices:
            if isinstance(label, (list, tuple)):  # an option group: its name tells same-named options apart
                labels.update({str(k): f"{key}: {v}" for k, v in label})
            else:
                labels[str(key)] = str(label)
    words = [labels.get(str(v), str(v)) for v in values if v not in (None, "")]
    return ", ".join(words) or "—"


def step_summary(connector: Connector, step: WizardStep) -> list[tuple[str, str]]:
    """One (label, value) per visible setting of a step, from its form as it would open now.

    Secrets (password inputs) and hidden fields are left out; a form that cannot be built
    (its choices come from the CRM and the CRM did not answer) gives one line saying so. A step
    with a ``summary`` says it in its own words.
    """
    try:
        form = step.build_form(connector)
    except CrmError as exc:
        return [("Settings", crm_error_text(exc, doing="reading this step's choices"))]
    if step.summary is not None:
        return step.summary(form)
    lines = []
    for field in form:
        if field.is_hidden or isinstance(field.field.widget, forms.PasswordInput):
            continue
        lines.append((str(field.label), _shown_value(field)))
    return lines


def mapping_table_lines(form: forms.BaseForm) -> list[tuple[str, str]]:
    """A mapping table (a form whose ``table_rows`` hold each row's target, source and write
    mode fields) on the review page: "<source>: → <target> (<write mode>)" per row with a
    target, or one line saying nothing extra is written."""
    lines = [(_shown_value(source), f"→ {_shown_value(target)} ({_shown_value(mode).lower()})")
             for target, source, mode in (row["fields"] for row in form.table_rows) if target.value()]
    return lines or [("Mappings", "none: no extra fields are written")]


def review_sections(connector: Connector) -> list[dict[str, Any]]:
    """The review page: each step of the navigation with its settings in words."""
    by_key = {step.key: step for step in steps_for(connector)}
    sections = []
    for item in navigation(None, connector):
        if item["key"] == REVIEW:
            continue
        if item["key"] == OWNERS:
            lines = [(str(row.scheduling_user), row.crm_user_label or row.crm_user_id or "— not mapped —")
                     for row in connector.owner_mappings.select_related("scheduling_user")]
            if not lines:
                lines = [("Booking page owners", "not mapped yet" if not item["done"]
                          else "none known yet (they are learned from bookings)")]
        elif item["key"] == CONNECTION:
            lines = [("Status", connector.get_status_display())]
            if CONNECTION in by_key and item["done"]:
                lines += step_summary(connector, by_key[CONNECTION])
        else:
            lines = step_summary(connector, by_key[item["key"]])
        sections.append({**item, "lines": lines})
    return sections


def record_links_of(connector: Connector, result: test_bookings.TestBookingResult | None
                      ) -> list[tuple[str, str, str]]:
    """The test booking's CRM records as (record type, CRM id, the record's page in the CRM or "")."""
    if result is None:
        return []
    kind = registry.get(connector.kind)
    return [(record_type, crm_id, kind.record_url(connector, record_type, crm_id) if kind else "")
            for record_type, crm_id in result.records]


@account_view(role=Role.ADMINISTRATOR)
def wizard_review(request, account, connector_id: int, kind_key: str):
    """Review and go live: what each step saved, a test booking, the "Go live" button."""
    connector = _connector(account, connector_id, kind_key)
    connected = is_connected(connector)
    if request.method == "POST":
        action = request.POST.get("action", "")
        if not connected:
            messages.error(request, f"Connect {connector.kind_label} first.")
        elif action == "test":
            result = test_bookings.runner().send(connector)
            return redirect(reverse(f"{kind_key}:wizard-review", args=[account.slug, connector.pk])
                            + f"?test={result.job_id}")
        elif action == "go_live":
            was_live = connector.is_live
            services.go_live(connector=connector)
            if not was_live:
                messages.success(request, f"{connector.name} is live: new bookings now sync to "
                                          f"{connector.kind_label}.")
        return redirect(f"{kind_key}:wizard-review", account.slug, connector.pk)
    test_result = None
    if request.GET.get("test", "").isdigit():
        test_result = test_bookings.runner().result(connector, int(request.GET["test"]))
    sections = review_sections(connector)
    return render(
        request,
        "connectors/wizard_review.html",
        {
            "account": account,
            "connector": connector,
            "connected": connected,
            "sections": sections,
            "open_steps": [section for section in sections if not section["done"]],
            "test_result": test_result,
            "test_records": record_links_of(connector, test_result),
            "job_admin_url": (reverse("admin:sync_syncjob_change", args=[test_result.job_id])
                              if test_result and request.user.is_staff else ""),
            "nav": navigation(request, connector, REVIEW),
        },
    )


def urls(kind_key: str) -> list:
    """URL patterns of the wizard of one kind; include them in the integration's urls.py."""
    prefix = f"a/<slug:account_slug>/{kind_key}/<int:connector_id>/wizard/"
    extra = {"kind_key": kind_key}
    return [
        path(prefix, wizard_index, extra, name="wizard"),
        path(prefix + "owners/", wizard_owners, extra, name="wizard-owners"),
        path(prefix + "review/", wizard_review, extra, name="wizard-review"),
        path(prefix + "<slug:step_key>/", wizard_step, extra, name="wizard-step"),
    ]
