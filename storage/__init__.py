"""Persistence: SQLAlchemy 2 models, units of work, repositories, the access policy and the outbox."""
