"""Every admin page reads as a person would write it: every registered ModelAdmin's changelist
and change page (as a superuser) has no doubled plural ("Creation ruless"), no acronym in lower
case ("Crm calls", "Url", "Api usage", "Id …") in its headings, labels and filters, and no
timestamp with microseconds."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from apps.intake.models import Booking

pytestmark = pytest.mark.django_db

#: Where names of things are: headings, column headers, labels, filters, breadcrumbs, buttons.
LABEL_TAGS = {"h1", "h2", "h3", "th", "label", "caption", "summary", "legend", "option", "button"}
#: Words that end in "ss" in English (anything else ending in "ss" is a plural made twice).
SS_WORDS = {"access", "address", "success", "process", "business", "class", "less", "pass",
            "progress", "loss", "unless", "express", "harness"}
LOWER_ACRONYM = re.compile(r"\b(Crm|Url|Urls|Api|Oauth|Soql|Ms)\b|^Id\b")
MICROSECONDS = re.compile(r"\d{2}:\d{2}:\d{2}[.,]\d{6}")


class Labels(HTMLParser):
    """The text inside LABEL_TAGS and the breadcrumbs."""

    def __init__(self):
        super().__init__()
        self.depth = 0
        self.texts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in LABEL_TAGS or ("class", "breadcrumbs") in attrs:
            self.depth += 1
            self.texts.append("")

    def handle_endtag(self, tag):
        if tag in LABEL_TAGS and self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth and self.texts:
            self.texts[-1] += data


def problems(html: str) -> list[str]:
    found = [f"microseconds: {m}" for m in MICROSECONDS.findall(html)]
    parser = Labels()
    parser.feed(html)
    for text in (" ".join(t.split()) for t in parser.texts):
        for word in re.findall(r"\b[A-Za-z]+ss\b", text):
            if word.lower() not in SS_WORDS:
                found.append(f"doubled plural {word!r} in {text!r}")
        if LOWER_ACRONYM.search(text):
            found.append(f"acronym in lower case in {text!r}")
    return found


def pages():
    for model in admin.site._registry:
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        yield pytest.param(model, name, id=name.removeprefix("admin:"))


@pytest.fixture
def root(client, django_user_model, world):
    user = django_user_model.objects.create_superuser("root", "root@example.test", "pw")
    client.force_login(user)
    return client


@pytest.mark.parametrize(("model", "name"), list(pages()))
def test_changelist_and_change_page_read_in_words(root, model, name):
    seen = []
    try:
        changelist = reverse(f"{name}_changelist")
    except NoReverseMatch:
        pytest.fail(f"{name} has no changelist")
    response = root.get(changelist)
    assert response.status_code == 200
    seen += problems(response.content.decode())
    row = model._default_manager.order_by("pk").first()
    if row is not None:
        response = root.get(reverse(f"{name}_change", args=[row.pk]))
        assert response.status_code == 200
        seen += problems(response.content.decode())
    assert not seen, "\n".join(seen)


def test_every_model_names_itself():
    for model in admin.site._registry:
        meta = model._meta
        if meta.app_label in ("auth", "axes"):
            continue
        assert "verbose_name" in meta.original_attrs, meta.label
        assert "verbose_name_plural" in meta.original_attrs, meta.label


@pytest.mark.parametrize("page", ["connectors_connector", "connectors_connectorconfiguration"])
def test_connector_lists_name_the_crm_in_words(root, page):
    content = root.get(reverse(f"admin:{page}_changelist")).content.decode()
    cells = " ".join(re.findall(r"<td[^>]*>(.*?)</td>", content, re.S))
    assert "Log only (no CRM)" in cells
    assert "log_only" not in cells


def test_a_bookings_events_are_listed_to_the_second(root, world):
    booking = Booking.objects.get(account=world["alpha"]["account"])
    content = root.get(reverse("admin:intake_booking_change", args=[booking.pk])).content.decode()
    received = timezone.localtime(world["alpha"]["event"].received_at)
    assert f"{received:%Y-%m-%d %H:%M:%S} UTC" in content
    assert not MICROSECONDS.search(content)
