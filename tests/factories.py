"""factory-boy factories for the product's models."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from apps.accounts.models import Account, Membership, Role, WebhookSecret
from apps.connectors.models import Connector, ConnectorStatus

TEST_SECRET = "whsec-test-0123456789abcdef"


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account
        django_get_or_create = ("slug",)
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"account-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").title())

    @factory.post_generation
    def webhook_secret(self, create, extracted, **kwargs):
        if create and extracted is not False:
            WebhookSecret.objects.create(account=self, secret=extracted or TEST_SECRET)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}@example.test")
    email = factory.LazyAttribute(lambda o: o.username)
    is_staff = True
    password = factory.django.Password("pw-for-tests-123")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    account = factory.SubFactory(AccountFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.STAFF


class ConnectorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Connector

    account = factory.SubFactory(AccountFactory)
    kind = "log_only"
    name = factory.Sequence(lambda n: f"Connector {n}")
    status = ConnectorStatus.CONNECTED
