"""Filling a template for one patient and appointment, in the patient's language and clinic's time."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.dateformat import format as date_format

from apps.common.templatetags.dates_ui import day_format
from apps.notifications.defaults import DEFAULT_TEMPLATES
from apps.notifications.models import MessageTemplate
from apps.notifications.templating import meta_parameters_parse, render_template


def language_for(patient) -> str:
    codes = {code for code, _name in settings.LANGUAGES}
    language = getattr(patient, "preferred_language", "") or settings.LANGUAGE_CODE
    return language if language in codes else settings.LANGUAGE_CODE


def template_bodies(*, organization, kinds: list[str], language: str) -> dict[str, str]:
    """The clinic's own wording where it has one, else the built-in one; one query for all kinds."""
    own = dict(MessageTemplate.objects.filter(organization=organization, kind__in=kinds, language=language)
               .values_list("kind", "body"))
    builtin = DEFAULT_TEMPLATES.get(language) or DEFAULT_TEMPLATES["es"]
    return {kind: own.get(kind) or builtin[kind] for kind in kinds}


def template_body(*, organization, kind: str, language: str) -> str:
    return template_bodies(organization=organization, kinds=[kind], language=language)[kind]


def context_for(*, organization, patient=None, appointment=None, language: str,
                cache: dict | None = None) -> dict[str, str]:
    """The variables of a message; `cache` (a dict a batch keeps) remembers the date and time written for
    each (start, time zone, language), which most appointments of a batch share."""
    context = {"clinic": organization.name, "address": organization.address or ""}
    if patient is not None:
        context.update(patient_first_name=patient.first_name, patient_name=patient.full_name)
    if appointment is not None:
        key = ("when", appointment.start, organization.zone, language)
        when = cache.get(key) if cache is not None else None
        if when is None:
            local = appointment.start.astimezone(organization.zone)
            with translation.override(language):
                when = (date_format(local, day_format()), date_format(local, "H:i"))
            if cache is not None:
                cache[key] = when
        context.update(date=when[0], time=when[1], provider=appointment.provider.display_name)
    return context


def render_for(*, organization, kind: str, patient=None, appointment=None, language: str | None = None) -> str:
    language = language or language_for(patient)
    body = template_body(organization=organization, kind=kind, language=language)
    return render_template(body, context_for(organization=organization, patient=patient, appointment=appointment,
                                             language=language))


def meta_template_row(*, organization, kind: str, language: str) -> MessageTemplate | None:
    """The clinic's template of this kind mapped to an approved Meta template, if any."""
    return (MessageTemplate.objects.filter(organization=organization, kind=kind, language=language)
            .exclude(meta_template_name="").first())


LOOK_UP = object()


def meta_template_for(*, organization, kind: str, language: str, context: dict[str, str],
                      template=LOOK_UP) -> dict | None:
    """The Cloud API template a message of this kind goes out as, filled in; None when none is set.

    `template` (from meta_template_row) lets a batch read the mapping once per clinic and language."""
    if template is LOOK_UP:
        template = meta_template_row(organization=organization, kind=kind, language=language)
    if template is None:
        return None
    return {
        "name": template.meta_template_name,
        "language": template.meta_language,
        # Meta refuses an empty parameter, so a variable with no value goes as a dash.
        "parameters": [{"name": name, "text": (context.get(variable) or "-")[:1024]}
                       for name, variable in meta_parameters_parse(template.meta_parameters)],
        "quick_replies": template.meta_quick_replies,
    }
