from django import template

from apps.accounts.selectors import account_ids_for

from ..alerts import open_incidents_for

register = template.Library()


@register.simple_tag(takes_context=True)
def open_incidents(context):
    """Open incidents of the accounts the signed-in user may see (all for superusers)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return []
    scope = None if user.is_superuser else account_ids_for(user)
    if scope is not None and not scope:
        return []
    return open_incidents_for(scope)
