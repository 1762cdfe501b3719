"""Every page is sent a Content-Security-Policy that allows no inline script without the request's nonce and no
inline event handler; the templates hold none (static/js/app.js does what the handlers did)."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

from apps.patients.tests.factories import PatientFactory

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted([*ROOT.glob("templates/**/*.html"), *ROOT.glob("apps/*/templates/**/*.html")])


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["home", "patient-list", "patient-detail", "calendar", "inbox"])
def test_pages_send_a_policy_whose_inline_scripts_carry_its_nonce(staff_client, organization, page):
    patient = PatientFactory(organization=organization)
    url = reverse(page, args=[patient.pk]) if page == "patient-detail" else reverse(page)

    response = staff_client.get(url)

    assert response.status_code == 200
    policy = _policy(response)
    scripts = policy["script-src"]
    assert "'self'" in scripts and "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    # django-csp adds the nonce only to pages that used it (those with an inline script).
    nonce = next((source for source in scripts if source.startswith("'nonce-")), "'nonce-'")[len("'nonce-"):-1]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    html = response.content.decode()
    for attributes in re.findall(r"<script([^>]*)>", html):
        if 'type="application/json"' in attributes:
            continue  # data (json_script), never run
        assert "src=" in attributes or (nonce and f'nonce="{nonce}"' in attributes), attributes
    assert not re.search(r"\son[a-z]+\s*=", html)


@pytest.mark.django_db
def test_the_login_page_is_sent_the_policy_too(client):
    assert "script-src" in client.get(reverse("login"))["Content-Security-Policy"]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_templates_hold_no_inline_event_handler_and_no_script_without_the_nonce(template):
    text = template.read_text()

    assert not re.search(r"\son(click|change|submit|load|input|keyup|keydown|focus|blur)\s*=", text)
    for attributes in re.findall(r"<script([^>]*)>", text):
        assert "src=" in attributes or 'nonce="{{ request.csp_nonce }}"' in attributes, attributes


@pytest.mark.django_db
def test_the_api_docs_page_loads_its_start_up_script_as_a_file(staff_client):
    page = staff_client.get("/api/docs/")
    html = page.content.decode()

    script_urls = re.findall(r'<script src="([^"]+)"', html)
    start_up = next(url for url in script_urls if "script" in url and "/api/docs/" in url)
    script = staff_client.get(start_up.replace("&amp;", "&"))

    assert page.status_code == 200 and not re.search(r"<script(?![^>]*src=)[^>]*>", html)
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
