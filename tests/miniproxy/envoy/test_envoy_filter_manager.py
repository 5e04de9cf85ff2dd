"""The filter chain without sockets: who sees headers and data, in what order, and resumption.

Reference: envoy/http/filter.h (FilterHeadersStatus::StopIteration: "Do not iterate for
headers on any of the remaining filters in the chain... continueDecoding() MUST be called if
continued filter iteration is desired"; FilterDataStatus).
"""

from __future__ import annotations

import time

from miniproxy.envoy.filter import FilterDataStatus, FilterHeadersStatus, StreamFilter
from miniproxy.envoy.filter_manager import FilterManager
from miniproxy.envoy.headers import HeaderMap
from miniproxy.envoy.stream_info import StreamInfo


class Recorder(StreamFilter):
    def __init__(self, name, log, stop_headers=False, stop_data=False):
        self.name, self.log = name, log
        self.stop_headers, self.stop_data = stop_headers, stop_data

    def decode_headers(self, headers, end_stream):
        self.log.append(f"{self.name}.headers(end={end_stream})")
        return (
            FilterHeadersStatus.StopIteration if self.stop_headers else FilterHeadersStatus.Continue
        )

    def decode_data(self, data, end_stream):
        self.log.append(f"{self.name}.data")
        return (
            FilterDataStatus.StopIterationNoBuffer if self.stop_data else FilterDataStatus.Continue
        )

    def encode_headers(self, headers, end_stream):
        self.log.append(f"{self.name}.encode")
        return FilterHeadersStatus.Continue


class Stream:
    """The ActiveStream side the filter manager needs: what filters read, and the sink."""

    def __init__(self):
        self.responses = []
        self.connection = self.loop = self.cluster_manager = None
        self.random_value = 0

    def on_response(self, headers, body):
        self.responses.append((headers.get(":status"), body))


def chain(*filters):
    stream = Stream()
    fm = FilterManager(list(filters), stream, StreamInfo(time.time(), time.monotonic()))
    return fm, stream


def req():
    return HeaderMap([(":method", "POST"), (":path", "/"), (":authority", "x")])


def test_data_reaches_the_filter_that_stopped_headers_and_waits_there():
    log = []
    a, b, c = (
        Recorder("a", log),
        Recorder("b", log, stop_headers=True, stop_data=True),
        Recorder("c", log),
    )
    fm, _ = chain(a, b, c)
    fm.decode(req(), b"body")
    assert log == ["a.headers(end=False)", "b.headers(end=False)", "a.data", "b.data"]
    fm.continue_decoding()  # b's timer fired
    assert log[4:] == ["c.headers(end=False)", "c.data"]


def test_continue_from_decode_data_resumes_the_headers():
    log = []
    a, b = Recorder("a", log, stop_headers=True), Recorder("b", log)
    fm, _ = chain(a, b)
    fm.decode(req(), b"body")
    assert log == ["a.headers(end=False)", "a.data", "b.headers(end=False)", "b.data"]


def test_headers_only_request_and_local_reply_runs_encoders_in_reverse():
    log = []
    a, b = Recorder("a", log), Recorder("b", log, stop_headers=True)
    fm, stream = chain(a, b)
    fm.decode(req(), b"")
    assert log == ["a.headers(end=True)", "b.headers(end=True)"]
    fm.send_local_reply(429, "slow down")
    assert log[2:] == ["b.encode", "a.encode"]
    assert stream.responses == [("429", b"slow down")]
    fm.continue_decoding()  # after completion nothing runs
    assert len(log) == 4


def test_a_raising_filter_becomes_a_500():
    class Boom(StreamFilter):
        def decode_headers(self, headers, end_stream):
            raise RuntimeError("bug")

    fm, stream = chain(Boom())
    fm.decode(req(), b"")
    assert stream.responses == [("500", b"")]
