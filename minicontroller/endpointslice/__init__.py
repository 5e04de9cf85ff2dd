"""The EndpointSlice controller (pkg/controller/endpointslice)."""

from minicontroller.endpointslice.endpointslice_controller import EndpointSliceController

__all__ = ["EndpointSliceController"]
