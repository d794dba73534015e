"""Django app configuration for the module cache."""

from django.apps import AppConfig


class ModulesConfig(AppConfig):
    name = "modules"
    verbose_name = "Module cache"
