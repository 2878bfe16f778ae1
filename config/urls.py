from django.contrib import admin
from django.urls import include, path

from parley import health, ratelimit

# The admin has its own login page: it counts against the same login limits.
admin.site.login = ratelimit.limit_login_page(admin.site.login)

urlpatterns = [
    path("", include("rooms.urls")),  # first: it holds the long poll (rooms/urls.py)
    path("", include("users.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]

handler400 = "parley.api.handler400"
handler403 = "parley.api.handler403"
handler404 = "parley.api.handler404"
handler500 = "parley.api.handler500"
