import pytest
from django.urls import reverse

from apps.organizations.models import Role
from apps.organizations.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_staff_cannot_change_roles(staff_client, organization):
    member = MembershipFactory(organization=organization, role=Role.STAFF)

    response = staff_client.post(reverse("member-role-change", args=[member.pk]), {"role": Role.ADMIN})

    assert response.status_code == 403
    member.refresh_from_db()
    assert member.role == Role.STAFF


def test_an_admin_changes_a_staff_role(admin_client, organization):
    member = MembershipFactory(organization=organization, role=Role.STAFF)

    response = admin_client.post(reverse("member-role-change", args=[member.pk]), {"role": Role.OPTOMETRIST})

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.role == Role.OPTOMETRIST


def test_only_an_owner_makes_owners_and_the_last_owner_stays(client, admin_user, owner, organization):
    staff = MembershipFactory(organization=organization, role=Role.STAFF)
    client.force_login(admin_user)
    client.post(reverse("member-role-change", args=[staff.pk]), {"role": Role.OWNER})
    staff.refresh_from_db()
    assert staff.role == Role.STAFF

    client.force_login(owner)
    own = owner.memberships.get()
    response = client.post(reverse("member-role-change", args=[own.pk]), {"role": Role.STAFF}, follow=True)
    own.refresh_from_db()
    assert own.role == Role.OWNER
    assert "al menos un propietario" in response.content.decode()


def test_an_invalid_role_changes_nothing(admin_client, organization):
    member = MembershipFactory(organization=organization, role=Role.STAFF)

    admin_client.post(reverse("member-role-change", args=[member.pk]), {"role": "emperor"})

    member.refresh_from_db()
    assert member.role == Role.STAFF
