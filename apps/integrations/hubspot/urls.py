from django.urls import path

from apps.connectors import wizard

from . import views

app_name = "hubspot"
urlpatterns = [
    *wizard.urls("hubspot"),
    path("a/<slug:account_slug>/hubspot/<int:connector_id>/connect/", views.connect, name="connect"),
    path("hubspot/oauth/callback/", views.oauth_callback, name="oauth-callback"),
]
