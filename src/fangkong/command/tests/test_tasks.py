"""Tasks: dispatch down the tree, feedback, scope and two-level escalation at concrete times."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile

from fangkong.audit.models import AuditEntry
from fangkong.command import selectors, services
from fangkong.command.models import Task, TaskUpdate, Unit
from fangkong.common import paths
from fangkong.common.models import Alert

TZ = ZoneInfo("Asia/Shanghai")


def at(day, hour=0, minute=0):
    return dt.datetime(2022, 4, day, hour, minute, tzinfo=TZ)


@pytest.fixture
def district_head(make_user):
    return make_user(role="hq_staff", node="district")


def test_dispatch_straight_to_a_grid_and_scope(tree, make_user, district_head):
    task = services.task_dispatch(
        actor=district_head, title="全员核酸动员", deadline=at(2, 18), node=tree["grid_a"]
    )
    assert task.dispatcher_path == tree["district"].path
    assert task.assignee_path == tree["grid_a"].path
    assert list(task.updates.values_list("kind", flat=True)) == ["created"]
    grid_a_worker = make_user(node="grid_a")
    grid_b_worker = make_user(node="grid_b")
    other_district = make_user(role="hq_staff", node="district2")
    assert list(selectors.task_list(actor=grid_a_worker)) == [task]
    assert list(selectors.task_list(actor=grid_b_worker)) == []
    assert list(selectors.task_list(actor=other_district)) == []
    board = selectors.task_board(actor=grid_a_worker)
    assert list(board["assigned"]) == [task]
    assert list(selectors.task_board(actor=district_head)["dispatched"]) == [task]


def test_dispatch_refuses_another_subtree_and_grid_workers(tree, make_user, district_head):
    with pytest.raises(services.CommandRefused) as refused:
        services.task_dispatch(actor=district_head, title="x", deadline=at(2), node=tree["grid_c"])
    assert refused.value.code == "outside_jurisdiction"
    with pytest.raises(PermissionDenied):
        services.task_dispatch(
            actor=make_user(node="grid_a"), title="x", deadline=at(2), node=tree["grid_a"]
        )
    with pytest.raises(services.CommandRefused) as refused:
        services.task_dispatch(actor=district_head, title="x", deadline=at(2))

    assert refused.value.code == "assignee_required"


def test_dispatch_to_a_working_group_unit(tree, make_user):
    commander = make_user(role="commander", node="city")
    unit = services.unit_create(
        actor=commander,
        name="核酸检测组",
        kind=Unit.Kind.WORKING_GROUP,
        jurisdiction=tree["city"],
        working_group="testing",
    )
    task = services.task_dispatch(
        actor=commander, title="扩充检测能力", deadline=at(3), unit=unit, priority="urgent"
    )
    tester = make_user(role="hq_staff", node="city", working_group="testing")
    tracer = make_user(role="hq_staff", node="city", working_group="tracing")
    assert list(selectors.task_board(actor=tester)["assigned"]) == [task]
    assert list(selectors.task_board(actor=tracer)["assigned"]) == []


def test_feedback_moves_progress_and_state(tree, make_user, district_head, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    task = services.task_dispatch(
        actor=district_head, title="排查返宁人员", deadline=at(2), node=tree["grid_a"]
    )
    worker = make_user(node="grid_a")
    services.task_feedback(
        actor=worker,
        task=task,
        text="已排查 120 户",
        percent=40,
        attachment=SimpleUploadedFile("list.txt", b"120"),
    )
    task.refresh_from_db()
    assert (task.state, task.percent) == ("in_progress", 40)
    update = task.updates.get(kind="feedback")
    assert update.attachment.read() == b"120"
    with pytest.raises(services.CommandRefused) as refused:
        services.task_feedback(actor=worker, task=task, text="x", percent=140)
    assert refused.value.code == "percent_out_of_range"
    services.task_set_state(actor=worker, task=task, state="done")
    task.refresh_from_db()
    assert (task.state, task.percent) == ("done", 100)
    with pytest.raises(services.CommandRefused):
        services.task_feedback(actor=worker, task=task, text="late")
    # A grid worker may not cancel an order from above.
    other = services.task_dispatch(
        actor=district_head, title="y", deadline=at(2), node=tree["grid_a"]
    )
    with pytest.raises(PermissionDenied):
        services.task_set_state(actor=worker, task=other, state="cancelled")


def test_escalation_two_levels_at_concrete_times(tree, make_user):
    street_head = make_user(role="hq_staff", node="street")
    late = services.task_dispatch(
        actor=street_head, title="封控区物资配送", deadline=at(2, 12), node=tree["grid_a"]
    )
    on_time = services.task_dispatch(
        actor=street_head, title="消杀", deadline=at(2, 12), node=tree["grid_b"]
    )
    future = services.task_dispatch(
        actor=street_head, title="后天任务", deadline=at(5, 12), node=tree["grid_b"]
    )
    services.task_set_state(actor=street_head, task=on_time, state="done")

    # Exactly at the deadline nothing is overdue yet.
    assert services.tasks_escalate(now=at(2, 12)) == 0
    assert services.tasks_escalate(now=at(2, 12, 1)) == 1
    late.refresh_from_db()
    assert (late.escalation_level, late.escalated_at) == (1, at(2, 12, 1))
    alert = Alert.objects.get(kind="command.task_overdue")
    assert alert.jurisdiction_path == tree["street"].path
    assert alert.level == "warning"
    assert alert.dedupe_key == f"command.task.{late.pk}.1"
    # Running again within the period changes nothing.
    assert services.tasks_escalate(now=at(3, 12)) == 0
    # 24 h after the first escalation it goes one level up: the district.
    assert services.tasks_escalate(now=at(3, 12, 1)) == 1
    late.refresh_from_db()
    assert late.escalation_level == 2
    second = Alert.objects.get(dedupe_key=f"command.task.{late.pk}.2")
    assert (second.jurisdiction_path, second.level) == (tree["district"].path, "critical")
    assert Alert.objects.filter(kind="command.task_overdue").count() == 2
    assert list(
        late.updates.filter(kind=TaskUpdate.Kind.ESCALATED).values_list("text", flat=True)
    ) == ["escalated to level 1", "escalated to level 2"]
    assert (
        AuditEntry.objects.filter(object_type="command.task", object_id=str(late.pk)).count() == 3
    )
    future.refresh_from_db()
    assert future.escalation_level == 0


def test_escalation_period_is_configurable_and_stops_at_the_root(tree, make_user):
    commander = make_user(role="commander", node="province")
    task = services.task_dispatch(
        actor=commander, title="省级任务", deadline=at(1), node=tree["grid_a"]
    )
    six_hours = dt.timedelta(hours=6)
    assert services.tasks_escalate(now=at(1, 1), period=six_hours) == 1
    # The dispatcher is at the root: there is no level above to alert.
    assert services.tasks_escalate(now=at(1, 8), period=six_hours) == 0
    task.refresh_from_db()
    assert task.escalation_level == 1


def test_escalation_is_set_based(tree, make_user, django_assert_max_num_queries):
    head = make_user(role="hq_staff", node="district")
    for i in range(30):
        services.task_dispatch(actor=head, title=f"t{i}", deadline=at(1), node=tree["grid_a"])
    with django_assert_max_num_queries(8):
        assert services.tasks_escalate(now=at(2)) == 30
    assert Task.objects.filter(escalation_level=1).count() == 30
    assert Alert.objects.filter(kind="command.task_overdue").count() == 30


def test_up_path():
    assert paths.up("/1/2/3/", 0) == "/1/2/3/"
    assert paths.up("/1/2/3/", 1) == "/1/2/"
    assert paths.up("/1/2/3/", 5) == "/1/"
    assert paths.up("/", 1) == "/"
