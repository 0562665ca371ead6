"""Forms of the voluntary-testing pages."""

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _


class BookingForm(forms.Form):
    slot = forms.IntegerField(min_value=1, max_value=2**62)
    id_number = forms.CharField(label=_("ID number"), max_length=40)
    name = forms.CharField(label=_("Name"), max_length=60)


class LookupForm(forms.Form):
    id_number = forms.CharField(label=_("ID number"), max_length=40)
    code = forms.CharField(label=_("Code"), max_length=12, required=False)


class ScheduleForm(forms.Form):
    opens = forms.TimeField(label=_("Opens"), initial=dt.time(8, 0))
    closes = forms.TimeField(label=_("Closes"), initial=dt.time(18, 0))
    slot_minutes = forms.IntegerField(
        label=_("Minutes per slot"), min_value=10, max_value=240, initial=60
    )
    capacity = forms.IntegerField(
        label=_("Places per slot"), min_value=1, max_value=1000, initial=20
    )
    active = forms.BooleanField(label=_("Taking bookings"), required=False, initial=True)
