"""The django-q2 schedule that picks up webhook alerts whose task was lost (a worker killed mid-way, a broker
restart): every minute, so `migrate` sets it up."""

from django.db import migrations

NAME = "api: webhook alerts left queued"


def create_schedule(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name=NAME, defaults={"func": "api.tasks.every_minute", "schedule_type": "I", "minutes": 1, "repeats": -1})


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("api", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
