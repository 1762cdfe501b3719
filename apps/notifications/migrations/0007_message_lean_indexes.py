"""Message keeps the indexes its queries use, and no more (issue 14: every inbound text maintained 14).

- the clinic's own index goes: notifications_msg_org_created, notifications_msg_org_phone and
  notifications_inbound_once all lead with organization_id (the ON DELETE CASCADE of a clinic uses them);
- bridge_message_id keeps one btree and loses its varchar_pattern_ops twin (no query uses LIKE on it;
  the admin's search is an icontains, which neither index serves);
- appointment, rule, reply_to and sent_by keep an index only over the rows that have one (WHERE ... IS NOT
  NULL): `= x` and `IN (...)`, as the lookups and ON DELETE SET NULL use them, imply NOT NULL.

Every unique constraint stays. The database side builds the new indexes before it drops the old ones, both
CONCURRENTLY (no lock on writes), and leaves the foreign key constraints alone (an AlterField would drop
and validate them again over the whole table).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('appointments', '0002_early_arrival_window'),
        ('notifications', '0006_staff_notices'),
        ('organizations', '0003_api_token_expiry'),
        ('patients', '0004_import_jobs'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
            migrations.AlterField(
                model_name='message',
                name='appointment',
                field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='messages', to='appointments.appointment', verbose_name='appointment'),
            ),
            migrations.AlterField(
                model_name='message',
                name='bridge_message_id',
                field=models.CharField(blank=True, max_length=128),
            ),
            migrations.AlterField(
                model_name='message',
                name='organization',
                field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='messages', to='organizations.organization'),
            ),
            migrations.AlterField(
                model_name='message',
                name='reply_to',
                field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='replies', to='notifications.message'),
            ),
            migrations.AlterField(
                model_name='message',
                name='rule',
                field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='notifications.reminderrule'),
            ),
            migrations.AlterField(
                model_name='message',
                name='sent_by',
                field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='sent by'),
            ),
            migrations.AddIndex(
                model_name='message',
                index=models.Index(fields=['bridge_message_id'], name='notifications_msg_bridge_id'),
            ),
            migrations.AddIndex(
                model_name='message',
                index=models.Index(condition=models.Q(('appointment__isnull', False)), fields=['appointment'], name='notifications_msg_appointment'),
            ),
            migrations.AddIndex(
                model_name='message',
                index=models.Index(condition=models.Q(('rule__isnull', False)), fields=['rule'], name='notifications_msg_rule'),
            ),
            migrations.AddIndex(
                model_name='message',
                index=models.Index(condition=models.Q(('reply_to__isnull', False)), fields=['reply_to'], name='notifications_msg_reply_to'),
            ),
            migrations.AddIndex(
                model_name='message',
                index=models.Index(condition=models.Q(('sent_by__isnull', False)), fields=['sent_by'], name='notifications_msg_sent_by'),
            ),
    
            ],
            database_operations=[
            migrations.RunSQL(
                'CREATE INDEX CONCURRENTLY IF NOT EXISTS "notifications_msg_bridge_id" ON "notifications_message" ("bridge_message_id")',
                reverse_sql='DROP INDEX CONCURRENTLY IF EXISTS "notifications_msg_bridge_id"'),
            migrations.RunSQL(
                'CREATE INDEX CONCURRENTLY IF NOT EXISTS "notifications_msg_appointment" ON "notifications_message" ("appointment_id") WHERE "appointment_id" IS NOT NULL',
                reverse_sql='DROP INDEX CONCURRENTLY IF EXISTS "notifications_msg_appointment"'),
            migrations.RunSQL(
                'CREATE INDEX CONCURRENTLY IF NOT EXISTS "notifications_msg_rule" ON "notifications_message" ("rule_id") WHERE "rule_id" IS NOT NULL',
                reverse_sql='DROP INDEX CONCURRENTLY IF EXISTS "notifications_msg_rule"'),
            migrations.RunSQL(
                'CREATE INDEX CONCURRENTLY IF NOT EXISTS "notifications_msg_reply_to" ON "notifications_message" ("reply_to_id") WHERE "reply_to_id" IS NOT NULL',
                reverse_sql='DROP INDEX CONCURRENTLY IF EXISTS "notifications_msg_reply_to"'),
            migrations.RunSQL(
                'CREATE INDEX CONCURRENTLY IF NOT EXISTS "notifications_msg_sent_by" ON "notifications_message" ("sent_by_id") WHERE "sent_by_id" IS NOT NULL',
                reverse_sql='DROP INDEX CONCURRENTLY IF EXISTS "notifications_msg_sent_by"'),
            migrations.RunSQL('DROP INDEX CONCURRENTLY IF EXISTS "notifications_message_organization_id_dc278f85"'),
            migrations.RunSQL('DROP INDEX CONCURRENTLY IF EXISTS "notifications_message_appointment_id_b33ce2a0"'),
            migrations.RunSQL('DROP INDEX CONCURRENTLY IF EXISTS "notifications_message_bridge_message_id_9db2039c"'),
            migrations.RunSQL('DROP INDEX CONCURRENTLY IF EXISTS "notifications_message_bridge_message_id_9db2039c_like"'),
            migrations.RunSQL('DROP INDEX CONCURRENTLY IF EXISTS "notifications_message_reply_to_id_990bacd0"'),
            migrations.RunSQL('DROP INDEX CONCURRENTLY IF EXISTS "notifications_message_rule_id_6f2db3e7"'),
            migrations.RunSQL('DROP INDEX CONCURRENTLY IF EXISTS "notifications_message_sent_by_id_fc20d49c"'),
            ],
        ),
    ]
