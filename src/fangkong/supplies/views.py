"""Pages of supplies: stock overview with days of cover, warehouse ledgers, movement entry,
enterprise output, requests and allocation."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from fangkong.common import paths
from fangkong.common.scope import path_within
from fangkong.common.widgets import date_field
from fangkong.geo.models import Jurisdiction
from fangkong.geo.widgets import JurisdictionPicker

from . import roles, selectors, services
from .models import Item, SupplyRequest, Warehouse

MOVE_KINDS = [
    ("receipt", _("Receipt")),
    ("issue", _("Issue")),
    ("transfer", _("Transfer")),
    ("stock_take", _("Stock-take")),
]


class MovementForm(forms.Form):
    kind = forms.ChoiceField(label=_("Movement"), choices=MOVE_KINDS)
    item = forms.ModelChoiceField(
        label=_("Item"),
        queryset=Item.objects.filter(active=True),
        widget=forms.Select(attrs={"translate": "no"}),  # item names are data
    )
    quantity = forms.IntegerField(
        label=_("Quantity"), min_value=0, help_text=_("the counted quantity for a stock-take")
    )
    destination = forms.ModelChoiceField(
        label=_("Destination"), queryset=Warehouse.objects.all(), required=False
    )
    day = date_field(_("Day"), required=False)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)
    reference = forms.CharField(label=_("Reference"), max_length=80, required=False)


class OutputForm(forms.Form):
    enterprise = forms.IntegerField(widget=forms.HiddenInput)
    item = forms.ModelChoiceField(
        label=_("Item"),
        queryset=Item.objects.filter(active=True),
        widget=forms.Select(attrs={"translate": "no"}),  # item names are data
    )
    day = date_field(_("Day"))
    quantity = forms.IntegerField(label=_("Output"), min_value=0)


class RequestForm(forms.Form):
    jurisdiction = forms.CharField(
        label=_("Requesting unit"), max_length=24, widget=JurisdictionPicker()
    )
    item = forms.ModelChoiceField(
        label=_("Item"),
        queryset=Item.objects.filter(active=True),
        widget=forms.Select(attrs={"translate": "no"}),  # item names are data
    )
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1)
    needed_by = date_field(_("Needed by"))
    priority = forms.TypedChoiceField(
        label=_("Priority"),
        choices=SupplyRequest.Priority.choices,
        coerce=int,
        initial=SupplyRequest.Priority.NORMAL,
    )
    # The caller's own warehouses to pick from, by name; the value posted stays the code.
    deliver_to = forms.ModelChoiceField(
        label=_("Deliver to (warehouse)"),
        queryset=Warehouse.objects.none(),
        to_field_name="code",
        required=False,
        widget=forms.Select(attrs={"translate": "no"}),  # warehouse names are data
    )

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["deliver_to"].queryset = selectors.warehouse_list(actor=actor).order_by(
            "jpath", "code"
        )

    note = forms.CharField(label=_("Note"), max_length=200, required=False)


@login_required
def overview(request):
    """Stock, daily use and days of cover per item for a node and its children."""
    node = selectors.access_node(request.user, request.GET.get("node"))
    table = selectors.cover_table(actor=request.user, node=node, today=timezone.localdate())
    ancestors = [
        n
        for n in Jurisdiction.objects.filter(path__in=paths.ancestors(node.path)).order_by("depth")
        if path_within(request.user, n.path)
    ]
    return render(
        request,
        "supplies/overview.html",
        {
            "node": node,
            "ancestors": ancestors,
            "total": table["total"],
            "rows": table["rows"],
            "threshold": services.shortage_threshold_days(),
        },
    )


@login_required
def warehouses(request):
    listing = selectors.warehouse_list(actor=request.user)
    return render(request, "supplies/warehouses.html", {"warehouses": listing})


@login_required
def warehouse_detail(request, code: str):
    """A warehouse's stock and its ledger, newest first, with the movement entry form."""
    warehouse = selectors.access_warehouse(request.user, code)
    page = Paginator(selectors.movement_list(actor=request.user, warehouse=warehouse), 50).get_page(
        request.GET.get("page")
    )
    form = None
    if roles.can_manage_stock(request.user):
        form = MovementForm()
        form.fields["destination"].queryset = selectors.warehouse_list(actor=request.user).exclude(
            pk=warehouse.pk
        )
    return render(
        request,
        "supplies/warehouse.html",
        {
            "warehouse": warehouse,
            "balances": selectors.balance_list(actor=request.user, warehouse=warehouse).order_by(
                "item__category", "item__code"
            ),
            "page": page,
            "form": form,
        },
    )


