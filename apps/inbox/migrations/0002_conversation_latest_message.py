from django.db import migrations, models

# Conversations that the lazy sync had not created yet, and every conversation's copy of its latest
# message, from the messages already stored.
BACKFILL = """
WITH m AS (
    SELECT id, organization_id, patient_id, phone, contact_name, body, direction, created_at,
           CASE WHEN patient_id IS NOT NULL THEN 'p:' || patient_id ELSE 't:' || phone END AS key
    FROM notifications_message
)
INSERT INTO inbox_conversation (created_at, updated_at, organization_id, key, patient_id, phone, contact_name,
                                state, last_body, last_direction)
SELECT now(), now(), organization_id, key, max(patient_id),
       CASE WHEN max(patient_id) IS NULL THEN max(phone) ELSE '' END,
       CASE WHEN max(patient_id) IS NULL THEN coalesce(max(contact_name), '') ELSE '' END, 'open', '', ''
FROM m GROUP BY organization_id, key
ON CONFLICT (organization_id, key) DO NOTHING;

WITH m AS (
    SELECT id, organization_id, body, direction, created_at,
           CASE WHEN patient_id IS NOT NULL THEN 'p:' || patient_id ELSE 't:' || phone END AS key
    FROM notifications_message
), latest AS (
    SELECT DISTINCT ON (organization_id, key) organization_id, key, created_at, body, direction
    FROM m ORDER BY organization_id, key, created_at DESC, id DESC
), inbound AS (
    SELECT organization_id, key, max(created_at) AS at FROM m WHERE direction = 'in' GROUP BY organization_id, key
)
UPDATE inbox_conversation c
SET last_message_at = latest.created_at, last_body = latest.body, last_direction = latest.direction,
    last_inbound_at = inbound.at
FROM latest LEFT JOIN inbound USING (organization_id, key)
WHERE c.organization_id = latest.organization_id AND c.key = latest.key;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('inbox', '0001_initial'),
        ('notifications', '0003_message_attachments'),
    ]

    operations = [
        migrations.AddField(
            model_name='conversation',
            name='last_body',
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name='conversation',
            name='last_direction',
            field=models.CharField(blank=True, max_length=3),
        ),
        migrations.AddField(
            model_name='conversation',
            name='last_inbound_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='conversation',
            name='last_message_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name='conversation',
            index=models.Index(models.F('organization'), models.F('last_message_at').desc(nulls_last=True),
                               models.F('id').desc(), name='inbox_conv_org_last_message'),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
