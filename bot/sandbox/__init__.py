"""The sandbox: a local fake of the Slack Web API and a client that sends signed requests to the bot.

Used by `concernbot demo` and by the end-to-end tests, which drive the running bot over real HTTP.
"""
