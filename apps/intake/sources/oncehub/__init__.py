"""OnceHub v2 webhooks: the first booking source, whose booking shape is the canonical one.

Its rules predate the source contract and stay where they were: ``apps.intake.signatures``,
``apps.intake.schema`` / ``envelope``, ``apps.intake.lifecycle``; the modules here adapt them.
"""
