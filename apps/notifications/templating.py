"""Message templates with named variables: what a clinic may write, and how it is filled in."""

from __future__ import annotations

import re
import string

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

VARIABLES = ("patient_first_name", "patient_name", "date", "time", "provider", "clinic", "address")


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


_META_NAME = re.compile(r"^[a-z0-9_]{1,512}$")
_META_LANGUAGE = re.compile(r"^[a-z]{2,3}(_[A-Za-z]{2,4})?$")
_META_PARAMETER = re.compile(r"^(?:([a-z0-9_]{1,64})=)?([a-z_]+)$")


def validate_meta_template_name(value: str) -> None:
    if value and not _META_NAME.match(value):
        raise ValidationError(_("Lowercase letters, digits and underscores only, as in WhatsApp Manager."))


def validate_meta_language(value: str) -> None:
    if value and not _META_LANGUAGE.match(value):
        raise ValidationError(_("A language code such as es, es_CO or en_US."))


def meta_parameters_parse(value: str) -> list[tuple[str | None, str]]:
    """"patient_first_name, date" -> [(None, "patient_first_name"), (None, "date")]; name=variable for named."""
    pairs = []
    for item in (part.strip() for part in (value or "").split(",")):
        if not item:
            continue
        match = _META_PARAMETER.match(item)
        if not match or match.group(2) not in VARIABLES:
            raise ValidationError(
                _("Unknown parameter %(item)s. Use the variables %(available)s, or name=variable."),
                params={"item": item, "available": ", ".join(VARIABLES)}, code="unknown_variable",
            )
        pairs.append((match.group(1), match.group(2)))
    if len(pairs) > 20:
        raise ValidationError(_("At most 20 parameters."))
    named = {name is not None for name, _variable in pairs}
    if len(named) > 1:
        raise ValidationError(_("Use positional parameters or named ones (name=variable), not both."))
    return pairs


def validate_meta_parameters(value: str) -> None:
    meta_parameters_parse(value)
