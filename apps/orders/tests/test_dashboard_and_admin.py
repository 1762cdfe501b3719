"""The shop on the home page, the demo data and Django admin."""

import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.orders.models import Order, OrderStatus
from apps.orders.services import payment_record
from apps.recalls.models import Recall

pytestmark = pytest.mark.django_db


def test_the_home_page_shows_the_shop_figures(staff_client, make_order):
    import datetime as dt

    make_order(status=OrderStatus.IN_LAB, promised_date=dt.date(2020, 1, 1))
    payment_record(order=make_order(), amount=12_000_000, method="nequi")

    page = staff_client.get(reverse("home")).content.decode()

    assert re.search(r'id="orders-by-status".*?data-status="in_lab"><span>[^<]+</span><strong>1</strong>', page,
                     re.DOTALL)
    assert 'data-count="1"' in page  # overdue at the lab
    assert 'id="revenue-total">$ 120.000<' in page
    assert 'id="shop-chart-data"' in page


def test_another_clinics_shop_is_not_counted(client, other_user, make_order):
    payment_record(order=make_order(), amount=12_000_000, method="nequi")
    client.force_login(other_user)

    page = client.get(reverse("home")).content.decode()

    assert 'id="revenue-total">$ 0<' in page


def test_the_demo_has_labs_orders_and_recalls_and_can_run_twice(client):
    call_command("seed_demo")
    counts = (Order.objects.count(), Recall.objects.count())
    call_command("seed_demo")

    assert counts == (Order.objects.count(), Recall.objects.count())
    assert counts[0] >= 3 and counts[1] >= 1
    assert Order.objects.filter(status=OrderStatus.IN_LAB, payments__isnull=False).exists()


def test_superusers_see_the_shop_in_the_admin(admin_client, admin_user, make_order):
    order = make_order()
    type(admin_user).objects.filter(pk=admin_user.pk).update(is_staff=True, is_superuser=True)

    for url in ("/admin/orders/order/", f"/admin/orders/order/{order.pk}/change/", "/admin/orders/lab/",
                "/admin/orders/payment/", "/admin/orders/shopsettings/", "/admin/recalls/recall/",
                "/admin/recalls/recallrule/"):
        assert admin_client.get(url).status_code == 200, url
