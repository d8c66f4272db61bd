"""The booking sources (OnceHub, Calendly, Cal.com): the contract is ``contract.py``, every
source is registered in ``registry.py``, one package per source with the same modules."""
