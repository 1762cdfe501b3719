"""Two front desks book the same slot at the same instant, on two real database connections."""

import threading

import pytest
from django.db import connection, connections

from apps.appointments.models import Appointment, EventSource
from apps.appointments.services import appointment_book
from apps.common.exceptions import ApplicationError


def _book_in_thread(barrier, results, **kwargs):
    try:
        # Each thread has its own connection; meeting at the barrier makes both INSERTs race.
        barrier.wait(timeout=30)
        results.append(appointment_book(**kwargs))
    except ApplicationError as exc:
        results.append(exc)
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_of_two_simultaneous_bookings_of_one_slot_exactly_one_wins(organization, patient, provider, exam,
                                                                   monday_9am):
    barrier = threading.Barrier(2)
    results = []
    threads = [
        threading.Thread(target=_book_in_thread, args=(barrier, results), kwargs={
            "organization": organization, "patient": patient, "provider": provider, "appointment_type": exam,
            "start": monday_9am, "source": EventSource.API,
        })
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    winners = [r for r in results if isinstance(r, Appointment)]
    losers = [r for r in results if isinstance(r, ApplicationError)]
    assert (len(winners), len(losers)) == (1, 1)
    assert losers[0].field == "start"
    assert losers[0].code == "overlap"
    assert provider.display_name in losers[0].message
    assert list(Appointment.objects.values_list("pk", flat=True)) == [winners[0].pk]
    assert connection.vendor == "postgresql"


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_an_overlap_written_around_the_services(organization, patient, provider, exam,
                                                                     monday_9am):
    from django.db import IntegrityError

    from apps.appointments.tests.factories import AppointmentFactory

    AppointmentFactory(organization=organization, patient=patient, provider=provider, appointment_type=exam,
                       start=monday_9am)

    with pytest.raises(IntegrityError):
        AppointmentFactory(organization=organization, patient=patient, provider=provider, appointment_type=exam,
                           start=monday_9am)
