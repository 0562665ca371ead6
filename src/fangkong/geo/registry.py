"""What geo adds to the whole (see common.registry): the overview and the jurisdiction tree."""

from django.utils.translation import gettext_lazy as _

from fangkong.common import registry

registry.nav(10, "home", _("Overview"))
registry.nav(40, "geo:tree", _("Jurisdictions"))
