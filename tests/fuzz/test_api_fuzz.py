"""Schemathesis over both OpenAPI specs, against the real gunicorn and bridge processes.

Each run covers every operation its spec lists when it runs (new endpoints are fuzzed as soon as
they exist), authenticated, in a bounded number of cases (tests/fuzz/schemathesis.toml). It fails
on any 5xx, any undocumented status, any response that breaks its schema, any invalid request
accepted, and any refusal that does not name its field. The figures of each run are written to
test-artifacts/fuzz/ and printed.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.browser.stack import DATABASE_NAME, ROOT, start_stack

CONFIG = Path(__file__).with_name("schemathesis.toml")
ARTIFACTS = ROOT / "test-artifacts" / "fuzz"
DEMO_PASSWORD = "opticaapp-demo"


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    log_dir = ARTIFACTS / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    # Production-like: DEBUG off, so errors are the pages and JSON clients see in production.
    stack = start_stack(log_dir, tmp_path_factory.mktemp("fuzz-bridge"), database_name=f"{DATABASE_NAME}_fuzz",
                        with_worker=False, extra_env={"DJANGO_DEBUG": "0", "BRIDGE_ENGINES": "sandbox"})
    yield stack
    stack.stop_all()


def _token(stack, email: str) -> str:
    response = httpx.post(f"{stack.web_url}/api/auth/token/", json={"email": email, "password": DEMO_PASSWORD},
                          timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["token"]


def _fuzz(name: str, schema_url: str, header: str, *filters: str) -> dict:
    report_dir = ARTIFACTS / name
    report_dir.mkdir(parents=True, exist_ok=True)
    report = report_dir / "report.json"
    command = [str(Path(sys.executable).with_name("st")), "--config-file", str(CONFIG), "run", schema_url,
               "--header", header, "--report", "json", "--report-json-path", str(report), "--no-color", *filters]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SCHEMATHESIS_HOOKS": "tests.fuzz.hooks"}
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    (report_dir / "output.txt").write_text(result.stdout + result.stderr)
    data = json.loads(report.read_text())
    figures = {
        "run": name,
        "operations": data["operations"]["tested"],
        "cases": data["test_cases"]["generated"],
        "failures": sum(failure["count"] for failure in data["failures"]),
        "errors": sum(error["count"] for error in data["errors"]),
        "seconds": round(data["running_time"], 1),
    }
    (report_dir / "figures.json").write_text(json.dumps(figures, indent=2))
    print(f"fuzz {name}: {figures}")
    assert result.returncode == 0 and figures["failures"] == figures["errors"] == 0, (
        f"{name}: {figures}\n{result.stdout[-20000:]}{result.stderr[-5000:]}")
    return figures


# Visits and prescriptions are written by optometrists: the clinic owner would only meet their 403s.
CLINICAL_TAGS = ("visits", "prescriptions")


def _tag_filters(option: str) -> list[str]:
    return [part for tag in CLINICAL_TAGS for part in (option, tag)]


def test_the_django_api_answers_every_input_as_its_schema_says(servers):
    owner = _token(servers, "admin@opticaapp.local")
    optometrist = _token(servers, "optometra@opticaapp.local")
    schema_url = f"{servers.web_url}/api/schema/?format=json"

    clinic = _fuzz("django", schema_url, f"Authorization: Token {owner}", *_tag_filters("--exclude-tag"))
    clinical = _fuzz("django-optometrist", schema_url, f"Authorization: Token {optometrist}",
                     *_tag_filters("--include-tag"))

    assert clinic["operations"] + clinical["operations"] >= 44


def test_the_bridge_answers_every_input_as_its_schema_says(servers):
    figures = _fuzz("bridge", f"{servers.bridge_url}/openapi.json", f"X-API-Key: {servers.env['BRIDGE_API_KEY']}")
    assert figures["operations"] >= 15
