"""In-app notifications: the user's own, unread first; finished and failed jobs leave one."""
