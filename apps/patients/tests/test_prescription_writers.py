"""Prescription drafts are written by optometrists (DESIGN.md), unless the clinic lets its staff write drafts;
finalizing always takes an optometrist."""

from decimal import Decimal

import pytest
from django.urls import reverse

from apps.common.exceptions import ApplicationError
from apps.patients.models import Prescription
from apps.patients.services import prescription_create, prescription_update
from apps.patients.tests.factories import PrescriptionFactory

pytestmark = pytest.mark.django_db

RX = {"kind": "spectacles", "od_sphere": "-1.25", "od_cylinder": "-0.50", "od_axis": 90, "os_sphere": "-1.00",
      "pd": "62.0"}
RX_FORM = {"kind": "spectacles", "od_sphere": "-1.25", "od_cylinder": "-0.50", "od_axis": "90", "os_sphere": "-1.00",
           "pd": "62"}


@pytest.fixture
def staff_drafts_allowed(organization):
    organization.staff_prescription_drafts = True
    organization.save(update_fields=["staff_prescription_drafts"])
    return organization


@pytest.mark.parametrize("role_api", ["staff_api", "admin_api"])
def test_staff_cannot_write_a_draft_through_the_api(request, patient, role_api):
    api = request.getfixturevalue(role_api)

    response = api.post("/api/prescriptions/", {"patient": patient.pk, **RX}, format="json")

    assert response.status_code == 403
    assert response.json()["detail"]
    assert not Prescription.objects.exists()


def test_staff_cannot_change_a_draft_through_the_api(staff_api, patient):
    draft = PrescriptionFactory(patient=patient)

    response = staff_api.patch(f"/api/prescriptions/{draft.pk}/", {"od_sphere": "-3.00"}, format="json")

    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.od_sphere != Decimal("-3.00")


def test_staff_can_still_read_prescriptions(staff_api, patient):
    PrescriptionFactory(patient=patient)

    assert staff_api.get("/api/prescriptions/", {"patient": patient.pk}).json()["count"] == 1


def test_the_optometrist_writes_drafts(optometrist_api, patient):
    response = optometrist_api.post("/api/prescriptions/", {"patient": patient.pk, **RX}, format="json")

    assert response.status_code == 201 and response.json()["status"] == "draft"


def test_with_the_clinic_setting_staff_write_drafts_but_never_finalize(staff_drafts_allowed, staff_api, patient):
    created = staff_api.post("/api/prescriptions/", {"patient": patient.pk, **RX}, format="json")

    assert created.status_code == 201
    assert staff_api.patch(f"/api/prescriptions/{created.json()['id']}/", {"od_sphere": "-1.50"},
                           format="json").status_code == 200
    assert staff_api.post(f"/api/prescriptions/{created.json()['id']}/finalize/").status_code == 403


def test_another_clinics_setting_does_not_open_drafts_to_my_staff(other_organization, staff_api, patient):
    other_organization.staff_prescription_drafts = True
    other_organization.save(update_fields=["staff_prescription_drafts"])

    assert staff_api.post("/api/prescriptions/", {"patient": patient.pk, **RX}, format="json").status_code == 403


def test_staff_get_403_on_the_draft_pages_and_see_no_new_prescription_button(staff_client, patient):
    draft = PrescriptionFactory(patient=patient)

    assert staff_client.get(reverse("prescription-create", args=[patient.pk])).status_code == 403
    assert staff_client.post(reverse("prescription-create", args=[patient.pk]), RX_FORM).status_code == 403
    assert staff_client.post(reverse("prescription-update", args=[draft.pk]), RX_FORM).status_code == 403
    page = staff_client.get(reverse("patient-detail", args=[patient.pk])).content.decode()
    assert reverse("prescription-create", args=[patient.pk]) not in page
    detail = staff_client.get(reverse("prescription-detail", args=[draft.pk])).content.decode()
    assert reverse("prescription-update", args=[draft.pk]) not in detail
    assert Prescription.objects.count() == 1


def test_with_the_clinic_setting_staff_write_drafts_in_the_ui(staff_drafts_allowed, staff_client, patient):
    page = staff_client.get(reverse("patient-detail", args=[patient.pk])).content.decode()
    response = staff_client.post(reverse("prescription-create", args=[patient.pk]), RX_FORM)

    assert reverse("prescription-create", args=[patient.pk]) in page
    assert response.status_code == 302
    assert Prescription.objects.get().created_by.memberships.get().role == "staff"


def test_the_services_refuse_a_writer_who_is_not_an_optometrist(organization, patient, staff_user, optometrist):
    with pytest.raises(ApplicationError) as exc_info:
        prescription_create(organization=organization, patient=patient, actor=staff_user,
                            data={"kind": "spectacles", "od_sphere": Decimal("-1.25")})
    draft = prescription_create(organization=organization, patient=patient, actor=optometrist,
                                data={"kind": "spectacles", "od_sphere": Decimal("-1.25")})
    with pytest.raises(ApplicationError):
        prescription_update(prescription=draft, actor=staff_user, data={"od_sphere": Decimal("-2")})

    assert exc_info.value.code == "permission_denied"


def test_managers_turn_the_setting_on_from_the_staff_page(client, admin_user, staff_user, organization):
    client.force_login(staff_user)
    assert client.post(reverse("organization-prescription-setting"),
                       {"staff_prescription_drafts": "on"}).status_code == 403
    assert 'name="staff_prescription_drafts"' not in client.get(reverse("member-list")).content.decode()
    client.force_login(admin_user)
    admin_client = client
    page = admin_client.get(reverse("member-list")).content.decode()

    response = admin_client.post(reverse("organization-prescription-setting"), {"staff_prescription_drafts": "on"})

    assert 'name="staff_prescription_drafts"' in page
    assert response.status_code == 302
    organization.refresh_from_db()
    assert organization.staff_prescription_drafts is True
    admin_client.post(reverse("organization-prescription-setting"), {})
    organization.refresh_from_db()
    assert organization.staff_prescription_drafts is False
