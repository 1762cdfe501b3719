"""Translated labels for model fields and models that were declared without one (admin column headers).

A field's label defaults to its name ("created at"), never translated. Giving every such field an
explicit verbose_name would rewrite a migration in every app for no change in the database;
Django's migrations read the label given at declaration (`_verbose_name`), so the label set here
at start-up translates the admin without touching them. New fields should declare their own.
"""

from django.utils.translation import gettext_lazy, gettext_noop

# The names makemessages extracts; start-up translates the same English text lazily.
FIELD_LABELS = [
    gettext_noop("actor"), gettext_noop("appointment"), gettext_noop("appointment start"),
    gettext_noop("attempts"), gettext_noop("bridge message id"), gettext_noop("button id"),
    gettext_noop("buttons"), gettext_noop("created at"), gettext_noop("created by"), gettext_noop("due at"),
    gettext_noop("event id"), gettext_noop("feed token"), gettext_noop("from value"), gettext_noop("key"),
    gettext_noop("kind"), gettext_noop("last used at"), gettext_noop("message"), gettext_noop("organization"),
    gettext_noop("patient"), gettext_noop("processed at"), gettext_noop("provider"), gettext_noop("reason"),
    gettext_noop("reply to"), gettext_noop("rows"), gettext_noop("rule"), gettext_noop("sending at"),
    gettext_noop("source"), gettext_noop("status"), gettext_noop("to value"), gettext_noop("type"),
    gettext_noop("updated at"), gettext_noop("user"), gettext_noop("visit"), gettext_noop("confirmed by"),
    gettext_noop("content"), gettext_noop("currency"), gettext_noop("next number"), gettext_noop("order"),
    gettext_noop("progress done"), gettext_noop("progress total"), gettext_noop("purpose"), gettext_noop("template"),
    gettext_noop("rejected reason"),
]
MODEL_LABELS = {
    "reminder": (gettext_noop("planned reminder"), gettext_noop("planned reminders")),
    "processed event": (gettext_noop("processed bridge event"), gettext_noop("processed bridge events")),
    "order message": (gettext_noop("order message"), gettext_noop("order messages")),
}


def labels_translate(models) -> None:
    """Give these models' unlabelled fields (and unnamed models) their translated label."""
    for model in models:
        options = model._meta
        if "verbose_name" not in options.original_attrs and options.verbose_name in MODEL_LABELS:
            singular, plural = MODEL_LABELS[options.verbose_name]
            options.verbose_name, options.verbose_name_plural = gettext_lazy(singular), gettext_lazy(plural)
        for field in options.get_fields():
            if getattr(field, "concrete", False) and getattr(field, "_verbose_name", "") is None \
                    and str(field.verbose_name) in FIELD_LABELS:
                field.verbose_name = gettext_lazy(str(field.verbose_name))
