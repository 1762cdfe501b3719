from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from apps.common.validation import unstorable_text_error

API_PREFIX = "/api/"


def api_error(status: int, field: str, message: str, code: str = "invalid") -> JsonResponse:
    """The API's error shape (opticaapp.api.exception_handler) for answers given before DRF runs."""
    label = "" if field in ("", "non_field_errors") else f"{field}: "
    return JsonResponse({"detail": f"{label}{message}", "code": code, "fields": {field: [message]} if field else {}},
                        status=status)


class UnstorableInputMiddleware:
    """Query parameters with text PostgreSQL cannot store (NUL, lone surrogates) get a 400 naming the
    parameter before any view runs, so searches and filters that read them raw cannot fail with a 500.

    Bodies are checked where they are read: the API's JSON parser (opticaapp.parsers) and, for the UI's
    forms, form CharFields and the models' clean_fields, which answer with an error beside the field.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        for name, values in request.GET.lists():
            if (message := unstorable_text_error(name)):
                return self._refuse(request, "non_field_errors", message)
            for value in values:
                if (message := unstorable_text_error(value)):
                    return self._refuse(request, name, message)
        return self.get_response(request)

    @staticmethod
    def _refuse(request, field: str, message: str):
        if request.path.startswith(API_PREFIX):
            return api_error(400, field, message)
        return render(request, "400_field.html", {"field": field, "message": message,
                                                  "title": _("This request cannot be processed")}, status=400)
