"""The jurisdiction picker: type a name, pick a node of your own subtree, submit its code."""

from django import forms
from django.urls import reverse
from django.utils.html import format_html


class JurisdictionPicker(forms.TextInput):
    """A text input with its own <datalist>, filled as the user types by geo:autocomplete (htmx),
    which searches names (and codes) within the user's subtree only. The option values are codes,
    so the form field keeps validating a code and every guard behind it stays as it was.
    `multiple`: a comma-separated list, the search runs on the last term."""

    def __init__(self, attrs=None, *, multiple: bool = False, level: str = ""):
        self.multiple = multiple
        self.level = level
        super().__init__(attrs)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        query = f"field={name}" + ("&multi=1" if self.multiple else "")
        if self.level:
            query += f"&level={self.level}"
        context["widget"]["attrs"].update(
            {
                "list": f"{name}-options",
                "hx-get": f"{reverse('geo:autocomplete')}?{query}",
                "hx-trigger": "input changed delay:300ms",
                "hx-target": f"#{name}-options",
                "hx-sync": "this:replace",
                "autocomplete": "off",
                "data-picker": "jurisdiction",
            }
        )
        return context

    def render(self, name, value, attrs=None, renderer=None):
        html = super().render(name, value, attrs, renderer)
        return format_html('{}<datalist id="{}-options"></datalist>', html, name)
