from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    # The cache is a table so that every gunicorn worker (and machine) shares one login throttle; creating it
    # here means `migrate` alone, on a clean clone or in the test database, gives a working system.
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


def drop_cache_table(apps, schema_editor):
    schema_editor.execute("DROP TABLE IF EXISTS django_cache")


class Migration(migrations.Migration):
    dependencies = [("common", "0001_postgres_extensions")]

    operations = [migrations.RunPython(create_cache_table, drop_cache_table, elidable=False)]
