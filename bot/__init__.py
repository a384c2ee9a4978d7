"""The Slack adapter: app factory, listeners, Block Kit rendering, runners, scheduler, sandbox, CLI."""
