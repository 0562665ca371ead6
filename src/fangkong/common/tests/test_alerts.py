"""The alert centre: de-duplicated raising, scoped reading, audited acknowledgement."""

import pytest
from django.http import Http404

from fangkong.audit.models import AuditEntry
from fangkong.common.alerts import alert_acknowledge, alert_list, alert_raise


def test_raise_is_idempotent_per_key_and_scoped(tree, make_user):
    a = alert_raise(
        kind="pool_positive",
        title="阳性混管",
        jurisdiction_path=tree["grid_a"].path,
        dedupe_key="tube:1",
    )
    again = alert_raise(
        kind="pool_positive",
        title="阳性混管",
        jurisdiction_path=tree["grid_a"].path,
        dedupe_key="tube:1",
    )
    assert a.pk == again.pk
    alert_raise(kind="pool_positive", title="other", jurisdiction_path=tree["grid_c"].path)
    assert [x.pk for x in alert_list(actor=make_user(node="grid_a"))] == [a.pk]
    assert alert_list(actor=make_user(role="commander", node="city")).count() == 2


def test_acknowledge_within_scope_only(tree, make_user):
    alert = alert_raise(kind="k", title="t", jurisdiction_path=tree["grid_a"].path)
    with pytest.raises(Http404):
        alert_acknowledge(actor=make_user(node="grid_b"), alert_id=alert.pk)
    worker = make_user(node="grid_a")
    done = alert_acknowledge(actor=worker, alert_id=alert.pk)
    assert done.acknowledged_by == worker
    assert alert_list(actor=worker, open_only=True).count() == 0
    assert AuditEntry.objects.filter(object_type="common.alert", action="update").count() == 1
