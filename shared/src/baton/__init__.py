"""Baton's platform kit: the infrastructure every Baton service is built from.

It holds contracts and plumbing only (settings, database, errors, logging,
middleware, health, the app factory, migrations and the local stack); no table
of any service and no business rule lives here, and it never imports a service.
"""
