"""meta.k8s.io: object metadata, Status, watch events, tables (k8s.io/apimachinery/pkg/apis/meta)."""
