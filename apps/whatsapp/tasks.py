import datetime as dt

from procrastinate.contrib.django import app

from apps.whatsapp.models import ProcessedEvent

# The bridge retries an event for minutes, not weeks: older ids need not be remembered.
PROCESSED_EVENT_DAYS = 30


@app.periodic(cron="17 3 * * *", periodic_id="prune_processed_events")
@app.task(name="whatsapp.prune_processed_events")
def prune_processed_events(timestamp: int) -> int:
    cutoff = dt.datetime.fromtimestamp(timestamp, dt.UTC) - dt.timedelta(days=PROCESSED_EVENT_DAYS)
    deleted, _by_model = ProcessedEvent.objects.filter(processed_at__lt=cutoff).delete()
    return deleted
