"""The in-tree plugins of the default profile.

Mirrors pkg/scheduler/framework/plugins (one module per plugin directory).
"""
