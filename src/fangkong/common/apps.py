from django.apps import AppConfig


class Config(AppConfig):
    name = "fangkong.common"
    label = "common"

    def ready(self):
        from .params import bound_integer_fields

        bound_integer_fields()
