from django.apps import AppConfig, apps


class CommonConfig(AppConfig):
    name = "apps.common"
    label = "common"

    def ready(self):
        from apps.common.labels import labels_translate

        labels_translate(model for model in apps.get_models() if model.__module__.startswith("apps."))
