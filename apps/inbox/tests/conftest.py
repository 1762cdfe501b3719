import pytest

from apps.inbox.tests.factories import linked_session


@pytest.fixture
def whatsapp_linked(organization):
    return linked_session(organization)
