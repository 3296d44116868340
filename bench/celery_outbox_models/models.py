"""The models of bench/celery_outbox.py (the same tables as outbox_bench's)."""

from django.db import models


class Item(models.Model):
    seq = models.BigIntegerField()

    class Meta:
        app_label = "celery_outbox_models"


class Effect(models.Model):
    item = models.BigIntegerField(unique=True)

    class Meta:
        app_label = "celery_outbox_models"
