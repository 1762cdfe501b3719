from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from apps.appointments.models import EventSource
from apps.common.models import TimeStampedModel
from apps.orders.money import CURRENCY_CHOICES, DEFAULT_CURRENCY, format_money
from apps.organizations.models import Organization


class ShopSettings(TimeStampedModel):
    """One clinic's shop: its currency and the opening hours its messages quote."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="shop_settings")
    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCY_CHOICES, default=DEFAULT_CURRENCY)
    opening_hours = models.CharField(_("opening hours"), max_length=200, default="lunes a sábado de 8:00 a 18:00",
                                     help_text=_("Quoted in the \"your order is ready\" message."))
    next_number = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("shop settings")
        verbose_name_plural = _("shop settings")
        constraints = [
            models.CheckConstraint(condition=Q(currency__in=[code for code, _label in CURRENCY_CHOICES]),
                                   name="orders_settings_currency"),
        ]

    def __str__(self):
        return str(self.organization)


class Lab(TimeStampedModel):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="labs")
    name = models.CharField(_("name"), max_length=120)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    email = models.EmailField(_("email"), blank=True)
    turnaround_days = models.PositiveSmallIntegerField(
        _("usual turnaround (days)"), default=7, validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text=_("Proposes the promised date of a new order."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("lab")
        verbose_name_plural = _("labs")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="orders_lab_name_unique"),
            models.CheckConstraint(condition=Q(turnaround_days__gte=1, turnaround_days__lte=90),
                                   name="orders_lab_turnaround_range"),
        ]

    def __str__(self):
        return self.name


class OrderKind(models.TextChoices):
    SPECTACLES = "spectacles", _("Spectacles")
    CONTACT_LENS = "contact_lens", _("Contact lenses")


# Labels carry a context: Spanish agrees them with "pedido".
class OrderStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("order", "Draft")
    SENT_TO_LAB = "sent_to_lab", pgettext_lazy("order", "Sent to lab")
    IN_LAB = "in_lab", pgettext_lazy("order", "In the lab")
    RECEIVED = "received", pgettext_lazy("order", "Received from lab")
    READY = "ready", pgettext_lazy("order", "Ready for pickup")
    DELIVERED = "delivered", pgettext_lazy("order", "Delivered")
    CANCELLED = "cancelled", pgettext_lazy("order", "Cancelled")


# At the lab: what "overdue at the lab" looks at.
AT_LAB_STATUSES = (OrderStatus.SENT_TO_LAB, OrderStatus.IN_LAB)
CLOSED_STATUSES = (OrderStatus.DELIVERED, OrderStatus.CANCELLED)


class LensType(models.TextChoices):
    SINGLE_VISION = "single_vision", _("Single vision")
    BIFOCAL = "bifocal", _("Bifocal")
    PROGRESSIVE = "progressive", _("Progressive")
    OCCUPATIONAL = "occupational", _("Occupational")


class LensMaterial(models.TextChoices):
    CR39 = "cr39", _("CR-39 (plastic)")
    POLYCARBONATE = "polycarbonate", _("Polycarbonate")
    TRIVEX = "trivex", _("Trivex")
    HIGH_INDEX = "high_index", _("High index")
    GLASS = "glass", _("Mineral glass")


class Treatment(models.TextChoices):
    ANTI_REFLECTIVE = "anti_reflective", _("Anti-reflective")
    BLUE_FILTER = "blue_filter", _("Blue-light filter")
    PHOTOCHROMIC = "photochromic", _("Photochromic")
    TINT = "tint", _("Tint")


def _mm(label, low, high):
    return models.DecimalField(label, max_digits=3, decimal_places=1, null=True, blank=True,
                               validators=[MinValueValidator(Decimal(low)), MaxValueValidator(Decimal(high))])


def _mm_range(field, low, high):
    return models.CheckConstraint(
        condition=Q(**{f"{field}__isnull": True})
        | Q(**{f"{field}__gte": Decimal(low), f"{field}__lte": Decimal(high)}),
        name=f"orders_order_{field}_range",
    )


class Order(TimeStampedModel):
    """Spectacles or contact lenses made from a final prescription, and their sale."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="orders")
    number = models.PositiveIntegerField(_("number"), editable=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="orders",
                                verbose_name=_("patient"))
    prescription = models.ForeignKey("patients.Prescription", on_delete=models.PROTECT, related_name="orders",
                                     verbose_name=_("prescription"))
    kind = models.CharField(_("type"), max_length=16, choices=OrderKind.choices, default=OrderKind.SPECTACLES)
    status = models.CharField(_("status"), max_length=12, choices=OrderStatus.choices, default=OrderStatus.DRAFT)
    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, null=True, blank=True, related_name="orders",
                            verbose_name=_("lab"))
    promised_date = models.DateField(_("promised date"), null=True, blank=True)

    frame_brand = models.CharField(_("frame brand"), max_length=80, blank=True)
    frame_model = models.CharField(_("frame model"), max_length=80, blank=True)
    frame_colour = models.CharField(_("frame colour"), max_length=60, blank=True)
    frame_size = models.CharField(_("frame size"), max_length=30, blank=True, help_text=_("e.g. 52-18-140"))
    lens_type = models.CharField(_("lens type"), max_length=16, choices=LensType.choices, blank=True)
    lens_material = models.CharField(_("lens material"), max_length=16, choices=LensMaterial.choices, blank=True)
    lens_index = models.DecimalField(_("lens index"), max_digits=3, decimal_places=2, null=True, blank=True,
                                     validators=[MinValueValidator(Decimal("1.40")),
                                                 MaxValueValidator(Decimal("1.90"))])
    treatments = ArrayField(models.CharField(max_length=20, choices=Treatment.choices), default=list, blank=True,
                            verbose_name=_("treatments"))
    pd_od = _mm(_("OD monocular PD (mm)"), "20", "40")
    pd_os = _mm(_("OS monocular PD (mm)"), "20", "40")
    fitting_height = _mm(_("fitting height (mm)"), "10", "40")
    segment_height = _mm(_("segment height (mm)"), "10", "40")
    contact_lens_product = models.CharField(_("contact lens product"), max_length=120, blank=True)
    notes = models.TextField(_("notes for the lab"), blank=True)

    currency = models.CharField(_("currency"), max_length=3, choices=CURRENCY_CHOICES, default=DEFAULT_CURRENCY)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("created by"))
    ready_at = models.DateTimeField(_("ready at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="orders_order_number_unique"),
            models.CheckConstraint(condition=Q(status__in=OrderStatus.values), name="orders_order_status"),
            models.CheckConstraint(condition=Q(kind__in=OrderKind.values), name="orders_order_kind"),
            models.CheckConstraint(condition=Q(lens_type="") | Q(lens_type__in=LensType.values),
                                   name="orders_order_lens_type"),
            models.CheckConstraint(condition=Q(lens_material="") | Q(lens_material__in=LensMaterial.values),
                                   name="orders_order_lens_material"),
            models.CheckConstraint(condition=Q(treatments__contained_by=Treatment.values),
                                   name="orders_order_treatments"),
            models.CheckConstraint(
                condition=Q(lens_index__isnull=True)
                | Q(lens_index__gte=Decimal("1.40"), lens_index__lte=Decimal("1.90")),
                name="orders_order_lens_index_range",
            ),
            _mm_range("pd_od", "20", "40"),
            _mm_range("pd_os", "20", "40"),
            _mm_range("fitting_height", "10", "40"),
            _mm_range("segment_height", "10", "40"),
            # Past the draft, the lab knows who makes the order.
            models.CheckConstraint(condition=Q(status__in=[OrderStatus.DRAFT, OrderStatus.CANCELLED])
                                   | Q(lab__isnull=False), name="orders_order_lab_after_draft"),
            models.CheckConstraint(condition=~Q(status=OrderStatus.DELIVERED) | Q(delivered_at__isnull=False),
                                   name="orders_order_delivered_at"),
        ]
        indexes = [
            models.Index(fields=["organization", "status"], name="orders_order_org_status"),
            models.Index(fields=["organization", "promised_date"], name="orders_order_org_promised",
                         condition=Q(status__in=AT_LAB_STATUSES)),
        ]

    def __str__(self):
        return f"#{self.number} · {self.patient}"

    @property
    def reference(self) -> str:
        return f"#{self.number}"

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_STATUSES

    @property
    def treatment_labels(self) -> list[str]:
        return [Treatment(value).label for value in self.treatments]

    def money(self, minor: int) -> str:
        return format_money(minor, self.currency)


class LineKind(models.TextChoices):
    FRAME = "frame", _("Frame")
    LENSES = "lenses", _("Lenses")
    TREATMENT = "treatment", _("Treatment")
    CONTACT_LENSES = "contact_lenses", _("Contact lenses")
    CONSULTATION = "consultation", _("Consultation")
    OTHER = "other", _("Other")


class OrderLine(models.Model):
    """What the order sells; amounts in the order's currency, in minor units."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(_("item"), max_length=16, choices=LineKind.choices)
    description = models.CharField(_("description"), max_length=200)
    quantity = models.PositiveSmallIntegerField(_("quantity"), default=1)
    unit_price = models.BigIntegerField(_("unit price"))
    discount = models.BigIntegerField(_("discount"), default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=LineKind.values), name="orders_line_kind"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="orders_line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="orders_line_price_not_negative"),
            models.CheckConstraint(condition=Q(discount__gte=0) & Q(discount__lte=F("quantity") * F("unit_price")),
                                   name="orders_line_discount_within_price"),
        ]

    def __str__(self):
        return self.description

    @property
    def total(self) -> int:
        return self.quantity * self.unit_price - self.discount


class PaymentMethod(models.TextChoices):
    CASH = "cash", _("Cash")
    CARD = "card", _("Card")
    TRANSFER = "transfer", _("Bank transfer")
    NEQUI = "nequi", "Nequi"
    DAVIPLATA = "daviplata", "Daviplata"


class PaymentKind(models.TextChoices):
    DEPOSIT = "deposit", _("Deposit")
    BALANCE = "balance", _("Balance")


class Payment(models.Model):
    """Money received for an order: a deposit ("abono") while something is still owed, else the balance."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    amount = models.BigIntegerField(_("amount"))
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default=DEFAULT_CURRENCY)
    method = models.CharField(_("method"), max_length=12, choices=PaymentMethod.choices)
    kind = models.CharField(_("kind"), max_length=8, choices=PaymentKind.choices)
    reference = models.CharField(_("reference"), max_length=80, blank=True,
                                 help_text=_("Voucher or transfer number, if any."))
    received_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+", verbose_name=_("received by"))

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["received_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="orders_payment_amount_positive"),
            models.CheckConstraint(condition=Q(method__in=PaymentMethod.values), name="orders_payment_method"),
            models.CheckConstraint(condition=Q(kind__in=PaymentKind.values), name="orders_payment_kind"),
        ]
        indexes = [models.Index(fields=["organization", "received_at"], name="orders_payment_org_received")]

    def __str__(self):
        return f"{self.order.reference}: {format_money(self.amount, self.currency)}"


