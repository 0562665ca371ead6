"""The one script tag every chart page uses: Plotly.js served from the installed package, and
its Chinese locale (dates and month names; app.js uses it when the page is in Chinese)."""

import plotly
from django import template
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def plotly_script() -> str:
    return format_html(
        '<script src="{}"></script><script src="{}"></script>',
        reverse("analytics:plotly-js", args=[plotly.__version__]),
        static("fangkong/plotly-locale-zh-cn.js"),
    )
