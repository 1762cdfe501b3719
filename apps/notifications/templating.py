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
