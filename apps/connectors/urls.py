from django.urls import path

from . import source_views, views

app_name = "connectors"
urlpatterns = [
    path("a/<slug:account_slug>/", views.account_overview, name="account"),
    path("a/<slug:account_slug>/connectors/new/", views.connector_edit, name="connector-new"),
    path("a/<slug:account_slug>/connectors/<int:connector_id>/", views.connector_edit,
         name="connector-edit"),
    path("a/<slug:account_slug>/connectors/<int:connector_id>/refresh/", views.connector_refresh,
         name="connector-refresh"),
    path("a/<slug:account_slug>/sources/<str:source>/secret/reveal/", source_views.source_secret_reveal,
         name="source-secret-reveal"),
    path("a/<slug:account_slug>/sources/<str:source>/secret/", source_views.source_secret_replace,
         name="source-secret-replace"),
    path("a/<slug:account_slug>/sources/<str:source>/switch/", source_views.source_switch,
         name="source-switch"),
    path("a/<slug:account_slug>/sources/oncehub/api-key/", source_views.oncehub_api_key,
         name="oncehub-api-key"),
    path("a/<slug:account_slug>/sources/backfill/", source_views.source_backfill, name="source-backfill"),
]
