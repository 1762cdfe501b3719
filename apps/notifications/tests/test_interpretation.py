"""The meaning of a reply as people write it, against a table of real-world answers."""

import pytest

from apps.notifications.interpretation import interpret, normalize
from apps.notifications.tests.reply_table import REPLIES

CLINIC_WORDS = {"confirm": {"1", "si", "confirmo", "confirmar", "ok"}, "cancel": {"2", "no", "cancelar", "cancelo"},
                "callback": {"3", "llamar", "llamenme", "llamame", "call me"}}


def test_the_table_holds_at_least_forty_real_replies():
    assert len(REPLIES) >= 40
    assert len({text for text, _meaning in REPLIES}) == len(REPLIES)


@pytest.mark.parametrize(("text", "meaning"), REPLIES)
def test_a_reply_means_what_the_patient_meant(text, meaning):
    assert interpret(text, keywords=CLINIC_WORDS) == meaning


def test_folding_drops_case_accents_punctuation_and_keeps_emoji_as_words():
    assert normalize("  ¡Sí, CONFIRMO! ") == "si confirmo"
    assert normalize("👍🏻 ok") == "👍 ok"


def test_a_digit_only_answers_when_the_clinic_s_words_give_it_a_meaning():
    assert interpret("1", keywords={"confirm": {"vale"}}) is None
    assert interpret("4", keywords=CLINIC_WORDS) is None


def test_the_clinic_s_own_words_count_inside_a_short_reply():
    assert interpret("anulo la cita", keywords={"cancel": {"anulo"}}) == "cancel"
