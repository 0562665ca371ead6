"""Clinical labels of a case's class and severity, in the words of the treatment plans.

The project-wide catalog already renders some of these English words in other senses (an alert's
"Critical" level), so these carry a message context of their own."""

from django import template
from django.utils.translation import pgettext_lazy

register = template.Library()

CLASSIFICATION = {
    "suspected": pgettext_lazy("case", "Suspected"),
    "confirmed": pgettext_lazy("case", "Confirmed"),
    "asymptomatic": pgettext_lazy("case", "Asymptomatic carrier"),
    "excluded": pgettext_lazy("case", "Excluded"),
}
SEVERITY = {
    "mild": pgettext_lazy("severity", "Mild"),
    "moderate": pgettext_lazy("severity", "Moderate"),
    "severe": pgettext_lazy("severity", "Severe"),
    "critical": pgettext_lazy("severity", "Critical"),
}


@register.filter
def classification_label(value: str) -> str:
    return CLASSIFICATION.get(value, value)


@register.filter
def severity_label(value: str) -> str:
    return SEVERITY.get(value, "–") if value else "–"
