"""Reading the clinic's patient spreadsheets (CSV or XLSX) and writing the patient list back out, with tablib.

Headers are matched without accents, case or spacing, in Spanish or English ("Número de documento",
"document_number"); the export uses headers the import reads back."""

import csv
import datetime
import io

import openpyxl
import tablib
from django.utils.translation import gettext as _
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from apps.common.exceptions import ApplicationError
from apps.patients.models import DocumentType, Sex
from apps.patients.selectors import text_fold

MAX_ROWS = 20_000

# Canonical field → the export header first, then every alias the import accepts.
COLUMNS = {
    "document_type": ["tipo_documento", "tipo_de_documento", "tipo_doc", "document_type"],
    "document_number": ["numero_documento", "numero_de_documento", "documento", "cedula", "identificacion",
                        "document_number", "document"],
    "first_name": ["nombres", "nombre", "first_name", "first_names"],
    "last_name": ["apellidos", "apellido", "last_name", "last_names"],
    "birth_date": ["fecha_nacimiento", "fecha_de_nacimiento", "nacimiento", "birth_date"],
    "sex": ["sexo", "genero", "sex"],
    "phone": ["telefono", "celular", "whatsapp", "movil", "phone"],
    "email": ["email", "correo", "correo_electronico", "e-mail"],
    "address": ["direccion", "address"],
    "occupation": ["ocupacion", "occupation"],
    "guardian_name": ["acudiente", "responsable", "guardian_name", "guardian"],
    "whatsapp_consent": ["consentimiento_whatsapp", "acepta_whatsapp", "whatsapp_consent"],
    "notes": ["notas", "observaciones", "notes"],
}
REQUIRED = ("document_number", "first_name", "last_name")
_ALIASES = {alias: field for field, aliases in COLUMNS.items() for alias in aliases}
_YES = {"si", "s", "yes", "y", "true", "1", "x", "verdadero"}
_NO = {"no", "n", "false", "0", "", "falso"}
_SEXES = {"f": Sex.FEMALE, "femenino": Sex.FEMALE, "female": Sex.FEMALE, "mujer": Sex.FEMALE,
          "m": Sex.MALE, "masculino": Sex.MALE, "male": Sex.MALE, "hombre": Sex.MALE,
          "o": Sex.OTHER, "otro": Sex.OTHER, "other": Sex.OTHER, "u": Sex.UNKNOWN, "": Sex.UNKNOWN}
_DOCUMENT_TYPES = {
    **{value.lower(): value for value in DocumentType.values},
    "": DocumentType.CC, "cedula": DocumentType.CC, "cedula de ciudadania": DocumentType.CC,
    "tarjeta de identidad": DocumentType.TI, "cedula de extranjeria": DocumentType.CE,
    "pasaporte": DocumentType.PA, "passport": DocumentType.PA, "registro civil": DocumentType.RC,
}
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d")


def _header_key(header) -> str:
    return "_".join(text_fold(str(header or "")).replace("-", " ").split()) or ""


def _load(upload) -> tablib.Dataset:
    content = upload.read()
    name = upload.name.lower()
    try:
        if name.endswith(".xlsx"):
            return tablib.Dataset().load(io.BytesIO(content), format="xlsx")
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = content.decode("latin-1")  # what Excel on Windows writes
        first_line = text.split("\n", 1)[0]
        delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
        return tablib.Dataset().load(text, format="csv", delimiter=delimiter)
    except (ValueError, KeyError, IndexError, csv.Error, tablib.UnsupportedFormat) as exc:
        raise ApplicationError(_("This file could not be read as a spreadsheet."), field="file") from exc
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds of errors on a damaged file
        raise ApplicationError(_("This file could not be read as a spreadsheet."), field="file") from exc


