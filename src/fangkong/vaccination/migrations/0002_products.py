"""The vaccines used in China and their schedules, as data (shared/DOMAIN.md)."""

from django.db import migrations

PRODUCTS = [
    # code, name, manufacturer, kind, doses, interval min, interval max
    ("BBIBP", "新冠病毒灭活疫苗（Vero细胞）BBIBP-CorV", "国药集团北京生物", "inactivated", 2, 21, 56),
    ("WIBP", "新冠病毒灭活疫苗（Vero细胞）WIBP", "国药集团武汉生物", "inactivated", 2, 21, 56),
    ("CORONAVAC", "新冠病毒灭活疫苗（Vero细胞）CoronaVac", "北京科兴中维", "inactivated", 2, 21, 56),
    ("ZF2001", "重组新冠病毒疫苗（CHO细胞）ZF2001", "安徽智飞龙科马", "recombinant", 3, 28, 60),
    ("AD5NCOV", "重组新冠病毒疫苗（5型腺病毒载体）Ad5-nCoV", "康希诺生物", "adenovirus", 1, 0, 0),
    ("SYS6006", "新冠病毒mRNA疫苗 SYS6006", "石药集团", "mrna", 2, 21, 42),
]


def load(apps, schema_editor):
    Product = apps.get_model("vaccination", "Product")
    for code, name, maker, kind, doses, low, high in PRODUCTS:
        Product.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "manufacturer": maker,
                "kind": kind,
                "primary_doses": doses,
                "interval_min_days": low,
                "interval_max_days": high,
                "booster_after_days": 180,
                "second_booster_min_age": 60,
                "second_booster_after_days": 180,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("vaccination", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
