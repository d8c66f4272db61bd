"""The account page's booking-source forms: a pasted signing key, the OnceHub API key (write-only)
and a backfill's date range (SPEC §15)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django import forms
from django.utils import timezone

from apps.intake.oncehub_api import DEFAULT_API_BASE
from apps.intake.source_setup import SECRET_MAX_LENGTH, SECRET_MIN_LENGTH

#: The longest range the page backfills inside one request: a month of bookings is a few API
#: pages (``manage.py backfill`` takes longer ranges, up to ``apps.intake.backfill.MAX_RANGE``).
PAGE_BACKFILL_DAYS = 31


class SourceSecretForm(forms.Form):
    """Paste the signing key the scheduler shows, or leave it blank to generate one."""

    secret = forms.CharField(
        label="Signing key", required=False, strip=True, max_length=SECRET_MAX_LENGTH,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        error_messages={"max_length": f"A signing key has at most {SECRET_MAX_LENGTH} characters."})

    def clean_secret(self) -> str:
        secret = self.cleaned_data["secret"]
        if secret and (len(secret) < SECRET_MIN_LENGTH or any(c.isspace() for c in secret)):
            raise forms.ValidationError(
                f"Paste the whole signing key: at least {SECRET_MIN_LENGTH} characters, without spaces.")
        return secret


class OnceHubApiKeyForm(forms.Form):
    """The key backfill reads OnceHub's bookings with: write-only, never shown again."""

    api_key = forms.CharField(
        label="OnceHub API key", strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        error_messages={"required": "Enter the API key from OnceHub's APIs & Webhooks page."})
    #: Checked against the outbound policy when stored (``oncehub_api.store_api_key``).
    api_base = forms.CharField(label="API address", initial=DEFAULT_API_BASE, max_length=300)


class BackfillRangeForm(forms.Form):
    """Whole days in UTC, both included."""

    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}),
                            error_messages={"required": "Enter the first day to backfill.",
                                            "invalid": "Enter the first day as a date, like 2026-03-01."})
    end = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}),
                          error_messages={"required": "Enter the last day to backfill.",
                                          "invalid": "Enter the last day as a date, like 2026-03-31."})

    def clean(self) -> dict:
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start is None or end is None:
            return cleaned
        today = timezone.now().date()
        if start > today:
            self.add_error("start", "The first day is in the future: no bookings to backfill yet.")
        elif end < start:
            self.add_error("end", "The last day must be on or after the first day.")
        elif (end - start).days + 1 > PAGE_BACKFILL_DAYS:
            self.add_error("end", f"Backfill at most {PAGE_BACKFILL_DAYS} days at a time; "
                                  "split a longer range into months.")
        return cleaned

    def moments(self) -> tuple[datetime, datetime]:
        """The range as moments: the first day's midnight to the end of the last day, or now
        when that is still to come (UTC)."""
        end_day: date = self.cleaned_data["end"]
        start = datetime.combine(self.cleaned_data["start"], time.min, tzinfo=UTC)
        end = min(datetime.combine(end_day + timedelta(days=1), time.min, tzinfo=UTC), timezone.now())
        return start, end
