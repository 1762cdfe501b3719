from django.db import connection
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from django.views.defaults import page_not_found

from apps.common.middleware import API_PREFIX, api_error


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


def not_found(request, exception=None):
    """Under /api/, a URL that matches no route (`/api/patients/abc/`) answers the API's JSON 404."""
    if request.path.startswith(API_PREFIX):
        return api_error(404, "", _("Not found."), code="not_found")
    return page_not_found(request, exception)
