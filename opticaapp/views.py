from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.http import require_GET


@require_GET
def health(request):
    """Liveness with a database round trip; no authentication, no secrets."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # noqa: BLE001 - any database failure means "not healthy"
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


# Errors Django answers itself (outside DRF's exception handler): JSON under /api/, like every API error
# (`{"detail", "code", "fields"}`), the usual pages elsewhere.

def _api_error(request, status: int, code: str, detail: str):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": detail, "code": code, "fields": {}}, status=status)
    return None


def bad_request(request, exception=None):
    return _api_error(request, 400, "bad_request", _("Bad request.")) or defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    return (_api_error(request, 403, "permission_denied", _("You do not have permission to do this."))
            or defaults.permission_denied(request, exception))


def page_not_found(request, exception=None):
    return _api_error(request, 404, "not_found", _("Not found.")) or defaults.page_not_found(request, exception)


def server_error(request):
    return (_api_error(request, 500, "server_error", _("Server error: the failure was logged; try again later."))
            or defaults.server_error(request))


def request_too_large(request):
    detail = _("The request is too large.")
    return (_api_error(request, 413, "too_large", detail)
            or render(request, "413.html", {"detail": detail}, status=413))


def favicon(request):
    """Browsers ask for /favicon.ico whatever the page says: send them to the real icon."""
    from django.http import HttpResponsePermanentRedirect
    from django.templatetags.static import static

    return HttpResponsePermanentRedirect(static("favicon.svg"))
