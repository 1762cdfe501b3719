"""A person logs in through a real browser against the real server."""

from tests.browser.conftest import log_in


def test_the_demo_admin_logs_in_and_sees_the_clinic(page):
    log_in(page)

    assert page.locator("#current-organization").inner_text() == "Óptica Demo Bogotá"
    assert page.get_by_role("link", name="Inicio").is_visible()


def test_a_wrong_password_shows_one_generic_message(page):
    page.goto("/accounts/login/")
    page.get_by_label("Correo electrónico").fill("admin@opticaapp.local")
    page.get_by_label("Contraseña").fill("incorrecta")
    page.get_by_role("button", name="Iniciar sesión").click()

    assert page.get_by_role("alert").inner_text().strip() == "El correo o la contraseña no son correctos."
