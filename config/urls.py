from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from apps.accounts.forms import EmailLoginForm

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(authentication_form=EmailLoginForm), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Invitations (apps/accounts/invitations.py) link here to choose a first password.
    path("accounts/reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("accounts/reset/done/", auth_views.PasswordResetCompleteView.as_view(),
         name="password_reset_complete"),
    path("webhooks/", include("apps.intake.urls")),
    path("", include("apps.accounts.urls")),
    path("", include("apps.connectors.urls")),
    path("", include("apps.integrations.keap.urls")),
    path("", include("apps.integrations.salesforce.urls")),
    path("", include("apps.integrations.hubspot.urls")),
    path("", include("apps.core.urls")),
]
