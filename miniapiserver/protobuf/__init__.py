"""The Kubernetes protobuf wire format: envelope and schema-driven codec."""
