"""The one decision on whether the clinic may message a patient: every sender asks it."""

from types import SimpleNamespace

import pytest

from apps.notifications.eligibility import Purpose, whatsapp_refusal

ON, OFF = SimpleNamespace(whatsapp_enabled=True), SimpleNamespace(whatsapp_enabled=False)


def _patient(**overrides):
    values = {"phone": "+573001112233", "whatsapp_consent": True, "whatsapp_opted_out": False, "is_active": True}
    return SimpleNamespace(**{**values, **overrides})


@pytest.mark.parametrize(("clinic", "patient", "purpose", "answers_stop", "expected"), [
    (OFF, _patient(), Purpose.ANSWER, False, "whatsapp_disabled"),
    (ON, None, Purpose.ANSWER, False, ""),
    (ON, None, Purpose.CLINIC, False, "no_patient"),
    (ON, _patient(whatsapp_opted_out=True, phone=""), Purpose.CLINIC, False, "opted_out"),
    (ON, _patient(whatsapp_opted_out=True), Purpose.ANSWER, True, ""),
    (ON, _patient(whatsapp_consent=False), Purpose.ANSWER, False, ""),
    (ON, _patient(phone=""), Purpose.STAFF, False, "no_phone"),
    (ON, _patient(whatsapp_consent=False), Purpose.STAFF, False, "no_consent"),
    (ON, _patient(is_active=False), Purpose.STAFF, False, ""),
    (ON, _patient(is_active=False), Purpose.CLINIC, False, "inactive"),
    (ON, _patient(), Purpose.CLINIC, False, ""),
])
def test_the_refusal_names_the_first_reason(clinic, patient, purpose, answers_stop, expected):
    assert whatsapp_refusal(settings=clinic, patient=patient, purpose=purpose, answers_stop=answers_stop) == expected
