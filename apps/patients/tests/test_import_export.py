import csv
import datetime
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.common.exceptions import ApplicationError
from apps.patients.models import AuditEvent, ConsentSource, Patient, PatientImport
from apps.patients.services import patient_import_confirm, patient_import_preview
from apps.patients.tasks import check_patient_import, run_patient_import
from apps.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

HEADERS = ["Tipo documento", "Número de documento", "Nombres", "Apellidos", "Fecha de nacimiento", "Sexo",
           "Teléfono", "Correo", "Consentimiento WhatsApp"]
GOOD_ROWS = [
    ["CC", "1.020.304.050", "José", "Peña Gómez", "14/03/1985", "M", "300 123 4567", "jose@correo.test", "sí"],
    ["CC", "52123456", "María", "Núñez", "1979-11-02", "F", "3109876543", "", "no"],
    ["TI", "1122334455", "Tomás", "Restrepo", "", "masculino", "300 123 4567", "", ""],
]


def _csv(rows, headers=HEADERS, delimiter=",", encoding="utf-8"):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(headers)
    writer.writerows(rows)
    return SimpleUploadedFile("pacientes.csv", buffer.getvalue().encode(encoding), content_type="text/csv")


def _xlsx(rows, headers=HEADERS):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        # Spreadsheets hold real dates and numbers, not only text.
        sheet.append([datetime.date(1985, 3, 14) if value == "14/03/1985" else
                      int(value) if value.isdigit() else value for value in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile("pacientes.xlsx", buffer.getvalue(),
                              content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


FILES = {"csv": _csv, "xlsx": _xlsx}


@pytest.fixture(params=["csv", "xlsx"])
def make_file(request):
    return FILES[request.param]


def test_a_good_file_imports_every_patient(organization, staff_user, make_file):
    preview = patient_import_preview(organization=organization, actor=staff_user, upload=make_file(GOOD_ROWS))
    assert not preview.error_rows and len(preview.importable_rows) == 3
    assert Patient.objects.count() == 0  # the preview creates nothing

    patient_import_confirm(patient_import=preview, actor=staff_user)

    jose = Patient.objects.get(document_number="1020304050")
    assert (jose.first_name, jose.phone, jose.birth_date) == ("José", "+573001234567", datetime.date(1985, 3, 14))
    assert jose.whatsapp_consent and jose.whatsapp_consent_source == ConsentSource.IMPORT
    assert Patient.objects.get(document_number="1122334455").document_type == "TI"
    assert Patient.objects.filter(organization=organization).count() == 3
    assert AuditEvent.objects.filter(action="imported", actor=staff_user, source="import").count() == 3


def test_a_file_with_bad_rows_reports_each_error_and_imports_nothing(organization, staff_user, make_file):
    rows = GOOD_ROWS + [
        ["CC", "777", "Ana", "Ruiz", "2999-01-01", "F", "12", "", "sí"],
        ["XX", "", "", "Díaz", "31/31/2000", "Z", "", "no-mail", "tal vez"],
    ]

    preview = patient_import_preview(organization=organization, actor=staff_user, upload=make_file(rows))

    errors = {row["line"]: row["errors"] for row in preview.error_rows}
    assert set(errors) == {5, 6}
    assert {"birth_date", "phone"} <= set(errors[5])
    assert {"document_type", "document_number", "first_name", "birth_date", "sex", "email",
            "whatsapp_consent"} <= set(errors[6])
    with pytest.raises(ApplicationError):
        patient_import_confirm(patient_import=preview, actor=staff_user)
    assert Patient.objects.count() == 0


def test_duplicates_are_reported_and_not_created_twice(organization, staff_user, make_file):
    PatientFactory(organization=organization, document_number="52123456", first_name="María", last_name="Vieja")
    rows = GOOD_ROWS + [["CC", "1020304050", "José", "Repetido", "", "", "", "", ""]]

    preview = patient_import_preview(organization=organization, actor=staff_user, upload=make_file(rows))
    assert sorted(row["line"] for row in preview.duplicate_rows) == [3, 5]
    patient_import_confirm(patient_import=preview, actor=staff_user)

    assert Patient.objects.filter(organization=organization).count() == 3
    assert Patient.objects.get(document_number="52123456").last_name == "Vieja"
    assert Patient.objects.get(document_number="1020304050").last_name == "Peña Gómez"


def test_a_document_of_another_clinic_is_not_a_duplicate(organization, other_organization, staff_user):
    PatientFactory(organization=other_organization, document_number="52123456")

    preview = patient_import_preview(organization=organization, actor=staff_user, upload=_csv(GOOD_ROWS))

    assert not preview.duplicate_rows


def test_semicolon_separated_latin1_csv_from_excel_is_read(organization, staff_user):
    upload = _csv(GOOD_ROWS[:1], delimiter=";", encoding="latin-1")

    preview = patient_import_preview(organization=organization, actor=staff_user, upload=upload)

    assert preview.rows[0]["data"]["last_name"] == "Peña Gómez" and not preview.error_rows


def test_a_file_without_the_required_columns_is_refused(organization, staff_user):
    with pytest.raises(ApplicationError) as exc_info:
        patient_import_preview(organization=organization, actor=staff_user,
                               upload=_csv([["x"]], headers=["Nombres"]))
    assert exc_info.value.field == "file"


def test_an_import_can_only_be_confirmed_once(organization, staff_user):
    preview = patient_import_preview(organization=organization, actor=staff_user, upload=_csv(GOOD_ROWS))
    patient_import_confirm(patient_import=preview, actor=staff_user)

    with pytest.raises(ApplicationError):
        patient_import_confirm(patient_import=preview, actor=staff_user)
    assert Patient.objects.count() == 3


# --- Through the UI --------------------------------------------------------------------------

def test_upload_preview_and_confirm_in_the_ui(staff_client, organization, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("patient-import"), {"file": _xlsx(GOOD_ROWS)})
    patient_import = PatientImport.objects.get()
    assert response["Location"] == reverse("patient-import-preview", args=[patient_import.pk])
    check_patient_import(import_id=patient_import.pk)

    preview = staff_client.get(response["Location"])
    assert 'id="confirm-import"' in preview.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(reverse("patient-import-confirm", args=[patient_import.pk]))
    run_patient_import(import_id=patient_import.pk)
    assert Patient.objects.filter(organization=organization).count() == 3
    assert "se crearon 3 pacientes" in staff_client.get(response["Location"]).content.decode()


def test_the_preview_shows_row_errors_and_offers_no_import(staff_client):
    staff_client.post(reverse("patient-import"), {"file": _csv(GOOD_ROWS + [["CC", "9", "Ana", "Ruiz", "", "", "1",
                                                                             "", ""]])})
    patient_import = PatientImport.objects.get()
    check_patient_import(import_id=patient_import.pk)

    content = staff_client.get(reverse("patient-import-preview", args=[patient_import.pk])).content.decode()

    assert 'data-line="5"' in content and 'id="import-blocked"' in content
    assert 'id="confirm-import"' not in content


def test_a_file_that_is_not_a_spreadsheet_is_a_field_error(staff_client):
    response = staff_client.post(reverse("patient-import"), {
        "file": SimpleUploadedFile("notas.txt", b"hola")})
    broken = staff_client.post(reverse("patient-import"), {
        "file": SimpleUploadedFile("roto.xlsx", b"not a zip file")})

    assert "file" in response.context["form"].errors
    assert "file" in broken.context["form"].errors
    assert not PatientImport.objects.exists()


def test_another_clinics_import_answers_404(staff_client, other_organization, other_user):
    theirs = patient_import_preview(organization=other_organization, actor=other_user, upload=_csv(GOOD_ROWS))

    assert staff_client.get(reverse("patient-import-preview", args=[theirs.pk])).status_code == 404
    assert staff_client.post(reverse("patient-import-confirm", args=[theirs.pk])).status_code == 404
    assert Patient.objects.count() == 0


# --- Export ----------------------------------------------------------------------------------

def test_export_to_csv_holds_my_patients_only_and_reimports(staff_client, organization, other_organization,
                                                            staff_user):
    PatientFactory(organization=organization, first_name="José", last_name="Peña", document_number="111")
    PatientFactory(organization=other_organization, first_name="Intruso", document_number="222")

    response = staff_client.get(reverse("patient-export"), {"format": "csv"})

    content = response.content.decode("utf-8-sig")
    assert response["Content-Type"].startswith("text/csv")
    assert "José" in content and "Intruso" not in content
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0][:4] == ["tipo_documento", "numero_documento", "nombres", "apellidos"] and len(rows) == 2
    upload = SimpleUploadedFile("export.csv", response.content)
    preview = patient_import_preview(organization=organization, actor=staff_user, upload=upload)
    assert [row["duplicate"] for row in preview.rows] == [True]


def test_export_to_xlsx(staff_client, organization):
    PatientFactory(organization=organization, first_name="José", last_name="Peña", document_number="111")

    response = staff_client.get(reverse("patient-export"), {"format": "xlsx", "q": "pena"})

    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[1][1:4] == ["111", "José", "Peña"]
    assert response["Content-Disposition"].endswith('.xlsx"')


FORMULAS = ["=HYPERLINK(\"http://evil.test\",\"clic\")", "+57 SUM(A1)", "-2+3", "@SUM(A1:A9)", "\tTAB", "\rCR"]


def test_export_to_csv_escapes_every_cell_a_spreadsheet_would_run_as_a_formula(staff_client, organization):
    PatientFactory(organization=organization, document_number="111", first_name=FORMULAS[0], last_name=FORMULAS[1],
                   address=FORMULAS[2], occupation=FORMULAS[3], notes=FORMULAS[4], guardian_name=FORMULAS[5])

    response = staff_client.get(reverse("patient-export"), {"format": "csv"})

    header, row = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    cells = dict(zip(header, row, strict=True))
    for column, value in zip(["nombres", "apellidos", "direccion", "ocupacion", "notas", "acudiente"], FORMULAS,
                             strict=True):
        assert cells[column] == "'" + value, column
    assert cells["telefono"].startswith("'+57")  # an E.164 phone starts with "+" too
    assert cells["numero_documento"] == "111"


def test_export_to_xlsx_writes_formula_like_cells_as_plain_text(staff_client, organization):
    PatientFactory(organization=organization, document_number="111", first_name=FORMULAS[0], last_name=FORMULAS[3],
                   notes=FORMULAS[2])

    response = staff_client.get(reverse("patient-export"), {"format": "xlsx"})

    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header = [cell.value for cell in sheet[1]]
    row = {name: cell for name, cell in zip(header, sheet[2], strict=True)}
    for column, value in (("nombres", FORMULAS[0]), ("apellidos", FORMULAS[3]), ("notas", FORMULAS[2])):
        assert row[column].data_type == "s", column
        assert row[column].value == value, column
        assert row[column].quotePrefix, column
    assert all(cell.data_type != "f" for line in sheet.iter_rows() for cell in line)


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_an_escaped_export_reimports_the_original_values(staff_client, organization, staff_user, file_format):
    PatientFactory(organization=organization, document_number="111", first_name="=Ana", last_name="-Peña",
                   phone="+573001234567")
    response = staff_client.get(reverse("patient-export"), {"format": file_format})
    Patient.objects.all().delete()

    preview = patient_import_preview(organization=organization, actor=staff_user,
                                     upload=SimpleUploadedFile(f"export.{file_format}", response.content))

    data = preview.rows[0]["data"]
    assert (data["first_name"], data["last_name"], data["phone"]) == ("=Ana", "-Peña", "+573001234567")
def test_a_csv_cell_with_a_nul_byte_is_an_error_of_its_column_and_the_preview_is_kept(organization, staff_user):
    rows = [GOOD_ROWS[0], ["CC", "52123456", "Ma\x00ría", "Núñez", "", "F", "3109876543", "", "no"]]

    preview = patient_import_preview(organization=organization, actor=staff_user, upload=_csv(rows))

    [bad] = preview.error_rows
    assert bad["line"] == 3 and list(bad["errors"]) == ["first_name"]
    assert PatientImport.objects.get(pk=preview.pk).rows[1]["data"]["first_name"] == "Ma\ufffdría"
    with pytest.raises(ApplicationError):
        patient_import_confirm(patient_import=preview, actor=staff_user)
    assert Patient.objects.count() == 0
