"""SPEC §13 "logins are throttled" (finding 6: 15 wrong passwords, then the right one, logged in).

django-axes locks a username from one address after AXES_FAILURE_LIMIT failures for
AXES_COOLOFF_TIME, on the portal login and the admin login alike (config/settings/base.py).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from apps.accounts.models import Role
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-123"  # tests.factories.UserFactory's
LOCKED = "Too many failed sign-ins. Try again in 15 minutes or ask an administrator to unlock you."
LOGINS = {"portal": reverse("login"), "admin": reverse("admin:login")}


@pytest.fixture
def user():
    return MembershipFactory(role=Role.ADMINISTRATOR, user=UserFactory(username="xavier@example.test")).user


def sign_in(client, login: str, username: str, password: str):
    return client.post(LOGINS[login], {"username": username, "password": password,
                                       "next": reverse("admin:index")})


def assert_signed_in(response) -> None:
    assert response.status_code == 302, response.content.decode()[:500]
    assert response["Location"] == reverse("admin:index")


def assert_locked_out(response) -> None:
    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/html")
    content = response.content.decode()
    assert LOCKED in content
    assert "<html" in content and "Sign-in locked" in content  # a page, not a bare text
    assert "_auth_user_id" not in response.client.session


def fail_until_locked(client, login: str, username: str) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = sign_in(client, login, username, "wrong-password")
        assert response.status_code == 200  # the form again, "enter a correct username and password"
    assert_locked_out(sign_in(client, login, username, "wrong-password"))


def test_defaults_are_five_failures_for_fifteen_minutes():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"


@pytest.mark.parametrize("login", ["portal", "admin"])
def test_the_right_password_is_refused_after_five_wrong_ones(client, user, login):
    fail_until_locked(client, login, user.username)
    assert_locked_out(sign_in(client, login, user.username, PASSWORD))


@pytest.mark.parametrize("login", ["portal", "admin"])
def test_after_the_cool_off_the_right_password_works(client, user, login):
    fail_until_locked(client, login, user.username)
    # Time travel: the recorded failures are now older than the cool-off.
    for attempt in AccessAttempt.objects.filter(username=user.username):
        attempt.attempt_time -= settings.AXES_COOLOFF_TIME + timedelta(seconds=1)
        attempt.save(update_fields=["attempt_time"])
    assert_signed_in(sign_in(client, login, user.username, PASSWORD))


def test_an_operator_unlocks_with_axes_reset(client, user):
    fail_until_locked(client, "portal", user.username)
    assert reset(username=user.username) == 1
    assert_signed_in(sign_in(client, "portal", user.username, PASSWORD))


def test_locking_out_one_user_does_not_lock_another(client, user):
    other = MembershipFactory(role=Role.STAFF, user=UserFactory(username="yvonne@example.test")).user
    fail_until_locked(client, "portal", user.username)
    assert_signed_in(sign_in(client, "portal", other.username, PASSWORD))
    assert_signed_in(sign_in(client, "admin", other.username, PASSWORD))


def test_a_good_sign_in_forgets_earlier_typos(client, user):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "portal", user.username, "wrong-password")
    assert_signed_in(sign_in(client, "portal", user.username, PASSWORD))
    client.logout()
    assert sign_in(client, "portal", user.username, "wrong-password").status_code == 200
    assert_signed_in(sign_in(client, "portal", user.username, PASSWORD))


def test_the_test_clients_logins_keep_working_with_axes(client, user):
    # force_login skips authentication; client.login needs the request django-axes asks for.
    assert client.login(request=HttpRequest(), username=user.username, password=PASSWORD)
    assert client.get(reverse("accounts:home")).status_code == 200
    client.logout()
    client.force_login(user)
    assert client.get(reverse("accounts:home")).status_code == 200
