"""The sandbox: a local fake of the Slack Web API and a client that sends signed requests to the bot.

Used by `concernbot demo` and by the end-to-end tests, which drive the running bot over real HTTP. One
sandbox can hold several workspaces (schools), Enterprise Grid organisations of them, and Slack's OAuth v2
install flow (workspace and org-wide installs).
"""
