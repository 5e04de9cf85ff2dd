"""mvccpb: kv.proto (KeyValue, Event)."""
