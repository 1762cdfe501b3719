"""The OpenAPI schema generator: drf-spectacular's, plus the error answers of every operation.

Its own module because DRF reads DEFAULT_SCHEMA_CLASS while importing its views.
"""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers
from rest_framework.throttling import ScopedRateThrottle


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="The first problem, prefixed with its field (`field: message`).")
    code = serializers.CharField(help_text="`invalid` for bad input, else DRF's code (`not_found`, …).")
    fields = serializers.DictField(child=serializers.JSONField(),
                                   help_text="Every invalid field with its messages (`non_field_errors` for the "
                                             "rest); a nested input has an object of the same shape instead.")


_ERRORS = {
    "400": "Invalid input: `fields` names each invalid field (also unknown ids, refused state changes and "
           "duplicates, since those depend on data the schema cannot know).",
    "401": "Missing or invalid credentials.",
    "403": "Authenticated, but the role in this organization does not allow it.",
    "404": "No such object in the caller's organization (another clinic's id answers the same), or no such page.",
    "415": "The body is not JSON, a form or a multipart form.",
    "429": "Too many attempts: wait and retry.",
}


def _model_field_is_blank(field) -> bool:
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    try:
        return bool(model and model._meta.get_field(field.source).blank)
    except Exception:  # noqa: BLE001 - a source that is no model field (a property, a dotted path)
        return False


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema, plus the error answers every operation can give, each documented.

    Which errors an operation can answer follows from what it has: inputs give 400, credentials
    401/403, a path id or pages 404, a body 415, a throttle 429.
    """

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        parameters = operation.get("parameters", [])
        for parameter in parameters:
            # Filters read query strings as HTML forms do: `?status=` is the same as no `status` at all.
            if parameter["in"] == "query" and not parameter.get("required"):
                parameter["allowEmptyValue"] = True
        has_body = "requestBody" in operation
        codes = []
        # A change may also be refused for the state it finds (a closed order, a signed visit): 400 too.
        if has_body or self.method != "GET" or any(p["in"] == "query" for p in parameters):
            codes.append("400")
        if any(requirement for requirement in operation.get("security", [])):
            codes += ["401", "403"]
        if any(p["in"] == "path" for p in parameters) or any(p["name"] == "page" for p in parameters):
            codes.append("404")
        if has_body:
            codes.append("415")
        if any(issubclass(throttle, ScopedRateThrottle) for throttle in getattr(self.view, "throttle_classes", [])):
            codes.append("429")
        responses = operation.setdefault("responses", {})
        for code in codes:
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code)
                response["description"] = _ERRORS[code]
                responses[code] = response
        return operation

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        # OpenAPI's `format: time` is RFC 3339's full-time, which requires an offset; times of day here have none.
        if isinstance(field, serializers.TimeField):
            return {"type": "string", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$",
                    "example": "08:30:00", **({"readOnly": True} if field.read_only else {})}
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction == "response" and isinstance(field, serializers.ChoiceField) and not field.allow_blank \
                and _model_field_is_blank(field):
            # A read-only choice of a blank=True model field answers "" until it is set.
            return {"oneOf": [schema, {"type": "string", "enum": [""]}]}
        if direction == "request" and type(field) is serializers.CharField and schema.get("type") == "string":
            # DRF's CharField also takes a number and stores its text.
            return {**{k: v for k, v in schema.items() if k in ("description", "default", "title")},
                    "anyOf": [{k: v for k, v in schema.items() if k not in ("description", "default", "title")},
                              {"type": "number"}]}
        if isinstance(field, serializers.BooleanField) and direction == "request" and schema.get("type") == "boolean":
            # DRF also reads 1/0 and "yes"/"no"-like text as booleans: say so rather than refuse them.
            spelled = sorted({value for value in field.TRUE_VALUES | field.FALSE_VALUES if not isinstance(value, bool)},
                             key=repr)
            schema = {**{k: v for k, v in schema.items() if k != "type"},
                      "anyOf": [{"type": "boolean"}, {"enum": spelled}]}
        return schema
