from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .selectors import accounts_for

# The signing secrets' reveal and rotate views serve every booking source, so they live with
# the account page (apps/connectors/source_views.py, over apps/intake/source_setup.py).


@login_required
def home(request):
    return render(request, "accounts/home.html", {"accounts": accounts_for(request.user)})
