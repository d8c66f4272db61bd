from django.urls import path

from apps.connectors import wizard

from . import views

app_name = "keap"
urlpatterns = [
    *wizard.urls("keap"),
    path("a/<slug:account_slug>/keap/<int:connector_id>/connect/", views.connect, name="connect"),
    path("keap/oauth/callback/", views.oauth_callback, name="oauth-callback"),
    path("a/<slug:account_slug>/keap/tracking/<str:booking_page_id>/", views.tracking_code, name="tracking"),
]
