from django.contrib.postgres.operations import BtreeGistExtension, TrigramExtension, UnaccentExtension
from django.db import migrations

# unaccent() is only STABLE, so it cannot back an index; this IMMUTABLE wrapper (the usual
# PostgreSQL recipe, pinning the dictionary) can, which makes accent-insensitive search indexable.
IMMUTABLE_UNACCENT = """
CREATE OR REPLACE FUNCTION public.immutable_unaccent(text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$;
"""


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        BtreeGistExtension(),
        TrigramExtension(),
        UnaccentExtension(),
        migrations.RunSQL(IMMUTABLE_UNACCENT, "DROP FUNCTION IF EXISTS public.immutable_unaccent(text);"),
    ]
