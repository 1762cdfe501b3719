"""System checks of the production settings that Django's own `check --deploy` does not cover.

With DEBUG off, the key Django sends to the WhatsApp bridge (WHATSAPP_BRIDGE_API_KEY) and the secret
that signs the bridge's events (WHATSAPP_EVENTS_SECRET) must both be set and must differ: one leaked
value must never let someone both drive the bridge and forge its events. These errors stop
`manage.py migrate`, `check` and `runserver`; `check --deploy` also warns about short values.
"""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

MIN_SECRET_LENGTH = 32


def _secrets():
    return (
        ("WHATSAPP_BRIDGE_API_KEY", getattr(settings, "WHATSAPP_BRIDGE_API_KEY", "") or ""),
        ("WHATSAPP_EVENTS_SECRET", getattr(settings, "WHATSAPP_EVENTS_SECRET", "") or ""),
    )


@register(Tags.security)
def bridge_secrets_check(app_configs=None, **kwargs):
    if settings.DEBUG:
        return []
    errors = []
    for name, value in _secrets():
        if not value.strip():
            errors.append(Error(
                f"{name} is not set.",
                hint="Set it in the environment (.env); see .env.example and docs/operations.md.",
                id="whatsapp.E001",
            ))
    (_key_name, key), (_secret_name, secret) = _secrets()
    if key.strip() and key == secret:
        errors.append(Error(
            "WHATSAPP_BRIDGE_API_KEY and WHATSAPP_EVENTS_SECRET are the same value.",
            hint="Generate two different random values (python -c 'import secrets; print(secrets.token_urlsafe(48))').",
            id="whatsapp.E002",
        ))
    return errors


@register(Tags.security, deploy=True)
def bridge_secrets_strength_check(app_configs=None, **kwargs):
    if settings.DEBUG:
        return []
    return [
        Warning(
            f"{name} is shorter than {MIN_SECRET_LENGTH} characters.",
            hint="Use a long random value (python -c 'import secrets; print(secrets.token_urlsafe(48))').",
            id="whatsapp.W001",
        )
        for name, value in _secrets()
        if value.strip() and len(value) < MIN_SECRET_LENGTH
    ]
