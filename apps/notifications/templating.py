"""Message templates with named variables: what a clinic may write, and how it is filled in."""

from __future__ import annotations

import string

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

VARIABLES = ("patient_first_name", "patient_name", "date", "time", "provider", "clinic", "address",
             # Filled in by the optical shop's messages (orders and recalls); empty elsewhere.
             "order", "balance_due", "opening_hours")


def template_variables(body: str) -> set[str]:
    try:
        return {name for _text, name, _spec, _conv in string.Formatter().parse(body) if name is not None}
    except ValueError as exc:
        raise ValidationError(_("The text has an unbalanced brace: %(error)s. Write {{ or }} for a literal brace."),
                              params={"error": exc}) from exc


def validate_template_body(body: str) -> None:
    names = template_variables(body)
    unknown = sorted(n for n in names if n not in VARIABLES)
    if "" in names:
        unknown = sorted({*unknown, "{}"} - {""})
    if unknown:
        raise ValidationError(
            _("Unknown variable(s): %(unknown)s. Available: %(available)s."),
            params={"unknown": ", ".join(unknown), "available": ", ".join(f"{{{v}}}" for v in VARIABLES)},
            code="unknown_variable",
        )


def render_template(body: str, context: dict[str, str]) -> str:
    # Bodies were validated on save, so only plain names reach format_map.
    return body.format_map({name: context.get(name, "") for name in VARIABLES})
