from django.urls import path

from . import views

app_name = "intake"
urlpatterns = [
    path("oncehub/<slug:account_slug>/", views.oncehub_webhook, name="oncehub-webhook"),
    path("calendly/<slug:account_slug>/", views.calendly_webhook, name="calendly-webhook"),
    path("calcom/<slug:account_slug>/", views.calcom_webhook, name="calcom-webhook"),
]
