"""Apply again the bridge events Django could not apply (after the cause is fixed)."""

from django.core.management.base import BaseCommand, CommandError

from apps.organizations.models import Organization
from apps.whatsapp.events import events_replay_rejected
from apps.whatsapp.selectors import rejected_events


class Command(BaseCommand):
    help = "Apply again the WhatsApp events that failed with an unexpected error (see --list)."

    def add_arguments(self, parser):
        parser.add_argument("--organization", type=int, help="only this organization's events (its id)")
        parser.add_argument("--list", action="store_true", help="list them with their reasons; change nothing")

    def handle(self, *args, organization=None, list=False, **options):  # noqa: A002 - the option's name
        if organization is not None and not Organization.objects.filter(pk=organization).exists():
            raise CommandError(f"--organization: no organization with id {organization}")
        rejected = rejected_events(organization_id=organization)
        if list:
            for row in rejected:
                self.stdout.write(f"{row.organization_id}\t{row.event_id}\t{row.type}\t"
                                  f"{row.processed_at:%Y-%m-%d %H:%M:%S}\t{row.rejected_reason}")
            self.stdout.write(f"{rejected.count()} rejected event(s)")
            return
        figures = events_replay_rejected(organization_id=organization)
        self.stdout.write(f"{figures['applied']} applied, {figures['rejected']} rejected again")
