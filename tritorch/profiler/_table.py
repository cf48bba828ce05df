"""EventList.table(): PyTorch's profiler table (torch.autograd.profiler_util._build_table's columns, widths,
percentages and footers), for FunctionEvent and FunctionEventAvg rows alike."""
from __future__ import annotations

from ._events import _format_memory, _format_share, _format_unit

_WIDTH = 12     # every numeric column
_SPACING = 2


def build_table(events, sort_by, header, row_limit, max_src_width, max_name_width, max_shapes_width,
                profile_memory, top_level_only, time_unit) -> str:
    if len(events) == 0:
        return ""
    has_device_time = any(e.self_device_time_total > 0 for e in events)
    has_device_mem = any(e.self_device_memory_usage > 0 for e in events)
    has_shapes = any(e.input_shapes for e in events)
    stacks = [e.stack for e in events if e.stack]
    if sort_by is not None:
        attr = sort_by.replace("cuda", "device")
        events = sorted(events, key=lambda e: getattr(e, attr), reverse=True)

    name_width = max(len(e.key) for e in events) + 4
    if max_name_width is not None:
        name_width = min(name_width, max_name_width)
    headers = ["Name", "Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg"]
    if has_device_time:
        headers += ["Self CUDA", "Self CUDA %", "CUDA total", "CUDA time avg"]
    if profile_memory:
        headers += ["CPU Mem", "Self CPU Mem"]
        if has_device_mem:
            headers += ["CUDA Mem", "Self CUDA Mem"]
    headers.append("# of Calls")
    widths = [name_width] + [_WIDTH] * (len(headers) - 1)
    aligns = [">"] * len(headers)
    if has_shapes:
        headers.append("Input Shapes")
        shapes_width = max(len(str(e.input_shapes)) for e in events) + 4
        widths.append(shapes_width if max_shapes_width is None else min(shapes_width, max_shapes_width))
        aligns.append(">")
    if stacks:
        headers.append("Source Location")
        src_width = max(len(s) for stack in stacks for s in stack) + 4
        widths.append(src_width if max_src_width is None else min(src_width, max_src_width))
        aligns.append("<")
    row_format = "".join("{: " + a + str(w) + "}" + " " * _SPACING for a, w in zip(aligns, widths))
    separator = "".join("-" * w + " " * _SPACING for w in widths)
    line_length = sum(widths) + _SPACING * (len(widths) - 1)

    self_cpu_total = sum(e.self_cpu_time_total for e in events)
    self_device_total = sum(e.self_device_time_total for e in events if not e.is_user_annotation)
    lines = []
    if header is not None:
        lines += ["=" * line_length, header]
    if top_level_only:
        lines += ["=" * line_length, "This report only display top-level ops statistics"]
    lines += [separator, row_format.format(*headers), separator]
    shown = 0
    for e in events:
        if shown == row_limit:
            break
        if top_level_only and e.cpu_parent is not None:
            continue
        shown += 1
        name = e.key
        if max_name_width is not None and len(name) >= max_name_width - 3:
            name = name[:max_name_width - 3] + "..."
        row = [name, _format_share(e.self_cpu_time_total, self_cpu_total),
               _format_unit(e.self_cpu_time_total, time_unit),
               _format_share(e.cpu_time_total, self_cpu_total), _format_unit(e.cpu_time_total, time_unit),
               _format_unit(e.cpu_time, time_unit)]
        if has_device_time:
            row += [_format_unit(e.self_device_time_total, time_unit),
                    _format_share(e.self_device_time_total, self_device_total),
                    _format_unit(e.device_time_total, time_unit), _format_unit(e.device_time, time_unit)]
        if profile_memory:
            row += [_format_memory(e.cpu_memory_usage), _format_memory(e.self_cpu_memory_usage)]
            if has_device_mem:
                row += [_format_memory(e.device_memory_usage), _format_memory(e.self_device_memory_usage)]
        row.append(e.count)
        if has_shapes:
            row.append(str(e.input_shapes)[:widths[len(row)]])
        if stacks:   # the innermost frame on the op's row, the outer ones on rows of their own below it
            width = widths[-1]
            row.append(_trim_path(e.stack[0], width) if e.stack else "")
        lines.append(row_format.format(*row))
        if stacks:
            blank = [""] * (len(headers) - 1)
            lines += [row_format.format(*blank, _trim_path(frame, width)) for frame in e.stack[1:]]
            lines.append(row_format.format(*blank, ""))
    lines.append(separator)
    lines.append(f"Self CPU time total: {_format_unit(self_cpu_total, time_unit)}")
    if has_device_time:
        lines.append(f"Self CUDA time total: {_format_unit(self_device_total, time_unit)}")
    return "\n".join(lines) + "\n"


def _trim_path(path: str, width: int) -> str:
    """A source location cut from the left to the column's width (PyTorch's "...path/file.py(12): fn")."""
    if len(path) > width:
        path = path[len(path) - width:]
        if len(path) > 3:
            path = "..." + path[3:]
    return path
