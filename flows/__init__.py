"""The domain: guided forms, routing and rules. Pure Python: no Slack, no SQL."""
