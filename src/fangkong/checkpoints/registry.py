"""What checkpoints adds to the whole (see common.registry): pages, alerts, demo story."""

from django.utils.translation import gettext_lazy as _

from fangkong.common import registry

registry.nav(180, "checkpoints:register", _("Checkpoint registration"))
registry.nav(190, "checkpoints:transfers", _("Transfers"))

registry.alert_kind("transfer_lost", _("Transfer not checked in"))

registry.demo_step(60, "fangkong.checkpoints.demo.checkpoints_demo")
