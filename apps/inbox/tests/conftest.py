import pytest

from apps.inbox.tests.factories import linked_session


@pytest.fixture
def whatsapp_linked(organization):
    return linked_session(organization)


@pytest.fixture(autouse=True)
def _english(settings):
    """Assertions read the English source strings; one test checks the Spanish default explicitly."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield
