"""Signals of the connectors layer, for higher layers (the console) to react to."""

from django.dispatch import Signal

#: Sent once when a connector goes from working to disconnected (kwargs: ``connector``, ``reason``).
#: The console opens an incident and emails the account's administrators once.
connector_disconnected = Signal()

#: Sent when a connector's connection works again after a (re)connect (kwargs: ``connector``).
#: The console resolves its "disconnected" incident at once, not at its next check a minute later.
connector_reconnected = Signal()
