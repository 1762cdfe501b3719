"""`manage.py import_clinic --organizations orgs.csv --users users.csv --patients patients.csv`

Moves an existing clinic in from another system's CSV exports; see docs/operations.md ("Moving an
existing clinic in") for the columns. All-or-nothing, idempotent; --dry-run validates only.
"""

from django.core.management.base import BaseCommand, CommandError

from apps.clinic_import.services import ImportFailed, clinic_import


class Command(BaseCommand):
    help = ("Import organizations, users (with their memberships and roles) and patients from CSV files. "
            "All-or-nothing: any wrong row imports nothing and every error is listed. Running it twice "
            "changes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--organizations", metavar="CSV",
                            help="slug,name[,time_zone,default_phone_region,address,phone,is_active]")
        parser.add_argument("--users", metavar="CSV",
                            help="email,organization,role[,full_name,password,is_active]; one row per membership")
        parser.add_argument("--patients", metavar="CSV",
                            help="organization,document_number,first_name,last_name[,document_type,birth_date,"
                                 "sex,phone,email,...]")
        parser.add_argument("--update", action="store_true",
                            help="overwrite existing rows that differ from the files (default: keep them)")
        parser.add_argument("--dry-run", action="store_true", help="validate everything, then roll back")

    def handle(self, *args, organizations=None, users=None, patients=None, update=False, dry_run=False,
               **options):
        if not (organizations or users or patients):
            raise CommandError("Give at least one of --organizations, --users, --patients.")
        try:
            report = clinic_import(organizations=organizations, users=users, patients=patients, update=update,
                                   dry_run=dry_run)
        except ImportFailed as failed:
            for line in failed.errors:
                self.stderr.write(line)
            raise CommandError(f"{len(failed.errors)} error(s): nothing was imported.") from None
        for notice in report.notices:
            self.stdout.write(self.style.WARNING(notice))
        for name in ("organizations", "users", "memberships", "patients"):
            self.stdout.write(f"{name}: {getattr(report, name)}")
        if dry_run:
            self.stdout.write(self.style.WARNING("Dry run: everything was rolled back."))
        else:
            self.stdout.write(self.style.SUCCESS("Import complete." if report.changed else "Nothing to change."))
