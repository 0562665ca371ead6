"""What people adds to the whole (see common.registry): the population pages."""

from django.utils.translation import gettext_lazy as _

from fangkong.accounts.roles import can_import_people, can_search_people
from fangkong.common import registry

registry.nav(50, "people:search", _("Population"), can_search_people)
registry.nav(60, "people:import", _("Import"), can_import_people)
