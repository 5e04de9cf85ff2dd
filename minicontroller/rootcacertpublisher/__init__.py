"""The root CA certificate publisher (pkg/controller/certificates/rootcacertpublisher)."""

from minicontroller.rootcacertpublisher.publisher import ROOT_CA_CONFIG_MAP_NAME, Publisher

__all__ = ["ROOT_CA_CONFIG_MAP_NAME", "Publisher"]
