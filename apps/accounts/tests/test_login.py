import pytest
from django.core import mail
from django.urls import reverse

from apps.accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_staff_log_in_with_their_email_whatever_its_case(client, staff_user, password):
    response = client.post(reverse("login"), {"username": staff_user.email.upper(), "password": password})

    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200


def test_a_wrong_password_and_an_unknown_email_get_the_same_message(client, staff_user):
    wrong_password = client.post(reverse("login"), {"username": staff_user.email, "password": "nope"})
    unknown_email = client.post(reverse("login"), {"username": "nadie@clinic.test", "password": "nope"})

    assert wrong_password.status_code == unknown_email.status_code == 200
    assert wrong_password.context["form"].non_field_errors() == unknown_email.context["form"].non_field_errors()
    assert "_auth_user_id" not in client.session


def test_repeated_failures_lock_the_account_out_even_with_the_right_password(client, staff_user, password, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": staff_user.email, "password": "wrong"})

    response = client.post(reverse("login"), {"username": staff_user.email, "password": password})

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_login_page_speaks_spanish_by_default(client):
    response = client.get(reverse("login"))

    assert response.status_code == 200
    assert "Iniciar sesión" in response.content.decode()


def test_pages_need_a_login(client):
    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_password_reset_sends_an_email_with_a_working_link(client, staff_user):
    response = client.post(reverse("password_reset"), {"email": staff_user.email})

    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [staff_user.email]
    link = next(line for line in mail.outbox[0].body.splitlines() if "/accounts/reset/" in line).strip()
    path = link[link.index("/accounts/reset/"):]
    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200
    new_password = {"new_password1": "Nueva-clave-2026", "new_password2": "Nueva-clave-2026"}
    done = client.post(form_page.redirect_chain[-1][0], new_password)
    assert done.status_code == 302
    staff_user.refresh_from_db()
    assert staff_user.check_password("Nueva-clave-2026")


def test_password_change_needs_the_old_password(client, staff_user, password):
    client.force_login(staff_user)

    wrong = client.post(reverse("password_change"), {"old_password": "x", "new_password1": "Otra-clave-2026",
                                                     "new_password2": "Otra-clave-2026"})
    right = client.post(reverse("password_change"), {"old_password": password, "new_password1": "Otra-clave-2026",
                                                     "new_password2": "Otra-clave-2026"})

    assert wrong.status_code == 200 and "old_password" in wrong.context["form"].errors
    assert right.status_code == 302


def test_emails_are_unique_regardless_of_case():
    from django.db import IntegrityError

    UserFactory(email="ana@clinic.test")
    with pytest.raises(IntegrityError):
        UserFactory(email="ANA@clinic.test").save()


def _case_variants(email: str):
    local, domain = email.split("@")
    return [email.upper(), email.lower(), local.capitalize() + "@" + domain.upper(), email.swapcase(),
            email.title(), " " + email.upper() + " "]


def test_changing_the_letter_case_of_the_email_gives_no_extra_guesses(client, staff_user, password, settings):
    variants = _case_variants(staff_user.email)
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": variants[attempt % len(variants)], "password": "wrong"})

    response = client.post(reverse("login"), {"username": staff_user.email.upper(), "password": password})

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_api_token_counts_every_case_variant_against_one_lockout(api_client, staff_user, password, settings):
    variants = _case_variants(staff_user.email)
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        api_client.post("/api/auth/token/", {"email": variants[attempt % len(variants)], "password": "wrong"},
                        format="json")

    response = api_client.post("/api/auth/token/", {"email": staff_user.email.title(), "password": password},
                               format="json")

    assert response.status_code == 429
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "locked_out" and "token" not in response.json()


def test_a_failure_in_the_ui_and_one_in_the_api_count_against_the_same_account(client, api_client, staff_user,
                                                                               password, settings):
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        if attempt % 2:
            client.post(reverse("login"), {"username": staff_user.email.upper(), "password": "wrong"})
        else:
            api_client.post("/api/auth/token/", {"email": staff_user.email, "password": "wrong"}, format="json")

    assert client.post(reverse("login"), {"username": staff_user.email, "password": password}).status_code == 429


def test_users_are_created_with_the_normalised_email():
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(email="  Ana.Gomez@Clinic.TEST ", password="x-clave-segura-9")

    assert user.email == "ana.gomez@clinic.test"


def test_the_admin_creates_users_with_the_normalised_email(client, password):
    from django.contrib.auth import get_user_model

    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)

    response = client.post("/admin/accounts/user/add/", {"email": "Nuevo@Clinic.TEST", "full_name": "Nuevo",
                                                         "password1": "Otra-clave-2026", "password2": "Otra-clave-2026",
                                                         "usable_password": "true", "memberships-TOTAL_FORMS": "0",
                                                         "memberships-INITIAL_FORMS": "0"})

    assert response.status_code == 302, response.content.decode()[:2000]
    assert get_user_model().objects.filter(email="nuevo@clinic.test").exists()
    assert client.post(reverse("login"), {"username": "NUEVO@clinic.test", "password": "Otra-clave-2026"}).status_code \
        == 302
