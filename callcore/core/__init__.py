"""The small shared core every capability builds on: identity and roles, domain errors, the
application context, the task set, the event bus, masking, the periodic-job helper and the plugin
contract. It imports no capability and nothing of HTTP."""
