"""The first-party OAuth2 application (a public client using the password grant), so a fresh
database can issue tokens at once."""

from django.conf import settings
from django.db import migrations


def create_application(apps, schema_editor):
    Application = apps.get_model("oauth2_provider", "Application")
    Application.objects.using(schema_editor.connection.alias).get_or_create(
        client_id=settings.IM_OAUTH_CLIENT_ID,
        defaults={
            "name": "IM apps (first party)",
            "client_type": "public",
            "authorization_grant_type": "password",
            "skip_authorization": True,
        },
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_initial"),
        ("oauth2_provider", "__latest__"),
    ]

    operations = [migrations.RunPython(create_application, migrations.RunPython.noop)]
