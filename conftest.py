"""Fixtures shared by every app's tests: two clinics and members with each role."""

import pytest
from rest_framework.test import APIClient

from apps.accounts.tests.factories import DEFAULT_PASSWORD
from apps.organizations.models import Role
from apps.organizations.services import api_token_obtain
from apps.organizations.tests.factories import MembershipFactory, OrganizationFactory


@pytest.fixture
def organization(db):
    return OrganizationFactory(name="Óptica Norte")


@pytest.fixture
def other_organization(db):
    return OrganizationFactory(name="Óptica Sur")


def _member(organization, role):
    return MembershipFactory(organization=organization, role=role).user


@pytest.fixture
def owner(organization):
    return _member(organization, Role.OWNER)


@pytest.fixture
def admin_user(organization):
    return _member(organization, Role.ADMIN)


@pytest.fixture
def staff_user(organization):
    return _member(organization, Role.STAFF)


@pytest.fixture
def optometrist(organization):
    return _member(organization, Role.OPTOMETRIST)


@pytest.fixture
def other_user(other_organization):
    return _member(other_organization, Role.ADMIN)


@pytest.fixture
def password():
    return DEFAULT_PASSWORD


def _logged_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def staff_client(client, staff_user):
    return _logged_in(client, staff_user)


@pytest.fixture
def admin_client(client, admin_user):
    return _logged_in(client, admin_user)


@pytest.fixture
def optometrist_client(client, optometrist):
    return _logged_in(client, optometrist)


def api_client_for(user, organization=None):
    client = APIClient()
    token = api_token_obtain(user=user, organization_id=organization.pk if organization else None)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def staff_api(staff_user):
    return api_client_for(staff_user)


@pytest.fixture
def admin_api(admin_user):
    return api_client_for(admin_user)


@pytest.fixture
def optometrist_api(optometrist):
    return api_client_for(optometrist)


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    # Production serves hashed files from collectstatic's manifest; tests render pages without one.
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    # Every test keeps its files to itself, and none lands in the project's var/media.
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _job_queue_left_empty(request, django_db_blocker):
    """A transactional test commits its jobs, and Django's flush leaves procrastinate's tables alone:
    empty them after such a test so that no later test finds (or a worker runs) its jobs."""
    yield
    marker = request.node.get_closest_marker("django_db")
    if not ({"transactional_db", "live_server"} & set(request.fixturenames)
            or (marker is not None and marker.kwargs.get("transaction"))):
        return
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE procrastinate_jobs, procrastinate_periodic_defers, procrastinate_workers CASCADE")
