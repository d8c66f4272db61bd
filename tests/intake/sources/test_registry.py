"""Every booking source is registered once and is one package with the same modules."""

from __future__ import annotations

import importlib

import pytest

from apps.intake.models import BookingSourceKey
from apps.intake.sources import registry
from apps.intake.sources.contract import BookingSource

MODULES = ("signature", "envelope", "lifecycle", "normalize", "source")


def test_every_source_key_has_its_registered_source():
    assert set(registry.SOURCES) == set(BookingSourceKey.values)
    for key, source in registry.SOURCES.items():
        assert isinstance(source, BookingSource) and source.key == key and source.label


@pytest.mark.parametrize("key", sorted(BookingSourceKey.values))
def test_each_source_package_has_the_same_modules(key):
    for name in MODULES:
        module = importlib.import_module(f"apps.intake.sources.{key}.{name}")
        assert module.__doc__, f"{key}.{name} says what it holds"
    signature = importlib.import_module(f"apps.intake.sources.{key}.signature")
    assert registry.get(key).signature_header == signature.HEADER


def test_an_unregistered_key_is_refused():
    with pytest.raises(KeyError):
        registry.get("acuity")
