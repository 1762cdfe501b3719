import datetime as dt

import pytest

from apps.notifications.models import NotificationSettings
from apps.notifications.services import notification_settings_get
from apps.orders.models import LineKind, OrderStatus
from apps.orders.services import order_create, order_line_add, order_status_change
from apps.orders.tests.factories import LabFactory
from apps.patients.tests.factories import PrescriptionFactory
from apps.whatsapp.tests.conftest import bridge_settings, live_bridge, make_bridge, make_worker  # noqa: F401

PESOS = 100  # COP minor units per peso


@pytest.fixture
def lab(organization):
    return LabFactory(organization=organization, name="Laboratorio Central")


@pytest.fixture
def prescription(organization):
    return PrescriptionFactory(final=True, patient__organization=organization, patient__first_name="Juan",
                                    patient__last_name="Pérez", patient__phone="+573001234567")


@pytest.fixture
def patient(prescription):
    return prescription.patient


@pytest.fixture
def any_hour(organization):
    """No quiet hours or closed days, so messages go out whenever the test runs."""
    notification_settings_get(organization=organization)
    NotificationSettings.objects.filter(organization=organization).update(quiet_start=None, quiet_end=None,
                                                                          closed_days=[])


@pytest.fixture
def make_order(organization, prescription, lab, staff_user):
    """A draft with a frame and lenses worth $ 500.000, optionally moved along to `status`."""

    def make(*, status=OrderStatus.DRAFT, rx=None, **data):
        order = order_create(organization=organization, prescription=rx or prescription,
                             data={"lab": lab, "frame_brand": "Ray-Ban", **data}, actor=staff_user)
        order_line_add(order=order, kind=LineKind.FRAME, description="Montura", unit_price=300_000 * PESOS)
        order_line_add(order=order, kind=LineKind.LENSES, description="Lentes", unit_price=250_000 * PESOS,
                       discount=50_000 * PESOS)
        path = [OrderStatus.SENT_TO_LAB, OrderStatus.IN_LAB, OrderStatus.RECEIVED, OrderStatus.READY]
        for step in path[:path.index(status) + 1] if status in path else []:
            order_status_change(order=order, to_status=step, actor=staff_user)
        return order

    return make


def local_noon(organization, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=organization.zone)
