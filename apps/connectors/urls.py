from django.urls import path

from . import views

app_name = "connectors"
urlpatterns = [
    path("a/<slug:account_slug>/", views.account_overview, name="account"),
    path("a/<slug:account_slug>/connectors/new/", views.connector_edit, name="connector-new"),
    path("a/<slug:account_slug>/connectors/<int:connector_id>/", views.connector_edit,
         name="connector-edit"),
    path("a/<slug:account_slug>/connectors/<int:connector_id>/refresh/", views.connector_refresh,
         name="connector-refresh"),
]
