"""The default inspection checklist: the six gates and their check items, editable afterwards."""

from django.db import migrations

TEMPLATE = "六关督查清单"
GATES = [
    (
        "screening",
        "人员排查关",
        [
            "网格员掌握辖区重点人员名单并逐户核实",
            "重点人员健康监测记录完整、每日两次体温",
            "返工返校返岗人员已登记报备",
        ],
    ),
    (
        "traffic",
        "交通卡口关",
        [
            "卡口24小时值守，人员在岗",
            "过往人员查验健康码、行程码和核酸证明",
            "来自风险地区人员按规定登记并闭环转运",
        ],
    ),
    (
        "transfer",
        "转运交接关",
        [
            "转运车辆专车专用、每趟消毒并有记录",
            "交接单据完整，人员点对点交接签字",
            "司乘人员二级防护到位",
        ],
    ),
    (
        "isolation",
        "健康隔离关",
        [
            "一人一间、独立卫生间",
            "三区两通道划分清晰",
            "隔离人员按时采样，结果及时上报",
        ],
    ),
    (
        "goods",
        "物品检测关",
        [
            "冷链食品有检测报告和消毒证明",
            "进口物品表面按规定采样",
            "追溯码信息完整可查",
        ],
    ),
    (
        "places",
        "重点场所关",
        [
            "入口查验场所码、测温、戴口罩",
            "场所定时通风消毒并有台账",
            "从业人员按频次核酸检测",
        ],
    ),
]


def forward(apps, schema_editor):
    Template = apps.get_model("command", "ChecklistTemplate")
    Gate = apps.get_model("command", "Gate")
    CheckItem = apps.get_model("command", "CheckItem")
    template, created = Template.objects.get_or_create(name=TEMPLATE)
    if not created:
        return
    for order, (code, name, items) in enumerate(GATES, start=1):
        gate = Gate.objects.create(template=template, code=code, name=name, order=order)
        CheckItem.objects.bulk_create(
            [CheckItem(gate=gate, text=text, order=i) for i, text in enumerate(items, start=1)]
        )


def backward(apps, schema_editor):
    apps.get_model("command", "ChecklistTemplate").objects.filter(name=TEMPLATE).delete()


class Migration(migrations.Migration):
    dependencies = [("command", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
