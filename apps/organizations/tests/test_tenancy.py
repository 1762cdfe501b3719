"""A user of one clinic never sees, counts or changes another clinic's data."""

import pytest
from django.urls import reverse

from apps.organizations.models import Membership, Role
from apps.organizations.scoping import get_scoped_or_404, scoped
from apps.organizations.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_scoped_querysets_only_hold_the_current_organizations_rows(organization, other_organization):
    mine = MembershipFactory(organization=organization)
    MembershipFactory(organization=other_organization)

    assert list(scoped(Membership, organization)) == [mine]
    assert scoped(Membership, None).count() == 0


def test_an_object_of_another_organization_is_not_found(organization, other_organization):
    from django.http import Http404

    theirs = MembershipFactory(organization=other_organization)

    with pytest.raises(Http404):
        get_scoped_or_404(Membership, organization, pk=theirs.pk)


def test_staff_page_lists_only_my_clinic(staff_client, organization, other_user):
    response = staff_client.get(reverse("member-list"))

    assert response.status_code == 200
    assert other_user.email not in response.content.decode()


def test_changing_a_role_in_another_clinic_answers_404(client, owner, other_organization):
    theirs = MembershipFactory(organization=other_organization, role=Role.STAFF)
    client.force_login(owner)

    response = client.post(reverse("member-role-change", args=[theirs.pk]), {"role": Role.ADMIN})

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.role == Role.STAFF


def test_api_lists_and_counts_only_my_clinic(staff_api, organization, other_organization, staff_user):
    MembershipFactory.create_batch(3, organization=other_organization)

    response = staff_api.get("/api/members/")

    assert response.status_code == 200
    assert response.json()["count"] == 1
    assert [row["email"] for row in response.json()["results"]] == [staff_user.email]


def test_api_answers_404_for_an_object_of_another_clinic(staff_api, other_organization):
    theirs = MembershipFactory(organization=other_organization)

    response = staff_api.get(f"/api/members/{theirs.pk}/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_session_pointing_at_a_foreign_organization_falls_back_to_my_own(client, staff_user, organization,
                                                                            other_organization):
    client.force_login(staff_user)
    session = client.session
    session["organization_id"] = other_organization.pk
    session.save()

    response = client.get(reverse("home"))

    assert response.context["current_organization"] == organization
