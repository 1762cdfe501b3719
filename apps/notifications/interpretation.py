"""What a short WhatsApp reply to a reminder means, as people actually write it.

Pure functions (no database): the text is folded (case, accents, punctuation), split into words,
and looked up against the clinic's own keywords plus a built-in bilingual lexicon. A reply that
points two ways ("sí, pero no puedo"), hedges ("¿puedo cambiar la hora?") or is too long to be an
answer is left for staff: a wrong automatic cancellation costs more than a message to read.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

CONFIRM, CANCEL, CALLBACK = "confirm", "cancel", "callback"

# Longer messages are conversations, not answers: staff read them.
MAX_ANSWER_WORDS = 10

# Emoji and symbols keep their meaning after folding; each is read as a word of its own.
SYMBOLS = {
    "👍": "👍", "👌": "👍", "✅": "👍", "✔": "👍", "🙌": "👍", "🆗": "ok",
    "👎": "👎", "❌": "👎", "🚫": "👎", "📞": "📞", "☎": "📞",
}

# Built in for every clinic, in the languages the UI speaks; the clinic's keywords add to these.
LEXICON = {
    CONFIRM: {
        "si", "sii", "siii", "claro", "claro que si", "ok", "okay", "okey", "oki", "vale", "listo", "perfecto",
        "de acuerdo", "confirmo", "confirmado", "confirmada", "confirmar", "confirmamos", "confirmando",
        "asistire", "alli estare", "ahi estare", "alla estare", "ahi estaremos", "voy", "si voy", "cuenten conmigo",
        "yes", "yeah", "yep", "sure", "confirm", "confirmed", "i confirm", "i will be there", "i ll be there",
        "ill be there", "see you", "👍",
    },
    CANCEL: {
        "no", "cancelar", "cancelo", "cancela", "cancelen", "cancelada", "cancelado", "anular", "anulo",
        "no puedo", "no podre", "no voy", "no ire", "no asistire", "no puedo ir", "no voy a poder", "no alcanzo",
        "cancel", "cancelled", "canceled", "cant", "can t", "cannot", "can not", "won t", "wont", "will not",
        "not coming", "👎",
    },
    CALLBACK: {
        "llamar", "llamenme", "llameme", "llamame", "llamadme", "me llaman", "me pueden llamar", "llamada",
        "call me", "please call", "phone me", "📞",
    },
}

# Words that turn an answer into a question or a negotiation: staff decide.
HEDGES = {
    "pero", "aunque", "cambiar", "cambio", "reprogramar", "mover", "otra", "otro", "otra hora", "otro dia",
    "mas tarde", "tarde", "temprano", "quizas", "quiza", "tal vez", "creo", "puedo", "podria", "puede",
    "no se", "no lo se", "no estoy seguro", "no estoy segura", "todavia no", "aun no",
    "but", "change", "reschedule", "move", "another", "later", "maybe", "perhaps", "could", "can i",
    "not sure", "don t know", "dont know", "not yet",
}

NEGATION = "no"
OPTION_WORDS = {"opcion", "option", "numero", "number", "la", "el"}


class _NoCombining(dict):
    """str.translate's table that drops combining marks (accents after NFKD), filled as characters come."""

    def __missing__(self, code: int):
        value = self[code] = None if unicodedata.combining(chr(code)) else chr(code)
        return value


_NO_COMBINING = _NoCombining()
_NOT_WORD = re.compile(r"[^\w👍👎📞]+")
_REPEATED = re.compile(r"([a-z])\1{2,}")


def normalize(text: str) -> str:
    """Lower case, no accents, punctuation as spaces, emoji kept as words: "¡Sí, CONFIRMO!" → "si confirmo"."""
    folded = (text or "").casefold()
    if not folded.isascii():  # ASCII has no symbol, and NFKD leaves it as it is
        for symbol, word in SYMBOLS.items():
            folded = folded.replace(symbol, f" {word} ")
        folded = unicodedata.normalize("NFKD", folded).translate(_NO_COMBINING)
    folded = _NOT_WORD.sub(" ", folded)
    folded = _REPEATED.sub(r"\1", folded)  # "siiii" → "si"
    return " ".join(folded.split())


