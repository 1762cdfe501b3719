"""What a person sees when a page is missing, forbidden or broken: their language, a way back, the icon."""

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def production(settings):
    settings.DEBUG = False


def test_a_missing_page_answers_in_spanish_with_a_way_home(production, client):
    response = client.get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "Esta página no existe" in html and 'href="/"' in html and "favicon.svg" in html


def test_a_forbidden_page_answers_in_the_user_s_language(production, staff_client):
    response = staff_client.get(reverse("notification-settings"))
    assert response.status_code == 403 and "No tiene permiso para abrir esta página" in response.content.decode()
    staff_client.cookies["django_language"] = "en"
    assert "You are not allowed to open this page" in staff_client.get(
        reverse("notification-settings")).content.decode()


def test_a_server_error_page_is_translated_and_needs_no_context(production):
    from django.template.loader import render_to_string
    from django.utils import translation

    with translation.override("es"):
        html = render_to_string("500.html")
    assert "Algo falló de nuestro lado" in html and "no se perdió nada" in html


def test_the_favicon_is_served_where_browsers_look_for_it(production):
    response = Client().get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("favicon.svg")
