"""What resumption adds to the whole (see common.registry): pages, events, demo story."""

from django.utils.translation import gettext_lazy as _

from fangkong.common import registry

from . import roles

registry.nav(276, "resumption:overview", _("Resumption"), allowed=roles.can_read)
registry.nav(246, "resumption:readiness", _("Readiness"), allowed=roles.can_read_readiness)

registry.event("resumption.submitted", "resumption.approved", "resumption.returned")

registry.demo_step(86, "fangkong.resumption.demo.resumption_demo")
