"""Date and time inputs the browser gives a picker for, instead of free text."""

from django import forms

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"]


def date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def datetime_input() -> forms.DateTimeInput:
    # datetime-local sends "2022-04-01T08:30"; the value shown back needs the same shape.
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def date_field(label, **kwargs) -> forms.DateField:
    return forms.DateField(label=label, widget=date_input(), **kwargs)


def datetime_field(label, **kwargs) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label, widget=datetime_input(), input_formats=DATETIME_FORMATS, **kwargs
    )
