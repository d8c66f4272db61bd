from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("", views.home, name="home"),
    path("a/<slug:account_slug>/webhook-secret/reveal/", views.reveal_secret, name="secret-reveal"),
    path("a/<slug:account_slug>/webhook-secret/rotate/", views.rotate_secret, name="secret-rotate"),
]
