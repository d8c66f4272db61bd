from django.urls import path

from . import views

app_name = "intake"
urlpatterns = [
    path("oncehub/<slug:account_slug>/", views.oncehub_webhook, name="oncehub-webhook"),
]
