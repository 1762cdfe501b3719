import pytest

from apps.patients.selectors import patient_list, patient_search, patients_by_phone
from apps.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(organization):
    return {
        "jose": PatientFactory(organization=organization, first_name="José", last_name="Peña Gómez",
                               document_number="1020304050", phone="+573001234567", consenting=True),
        "maria": PatientFactory(organization=organization, first_name="MARÍA", last_name="Núñez",
                                document_number="52123456", phone="+573109876543", consenting=True),
        "andres": PatientFactory(organization=organization, first_name="Andrés", last_name="Ibáñez",
                                 document_number="AB998877", phone="+573157778899", consenting=True),
    }


@pytest.mark.parametrize("query", ["Jose Pena", "jose peña", "JOSÉ PEÑA", "pena jose", "peña", "Jos", "gomez"])
def test_name_search_ignores_accents_case_and_word_order(organization, people, query):
    assert list(patient_search(organization=organization, query=query)) == [people["jose"]]


def test_name_search_finds_accented_names_from_plain_letters(organization, people):
    assert list(patient_search(organization=organization, query="maria nunez")) == [people["maria"]]
    assert list(patient_search(organization=organization, query="andres ibanez")) == [people["andres"]]


@pytest.mark.parametrize("query", ["1020", "1020304050", "1.020.304.050", "ab99"])
def test_search_by_the_start_of_a_document_number(organization, people, query):
    expected = people["andres"] if query.startswith("ab") else people["jose"]
    assert list(patient_search(organization=organization, query=query)) == [expected]


@pytest.mark.parametrize("query", ["300 123 4567", "3001234567", "+57 300 123 4567", "573001234567", "(300) 123-4567",
                                   "1234567"])
def test_search_by_phone_in_any_format(organization, people, query):
    assert list(patient_search(organization=organization, query=query)) == [people["jose"]]


def test_an_empty_search_lists_everyone_and_inactive_patients_are_left_out(organization, people):
    people["maria"].is_active = False
    people["maria"].save()

    assert patient_search(organization=organization, query="  ").count() == 2
    assert list(patient_search(organization=organization, query="maria")) == []
    assert list(patient_search(organization=organization, query="maria", include_inactive=True)) == [people["maria"]]


def test_search_never_returns_another_clinics_patients(organization, other_organization, people):
    PatientFactory(organization=other_organization, first_name="José", last_name="Peña",
                   document_number="1020304050", phone="+573001234567")

    assert list(patient_search(organization=organization, query="jose pena")) == [people["jose"]]
    assert list(patient_search(organization=organization, query="1020304050")) == [people["jose"]]
    assert patient_search(organization=organization, query="").count() == 3


def test_search_wildcards_are_taken_literally(organization, people):
    assert list(patient_search(organization=organization, query="%")) == []
    assert list(patient_search(organization=organization, query="_")) == []


def test_patients_by_phone_finds_a_whole_family_in_my_clinic_only(organization, other_organization):
    mother = PatientFactory(organization=organization, first_name="Ana", phone="+573001112233")
    son = PatientFactory(organization=organization, first_name="Luis", phone="+573001112233", is_active=False)
    PatientFactory(organization=organization, phone="+573009998877")
    PatientFactory(organization=other_organization, phone="+573001112233")

    for phone in ("+573001112233", "573001112233", "300 111 2233", "+57 300-111-2233"):
        assert list(patients_by_phone(organization=organization, phone=phone)) == [mother, son]
    assert list(patients_by_phone(organization=organization, phone="not a phone")) == []


def test_patient_list_filters(organization, people):
    people["andres"].whatsapp_consent = False
    people["andres"].whatsapp_consent_at = None
    people["andres"].save()

    assert list(patient_list(organization=organization, filters={"whatsapp_consent": False})) == [people["andres"]]
    assert list(patient_list(organization=organization, filters={"phone": "3109876543"})) == [people["maria"]]
    assert list(patient_list(organization=organization, filters={"query": "peña",
                                                                  "is_active": True})) == [people["jose"]]
