"""Shared DRF plumbing: pagination and JSON errors that name the field."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from apps.common.exceptions import ApplicationError


class StandardPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200


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