def read_patient_rows(upload) -> list[tuple[int, dict]]:
    """[(line number as the user sees it, {field: raw value})] for every non-empty row."""
    dataset = _load(upload)
    headers = [_ALIASES.get(_header_key(h)) for h in (dataset.headers or [])]
    missing = [field for field in REQUIRED if field not in headers]
    if missing:
        names = ", ".join(COLUMNS[field][0] for field in missing)
        raise ApplicationError(_("The file lacks the columns: %(names)s.") % {"names": names}, field="file")
    if dataset.height > MAX_ROWS:
        raise ApplicationError(_("At most %(max)s rows per file.") % {"max": MAX_ROWS}, field="file")
    rows = []
    for index, values in enumerate(dataset, start=2):  # line 1 holds the headers
        raw = {field: value for field, value in zip(headers, values, strict=False) if field}
        if all(value in (None, "") for value in raw.values()):
            continue
        rows.append((index, raw))
    return rows


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # spreadsheets turn document numbers and phones into floats
    return _formula_unescape(str(value).strip())


def convert_row(raw: dict) -> tuple[dict, dict]:
    """(data ready for the patient services, {field: [errors]} for values that could not be read)."""
    data, errors = {}, {}
    for field in ("document_number", "first_name", "last_name", "phone", "email", "address", "occupation",
                  "guardian_name", "notes"):
        data[field] = _text(raw.get(field))

    document_type = text_fold(_text(raw.get("document_type")))
    if document_type in _DOCUMENT_TYPES:
        data["document_type"] = _DOCUMENT_TYPES[document_type]
    else:
        errors["document_type"] = [_("Unknown document type: %(value)s.") % {"value": raw.get("document_type")}]

    sex = text_fold(_text(raw.get("sex")))
    if sex in _SEXES:
        data["sex"] = _SEXES[sex]
    else:
        errors["sex"] = [_("Unknown sex: %(value)s (use F, M or O).") % {"value": raw.get("sex")}]

    birth_date = raw.get("birth_date")
    data["birth_date"] = None
    if isinstance(birth_date, datetime.datetime):
        data["birth_date"] = birth_date.date()
    elif isinstance(birth_date, datetime.date):
        data["birth_date"] = birth_date
    elif _text(birth_date):
        for fmt in _DATE_FORMATS:
            try:
                data["birth_date"] = datetime.datetime.strptime(_text(birth_date), fmt).date()
                break
            except ValueError:
                continue
        else:
            errors["birth_date"] = [_("Use a date like 31/12/1980.")]

    consent = text_fold(_text(raw.get("whatsapp_consent")))
    if consent in _YES | _NO:
        data["whatsapp_consent"] = consent in _YES
    else:
        errors["whatsapp_consent"] = [_("Use yes or no.")]
    return data, errors


# A cell a spreadsheet would run as a formula (or a DDE command) when it starts with one of these.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def formula_escape(value):
    """CSV has no cell types: a leading apostrophe makes Excel, LibreOffice and Sheets show the text as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def _formula_unescape(text: str) -> str:
    # What formula_escape added on export comes off on import, so an export reimports as it was.
    if text.startswith("'") and text[1:].startswith(FORMULA_TRIGGERS):
        return text[1:]
    return text


def _export_rows(queryset):
    for patient in queryset.iterator(chunk_size=2000):
        yield [
            patient.document_type, patient.document_number, patient.first_name, patient.last_name,
            patient.birth_date.isoformat() if patient.birth_date else "", patient.sex, patient.phone, patient.email,
            patient.address, patient.occupation, patient.guardian_name, "si" if patient.whatsapp_consent else "no",
            patient.notes, "si" if patient.is_active else "no",
        ]


def _export_xlsx(headers: list[str], rows) -> bytes:
    """Every value is written as a text cell with Excel's quote prefix: never a formula, even after editing."""
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Patients"))
    sheet.freeze_panes = "A2"

    def cells(values):
        for value in values:
            cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
            cell.data_type = "s"
            cell.quotePrefix = True
            yield cell

    sheet.append(list(cells(headers)))
    for row in rows:
        sheet.append(list(cells(row)))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_patients(queryset, *, file_format: str) -> bytes:
    headers = [aliases[0] for aliases in COLUMNS.values()] + ["activo"]
    if file_format == "xlsx":
        return _export_xlsx(headers, _export_rows(queryset))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows([formula_escape(value) for value in row] for row in _export_rows(queryset))
    return buffer.getvalue().encode("utf-8-sig")
