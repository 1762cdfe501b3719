"""Settings safety: DEBUG off unless set, a secret key required, `check --deploy` clean in production."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "a-production-like-secret-key-of-sufficient-length-and-entropy-4f9c2e71b0",
    "DJANGO_ALLOWED_HOSTS": "clinica.example.com",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://clinica.example.com",
    "DJANGO_SECURE_SSL_REDIRECT": "1",
    "DJANGO_SECURE_COOKIES": "1",
    "DJANGO_HSTS_SECONDS": "31536000",
    # Required and different with DEBUG off (apps/whatsapp/checks.py).
    "WHATSAPP_BRIDGE_API_KEY": "a-production-like-bridge-api-key-0f3b9c1d7e2a4f6b8c0d",
    "WHATSAPP_EVENTS_SECRET": "a-production-like-events-secret-9e8d7c6b5a4f3e2d1c0b",
}


def _manage(*args, env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    clean.update(env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True,
                          timeout=120)


def test_without_a_secret_key_and_debug_off_the_system_refuses_to_start():
    result = _manage("check", env={"DJANGO_DEBUG": "0"})

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in result.stderr


def test_check_deploy_passes_with_the_documented_production_environment():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr + result.stdout


def test_debug_is_off_unless_set():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_DEBUG"}
    result = _manage("shell", "-c", "from django.conf import settings; print(settings.DEBUG)", env=env)

    assert result.stdout.strip().splitlines()[-1] == "False"


def _bridge_settings(env: dict) -> list[str]:
    code = "from django.conf import settings as s; print(s.WHATSAPP_BRIDGE_URL); print(s.WHATSAPP_BRIDGE_API_KEY)"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("WHATSAPP_BRIDGE_", "WHATSAPP_SERVER_"))}
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, env={**clean, "DJANGO_DEBUG": "1", **env})
    assert result.returncode == 0, result.stderr
    return result.stdout.split()[-2:]  # after any "objects imported" notice of the shell


def test_the_old_node_servers_setting_names_still_reach_the_bridge_and_the_new_ones_win():
    old = {"WHATSAPP_SERVER_URL": "http://10.0.0.5:3000", "WHATSAPP_SERVER_API_KEY": "old-server-key"}
    assert _bridge_settings(old) == ["http://10.0.0.5:3000", "old-server-key"]
    new = {"WHATSAPP_BRIDGE_URL": "http://127.0.0.1:3100", "WHATSAPP_BRIDGE_API_KEY": "new-key"}
    assert _bridge_settings({**old, **new}) == ["http://127.0.0.1:3100", "new-key"]


def test_the_previous_secret_keys_come_from_the_environment_comma_separated_and_never_an_empty_key():
    script = "from django.conf import settings; print(settings.SECRET_KEY_FALLBACKS)"
    rotating = {**PRODUCTION_ENV, "DJANGO_SECRET_KEY_FALLBACKS": " old-key-1, ,old-key-2"}
    result = _manage("shell", "-c", script, env=rotating)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "['old-key-1', 'old-key-2']"
