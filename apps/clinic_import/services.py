"""Moving an existing clinic in: organizations, users (+ memberships) and patients from CSV files.

One run is all-or-nothing: every row of every file is read and validated inside one transaction,
and when any row is wrong nothing is kept and every error is reported with its file, line and
field. Rows are matched on natural keys (organization slug; user email; patient organization +
document type + document number), so a second run with the same files changes nothing. An
existing row that differs from the file is kept as it is, with a notice, unless `update=True`.

Patients are written through apps.patients.services (normalization, phone in E.164 with the
clinic's default region, audit trail with source "import"); organizations and memberships
through apps.organizations.services.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.organizations.models import Membership, Organization, Role
from apps.organizations.services import membership_set, organization_create
from apps.patients.models import AuditSource, ConsentSource, DocumentType, Patient, Sex
from apps.patients.phones import phone_normalize
from apps.patients.services import document_normalize, patient_create, patient_update

ORGANIZATION_COLUMNS = ("slug", "name", "time_zone", "default_phone_region", "address", "phone", "is_active")
ORGANIZATION_REQUIRED = ("slug", "name")
USER_COLUMNS = ("email", "full_name", "organization", "role", "password", "is_active")
USER_REQUIRED = ("email", "organization", "role")
PATIENT_COLUMNS = (
    "organization", "document_type", "document_number", "first_name", "last_name", "birth_date", "sex", "phone",
    "email", "address", "occupation", "preferred_language", "notes", "guardian_name", "is_active",
    "whatsapp_consent", "whatsapp_consent_source",
)
PATIENT_REQUIRED = ("organization", "document_number", "first_name", "last_name")

TRUE = {"1", "true", "yes", "y", "si", "sí", "s", "x"}
FALSE = {"0", "false", "no", "n", ""}


class RowError(Exception):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name
        self.message = message


class ImportFailed(Exception):
    """Raised (after rolling everything back) when any row was wrong; `errors` lists them all."""

    def __init__(self, errors: list[str], report: ImportReport):
        super().__init__(f"{len(errors)} error(s); nothing was imported")
        self.errors = errors
        self.report = report


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept: int = 0  # existing and different from the file, left as is (no update=True)

    def __str__(self):
        text = f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"
        return text + (f", {self.kept} kept as they were (differ from the file)" if self.kept else "")


@dataclass
class ImportReport:
    organizations: Counts = field(default_factory=Counts)
    users: Counts = field(default_factory=Counts)
    memberships: Counts = field(default_factory=Counts)
    patients: Counts = field(default_factory=Counts)
    notices: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(c.created or c.updated for c in (self.organizations, self.users, self.memberships, self.patients))


# --- reading ---------------------------------------------------------------------------------


def read_csv(path: Path | str, *, columns: tuple[str, ...], required: tuple[str, ...]) -> list[tuple[int, dict]]:
    """(line number, row) pairs of a CSV exported by a spreadsheet: UTF-8 (with or without BOM), comma,
    semicolon or tab separated, headers matched without case or surrounding spaces."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RowError("file", f"{path.name}: not UTF-8 text; export the sheet as CSV UTF-8") from exc
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration as exc:
        raise RowError("file", f"{path.name}: empty file") from exc
    header = [name.strip().lower() for name in header]
    missing = [name for name in required if name not in header]
    if missing:
        raise RowError("file", f"{path.name}: missing column(s) {', '.join(missing)}")
    unknown = [name for name in header if name and name not in columns]
    if unknown:
        raise RowError("file", f"{path.name}: unknown column(s) {', '.join(unknown)}; expected {', '.join(columns)}")
    rows = []
    line = reader.line_num + 1  # where the next row starts (a quoted value may span several lines)
    for values in reader:
        line, start = reader.line_num + 1, line
        if not any(value.strip() for value in values):
            continue
        if len(values) > len(header):
            raise RowError("file", f"{path.name}: line {start}: {len(values)} values for {len(header)} columns")
        row = {name: (values[i].strip() if i < len(values) else "") for i, name in enumerate(header) if name}
        rows.append((start, row))
    return rows


def _bool(row: dict, name: str, default: bool) -> bool:
    raw = row.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in TRUE:
        return True
    if raw in FALSE:
        return False
    raise RowError(name, f"{raw!r} is not yes/no")


def _date(row: dict, name: str) -> dt.date | None:
    raw = row.get(name, "").strip()
    if not raw:
        return None
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:
            return dt.datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise RowError(name, f"{raw!r} is not a date (YYYY-MM-DD or DD/MM/YYYY)")


