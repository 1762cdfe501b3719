import pytest

from apps.patients.tests.factories import PatientFactory, VisitFactory


@pytest.fixture
def patient(organization):
    return PatientFactory(consenting=True, organization=organization, first_name="José", last_name="Peña Gómez",
                          document_number="1020304050", phone="+573001234567")


@pytest.fixture
def other_patient(other_organization):
    return PatientFactory(consenting=True, organization=other_organization, first_name="José", last_name="Peña Ajena",
                          document_number="1020304050", phone="+573001234567")


@pytest.fixture
def visit(patient, optometrist):
    return VisitFactory(patient=patient, organization=patient.organization, optometrist=optometrist)
