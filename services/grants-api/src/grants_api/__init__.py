"""Baton grants-api: donors' programmes, grants, co-funding, disbursements, budgets,
reports and NGO funding mix. Never holds a victim identity: it receives suppressed
aggregates only.
"""
