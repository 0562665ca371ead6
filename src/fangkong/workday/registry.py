"""What workday adds to the whole (see common.registry): the person page's status rows."""

from fangkong.common import registry

registry.person_status(10, "fangkong.workday.status.person_status")
