"""Chrome's trace-event JSON for a profile (what chrome://tracing and Perfetto open): one complete ("X") event
per host range on its thread, plus one "kernel" event per timed device launch of a range on the device's row
(pid 0, tid 7: PyTorch's GPU 0 / stream 7)."""
from __future__ import annotations

import os
import socket

_DEVICE_PID = 0
_DEVICE_TID = 7


def chrome_trace(events, meta: dict) -> dict:
    pid = os.getpid()
    base_ns = meta.get("base_time_ns", 0)     # the wall clock at the profile's zero
    trace = [{"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": "python"}},
             {"ph": "M", "name": "process_name", "pid": _DEVICE_PID, "tid": 0, "args": {"name": "GPU 0"}},
             {"ph": "M", "name": "thread_name", "pid": _DEVICE_PID, "tid": _DEVICE_TID,
              "args": {"name": "stream 7"}}]
    for e in events:
        ts = (base_ns + e.start_ns) / 1e3
        args = {"External id": e.id}
        if e.input_shapes:
            args["Input Dims"] = e.input_shapes
        if e.stack:
            args["Call stack"] = ";".join(e.stack)
        if meta.get("profile_memory"):
            args["Bytes"] = e.cpu_memory_usage + e.device_memory_usage
        trace.append({"ph": "X", "cat": e.cat, "name": e.name, "pid": pid, "tid": e.thread, "ts": ts,
                      "dur": e.cpu_time_total, "args": args})
        for start, dur in e.launches:
            trace.append({"ph": "X", "cat": "kernel", "name": e.name, "pid": _DEVICE_PID, "tid": _DEVICE_TID,
                          "ts": base_ns / 1e3 + start, "dur": dur, "args": {"External id": e.id}})
    return {"schemaVersion": 1, "deviceProperties": meta.get("device_properties", []),
            "record_shapes": int(bool(meta.get("record_shapes"))),
            "profile_memory": int(bool(meta.get("profile_memory"))),
            "host_name": socket.gethostname(), "displayTimeUnit": "ms", "baseTimeNanoseconds": base_ns,
            "traceEvents": trace, "traceName": meta.get("trace_name", "")}
