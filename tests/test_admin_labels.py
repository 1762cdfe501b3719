"""Django admin in Spanish: every model and field label of our apps is translated."""

import pytest
from django.contrib import admin
from django.utils import translation

SAME_IN_BOTH = {"ID", "color", "OD", "anamnesis", "plan"}


def _labels(model):
    yield model._meta.verbose_name_plural
    for field in model._meta.get_fields():
        if getattr(field, "concrete", False) and field.name != "id":
            yield field.verbose_name


@pytest.mark.parametrize("model", [m for m in admin.site._registry if m.__module__.startswith("apps.")],
                         ids=lambda m: m._meta.label)
def test_every_admin_label_of_our_models_is_in_spanish(model):
    with translation.override("en"):
        english = [str(label) for label in _labels(model)]
    with translation.override("es"):
        spanish = [str(label) for label in _labels(model)]
    untranslated = [en for en, es in zip(english, spanish, strict=True) if en == es and en not in SAME_IN_BOTH]
    assert untranslated == []
