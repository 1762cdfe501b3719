"""/api/schema/ tells the truth: every status an operation answers is documented, and values match."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(staff_api):
    response = staff_api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def _resolve(schema, node):
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _results_item(schema, operation):
    body = _resolve(schema, operation["responses"]["200"]["content"]["application/json"]["schema"])
    return _resolve(schema, body["properties"]["results"]["items"])


def test_every_operation_documents_the_errors_it_can_answer(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            has_inputs = "requestBody" in operation or any(p["in"] == "query" for p in operation.get("parameters", []))
            assert not has_inputs or "400" in codes, (method, path)
            if path != "/api/auth/token/":
                assert {"401", "403"} <= codes, (method, path)
            if "{id}" in path:
                assert "404" in codes, (method, path)
            if "requestBody" in operation:
                assert "415" in codes, (method, path)
            error = operation["responses"].get("400", {}).get("content", {}).get("application/json", {})
            assert not error or error["schema"] == {"$ref": "#/components/schemas/Error"}, (method, path)


def test_the_token_endpoint_documents_its_throttle(schema):
    assert "429" in schema["paths"]["/api/auth/token/"]["post"]["responses"]


def test_cancelled_by_may_be_empty(schema):
    item = _results_item(schema, schema["paths"]["/api/appointments/"]["get"])
    choices = item["properties"]["cancelled_by"]
    enums = [_resolve(schema, option).get("enum", []) for option in choices.get("oneOf", [choices])]
    assert "" in sum(enums, [])


def test_working_hours_are_times_of_day_without_an_offset(schema):
    hours = schema["components"]["schemas"]["WorkingHours"]["properties"]["start_time"]
    assert "format" not in hours
    assert hours["example"] == "08:30:00"


def test_availability_and_conversations_are_documented_as_they_answer(schema, staff_api):
    availability = _resolve(schema, schema["paths"]["/api/availability/"]["get"]["responses"]["200"]["content"]
                            ["application/json"]["schema"])
    assert set(availability["properties"]) == {"count", "results"}
    conversations = schema["paths"]["/api/conversations/"]["get"]
    assert {"page", "page_size"} <= {p["name"] for p in conversations["parameters"]}
    assert _results_item(schema, conversations)["properties"]["assigned_to"]


def test_optional_filters_admit_an_empty_value_as_they_do(schema, staff_api):
    status = next(p for p in schema["paths"]["/api/messages/"]["get"]["parameters"] if p["name"] == "status")
    assert status["allowEmptyValue"] is True
    assert staff_api.get("/api/messages/", {"status": ""}).status_code == 200
