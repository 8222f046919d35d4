import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("bots", "0003_bot_needs_reconcile"),
        ("strategies", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="bot",
            name="strategy",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="bots", to="strategies.strategyconfig"
            ),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="bot",
            name="next_tick_at",
            field=models.DateTimeField(
                blank=True, db_index=True, null=True,
                help_text="Wall-clock time by which the next candle will have closed (on the bot's exchange clock).",
            ),
        ),
    ]
