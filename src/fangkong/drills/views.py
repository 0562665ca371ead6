"""Pages of drills: the list and the form to prepare one, a drill's page (clock, injects,
participants, joining and leaving, tabletop steps, the score card)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from . import roles, routing, selectors, services
from .middleware import SESSION_KEY
from .models import Drill


class DrillForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("name"), max_length=120)
    mode = forms.ChoiceField(label=gettext_lazy("mode"), choices=Drill.Mode.choices)
    speed = forms.IntegerField(
        label=gettext_lazy("simulated hours per real hour"), min_value=1, max_value=600, initial=60
    )
    population = forms.IntegerField(
        label=gettext_lazy("synthetic population"),
        min_value=10,
        max_value=services.MAX_POPULATION,
        initial=3000,
    )
    cases = forms.IntegerField(
        label=gettext_lazy("seeded cases"), min_value=1, max_value=services.MAX_CASES, initial=6
    )
    seed = forms.IntegerField(label=gettext_lazy("seed"), min_value=0, max_value=2**31, initial=1)
    participants = forms.MultipleChoiceField(
        label=gettext_lazy("participants"), required=False, widget=forms.SelectMultiple
    )

    def __init__(self, *args, users=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.users = {str(u.pk): u for u in users}
        self.fields["participants"].choices = [
            (str(u.pk), f"{u} · {u.get_role_display()} · {u.jurisdiction.name}") for u in users
        ]


def _area(request):
    if request.user.jurisdiction_id is None:
        raise PermissionDenied
    return request.user.jurisdiction


@login_required
def drill_list(request):
    with routing.live():
        drills = list(selectors.drill_list(actor=request.user)[:100])
        may_direct = roles.can_direct(request.user) and request.user.jurisdiction_id is not None
        form = None
        if may_direct:
            users = list(
                selectors.participant_candidates(actor=request.user).exclude(pk=request.user.pk)[
                    :500
                ]
            )
            form = DrillForm(request.POST or None, users=users)
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            try:
                drill = services.drill_create(
                    actor=request.user,
                    name=data["name"],
                    jurisdiction=_area(request),
                    participants=[form.users[pk] for pk in data["participants"]],
                    mode=data["mode"],
                    speed=data["speed"],
                    population=data["population"],
                    seed=data["seed"],
                    cases=data["cases"],
                )
            except services.DrillError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("The drill's sandbox is ready."))
                return redirect("drills:drill", pk=drill.pk)
    return render(
        request,
        "drills/list.html",
        {"drills": drills, "form": form, "in_drill": request.session.get(SESSION_KEY)},
    )


@login_required
def drill_detail(request, pk: int):
    drill = selectors.access_drill(request.user, pk)
    if drill.status == Drill.Status.RUNNING and drill.sandbox_ready:
        from . import sandbox

        sandbox.connect(drill.sandbox)
        services.drill_tick(drill=drill)
    with routing.live():
        injects = list(selectors.inject_list(drill=drill))
        participants = selectors.participant_users(drill=drill)
    is_participant = any(u.pk == request.user.pk for u in participants)
    return render(
        request,
        "drills/detail.html",
        {
            "drill": drill,
            "injects": injects,
            "released": [i for i in injects if i.released_at],
            "pending": sum(1 for i in injects if not i.released_at),
            "participants": participants,
            "is_participant": is_participant,
            "joined": request.session.get(SESSION_KEY) == drill.pk,
            "may_direct": roles.can_direct(request.user),
            "sim_hours": round(services.simulated_hours(drill), 1),
            "sim_time": services.simulated_time(drill),
            "card": drill.scorecard,
        },
    )


def _post(request, pk, work):
    drill = selectors.access_drill(request.user, pk)
    try:
        work(drill)
    except services.DrillError as exc:
        messages.error(request, str(exc))
    return redirect("drills:drill", pk=drill.pk)


@login_required
@require_POST
def start(request, pk: int):
    return _post(request, pk, lambda d: services.drill_start(actor=request.user, drill=d))


@login_required
@require_POST
def step(request, pk: int):
    return _post(request, pk, lambda d: services.tabletop_step(actor=request.user, drill=d))


@login_required
@require_POST
def end(request, pk: int):
    def work(drill):
        services.drill_end(actor=request.user, drill=drill)
        if request.session.get(SESSION_KEY) == drill.pk:
            request.session.pop(SESSION_KEY, None)

    return _post(request, pk, work)


@login_required
@require_POST
def join(request, pk: int):
    def work(drill):
        services.drill_join(actor=request.user, drill=drill)
        request.session[SESSION_KEY] = drill.pk
        messages.success(request, _("You are in the drill: every page now works on its sandbox."))

    return _post(request, pk, work)


@login_required
@require_POST
def leave(request, pk: int):
    drill = selectors.access_drill(request.user, pk)
    request.session.pop(SESSION_KEY, None)
    messages.success(request, _("You left the drill: the pages show the live city again."))
    return redirect("drills:drill", pk=drill.pk)
