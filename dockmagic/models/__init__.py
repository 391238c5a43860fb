"""Models: the state of a build, a diff or a session, updated from events."""
