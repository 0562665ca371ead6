from django.apps import AppConfig


class Config(AppConfig):
    name = "fangkong.tracing"
    label = "tracing"

    def ready(self):
        from fangkong.common import events

        from . import handlers

        events.subscribe("testing.person_positive", handlers.on_person_positive)
        events.subscribe("control.test_positive", handlers.on_control_test_positive)
