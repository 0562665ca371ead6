"""What audit adds to the whole (see common.registry): the audit log page."""

from django.utils.translation import gettext_lazy as _

from fangkong.accounts.roles import can_read_audit
from fangkong.common import registry

registry.nav(290, "audit:list", _("Audit log"), can_read_audit)
