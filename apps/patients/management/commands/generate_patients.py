"""A realistic patient dataset for benchmarks: `generate_patients --organization optica-demo --count 100000`.

Rows are built in memory and written with bulk_create in batches, skipping the services on purpose (they
validate one patient at a time); the generated values satisfy every model rule and database constraint.
The same --seed against the same database gives the same patients."""

import datetime
import random
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from apps.organizations.models import Organization
from apps.patients.models import ConsentSource, DocumentType, Patient, Sex
from apps.patients.selectors import text_fold

FEMALE_NAMES = [
    "María", "Sofía", "Valentina", "Isabella", "Camila", "Lucía", "Mariana", "Daniela", "Natalia", "Ángela",
    "Inés", "Luz Marina", "María José", "Paula Andrea", "Verónica", "Mónica", "Adriana", "Gloria", "Beatriz",
    "Carolina", "Juliana", "Salomé", "Ximena", "Andrea", "Nohemí", "Raquel", "Lorena", "Yolanda", "Belén",
]
MALE_NAMES = [
    "José", "Juan", "Andrés", "Sebastián", "Nicolás", "Santiago", "Julián", "Martín", "Camilo", "Jesús",
    "Óscar", "Iván", "Ramón", "Raúl", "Hernán", "Simón", "Tomás", "Matías", "Joaquín", "Germán", "Luis Fernando",
    "Juan Pablo", "Carlos", "Jairo", "Álvaro", "Héctor", "Fabián", "Efraín", "Rubén", "Agustín",
]
LAST_NAMES = [
    "Peña", "Gómez", "Rodríguez", "Martínez", "Hernández", "López", "García", "Pérez", "Sánchez", "Ramírez",
    "Muñoz", "Díaz", "Álvarez", "Jiménez", "Castaño", "Ospina", "Londoño", "Zuluaga", "Quintero", "Cárdenas",
    "Ibáñez", "Núñez", "Vásquez", "Suárez", "Gutiérrez", "Beltrán", "Rincón", "Ordóñez", "Patiño", "Cañas",
    "Restrepo", "Mejía", "Arango", "Giraldo", "Rojas", "Moreno", "Vargas", "Acuña", "Bermúdez", "Durán",
]
STREETS = ["Calle", "Carrera", "Avenida", "Diagonal", "Transversal"]
OCCUPATIONS = ["Docente", "Estudiante", "Ingeniera", "Comerciante", "Conductor", "Médica", "Contador",
               "Pensionado", "Abogada", "Diseñador", "Enfermera", "Oficios varios", ""]
MOBILE_PREFIXES = ["300", "301", "302", "304", "310", "311", "312", "313", "314", "315", "316", "317", "318",
                   "319", "320", "321", "350"]


class Command(BaseCommand):
    help = "Create COUNT realistic patients (Colombian names, documents, phones) in an organization, fast."

    def add_arguments(self, parser):
        parser.add_argument("--organization", required=True, help="slug of the organization")
        parser.add_argument("--count", type=int, default=1000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--batch-size", type=int, default=5000)

    def handle(self, *args, organization, count, seed, batch_size, **options):
        org = Organization.objects.filter(slug=organization).first()
        if org is None:
            raise CommandError(f"No organization with slug {organization!r}.")
        if count < 1:
            raise CommandError("--count must be positive.")
        rng = random.Random(seed)
        taken = set(Patient.objects.filter(organization=org).values_list("document_number", flat=True))
        now = timezone.now()
        started = time.monotonic()
        created = 0
        self.last_phone = ""
        with transaction.atomic():
            while created < count:
                size = min(batch_size, count - created)
                batch = [self._patient(rng, org, taken, now) for _ in range(size)]
                Patient.objects.bulk_create(batch, batch_size=size)
                created += size
                if options["verbosity"] > 1:
                    self.stdout.write(f"  {created}/{count}")
        # Fresh statistics, or the planner keeps ignoring the trigram indexes right after a bulk load.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Patient._meta.db_table}")
        elapsed = time.monotonic() - started
        self.stdout.write(self.style.SUCCESS(
            f"Created {created} patients in {org.name} in {elapsed:.1f} s (seed {seed})."))

    def _patient(self, rng, org, taken, now):
        female = rng.random() < 0.55
        birth = datetime.date(1935, 1, 1) + datetime.timedelta(days=rng.randrange(0, 88 * 365))
        minor = (now.date() - birth).days < 18 * 365
        document_type = DocumentType.TI if minor else rng.choices(
            [DocumentType.CC, DocumentType.CE, DocumentType.PA, DocumentType.PPT], [90, 5, 2, 3])[0]
        while True:
            document = str(rng.randrange(10_000_000, 1_999_999_999))
            if document not in taken:
                taken.add(document)
                break
        # About one patient in ten shares the phone of the previous one (families); a few have none.
        if rng.random() < 0.1 and self.last_phone:
            phone = self.last_phone
        elif rng.random() < 0.03:
            phone = ""
        else:
            phone = f"+57{rng.choice(MOBILE_PREFIXES)}{rng.randrange(0, 10_000_000):07d}"
            self.last_phone = phone
        consent = bool(phone) and rng.random() < 0.75
        first = rng.choice(FEMALE_NAMES if female else MALE_NAMES)
        return Patient(
            organization=org,
            document_type=document_type,
            document_number=document,
            first_name=first,
            last_name=f"{rng.choice(LAST_NAMES)} {rng.choice(LAST_NAMES)}",
            birth_date=birth,
            sex=Sex.FEMALE if female else Sex.MALE,
            phone=phone,
            email=f"{text_fold(first.split()[0])}.{document[-4:]}@correo.test" if rng.random() < 0.5 else "",
            address=f"{rng.choice(STREETS)} {rng.randrange(1, 180)} # {rng.randrange(1, 120)}-{rng.randrange(1, 99)}",
            occupation=rng.choice(OCCUPATIONS),
            whatsapp_consent=consent,
            whatsapp_consent_at=now if consent else None,
            whatsapp_consent_source=rng.choice([ConsentSource.IN_PERSON, ConsentSource.WRITTEN_FORM])
            if consent else "",
        )

