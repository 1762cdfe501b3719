from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from apps.dashboard import views as dashboard_views
from opticaapp import views

api_patterns = [
    path("health", views.health, name="health"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: the Content-Security-Policy allows no inline script.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("", include("apps.organizations.api.urls")),
    path("", include("apps.appointments.api.urls")),
    path("", include("apps.patients.api.urls")),
    path("", include("apps.notifications.api.urls")),
    path("", include("apps.inbox.api.urls")),
    path("", include("apps.orders.api.urls")),
    path("", include("apps.recalls.api.urls")),
]

urlpatterns = [
    path("", dashboard_views.home, name="home"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("accounts/", include("apps.accounts.urls")),
    path("organizations/", include("apps.organizations.urls")),
    path("appointments/", include("apps.appointments.urls")),
    path("", include("apps.patients.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("whatsapp/", include("apps.whatsapp.urls")),
    path("notifications/", include("apps.notifications.urls")),
    path("inbox/", include("apps.inbox.urls")),
    path("dashboard/", include("apps.dashboard.urls")),
    path("orders/", include("apps.orders.urls")),
    path("recalls/", include("apps.recalls.urls")),
    path("api/", include((api_patterns, "api"))),
]

handler404 = views.page_not_found

admin.site.site_header = "OpticaApp"
admin.site.site_title = "OpticaApp"


handler400 = "opticaapp.views.bad_request"
handler403 = "opticaapp.views.permission_denied"
handler404 = "opticaapp.views.page_not_found"
handler500 = "opticaapp.views.server_error"
