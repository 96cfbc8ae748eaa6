"""The local stack: embedded PostgreSQL, database provisioning, gateway, processes.

Used by `make run` and by the end-to-end tests; needs the `stack` extra. It starts
services as processes by module name and never imports them.
"""
