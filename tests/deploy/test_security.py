"""Production settings: `check --deploy` clean with the documented environment (docs/operations.md),
the bridge key and the events secret required and different, on the Django side and the bridge's."""

import os
import re
import subprocess
import sys

import pytest

from whatsapp_bridge import config as bridge_config

from .conftest import ROOT

KEY = "bridge-key-for-the-deploy-tests-6c1f0e9d8b7a6f5e4d3c"
SECRET = "events-secret-for-the-deploy-tests-1a2b3c4d5e6f7a8b9c"

# The production environment of docs/operations.md, with example values.
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "a-production-like-secret-key-of-sufficient-length-and-entropy-77ab01",
    "DJANGO_ALLOWED_HOSTS": "clinica.example.com",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://clinica.example.com",
    "DJANGO_SECURE_SSL_REDIRECT": "1",
    "DJANGO_SECURE_COOKIES": "1",
    "DJANGO_HSTS_SECONDS": "31536000",
    "WHATSAPP_BRIDGE_API_KEY": KEY,
    "WHATSAPP_EVENTS_SECRET": SECRET,
}


def _run(args, env, timeout=120):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "WHATSAPP_", "BRIDGE_"))}
    clean.update(env)
    return subprocess.run(args, cwd=ROOT, env=clean, capture_output=True, text=True, timeout=timeout)


def _check(env, *extra):
    return _run([sys.executable, "manage.py", "check", *extra], env)


def _deploy_issues(result) -> list[str]:
    """Every issue of `check --deploy` but drf-spectacular's OpenAPI naming notes (drf_spectacular.W001): those
    are about the API schema's names, owned by the API apps and reported by tests/test_settings.py."""
    ids = re.findall(r"\(([a-z_]+\.[EWCI]\d+)\)", result.stderr + result.stdout)
    return [issue for issue in ids if issue != "drf_spectacular.W001"]


def test_check_deploy_is_clean_with_the_documented_production_environment():
    result = _check(PRODUCTION_ENV, "--deploy")

    assert result.returncode == 0, result.stderr + result.stdout
    assert _deploy_issues(result) == [], result.stderr + result.stdout


@pytest.mark.parametrize("missing", ["WHATSAPP_BRIDGE_API_KEY", "WHATSAPP_EVENTS_SECRET"])
def test_with_debug_off_a_missing_bridge_secret_stops_the_checks(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}

    result = _check(env)

    assert result.returncode != 0
    assert "whatsapp.E001" in result.stderr and f"{missing} is not set" in result.stderr


def test_with_debug_off_the_same_value_for_key_and_secret_is_refused():
    result = _check({**PRODUCTION_ENV, "WHATSAPP_EVENTS_SECRET": KEY})

    assert result.returncode != 0
    assert "whatsapp.E002" in result.stderr


def test_short_secrets_are_a_deploy_warning():
    result = _check({**PRODUCTION_ENV, "WHATSAPP_EVENTS_SECRET": "short"}, "--deploy")

    assert _deploy_issues(result) == ["whatsapp.W001"]


def test_with_debug_on_local_values_are_accepted():
    result = _check({"DJANGO_DEBUG": "1", "WHATSAPP_BRIDGE_API_KEY": "same", "WHATSAPP_EVENTS_SECRET": "same"})

    assert result.returncode == 0, result.stderr


def test_the_bridge_refuses_to_start_when_its_key_and_events_secret_are_equal(tmp_path):
    env = {"BRIDGE_API_KEY": KEY, "BRIDGE_EVENTS_SECRET": KEY, "BRIDGE_EVENTS_URL": "http://127.0.0.1:9/events/",
           "BRIDGE_DATA_DIR": str(tmp_path), "BRIDGE_PORT": "9"}

    result = _run([sys.executable, "-m", "whatsapp_bridge"], env)

    assert result.returncode == 2
    assert "BRIDGE_EVENTS_SECRET must differ from BRIDGE_API_KEY" in result.stderr
    assert KEY not in result.stderr + result.stdout  # the secret itself is never printed


def test_the_production_settings_values():
    code = ("from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
            "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.CSRF_TRUSTED_ORIGINS, s.SECURE_PROXY_SSL_HEADER)")
    result = _run([sys.executable, "manage.py", "shell", "-c", code], PRODUCTION_ENV)

    assert result.stdout.strip().splitlines()[-1] == (
        "True True True 31536000 ['https://clinica.example.com'] ('HTTP_X_FORWARDED_PROTO', 'https')")


def _documented_env() -> dict:
    """The .env of docs/operations.md (section 1.3), its <placeholders> filled in: secret N gets one value."""
    text = (ROOT / "docs" / "operations.md").read_text()
    block = next(b for b in text.split("```sh")[1:] if "DJANGO_DEBUG=0" in b.split("```")[0]).split("```")[0]
    values = {}
    for line in block.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        value = re.sub(r"<secret (\d)[^>]*>", lambda m: f"generated-secret-{m.group(1)}-{'x7Qm2' * 8}", value)
        values[name] = re.sub(r"<[^>]+>", "placeholder", value)
    return values


def test_the_environment_documented_in_operations_md_passes_check_deploy_and_starts_the_bridge_config():
    env = _documented_env()
    assert env["DJANGO_DEBUG"] == "0" and env["BRIDGE_SANDBOX"] == "0"
    assert env["WHATSAPP_BRIDGE_API_KEY"] == env["BRIDGE_API_KEY"] != env["WHATSAPP_EVENTS_SECRET"]
    assert env["WHATSAPP_EVENTS_SECRET"] == env["BRIDGE_EVENTS_SECRET"]

    result = _check(env, "--deploy")

    assert result.returncode == 0, result.stderr + result.stdout
    assert _deploy_issues(result) == [], result.stderr + result.stdout
    settings = bridge_config.load({k: v for k, v in env.items() if k.startswith("BRIDGE_")})
    assert (settings.sandbox, settings.host, settings.port) == (False, "127.0.0.1", 3000)


def test_the_documented_production_environment_trusts_the_one_nginx_in_front_for_client_addresses():
    """nginx (deploy/nginx) replaces X-Forwarded-For with the client's address: exactly one trusted proxy."""
    env = _documented_env()
    template = (ROOT / "deploy" / "nginx" / "opticaapp.conf.template").read_text()
    code = "from django.conf import settings as s; print(s.TRUSTED_PROXY_COUNT, s.AXES_CLIENT_IP_CALLABLE)"

    result = _run([sys.executable, "manage.py", "shell", "-c", code], env)

    assert env["DJANGO_TRUSTED_PROXY_COUNT"] == "1"
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in template
    assert result.stdout.strip().splitlines()[-1] == "1 apps.accounts.lockout.client_ip"
    assert "DJANGO_TRUSTED_PROXY_COUNT=1" in (ROOT / "README.md").read_text()
