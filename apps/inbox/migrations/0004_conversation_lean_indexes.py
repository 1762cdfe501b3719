"""Conversation keeps the indexes its queries use (issue 14): each stored message rewrites its row, and
a row rewritten with new index keys (updated_at, last_message_at) adds an entry to every index.

- the clinic's own index goes: inbox_conv_org_last_message, inbox_conv_org_updated and the unique key all
  lead with organization_id (the ON DELETE CASCADE of a clinic uses them);
- created_at loses its index: no query filters or orders conversations by it;
- assigned_to keeps an index over assigned rows only ("mine" and ON DELETE SET NULL use `= x`).

New index first, then the drops, CONCURRENTLY; the foreign key constraints are left alone.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('inbox', '0003_conversation_unread_and_updated_indexes'),
        ('organizations', '0003_api_token_expiry'),
        ('patients', '0004_import_jobs'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
            migrations.AlterField(
                model_name='conversation',
                name='assigned_to',
                field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='assigned to'),
            ),
            migrations.AlterField(
                model_name='conversation',
                name='created_at',
                field=models.DateTimeField(auto_now_add=True),
            ),
            migrations.AlterField(
                model_name='conversation',
                name='organization',
                field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='conversations', to='organizations.organization'),
            ),
            migrations.AddIndex(
                model_name='conversation',
                index=models.Index(condition=models.Q(('assigned_to__isnull', False)), fields=['assigned_to'], name='inbox_conv_assigned_to'),
            ),
    
            ],
            database_operations=[
            migrations.RunSQL(
                'CREATE INDEX CONCURRENTLY IF NOT EXISTS "inbox_conv_assigned_to" ON "inbox_conversation" ("assigned_to_id") '
                'WHERE "assigned_to_id" IS NOT NULL',
                reverse_sql='DROP INDEX CONCURRENTLY IF EXISTS "inbox_conv_assigned_to"'),
            migrations.RunSQL('DROP INDEX CONCURRENTLY IF EXISTS "inbox_conversation_organization_id_2610e691"'),
            migrations.RunSQL('DROP INDEX CONCURRENTLY IF EXISTS "inbox_conversation_assigned_to_id_4ea3412e"'),
            migrations.RunSQL('DROP INDEX CONCURRENTLY IF EXISTS "inbox_conversation_created_at_438f0947"'),
            ],
        ),
    ]
