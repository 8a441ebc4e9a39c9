"""Qualify: a Slack bot that runs lead qualification interviews."""

from pathlib import Path

__version__ = "0.1.0"

# prompts/ and migrations/ live beside the package in the repository checkout.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
