"""A bulk insert for hot paths: what bulk_create does for plain rows, at a fraction of its Python cost."""

from __future__ import annotations

from django.db import connections, models
from django.utils import timezone

# Columns whose Python values PostgreSQL arrays take as they are (no adapter, no conversion).
_ARRAY_TYPES = {"AutoField", "BigAutoField", "BigIntegerField", "BooleanField", "CharField", "DateTimeField",
                "ForeignKey", "IntegerField", "OneToOneField", "PositiveIntegerField", "PositiveSmallIntegerField",
                "SmallIntegerField", "TextField"}


def _cast(field, connection) -> str:
    # varchar without its length: a cast to varchar(n) would cut a long value, the column refuses it.
    return "varchar" if field.get_internal_type() == "CharField" else field.db_type(connection)


def rows_insert(objs: list[models.Model], *, on_conflict: str = "", key: str = "",
                using: str = "default") -> list[models.Model]:
    """Insert unsaved instances of one model as bulk_create(objs) does (primary keys set, auto_now(_add)
    columns stamped, post_save not sent), in one statement: a column every row shares is one parameter,
    the others one array each (INSERT … SELECT FROM unnest). The statement's text depends only on which
    columns vary, not on how many rows there are, so psycopg parses it once.

    With `on_conflict` (a conflict target, say "(a, b) WHERE c"), a row that would break that unique index
    is skipped (ON CONFLICT DO NOTHING) and its instance stays unsaved; `key` names the column (attname)
    that tells the rows apart (unique among `objs` wherever the index applies). Answers the instances
    inserted, in order.

    Falls back to bulk_create when a varying column is not a plain scalar (a JSON value, an expression).
    """
    if not objs:
        return []
    model = type(objs[0])
    meta = model._meta
    connection = connections[using]
    now = timezone.now()
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    for field in fields:
        if getattr(field, "auto_now", False) or (getattr(field, "auto_now_add", False)):
            for obj in objs:
                setattr(obj, field.attname, now)
    shared, varying = [], []
    for field in fields:
        values = [getattr(obj, field.attname) for obj in objs]
        first = values[0]
        if all(value == first and type(value) is type(first) for value in values):
            shared.append((field, first))
        elif field.get_internal_type() in _ARRAY_TYPES and not any(hasattr(v, "resolve_expression") for v in values):
            varying.append((field, values))
        else:
            if on_conflict:
                raise ValueError(f"{field.name} varies and is not a plain column: no insert with on_conflict")
            model._default_manager.using(using).bulk_create(objs)
            return list(objs)
    quote = connection.ops.quote_name

    columns = [quote(f.column) for f, _value in shared] + [quote(f.column) for f, _values in varying]
    params = [f.get_db_prep_save(value, connection) for f, value in shared]
    params += [[f.get_db_prep_save(v, connection) for v in values] for f, values in varying]
    select = [f"%s::{_cast(f, connection)}" for f, _value in shared]
    source = ""
    if varying:
        select += [f"v.c{i}" for i in range(len(varying))]
        arrays = ", ".join(f"%s::{_cast(f, connection)}[]" for f, _values in varying)
        names = ", ".join(f"c{i}" for i in range(len(varying)))
        source = f" FROM unnest({arrays}) WITH ORDINALITY AS v({names}, n) ORDER BY v.n"
    else:
        source = f" FROM generate_series(1, {len(objs)})"
    pk = meta.pk
    conflict = f" ON CONFLICT {on_conflict} DO NOTHING" if on_conflict else ""
    key_column = quote(meta.get_field(key).column) if on_conflict else quote(pk.column)
    sql = (f"INSERT INTO {quote(meta.db_table)} ({', '.join(columns)}) SELECT {', '.join(select)}{source}"  # noqa: S608
           f"{conflict} RETURNING {quote(pk.column)}, {key_column}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    # RETURNING gives the rows in the order they went in: the order of `objs`, less the skipped ones.
    inserted, returned = [], iter(rows)
    row = next(returned, None)
    for obj in objs:
        if row is None or (on_conflict and getattr(obj, key) != row[1]):
            continue
        setattr(obj, pk.attname, row[0])
        obj._state.adding = False
        obj._state.db = using
        inserted.append(obj)
        row = next(returned, None)
    if row is not None or (not on_conflict and len(inserted) != len(objs)):
        raise RuntimeError("the rows returned do not match the instances inserted")
    return inserted


def rows_update(objs: list[models.Model], fields: list[str], *, using: str = "default") -> int:
    """Write `fields` of saved instances of one model in one statement, as bulk_update(objs, fields) does
    (no signals, auto_now not stamped: name the field and set it), without its CASE WHEN per row and
    field: `UPDATE … FROM unnest(…)`, a field every row shares as one parameter, the others one array
    each, so the statement's text depends only on which fields vary, not on how many rows there are.

    A foreign key whose related instance is cached is written with that instance's current primary key
    (one saved after it was assigned, say by a bulk insert, included). Answers how many rows were
    updated. Falls back to bulk_update when a varying field is not a plain scalar (a JSON value, an
    expression).
    """
    if not objs:
        return 0
    model = type(objs[0])
    meta = model._meta
    connection = connections[using]
    targets = [meta.get_field(name) for name in fields]
    if any(not f.concrete or f.primary_key or f.many_to_many for f in targets):
        raise ValueError("only concrete fields other than the primary key can be updated")
    pks = [obj.pk for obj in objs]
    shared, varying = [], []
    for field in targets:
        values = [_value_of(obj, field) for obj in objs]
        head = values[0]
        if all(value == head and type(value) is type(head) for value in values):
            shared.append((field, head))
        elif field.get_internal_type() in _ARRAY_TYPES and not any(hasattr(v, "resolve_expression") for v in values):
            varying.append((field, values))
        else:
            return model._default_manager.using(using).bulk_update(objs, fields)
    quote = connection.ops.quote_name

    pk = meta.pk
    sets = [f"{quote(f.column)} = %s::{_cast(f, connection)}" for f, _value in shared]
    sets += [f"{quote(f.column)} = v.c{i}" for i, (f, _values) in enumerate(varying)]
    arrays = ", ".join([f"%s::{_cast(pk, connection)}[]"] + [f"%s::{_cast(f, connection)}[]" for f, _values in varying])
    names = ", ".join(["pk"] + [f"c{i}" for i in range(len(varying))])
    table = quote(meta.db_table)
    sql = (f"UPDATE {table} AS t SET {', '.join(sets)} FROM unnest({arrays}) AS v({names})"  # noqa: S608
           f" WHERE t.{quote(pk.column)} = v.pk")
    params = [f.get_db_prep_save(value, connection) for f, value in shared]
    params.append([pk.get_db_prep_save(value, connection) for value in pks])
    params += [[f.get_db_prep_save(v, connection) for v in values] for f, values in varying]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _value_of(obj: models.Model, field) -> object:
    if field.is_relation and field.is_cached(obj):
        related = field.get_cached_value(obj)
        return related.pk if related is not None else None
    return getattr(obj, field.attname)
