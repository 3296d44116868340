"""The Django app of bench/celery_outbox.py: an Item and the one-row Effect its task applies."""