def _contains(words: list[str], phrase: str) -> bool:
    target = phrase.split()
    if not target:
        return False
    size = len(target)
    return any(words[i:i + size] == target for i in range(len(words) - size + 1))


@lru_cache(maxsize=4096)
def _phrase_key(phrase: str) -> str:
    return " ".join(phrase.split())


def _grams(words: list[str]) -> frozenset[str]:
    """Every run of consecutive words, joined by a space: a phrase is in the text when its key is here."""
    return frozenset(" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1))


def _hits(words: list[str], phrases: set[str], grams: frozenset[str] | None = None) -> list[str]:
    """The phrases found in `words`, as _contains finds them (one set lookup each)."""
    grams = _grams(words) if grams is None else grams
    return [phrase for phrase in phrases if (key := _phrase_key(phrase)) and key in grams]


def interpret(text: str, *, keywords: dict[str, set[str]] | None = None) -> str | None:
    """confirm, cancel, callback, or None when staff should read it.

    `keywords` are the clinic's own words per action (already normalised). A reply that is only a
    number ("1", "opción 1") is read against the keywords alone, as the number of a menu option;
    digits inside a sentence ("somos 2") are never answers.
    """
    return interpret_normalized(text, normalize(text), keywords=keywords)


# Every built-in phrase's key: a text none of whose word runs is one of these (nor a clinic keyword)
# means nothing, whatever else it holds.
_LEXICON_KEYS = frozenset(_phrase_key(phrase) for phrases in LEXICON.values() for phrase in phrases)


def interpret_normalized(text: str, normalized: str, *, keywords: dict[str, set[str]] | None = None) -> str | None:
    """interpret(text) when the caller already has normalize(text)."""
    keywords = keywords or {}
    words = normalized.split()
    if len(words) == 2 and words[0] in OPTION_WORDS and words[1].isdigit():
        words = words[1:]
    if not words or len(words) > MAX_ANSWER_WORDS:
        return None
    if len(words) == 1 and words[0].isdigit():
        return next((action for action in (CONFIRM, CANCEL, CALLBACK) if words[0] in keywords.get(action, ())),
                    None)
    grams = _grams(words)
    if grams.isdisjoint(_LEXICON_KEYS) and not any(
            (key := _phrase_key(phrase)) and key in grams
            for phrases in keywords.values() for phrase in phrases if not phrase.isdigit()):
        return None  # no phrase of any meaning: nothing below could find one (most texts for staff)
    found = {action: _hits(words, {p for p in keywords.get(action, set()) if not p.isdigit()} | LEXICON[action],
                           grams) for action in (CONFIRM, CANCEL, CALLBACK)}
    # A phrase inside a longer one of another meaning is not a meaning of its own: the "voy" of
    # "no voy", the "puedo" of "no puedo".
    longer = [p for hits in found.values() for p in hits]
    for action, hits in found.items():
        found[action] = [p for p in hits if not any(p != q and _contains(q.split(), p) for q in longer)]
    hedges = [h for h in _hits(words, HEDGES, grams) if not any(_contains(q.split(), h) for q in longer)]
    if found[CALLBACK] and not found[CONFIRM]:
        return CALLBACK  # "no puedo, llámenme": a call settles it either way
    if hedges or ("?" in (text or "") and len(words) > 1):
        return None
    if found[CANCEL] == [NEGATION] and found[CONFIRM]:
        return None  # "no, confirmo" / "sí no": two ways, staff decide
    meanings = [action for action in (CONFIRM, CANCEL) if found[action]]
    return meanings[0] if len(meanings) == 1 else None
