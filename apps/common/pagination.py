"""A page of a search and its total from one query."""

from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet, Window


class _CountedPaginator(Paginator):
    """A paginator whose total is already known (it came with the page's rows)."""

    def __init__(self, object_list, per_page, count: int):
        super().__init__(object_list, per_page)
        self.__dict__["count"] = count  # Paginator.count is a cached_property


def page_with_total(queryset: QuerySet, number, per_page: int) -> Page:
    """What `Paginator(queryset, per_page).get_page(number)` gives, in one query instead of two.

    The total rides on the page's rows (`COUNT(*) OVER ()`), so a search's conditions run once rather
    than once for the COUNT and again for the rows. A page past the end falls back to the paginator
    (which shows the last page, as get_page does)."""
    try:
        number = max(1, int(number))
    except (TypeError, ValueError):
        number = 1
    offset = (number - 1) * per_page
    rows = list(queryset.annotate(search_total=Window(Count("*")))[offset:offset + per_page])
    if not rows and number > 1:
        return Paginator(queryset, per_page).get_page(number)
    paginator = _CountedPaginator(rows, per_page, rows[0].search_total if rows else 0)
    return Page(rows, number, paginator)
