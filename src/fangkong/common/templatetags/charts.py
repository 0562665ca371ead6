"""The one script tag every chart page uses: Plotly.js served from the installed package."""

import plotly
from django import template
from django.urls import reverse
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def plotly_script() -> str:
    return format_html(
        '<script src="{}"></script>', reverse("analytics:plotly-js", args=[plotly.__version__])
    )
