"""ProcessedEvent keeps the indexes its queries use (issue 14): every event inserts a row.

- event_id stays unique under the same constraint, whatsapp_processedevent_event_id_key (now a
  UniqueConstraint in the model: in the database nothing changes); its varchar_pattern_ops twin goes
  (no query uses LIKE on an id);
- the index over every row of a clinic becomes one over its rejected events only, which is what the
  WhatsApp page counts and the replay reads; processed_at keeps its index (the pruning job).

The new index first, then the drop, CONCURRENTLY; the unique and foreign key constraints are left alone.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('organizations', '0003_api_token_expiry'),
        ('whatsapp', '0004_processedevent_payload'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
            migrations.AlterField(
                model_name='processedevent',
                name='event_id',
                field=models.CharField(max_length=64),
            ),
            migrations.AlterField(
                model_name='processedevent',
                name='organization',
                field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='organizations.organization'),
            ),
            migrations.AddIndex(
                model_name='processedevent',
                index=models.Index(condition=models.Q(('rejected_reason', ''), _negated=True), fields=['organization'], name='whatsapp_event_rejected'),
            ),
            migrations.AddConstraint(
                model_name='processedevent',
                constraint=models.UniqueConstraint(fields=('event_id',), name='whatsapp_processedevent_event_id_key'),
            ),
    
            ],
            database_operations=[
            migrations.RunSQL(
                'CREATE INDEX CONCURRENTLY IF NOT EXISTS "whatsapp_event_rejected" ON "whatsapp_processedevent" '
                '("organization_id") WHERE NOT ("rejected_reason" = \'\')',
                reverse_sql='DROP INDEX CONCURRENTLY IF EXISTS "whatsapp_event_rejected"'),
            migrations.RunSQL('DROP INDEX CONCURRENTLY IF EXISTS "whatsapp_processedevent_event_id_d68f3d6e_like"'),
            migrations.RunSQL('DROP INDEX CONCURRENTLY IF EXISTS "whatsapp_processedevent_organization_id_c9c1b44d"'),
            ],
        ),
    ]
