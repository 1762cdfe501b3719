"""`manage.py import_clinic`: moving an existing clinic in from CSV files."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from apps.organizations.models import Membership, Organization, Role
from apps.organizations.tests.factories import MembershipFactory, OrganizationFactory
from apps.patients.models import AuditEvent, ConsentSource, Patient
from apps.patients.services import patient_create

User = get_user_model()

ORGS = """slug,name,time_zone,default_phone_region,address
optica-norte,Óptica Norte,America/Bogota,CO,Calle 100 # 15-20
optica-cdmx,Óptica CDMX,America/Mexico_City,MX,Av. Reforma 222
"""

USERS = """email,full_name,organization,role,password
Ana.Duenas@Clinica.test,Ana Dueñas,optica-norte,owner,una-clave-larga-2026
ana.duenas@clinica.test,Ana Dueñas,optica-cdmx,admin,
recepcion@clinica.test,Luis Recepción,optica-norte,staff,
optometra@clinica.test,Dra. Paula Ríos,optica-cdmx,optometrist,
"""

PATIENTS = """organization,document_type,document_number,first_name,last_name,birth_date,sex,phone,email,\
whatsapp_consent,notes
optica-norte,CC,1.020.304.050,María José,Núñez Peña,1985-04-12,F,300 123 4567,MARIA@example.com,sí,"Miopía; usa lentes
desde niña"
optica-norte,TI,99032112345,Juan,Núñez,21/03/2010,M,3001234567,,no,
optica-cdmx,CC,1020304050,Pedro,Gómez,,M,55 1234 5678,,yes,
optica-cdmx,PA,AB123456,Lucía,Martínez,1990-01-31,,,,,
"""


def _write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return str(path)


def _files(tmp_path, orgs=ORGS, users=USERS, patients=PATIENTS):
    return {"organizations": _write(tmp_path, "orgs.csv", orgs), "users": _write(tmp_path, "users.csv", users),
            "patients": _write(tmp_path, "patients.csv", patients)}


def _import(**options):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_clinic", stdout=out, stderr=err, **options)
    return out.getvalue()


def _failing_import(**options):
    err = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("import_clinic", stdout=io.StringIO(), stderr=err, **options)
    return str(raised.value), err.getvalue()


def _snapshot():
    return {
        "organizations": list(Organization.objects.order_by("pk").values()),
        "users": list(User.objects.order_by("pk").values()),
        "memberships": list(Membership.objects.order_by("pk").values()),
        "patients": list(Patient.objects.order_by("pk").values()),
        "audit": AuditEvent.objects.count(),
    }


@pytest.mark.django_db
def test_good_files_import_organizations_users_memberships_and_patients(tmp_path):
    output = _import(**_files(tmp_path))

    assert "organizations: 2 created" in output
    assert "users: 3 created" in output
    assert "memberships: 4 created" in output
    assert "patients: 4 created" in output
    norte, cdmx = Organization.objects.get(slug="optica-norte"), Organization.objects.get(slug="optica-cdmx")
    assert (cdmx.name, cdmx.time_zone, cdmx.default_phone_region) == ("Óptica CDMX", "America/Mexico_City", "MX")

    ana = User.objects.get(email="ana.duenas@clinica.test")
    assert ana.check_password("una-clave-larga-2026")
    assert not User.objects.get(email="recepcion@clinica.test").has_usable_password()
    roles = {(m.user.email, m.organization.slug): m.role for m in Membership.objects.select_related("user",
                                                                                                  "organization")}
    assert roles == {
        ("ana.duenas@clinica.test", "optica-norte"): Role.OWNER,
        ("ana.duenas@clinica.test", "optica-cdmx"): Role.ADMIN,
        ("recepcion@clinica.test", "optica-norte"): Role.STAFF,
        ("optometra@clinica.test", "optica-cdmx"): Role.OPTOMETRIST,
    }

    maria = Patient.objects.get(organization=norte, document_number="1020304050")
    assert (maria.first_name, maria.last_name, maria.sex, str(maria.birth_date)) == (
        "María José", "Núñez Peña", "F", "1985-04-12")
    assert maria.phone == "+573001234567"  # the clinic's region: Colombia
    assert maria.email == "maria@example.com"
    assert maria.notes == "Miopía; usa lentes\ndesde niña"
    assert maria.whatsapp_consent and maria.whatsapp_consent_source == ConsentSource.IMPORT
    assert maria.whatsapp_consent_at is not None
    assert str(Patient.objects.get(document_number="99032112345").birth_date) == "2010-03-21"
    # The same document in another clinic is another patient, its phone read with Mexico's region.
    pedro = Patient.objects.get(organization=cdmx, document_number="1020304050")
    assert pedro.first_name == "Pedro" and pedro.phone == "+525512345678"
    assert Patient.objects.get(document_number="AB123456").phone == ""
    assert AuditEvent.objects.filter(source="import").count() == 4


@pytest.mark.django_db
def test_running_twice_changes_nothing(tmp_path):
    files = _files(tmp_path)
    _import(**files)
    before = _snapshot()

    output = _import(**files)

    assert _snapshot() == before
    assert "patients: 0 created, 0 updated, 4 unchanged" in output
    assert "users: 0 created, 0 updated, 3 unchanged" in output
    assert "memberships: 0 created, 0 updated, 4 unchanged" in output
    assert "Nothing to change." in output


@pytest.mark.django_db
def test_bad_rows_import_nothing_and_every_error_names_its_line_and_field(tmp_path):
    users = USERS + "nadie@clinica.test,Nadie,optica-sur,staff,\nmal@clinica.test,Mal Rol,optica-norte,jefe,\n"
    patients = PATIENTS + (
        "optica-norte,CC,555,Sin,Teléfono,1980-01-01,F,12345,,no,\n"
        "optica-norte,CC,1020304050,Repetida,Dos,,,,,,\n"
        "optica-norte,CC,777,Fecha,Mala,31/02/1990,,,,,\n"
        "optica-norte,CC,888,,Sin Nombre,,,,,,\n"
    )
    files = _files(tmp_path, users=users, patients=patients)

    message, errors = _failing_import(**files)

    assert "nothing was imported" in message
    lines = errors.splitlines()
    assert "users.csv:6: organization: no organization with slug 'optica-sur' (in the database or the file)" in lines
    assert any(line.startswith("users.csv:7: role: 'jefe' is not one of owner") for line in lines)
    assert any(line.startswith("patients.csv:7: phone: ") for line in lines)
    assert "patients.csv:8: patient: the same patient as line 2" in lines
    assert any(line.startswith("patients.csv:9: birth_date: ") for line in lines)
    assert "patients.csv:10: first_name: this field is required" in lines
    assert len(lines) == 6
    # All or nothing: the good rows before and after the bad ones are not kept either.
    assert not Organization.objects.exists()
    assert not User.objects.exists()
    assert not Patient.objects.exists()


@pytest.mark.django_db
def test_a_missing_column_is_reported_for_the_file(tmp_path):
    message, errors = _failing_import(patients=_write(tmp_path, "p.csv", "organization,document_number,name\n"))

    assert "p.csv: missing column(s) first_name, last_name" in errors


@pytest.mark.django_db
def test_the_import_is_tenant_correct(tmp_path):
    other = OrganizationFactory(slug="optica-sur", default_phone_region="CO")
    their_staff = MembershipFactory(organization=other, role=Role.ADMIN).user
    theirs = patient_create(organization=other, document_number="1020304050", first_name="Otra", last_name="Persona",
                            phone="3110000000")
    users = USERS + f"{their_staff.email},,optica-norte,staff,\n"

    _import(**_files(tmp_path, users=users))

    theirs.refresh_from_db()
    assert (theirs.first_name, theirs.phone, theirs.organization_id) == ("Otra", "+573110000000", other.pk)
    assert Patient.objects.filter(document_number="1020304050").count() == 3
    assert Patient.objects.filter(organization=other).count() == 1
    # A user of another clinic gains a membership in the imported one; the old one is untouched.
    assert Membership.objects.get(user=their_staff, organization=other).role == Role.ADMIN
    assert Membership.objects.get(user=their_staff, organization__slug="optica-norte").role == Role.STAFF


@pytest.mark.django_db
def test_existing_rows_that_differ_are_kept_unless_update_is_asked(tmp_path):
    _import(**_files(tmp_path))
    changed = PATIENTS.replace("Juan,Núñez", "Juan Carlos,Núñez").replace("optica-cdmx,optometrist",
                                                                           "optica-cdmx,staff")
    changed_users = USERS.replace("optica-cdmx,optometrist", "optica-cdmx,staff")
    files = _files(tmp_path, users=changed_users, patients=changed)

    kept = _import(**files)

    assert "patients.csv:4: patient TI 99032112345 of optica-norte exists and differs (first_name); kept" in kept
    assert "membership of optometra@clinica.test in optica-cdmx exists and differs (role)" in kept
    assert Patient.objects.get(document_number="99032112345").first_name == "Juan"

    updated = _import(update=True, **files)

    assert "patients: 0 created, 1 updated, 3 unchanged" in updated
    assert Patient.objects.get(document_number="99032112345").first_name == "Juan Carlos"
    assert Membership.objects.get(user__email="optometra@clinica.test").role == Role.STAFF
    before = _snapshot()
    assert "Nothing to change." in _import(update=True, **files)
    assert _snapshot() == before


@pytest.mark.django_db
def test_spreadsheet_exports_with_semicolons_and_a_bom_are_read(tmp_path):
    orgs = ORGS.replace(",", ";").replace("Calle 100 # 15-20", "Calle 100").replace("Av. Reforma 222", "Reforma")
    path = tmp_path / "orgs.csv"
    path.write_bytes(b"\xef\xbb\xbf" + orgs.replace("\n", "\r\n").encode())

    _import(organizations=str(path))

    assert Organization.objects.get(slug="optica-norte").address == "Calle 100"


@pytest.mark.django_db
def test_dry_run_validates_and_keeps_nothing(tmp_path):
    output = _import(dry_run=True, **_files(tmp_path))

    assert "patients: 4 created" in output and "rolled back" in output
    assert not Organization.objects.exists() and not Patient.objects.exists()
