import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection

from apps.organizations.management.commands.seed_demo import DEMO_ADMIN_EMAIL, demo_password
from apps.organizations.models import Membership, Organization

pytestmark = pytest.mark.django_db


def _row_counts():
    with connection.cursor() as cursor:
        tables = [t for t in connection.introspection.table_names(cursor) if not t.startswith("procrastinate")]
        counts = {}
        for table in tables:
            cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 - names come from introspection
            counts[table] = cursor.fetchone()[0]
    return counts


def test_seed_demo_creates_a_clinic_whose_admin_can_log_in(client):
    call_command("seed_demo")

    assert Organization.objects.count() == 1
    assert Membership.objects.count() >= 4
    response = client.post("/accounts/login/", {"username": DEMO_ADMIN_EMAIL, "password": demo_password()})
    assert response.status_code == 302
    assert get_user_model().objects.get(email=DEMO_ADMIN_EMAIL).is_superuser


def test_running_seed_demo_twice_changes_nothing():
    call_command("seed_demo")
    first = _row_counts()

    call_command("seed_demo")

    assert _row_counts() == first


def test_superusers_reach_the_admin_and_staff_do_not(client, staff_user):
    call_command("seed_demo")
    client.post("/accounts/login/", {"username": DEMO_ADMIN_EMAIL, "password": demo_password()})
    assert client.get("/admin/organizations/organization/?q=Demo").status_code == 200
    assert client.get("/admin/organizations/membership/?role__exact=owner").status_code == 200
    assert client.get("/admin/accounts/user/?q=admin").status_code == 200

    client.force_login(staff_user)
    assert client.get("/admin/").status_code == 302
