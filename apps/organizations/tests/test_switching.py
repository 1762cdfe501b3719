import pytest
from django.urls import reverse

from apps.organizations.models import Role
from apps.organizations.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_a_user_in_two_clinics_switches_between_them(client, staff_user, organization, other_organization):
    MembershipFactory(user=staff_user, organization=other_organization, role=Role.ADMIN)
    client.force_login(staff_user)
    first = client.get(reverse("home")).context["current_organization"]

    response = client.post(reverse("organization-switch"), {"organization": other_organization.pk, "next": "/"})

    assert response.status_code == 302
    after = client.get(reverse("home"))
    assert first == organization
    assert after.context["current_organization"] == other_organization
    assert after.context["current_membership"].role == Role.ADMIN
    assert 'id="org-switcher"' in after.content.decode()


def test_switching_to_a_clinic_i_do_not_belong_to_answers_404(staff_client, other_organization, organization):
    response = staff_client.post(reverse("organization-switch"), {"organization": other_organization.pk})

    assert response.status_code == 404
    assert staff_client.get(reverse("home")).context["current_organization"] == organization


def test_an_inactive_membership_gives_no_access(client, staff_user, organization):
    staff_user.memberships.update(is_active=False)
    client.force_login(staff_user)

    response = client.get(reverse("home"))

    assert response.context["current_organization"] is None
    assert client.get(reverse("member-list")).status_code == 403
