"""Under the Content-Security-Policy the pages still work in a real browser (Chart.js charts, htmx fragments,
auto-submitting filters, the Swagger docs), and a large patient file is checked and imported by the worker while
the page shows the progress."""

import csv
import io
import re

import pytest
from playwright.sync_api import expect

ROWS = 3000


@pytest.fixture
def csp_page(admin_page):
    """The signed-in admin's page, recording every Content-Security-Policy violation the browser reports."""
    admin_page.context.add_init_script("""
        window.__cspViolations = [];
        document.addEventListener("securitypolicyviolation", function (event) {
            window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
        });
    """)
    messages = []
    admin_page.on("console", lambda message: messages.append(message.text))
    admin_page.csp_console = messages
    return admin_page


def _violations(page) -> list[str]:
    reported = page.evaluate("window.__cspViolations || []")
    return reported + [text for text in page.csp_console if "Content Security Policy" in text]


def test_the_dashboard_draws_its_charts_under_the_policy(csp_page):
    csp_page.goto("/")

    expect(csp_page.locator("#funnel-chart")).to_be_visible()
    csp_page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('funnel-chart'))")
    assert _violations(csp_page) == []


def test_htmx_fragments_and_auto_submitting_filters_work_under_the_policy(csp_page, stack):
    patient_id = stack.sql("SELECT id FROM patients_patient ORDER BY id LIMIT 1")[0][0]

    csp_page.goto(f"/patients/{patient_id}/")
    expect(csp_page.locator("#patient-appointments")).not_to_be_empty()
    csp_page.goto("/appointments/calendar/")
    csp_page.locator("input[name=date]").fill("2031-03-14")
    csp_page.locator("input[name=date]").dispatch_event("change")
    csp_page.wait_for_url(re.compile(r"date=2031-03-14"))
    csp_page.wait_for_load_state("networkidle")  # fill() may fire a change of its own: a second submit
    expect(csp_page.locator("input[name=date]")).to_have_value("2031-03-14")

    assert _violations(csp_page) == []


def test_the_swagger_docs_page_shows_the_api_under_the_policy(csp_page):
    csp_page.goto("/api/docs/")

    expect(csp_page.locator(".opblock").first).to_be_visible(timeout=30_000)
    assert csp_page.locator(".opblock").count() > 10
    assert _violations(csp_page) == []


def _patients_csv(rows: int) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["numero_documento", "nombres", "apellidos", "telefono"])
    for n in range(rows):
        writer.writerow([f"{80_000_000 + n}", "Importado", f"Navegador {n}", f"311{1_000_000 + n}"])
    return buffer.getvalue().encode()


def test_a_big_patient_file_is_checked_and_imported_by_the_worker_with_progress(csp_page, stack):
    csp_page.goto("/patients/import/")
    csp_page.locator("input[type=file]").set_input_files(
        {"name": "pacientes.csv", "mimeType": "text/csv", "buffer": _patients_csv(ROWS)})
    csp_page.locator("#import-form button[type=submit]").click()
    csp_page.wait_for_url(re.compile(r"/patients/import/\d+/$"))

    expect(csp_page.locator("#confirm-import")).to_be_visible(timeout=120_000)
    expect(csp_page.locator("#import-summary")).to_contain_text(str(ROWS))
    csp_page.locator("#confirm-import").click()
    expect(csp_page.locator(".alert-success")).to_contain_text(str(ROWS), timeout=120_000)

    assert stack.sql("SELECT count(*) FROM patients_patient WHERE first_name = 'Importado'")[0][0] == ROWS
    assert _violations(csp_page) == []
    csp_page.goto("/patients/import/")  # a short page for the screenshot taken after each test
