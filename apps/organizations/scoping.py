"""The one place that scopes data to the current organization.

Every view and API view reads clinic data through `scoped()` or `get_scoped_or_404()`, so a row of
another organization is simply not there: lists never show it and its detail URL answers 404.
"""

from django.db.models import Model, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404


def scoped(queryset: QuerySet | type[Model], organization) -> QuerySet:
    if isinstance(queryset, type):
        queryset = queryset._default_manager.all()
    if organization is None:
        return queryset.none()
    return queryset.filter(organization=organization)


def get_scoped_or_404(queryset: QuerySet | type[Model], organization, **lookup):
    if organization is None:
        raise Http404
    return get_object_or_404(scoped(queryset, organization), **lookup)
