"""Notifications to the parties (通知): what a regulator did that concerns them, inside the platform."""
