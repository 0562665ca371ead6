"""Labels of stored codes in templates: `{{ row.setting|choice_label:"tracing.models.Setting" }}`.

Selectors that return ``values()`` rows (the transmission graph, aggregates) carry the raw codes
of choice fields; a page must show the code's label in the user's language, never the code
(issue 16: "venue / workplace" and "confirmed / asymptomatic" in the Chinese chain list)."""

from django import template

from fangkong.common import registry

register = template.Library()


@register.filter
def choice_label(value, choices: str):
    """The label of ``value`` among the TextChoices at the dotted path ``choices``; a value that
    is not one of its codes (free text, empty) is shown as it is."""
    if value in (None, ""):
        return value
    enum = registry.load(choices)
    try:
        return enum(value).label
    except ValueError:
        return value


def _value_text(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, list | tuple):
        return ", ".join(_value_text(v) for v in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_value_text(v)}" for k, v in value.items()) or "—"
    return str(value)


@register.filter
def change_text(change) -> str:
    """One audited change as people read it: ``[old, new]`` as "old → new", an absent value as
    "—", never a Python repr (``['open', 'fulfilled']``, ``None``)."""
    if isinstance(change, list | tuple) and len(change) == 2:
        return f"{_value_text(change[0])} → {_value_text(change[1])}"
    return _value_text(change)