@login_required
@require_POST
def movement_entry(request, code: str):
    if not roles.can_manage_stock(request.user):
        raise PermissionDenied
    warehouse = selectors.access_warehouse(request.user, code)
    form = MovementForm(request.POST)
    form.fields["destination"].queryset = selectors.warehouse_list(actor=request.user)
    if not form.is_valid():
        messages.error(request, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
        return redirect("supplies:warehouse", code=warehouse.code)
    try:
        services.movement_record(actor=request.user, warehouse=warehouse, **form.cleaned_data)
    except services.SupplyError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Movement recorded."))
    return redirect("supplies:warehouse", code=warehouse.code)


@login_required
def enterprises(request):
    """Enterprises with capacity and their recent output; the output entry form."""
    can_report = roles.can_report_output(request.user)
    if request.method == "POST":
        if not can_report:
            raise PermissionDenied
        form = OutputForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            enterprise = selectors.access_enterprise(request.user, data["enterprise"])
            try:
                _report, created = services.enterprise_output_report(
                    actor=request.user,
                    enterprise=enterprise,
                    item=data["item"],
                    day=data["day"],
                    quantity=data["quantity"],
                )
                messages.success(
                    request, _("Output recorded.") if created else _("Output updated.")
                )
            except services.SupplyError as exc:
                messages.error(request, str(exc))
        else:
            messages.error(
                request, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
            )
        return redirect("supplies:enterprises")
    listing = selectors.enterprise_list(actor=request.user).prefetch_related("capacities__item")
    outputs = selectors.output_list(actor=request.user)[:100]
    return render(
        request,
        "supplies/enterprises.html",
        {
            "enterprises": listing,
            "outputs": outputs,
            "form": OutputForm(initial={"day": timezone.localdate()}) if can_report else None,
        },
    )


@login_required
def requests(request):
    """Open and past requests of units in the caller's subtree; a form to file a new one."""
    form = (
        RequestForm(request.POST or None, actor=request.user)
        if roles.can_request(request.user)
        else None
    )
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            node = Jurisdiction.objects.filter(code=data["jurisdiction"]).first()
            deliver_to = data["deliver_to"]
            if node is None or not path_within(request.user, node.path):
                form.add_error("jurisdiction", _("not a node of your subtree"))
            else:
                try:
                    services.supply_request_create(
                        actor=request.user,
                        jurisdiction=node,
                        item=data["item"],
                        quantity=data["quantity"],
                        needed_by=data["needed_by"],
                        priority=data["priority"],
                        deliver_to=deliver_to,
                        note=data["note"],
                    )
                    messages.success(request, _("Request filed."))
                    return redirect("supplies:requests")
                except services.SupplyError as exc:
                    form.add_error(None, str(exc))
    status = request.GET.get("status", "")
    listing = selectors.request_list(actor=request.user)
    if status:
        listing = listing.filter(status=status)
    page = Paginator(listing, 50).get_page(request.GET.get("page"))
    can_allocate = roles.can_manage_stock(request.user)
    return render(
        request,
        "supplies/requests.html",
        {
            "page": page,
            "status": status,
            "statuses": SupplyRequest.Status.choices,
            "form": form,
            "can_allocate": can_allocate,
            "warehouses": list(selectors.warehouse_list(actor=request.user))
            if can_allocate
            else [],
        },
    )


@login_required
@require_POST
def allocate(request, pk: int):
    if not roles.can_manage_stock(request.user):
        raise PermissionDenied
    supply_request = selectors.access_request(request.user, pk)
    warehouse = selectors.access_warehouse(request.user, request.POST.get("warehouse", ""))
    try:
        quantity = int(request.POST.get("quantity", ""))
    except ValueError:
        messages.error(request, _("The quantity must be a positive whole number."))
        return redirect("supplies:requests")
    try:
        services.supply_request_allocate(
            actor=request.user, request=supply_request, warehouse=warehouse, quantity=quantity
        )
        messages.success(request, _("Allocated."))
    except services.SupplyError as exc:
        messages.error(request, str(exc))
    return redirect("supplies:requests")
