"""Message templates with named variables: what a clinic may write, and how it is filled in.

A body is text with `{variable}` placeholders (and `{{`/`}}` for literal braces), nothing more. It is never
handed to str.format: a format spec (`{patient_name:>999999999}`), a conversion (`!r`) or attribute and index
access (`{clinic.__class__}`, `{clinic[0]}`) would let whoever writes a canned reply build huge texts, raise on
every page that shows it, or read Python internals."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

VARIABLES = ("patient_first_name", "patient_name", "date", "time", "provider", "clinic", "address",
             # Filled in by the optical shop's messages (orders and recalls); empty elsewhere.
             "order", "balance_due", "opening_hours")

# WhatsApp's limit for one text message; no filled-in template is longer.
MAX_RENDERED = 4096

# A doubled brace, a placeholder without nested braces, or a brace on its own (unbalanced).
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_LITERAL_BRACES = {"{{": "{", "}}": "}"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d*")


def _placeholders(body: str):
    """(name or None for a lone brace, the text as written) for every placeholder and lone brace."""
    for match in _TOKEN.finditer(body):
        if match.group(0) not in _LITERAL_BRACES:
            yield match.group(1), match.group(0)


def template_variables(body: str) -> set[str]:
    return {name for name, _token in _placeholders(body) if name is not None}


def validate_template_body(body: str) -> None:
    unknown, not_plain = [], []
    for name, token in _placeholders(body):
        if name is None:
            raise ValidationError(
                _("The text has an unbalanced brace. Write {{ or }} for a literal brace."), code="unbalanced_brace")
        if not _NAME.fullmatch(name):
            not_plain.append(token)
        elif name not in VARIABLES:
            unknown.append(name if name and not name.isdigit() else token)
    if not_plain:
        raise ValidationError(
            _("Write variables as plain names, like {patient_name}; %(found)s is not allowed."),
            params={"found": ", ".join(dict.fromkeys(not_plain))}, code="not_plain_variable",
        )
    if unknown:
        raise ValidationError(
            _("Unknown variable(s): %(unknown)s. Available: %(available)s."),
            params={"unknown": ", ".join(sorted(set(unknown))),
                    "available": ", ".join(f"{{{v}}}" for v in VARIABLES)},
            code="unknown_variable",
        )


def render_template(body: str, context: dict[str, str]) -> str:
    """Fill in the known variables; anything else (a body saved before these rules) stays as written."""

    def replace(match: re.Match) -> str:
        written, name = match.group(0), match.group(1)
        if written in _LITERAL_BRACES:
            return _LITERAL_BRACES[written]
        if name in VARIABLES:
            return str(context.get(name, ""))
        return written

    return _TOKEN.sub(replace, body)[:MAX_RENDERED]


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
