"""The sandbox: Switchboard without a Slack workspace. A Slack-like page on 127.0.0.1 drives the
real bot with signed requests; the bot's Web API calls go to a local Slack Web API
(`sandbox.slack_api`) that keeps the workspace's state."""