class OrderEvent(models.Model):
    """Append-only history of an order's status: who moved it, when, from where."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    source = models.CharField(max_length=10, choices=EventSource.choices, default=EventSource.UI)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(source__in=EventSource.values), name="orders_event_source"),
            models.CheckConstraint(condition=Q(to_status__in=OrderStatus.values), name="orders_event_to_status"),
        ]

    def __str__(self):
        return f"{self.from_status or '·'} → {self.to_status}"

    @property
    def to_label(self) -> str:
        return OrderStatus(self.to_status).label


class OrderMessagePurpose(models.TextChoices):
    READY = "ready", _("Your order is ready")
    RECEIPT = "receipt", _("Receipt")


class OrderMessage(models.Model):
    """Links an order to the WhatsApp messages sent about it (the rows of the notifications ledger)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="order_messages")
    purpose = models.CharField(max_length=10, choices=OrderMessagePurpose.choices)
    message = models.OneToOneField("notifications.Message", on_delete=models.PROTECT, related_name="order_link")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # "Your glasses are ready" goes out once per order, however often it reaches ready.
            models.UniqueConstraint(fields=["order"], condition=Q(purpose="ready"), name="orders_ready_message_once"),
            models.CheckConstraint(condition=Q(purpose__in=OrderMessagePurpose.values), name="orders_message_purpose"),
        ]

    def __str__(self):
        return f"{self.order.reference} {self.purpose}"
