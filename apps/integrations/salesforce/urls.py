from django.urls import path

from apps.connectors import wizard

from . import views

app_name = "salesforce"
PREFIX = "a/<slug:account_slug>/salesforce/"
urlpatterns = [
    *wizard.urls("salesforce"),
    path(PREFIX + "new/", views.connect, name="new"),
    path(PREFIX + "<int:connector_id>/connect/", views.connect, name="connect"),
    path(PREFIX + "oauth/callback/", views.oauth_callback, name="oauth-callback"),
    path(PREFIX + "<int:connector_id>/package.zip", views.metadata_package, name="package"),
]
