"""Templates and canned replies take named variables only: no format specs, conversions, attribute or index
access; the filled-in text has a length limit; a bad body already stored never breaks a page or a send."""

import pytest
from django.core.exceptions import ValidationError

from apps.notifications.templating import MAX_RENDERED, render_template, validate_template_body

CONTEXT = {"patient_first_name": "Ana", "patient_name": "Ana Gómez", "clinic": "Óptica Norte"}

FORMAT_TRICKS = [
    "{patient_name:>999999999999}",
    "{patient_name:>99}",
    "{patient_name!r}",
    "{patient_name!s:^40}",
    "{patient_name:{clinic}}",
    "{patient_name.__class__}",
    "{patient_name[0]}",
    "{clinic.__init__.__globals__}",
    "{}",
    "{0}",
]


@pytest.mark.parametrize("body", FORMAT_TRICKS)
def test_a_body_with_anything_but_a_plain_variable_name_is_refused(body):
    with pytest.raises(ValidationError):
        validate_template_body(f"Hola {body}, le esperamos")


def test_plain_variables_and_doubled_braces_are_accepted():
    validate_template_body("Hola {patient_first_name}: {{cita}} en {clinic}")

    assert render_template("Hola {patient_first_name}: {{cita}} en {clinic}", CONTEXT) == \
        "Hola Ana: {cita} en Óptica Norte"


@pytest.mark.parametrize("body", FORMAT_TRICKS + ["Hola {", "Hola }", "{patient_name"])
def test_a_bad_body_stored_before_the_rule_renders_as_text_and_never_raises(body):
    text = render_template(f"Hola {body}", CONTEXT)

    assert len(text) <= 200
    assert "Ana Gómez" not in text or body == "{patient_name"  # nothing but a plain name is filled in


def test_the_filled_in_text_is_cut_at_the_limit():
    text = render_template("{patient_name} " * 300, {"patient_name": "x" * 150})

    assert len(text) == MAX_RENDERED
