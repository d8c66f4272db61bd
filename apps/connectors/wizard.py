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
``<kind>:wizard-owners`` (``owners/``, owner mapping, only when the kind ``maps_owners``).
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

from . import owner_mapping, registry
from . import preview as preview_module
from .errors import CrmError
from .models import Connector

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

    # --- helpers used by the views and by settings_io -----------------------------------
    def build_form(self, connector: Connector, data=None, **extra) -> forms.BaseForm:
        kwargs: dict[str, Any] = dict(self.form_kwargs(connector) if self.form_kwargs else {})
        kwargs.update(extra)
        if self.get_instance is not None:
            kwargs["instance"] = self.get_instance(connector)
        if _accepts_connector(self.form_class):
            kwargs["connector"] = connector
        return self.form_class(data, **kwargs)

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


def navigation(request, connector: Connector, current: str = "") -> list[dict[str, Any]]:
    """The step navigation: [{key, title, url, done, current}] (+ owner mapping when offered)."""
    ns = connector.kind
    account_slug = connector.account.slug
    items = [
        {
            "key": step.key,
            "title": step.title,
            "url": reverse(f"{ns}:wizard-step", args=[account_slug, connector.pk, step.key]),
            "done": step.done(connector),
            "current": step.key == current,
        }
        for step in steps_for(connector)
    ]
    kind = registry.get(connector.kind)
    if kind is not None and kind.maps_owners:
        items.append(
            {
                "key": "owners",
                "title": "Owner mapping",
                "url": reverse(f"{ns}:wizard-owners", args=[account_slug, connector.pk]),
                "done": connector.owner_mappings.exists(),
                "current": current == "owners",
            }
        )
    return items


def _connector(account, connector_id: int, kind_key: str) -> Connector:
    return get_object_or_404(Connector, account=account, pk=connector_id, kind=kind_key)


def _locked(request, account, connector: Connector):
    kind = registry.get(connector.kind)
    connect_url = kind.connect_url(connector) if kind else ""
    return render(
        request,
        "connectors/wizard_locked.html",
        {"account": account, "connector": connector, "connect_url": connect_url},
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
        if next_step is None:
            unfinished = next((s for s in steps if not s.done(connector)), None)
            if unfinished is not None:  # e.g. a step whose CRM now asks for more (is_done)
                messages.warning(request, f"The setup is not complete: {unfinished.title} still "
                                          "needs your attention.")
                return redirect(f"{kind_key}:wizard-step", account.slug, connector.pk, unfinished.key)
            messages.success(request, "The setup is complete: bookings now sync with these settings.")
            return redirect(f"{kind_key}:wizard-step", account.slug, connector.pk, step.key)
        return redirect(f"{kind_key}:wizard-step", account.slug, connector.pk, next_step.key)

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
        messages.error(request, f"Could not re-read from {connector.kind_label}: {exc.message}")


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
            return redirect(f"{kind_key}:wizard-owners", account.slug, connector.pk)
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


def urls(kind_key: str) -> list:
    """URL patterns of the wizard of one kind; include them in the integration's urls.py."""
    prefix = f"a/<slug:account_slug>/{kind_key}/<int:connector_id>/wizard/"
    extra = {"kind_key": kind_key}
    return [
        path(prefix, wizard_index, extra, name="wizard"),
        path(prefix + "owners/", wizard_owners, extra, name="wizard-owners"),
        path(prefix + "<slug:step_key>/", wizard_step, extra, name="wizard-step"),
    ]
