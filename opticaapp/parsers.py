"""The API's JSON parser: DRF's, plus a 400 naming the field for input PostgreSQL cannot store.

Its own module because DRF reads DEFAULT_PARSER_CLASSES while importing its views.
"""

import codecs

from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers, serializers
from rest_framework.utils import json

from apps.common.validation import MAX_JSON_DEPTH, unstorable_text_error


def _too_deep() -> str:
    return _("Nested deeper than %(depth)s levels.") % {"depth": MAX_JSON_DEPTH}


def _unstorable(data, path: str = ""):
    """The first (field path, message) of text PostgreSQL cannot store, or of nesting deeper than allowed."""
    stack = [(data, path, 0)]
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return where or "non_field_errors", _too_deep()
        if isinstance(value, str):
            if (message := unstorable_text_error(value)):
                return where or "non_field_errors", message
        elif isinstance(value, dict):
            for key, item in value.items():
                name = f"{where}.{key}" if where else str(key)
                if (message := unstorable_text_error(str(key))):
                    return name, message
                stack.append((item, name, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{where}.{index}" if where else str(index), depth + 1)
                         for index, item in enumerate(value))
    return None


class JSONParser(parsers.JSONParser):
    """DRF's parser, plus a 400 naming the field for NUL bytes, lone surrogates and absurd nesting.

    Serializer fields reject NUL, but not surrogates, and raw reads of request.data bypass them:
    either reaches PostgreSQL as a 500. Nesting is bounded so json cannot hit the recursion limit.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = codecs.getreader(encoding)(stream).read()
        except UnicodeDecodeError as exc:
            raise exceptions.ParseError(_("The body is not valid %(encoding)s text.") % {"encoding": encoding}) from exc
        try:
            data = json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except RecursionError:
            raise serializers.ValidationError({"non_field_errors": [_too_deep()]}) from None
        except ValueError as exc:
            raise exceptions.ParseError(_("JSON parse error - %(error)s") % {"error": exc}) from exc
        if (problem := _unstorable(data)):
            field, message = problem
            raise serializers.ValidationError({field: [message]})
        return data
