from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .selectors import accounts_for


@login_required
def home(request):
    return render(request, "accounts/home.html", {"accounts": accounts_for(request.user)})
