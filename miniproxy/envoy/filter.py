"""The HTTP filter interface: what a filter implements and what it may call back.

Mirrors envoy/http/filter.h (StreamDecoderFilter, StreamEncoderFilter, FilterHeadersStatus,
FilterDataStatus, StreamDecoderFilterCallbacks). A decoder filter sees the request on its way
to the router; returning `StopIteration` pauses the chain until the filter calls
`callbacks.continue_decoding()` (after a timer, say) or answers with
`callbacks.send_local_reply(...)`. Encoder filters see the response on its way back, in
reverse order.

To write a filter: subclass `StreamFilter`, override the hooks you need, and register a
factory for your config's proto type in `filters/__init__.py`. A filter that overrides no
encode hook is a decoder filter only (Envoy's addStreamDecoderFilter, as the router) and the
response skips it.
"""

from __future__ import annotations

import enum
import functools


class FilterHeadersStatus(enum.Enum):
    Continue = "Continue"
    StopIteration = "StopIteration"


class FilterDataStatus(enum.Enum):
    Continue = "Continue"
    StopIterationAndBuffer = "StopIterationAndBuffer"
    StopIterationNoBuffer = "StopIterationNoBuffer"


class StreamFilter:
    """A decoder+encoder filter whose hooks all continue; override what you need."""

    callbacks = None  # the FilterManager's ActiveStreamFilter, set before the first hook

    def set_decoder_filter_callbacks(self, callbacks) -> None:
        self.callbacks = callbacks

    def decode_headers(self, headers, end_stream: bool) -> FilterHeadersStatus:
        return FilterHeadersStatus.Continue

    def decode_data(self, data: bytearray, end_stream: bool) -> FilterDataStatus:
        return FilterDataStatus.Continue

    def encode_headers(self, headers, end_stream: bool) -> FilterHeadersStatus:
        return FilterHeadersStatus.Continue

    def encode_data(self, data: bytearray, end_stream: bool) -> FilterDataStatus:
        return FilterDataStatus.Continue

    def on_destroy(self) -> None:
        """The stream ended (completed or reset): cancel timers and upstream work."""


@functools.cache
def is_encoder_filter(cls: type) -> bool:
    """Whether the filter class takes part in encoding: it overrides an encode hook (Envoy's
    addStreamFilter / addStreamEncoderFilter, as opposed to addStreamDecoderFilter)."""
    return (
        cls.encode_headers is not StreamFilter.encode_headers
        or cls.encode_data is not StreamFilter.encode_data
    )
