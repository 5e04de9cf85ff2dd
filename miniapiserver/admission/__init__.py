"""Admission control: plugins that mutate and validate writes before they are stored."""
