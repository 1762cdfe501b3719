from typing import Any

from django.db import models


def model_update(*, instance: models.Model, fields: list[str], data: dict[str, Any]) -> tuple[models.Model, bool]:
    """Set the given fields from data, validate, and save only what changed."""
    changed = [field for field in fields if field in data and getattr(instance, field) != data[field]]
    for field in changed:
        setattr(instance, field, data[field])
    if changed:
        instance.full_clean()
        update_fields = changed + (["updated_at"] if hasattr(instance, "updated_at") else [])
        instance.save(update_fields=update_fields)
    return instance, bool(changed)
