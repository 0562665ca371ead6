"""What drills add to the whole (see common.registry): the page, events, the demo's drill."""

from django.utils.translation import gettext_lazy as _

from fangkong.common import registry

from . import roles

registry.nav(275, "drills:list", _("Drills"), allowed=roles.can_see_drills)

registry.event("drills.prepared", "drills.started", "drills.ended")

registry.demo_step(95, "fangkong.drills.demo.drills_demo")
