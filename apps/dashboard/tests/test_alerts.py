import pytest
from django.urls import reverse

from apps.notifications.models import AlertKind, StaffAlert
from apps.notifications.services import staff_alert_raise

pytestmark = pytest.mark.django_db


def _alert(organization, kind=AlertKind.PATIENT_CANCELLED, text="Ana canceló su cita"):
    return staff_alert_raise(organization=organization, kind=kind, text=text)


def test_open_alerts_are_listed_until_someone_handles_them(staff_client, organization, staff_user):
    alert = _alert(organization)
    _alert(organization, kind=AlertKind.SESSION_NEEDS_RELINK, text="Vuelva a vincular WhatsApp")

    html = staff_client.get(reverse("alert-list")).content.decode()
    assert "Ana canceló su cita" in html and "Vuelva a vincular WhatsApp" in html

    response = staff_client.post(reverse("alert-handle", args=[alert.pk]))

    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.handled_by == staff_user and alert.handled_at is not None
    html = staff_client.get(reverse("alert-list")).content.decode()
    assert f'data-alert-id="{alert.pk}"' not in html


def test_the_home_page_counts_open_alerts(staff_client, organization):
    _alert(organization)
    _alert(organization, kind=AlertKind.REMINDER_FAILED, text="Recordatorio no entregado")
    handled = _alert(organization, text="ya atendida")
    handled.handled_at = handled.created_at
    handled.save()

    response = staff_client.get(reverse("home"))

    assert response.context["alert_count"] == 2
    assert 'id="alert-count"' in response.content.decode()


def test_handling_goes_back_to_a_safe_next_url_only(staff_client, organization):
    alert = _alert(organization)
    response = staff_client.post(reverse("alert-handle", args=[alert.pk]), {"next": "https://evil.example/"})
    assert response.url == reverse("alert-list")


def test_alerts_of_another_clinic_are_invisible_uncounted_and_404(staff_client, organization, other_organization):
    theirs = _alert(other_organization, text="alerta de B")

    assert "alerta de B" not in staff_client.get(reverse("alert-list")).content.decode()
    assert staff_client.get(reverse("home")).context["alert_count"] == 0
    assert staff_client.post(reverse("alert-handle", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.handled_at is None


def test_alerts_need_a_member(client, organization):
    alert = _alert(organization)
    assert client.post(reverse("alert-handle", args=[alert.pk])).status_code == 302
    assert StaffAlert.objects.get(pk=alert.pk).handled_at is None
