"""Shared DRF plumbing: pagination, day filters and JSON errors that name the field."""


from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.common.exceptions import ApplicationError
from apps.common.validation import MAX_DAY, MIN_DAY, validate_day_in_range

PAGE_PARAMS = ("page", "page_size")


def _positive_int_param(request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    # isdecimal() alone would let "²" or "٣" through; the schema promises an integer in ASCII digits.
    if not (raw.isascii() and raw.isdecimal()) or int(raw) < 1:
        raise serializers.ValidationError({name: [_("Enter a whole number of 1 or more.")]})
    return int(raw)


class DayField(serializers.DateField):
    """A calendar day of the clinic for filters, within MIN_DAY..MAX_DAY (a 400 naming the field outside)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validators", []).append(validate_day_in_range)
        help_text = kwargs.pop("help_text", "")
        kwargs["help_text"] = f"{help_text} From {MIN_DAY.isoformat()} to {MAX_DAY.isoformat()}.".strip()
        super().__init__(**kwargs)


class StandardPagination(PageNumberPagination):
    """`page` and `page_size` that are not whole numbers are refused (400) instead of silently ignored."""

    page_size_query_param = "page_size"
    max_page_size = 200
    last_page_strings = ()

    def get_page_size(self, request):
        page_size = _positive_int_param(request, self.page_size_query_param)
        return min(page_size, self.max_page_size) if page_size else self.page_size

    def get_page_number(self, request, paginator):
        return _positive_int_param(request, self.page_query_param) or 1

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] += f" At most {self.max_page_size}; a larger value gives {self.max_page_size}."
            else:
                parameter["description"] += " A page past the last one answers 404."
        return parameters


def _field_errors(detail) -> dict:
    if isinstance(detail, dict):
        return {key: _field_errors(value) if isinstance(value, dict) else [str(v) for v in _as_list(value)]
                for key, value in detail.items()}
    return {"non_field_errors": [str(v) for v in _as_list(detail)]}


def _as_list(value):
    return value if isinstance(value, list) else [value]


def exception_handler(exc, context):
    """Every error is `{"detail": ..., "code": ..., "fields": {field: [messages]}}`.

    Model and service validation errors (Django's ValidationError, ApplicationError) become 400s
    so that a rule enforced below the serializer still reaches the client naming its field.
    """
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, ApplicationError):
        exc = exceptions.ValidationError({exc.field or "non_field_errors": [exc.message]})
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, exceptions.ParseError):
        # A body that is not JSON at all: the field at fault is the body itself.
        exc = exceptions.ValidationError({"body": [str(exc.detail)]})

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _field_errors(exc.detail)
        first_field, first_messages = next(iter(fields.items()), ("non_field_errors", ["Invalid input."]))
        first = first_messages[0] if isinstance(first_messages, list) and first_messages else "Invalid input."
        label = "" if first_field == "non_field_errors" else f"{first_field}: "
        response.data = {"detail": f"{label}{first}", "code": "invalid", "fields": fields}
        response.status_code = status.HTTP_400_BAD_REQUEST
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data = {"detail": str(detail), "code": code, "fields": {}}
    return Response(response.data, status=response.status_code, headers=response.headers)