def _choice(row: dict, name: str, choices, default: str, *, upper: bool = False) -> str:
    raw = row.get(name, "").strip()
    raw = raw.upper() if upper else raw.lower()
    if not raw:
        return default
    values = [c.value for c in choices] if not isinstance(choices, (list, tuple)) else list(choices)
    if raw not in values:
        raise RowError(name, f"{raw!r} is not one of {', '.join(values)}")
    return raw


def _validation_messages(exc: ValidationError) -> list[tuple[str, str]]:
    if hasattr(exc, "error_dict"):
        return [(name, str(message)) for name, errors in exc.message_dict.items() for message in errors]
    return [("row", str(message)) for message in exc.messages]


# --- importing -------------------------------------------------------------------------------


class _Importer:
    def __init__(self, *, update: bool):
        self.update = update
        self.report = ImportReport()
        self.errors: list[str] = []
        self.organizations: dict[str, Organization] = {}

    def error(self, where: str, field_name: str, message: str) -> None:
        self.errors.append(f"{where}: {field_name}: {message}")

    def rows(self, path, columns, required):
        try:
            return read_csv(path, columns=columns, required=required)
        except RowError as exc:
            self.errors.append(exc.message)
            return []

    def each(self, path, columns, required, handle):
        name = Path(path).name
        seen: dict[tuple, int] = {}
        for line, row in self.rows(path, columns, required):
            where = f"{name}:{line}"
            missing = [column for column in required if not row.get(column)]
            if missing:
                for column in missing:
                    self.error(where, column, "this field is required")
                continue
            try:
                with transaction.atomic():
                    handle(where, row, seen, line)
            except RowError as exc:
                self.error(where, exc.field, exc.message)
            except ValidationError as exc:
                for field_name, message in _validation_messages(exc):
                    self.error(where, field_name, message)
            except IntegrityError as exc:
                self.error(where, "row", f"refused by the database: {str(exc).splitlines()[0]}")

    def once(self, seen: dict, key: tuple, line: int, what: str) -> None:
        if key in seen:
            raise RowError(what, f"the same {what} as line {seen[key]}")
        seen[key] = line

    def organization(self, slug: str) -> Organization:
        slug = slug.strip().lower()
        if slug not in self.organizations:
            found = Organization.objects.filter(slug=slug).first()
            if found is None:
                raise RowError("organization", f"no organization with slug {slug!r} (in the database or the file)")
            self.organizations[slug] = found
        return self.organizations[slug]

    def differs(self, where: str, what: str, counts: Counts, changes: list[str]) -> bool:
        """True when the existing row must be updated; counts the row and notes a difference that stays."""
        if not changes:
            counts.unchanged += 1
            return False
        if self.update:
            counts.updated += 1
            return True
        counts.kept += 1
        self.report.notices.append(f"{where}: {what} exists and differs ({', '.join(changes)}); kept as it is "
                                   "(run with --update to overwrite)")
        return False

    # organizations.csv: slug,name,time_zone,default_phone_region,address,phone,is_active

    def organization_row(self, where, row, seen, line):
        slug = row["slug"].strip().lower()
        self.once(seen, (slug,), line, "organization")
        values = {"name": " ".join(row["name"].split()), "address": row.get("address", ""),
                  "phone": row.get("phone", ""), "is_active": _bool(row, "is_active", True)}
        if row.get("time_zone"):
            values["time_zone"] = row["time_zone"]
        if row.get("default_phone_region"):
            values["default_phone_region"] = row["default_phone_region"].upper()
        existing = Organization.objects.filter(slug=slug).first()
        if existing is None:
            organization = organization_create(
                slug=slug, name=values["name"], address=values["address"],
                time_zone=values.get("time_zone", "America/Bogota"),
                default_phone_region=values.get("default_phone_region", "CO"))
            if values["phone"] or not values["is_active"]:
                organization.phone, organization.is_active = values["phone"], values["is_active"]
                organization.full_clean()
                organization.save()
            self.report.organizations.created += 1
        else:
            organization = existing
            changes = [name for name, value in values.items() if getattr(existing, name) != value]
            if self.differs(where, f"organization {slug}", self.report.organizations, changes):
                for name in changes:
                    setattr(existing, name, values[name])
                existing.full_clean()
                existing.save()
        self.organizations[slug] = organization

    # users.csv: email,full_name,organization,role,password,is_active (one row per membership)

    def user_row(self, where, row, seen, line):
        User = get_user_model()
        email = User.objects.normalize_email(row["email"]).lower()
        organization = self.organization(row["organization"])
        self.once(seen, (email, organization.slug), line, "user and organization")
        role = _choice(row, "role", Role, "")
        full_name = " ".join(row.get("full_name", "").split())
        is_active = _bool(row, "is_active", True)
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            password = row.get("password", "")
            if password:
                try:
                    validate_password(password, User(email=email, full_name=full_name))
                except ValidationError as exc:
                    raise ValidationError({"password": exc.messages}) from exc
            # Without a password the account gets an unusable one: the person sets it by password reset.
            user = User.objects.create_user(email=email, password=password or None, full_name=full_name,
                                            is_active=is_active)
            self.report.users.created += 1
        elif (email, "user") not in self._users_done:
            values = {"full_name": full_name, "is_active": is_active} if full_name else {"is_active": is_active}
            changes = [name for name, value in values.items() if getattr(user, name) != value]
            if self.differs(where, f"user {email}", self.report.users, changes):
                for name in changes:
                    setattr(user, name, values[name])
                user.full_clean(exclude=["password"])
                user.save()
        self._users_done.add((email, "user"))
        membership = Membership.objects.filter(user=user, organization=organization).first()
        if membership is None:
            membership_set(user=user, organization=organization, role=role)
            self.report.memberships.created += 1
        else:
            changes = [name for name, value in (("role", role), ("is_active", True))
                       if getattr(membership, name) != value]
            if self.differs(where, f"membership of {email} in {organization.slug}", self.report.memberships,
                            changes):
                membership_set(user=user, organization=organization, role=role)

    # patients.csv: organization,document_type,document_number,first_name,last_name,birth_date,sex,phone,...

    def patient_row(self, where, row, seen, line):
        organization = self.organization(row["organization"])
        document_type = _choice(row, "document_type", DocumentType, DocumentType.CC, upper=True)
        document_number = document_normalize(row["document_number"])
        self.once(seen, (organization.slug, document_type, document_number), line, "patient")
        consent = _bool(row, "whatsapp_consent", False)
        data = {
            "document_type": document_type,
            "document_number": document_number,
            "first_name": row["first_name"],
            "last_name": row["last_name"],
            "birth_date": _date(row, "birth_date"),
            "sex": _choice(row, "sex", Sex, Sex.UNKNOWN, upper=True),
            "phone": row.get("phone", ""),
            "email": row.get("email", "").lower(),
            "address": row.get("address", ""),
            "occupation": row.get("occupation", ""),
            "preferred_language": _choice(row, "preferred_language", ["es", "en"], "es"),
            "notes": row.get("notes", "").replace("\r\n", "\n"),
            "guardian_name": row.get("guardian_name", ""),
            "is_active": _bool(row, "is_active", True),
            "whatsapp_consent": consent,
            "whatsapp_consent_source": (_choice(row, "whatsapp_consent_source", ConsentSource, ConsentSource.IMPORT)
                                        if consent else ""),
        }
        existing = Patient.objects.filter(organization=organization, document_type=document_type,
                                          document_number=document_number).first()
        if existing is None:
            patient_create(organization=organization, source=AuditSource.IMPORT, **data)
            self.report.patients.created += 1
            return
        comparable = dict(data)
        comparable["phone"] = phone_normalize(data["phone"], region=organization.default_phone_region)
        if consent and not row.get("whatsapp_consent_source") and existing.whatsapp_consent:
            # No source in the file: whatever the clinic recorded stays.
            comparable["whatsapp_consent_source"] = data["whatsapp_consent_source"] = existing.whatsapp_consent_source
        for name in ("first_name", "last_name", "address", "occupation", "guardian_name"):
            comparable[name] = " ".join(comparable[name].split())
        changes = [name for name, value in comparable.items() if getattr(existing, name) != value]
        if self.differs(where, f"patient {document_type} {document_number} of {organization.slug}",
                        self.report.patients, changes):
            patient_update(patient=existing, data={name: data[name] for name in changes}, source=AuditSource.IMPORT)

    def run(self, *, organizations=None, users=None, patients=None) -> ImportReport:
        self._users_done: set = set()
        if organizations:
            self.each(organizations, ORGANIZATION_COLUMNS, ORGANIZATION_REQUIRED, self.organization_row)
        if users:
            self.each(users, USER_COLUMNS, USER_REQUIRED, self.user_row)
        if patients:
            self.each(patients, PATIENT_COLUMNS, PATIENT_REQUIRED, self.patient_row)
        return self.report


def clinic_import(*, organizations: Path | str | None = None, users: Path | str | None = None,
                  patients: Path | str | None = None, update: bool = False, dry_run: bool = False) -> ImportReport:
    """Import the given CSV files in one transaction. Raises ImportFailed (nothing kept) when any row is wrong;
    with dry_run everything is validated and then rolled back."""
    importer = _Importer(update=update)

    class _Rollback(Exception):
        pass

    try:
        with transaction.atomic():
            report = importer.run(organizations=organizations, users=users, patients=patients)
            if importer.errors:
                raise ImportFailed(importer.errors, report)
            if dry_run:
                raise _Rollback
    except _Rollback:
        pass
    return report
