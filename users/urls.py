from django.contrib.auth.views import LogoutView
from django.urls import path

from . import api, views

urlpatterns = [
    path("login/", views.ParleyLoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("register/", views.register, name="register"),
    path("settings/", views.account_settings, name="settings"),
    path("settings/profile", views.profile_update, name="profile_update"),
    path("settings/logout-everywhere", views.logout_everywhere, name="logout_everywhere"),
    path("settings/notifications", views.notification_settings, name="notification_settings"),
    path("password-reset/", views.ParleyPasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", views.ParleyPasswordResetDoneView.as_view(), name="password_reset_done"),
    path("password-reset/done/", views.ParleyPasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("password-reset/<uidb64>/<token>/", views.ParleyPasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("staff/users/", views.staff_users, name="staff_users"),
    path("staff/users/<int:pk>/approve", views.user_approve, name="user_approve"),
    path("staff/users/<int:pk>/delete", views.user_delete, name="user_delete"),
    path("api/auth/register", api.register, name="api_register"),
    path("api/auth/login", api.login_view, name="api_login"),
    path("api/auth/logout", api.logout_view, name="api_logout"),
    path("api/auth/logout-everywhere", api.logout_everywhere, name="api_logout_everywhere"),
    path("api/me", api.me, name="api_me"),
    path("api/me/password", api.password, name="api_password"),
    path("api/me/notifications", api.me_notifications, name="api_me_notifications"),
    path("api/blocks", api.blocks, name="api_blocks"),
    path("api/blocks/<int:user_id>", api.block_detail, name="api_block"),
]
