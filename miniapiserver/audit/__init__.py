"""Audit logging: the policy, the Event, the log backend and the request filter."""
