"""The qualification domain. Nothing here imports Slack."""
