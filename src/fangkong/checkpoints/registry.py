"""What checkpoints adds to the whole (see common.registry): pages, alerts, demo story."""

from django.utils.translation import gettext_lazy as _

from fangkong.common import registry

from .roles import can_register, can_transfer

registry.nav(180, "checkpoints:register", _("Checkpoint registration"), can_register)
registry.nav(190, "checkpoints:transfers", _("Transfers"), can_transfer)

registry.alert_kind("transfer_lost", _("Transfer not checked in"))

registry.demo_step(60, "fangkong.checkpoints.demo.checkpoints_demo")
