"""Value transformers: how object bytes are turned into stored bytes and back."""
