"""Reading an import file within bounds: size, nesting depth, anchors and aliases.

YAML aliases make a small file stand for a huge document (the "billion laughs": nine anchors
of nine aliases each are 10⁹ values), and ``safe_load`` happily builds the shared structure;
it is expanded later, when a value is turned into text, at the cost of gigabytes. A settings
file written by ``export_connector`` has no alias at all and is a few kilobytes, so:

1. the text is refused above :data:`MAX_BYTES`;
2. its event stream (``yaml.parse``, no objects built) is scanned: nesting deeper than
   :data:`MAX_DEPTH`, more than :data:`MAX_ALIASES` aliases or :data:`MAX_ANCHORS` anchors
   are refused, with the path and line where the limit was passed;
3. the node graph is composed and its size *with every alias expanded* counted (each node once,
   memoised), and refused above :data:`MAX_EXPANDED_NODES` nodes or
   :data:`MAX_EXPANDED_CHARS` characters of scalars, or when an alias contains itself;
4. only then are Python objects constructed (``SafeLoader``: plain types only).

Every refusal is a :class:`YamlRefused` with ``path`` (as in the import report,
``steps.tagging.extra_tags``) and a message that names the line.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_BYTES = 256 * 1024
MAX_DEPTH = 12
MAX_ALIASES = 16
MAX_ANCHORS = 16
MAX_EXPANDED_NODES = 100_000
MAX_EXPANDED_CHARS = 4 * 1024 * 1024


class YamlRefused(Exception):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def _line(mark: Any) -> str:
    return f"line {mark.line + 1}" if mark is not None else "the file"


class _Frame:
    """One open mapping or sequence of the event scan, to name the path of what is inside."""

    def __init__(self, is_mapping: bool) -> None:
        self.is_mapping = is_mapping
        self.expect_key = is_mapping
        self.key = "?"
        self.index = 0

    def part(self) -> str:
        return f".{self.key}" if self.is_mapping else f"[{self.index}]"

    def node_done(self, event: Any) -> None:
        if not self.is_mapping:
            self.index += 1
        elif self.expect_key:
            value = getattr(event, "value", None)
            self.key = value if isinstance(event, yaml.ScalarEvent) else "?"
            self.expect_key = False
        else:
            self.expect_key = True


def _path(stack: list[_Frame]) -> str:
    text = "".join(frame.part() for frame in stack)
    return text.lstrip(".")


def _scan_events(text: str) -> None:
    stack: list[_Frame] = []
    aliases = anchors = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.NodeEvent) and not isinstance(event, yaml.CollectionEndEvent):
            if getattr(event, "anchor", None) is not None and not isinstance(event, yaml.AliasEvent):
                anchors += 1
                if anchors > MAX_ANCHORS:
                    raise YamlRefused(_path(stack), f"{_line(event.start_mark)}: more than {MAX_ANCHORS} "
                                      "anchors (&name); a settings file needs none")
            if isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_ALIASES:
                    raise YamlRefused(_path(stack), f"{_line(event.start_mark)}: more than {MAX_ALIASES} "
                                      "aliases (*name); a settings file needs none")
        if isinstance(event, yaml.CollectionStartEvent):
            if len(stack) >= MAX_DEPTH:
                raise YamlRefused(_path(stack), f"{_line(event.start_mark)}: nested more than "
                                  f"{MAX_DEPTH} levels deep")
            stack.append(_Frame(isinstance(event, yaml.MappingStartEvent)))
        elif isinstance(event, yaml.CollectionEndEvent):
            stack.pop()
            if stack:
                stack[-1].node_done(event)
        elif isinstance(event, yaml.ScalarEvent | yaml.AliasEvent) and stack:
            stack[-1].node_done(event)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_expanded_size(root: yaml.Node) -> None:
    """Count nodes and scalar characters as if every alias were copied out (each distinct node
    is visited once; its totals are memoised), without recursion."""
    totals: dict[int, tuple[int, int]] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            on_path.discard(key)
            nodes, chars = 1, len(node.value) if isinstance(node, yaml.ScalarNode) else 0
            for child in _children(node):
                child_nodes, child_chars = totals[id(child)]
                nodes, chars = nodes + child_nodes, chars + child_chars
            if nodes > MAX_EXPANDED_NODES or chars > MAX_EXPANDED_CHARS:
                raise YamlRefused("", f"{_line(node.start_mark)}: with its aliases expanded the file "
                                  f"would hold more than {MAX_EXPANDED_NODES:,} values or "
                                  f"{MAX_EXPANDED_CHARS // (1024 * 1024)} MB of text")
            totals[key] = (nodes, chars)
            continue
        if key in totals:
            continue
        if key in on_path:
            raise YamlRefused("", f"{_line(node.start_mark)}: an alias refers to a value that contains it")
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in on_path:
                raise YamlRefused("", f"{_line(child.start_mark)}: an alias refers to a value that "
                                  "contains it")
            if id(child) not in totals:
                stack.append((child, False))


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or "it cannot be read"
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"not valid YAML ({where}{problem})"


def load(text: str) -> Any:
    """The document in ``text`` as plain Python values, or ``YamlRefused`` (see the module)."""
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > MAX_BYTES:
        raise YamlRefused("", f"the file is {size / 1024:,.0f} kB; at most {MAX_BYTES // 1024} kB "
                          "are accepted")
    try:
        _scan_events(text)
        loader = yaml.SafeLoader(text)
        try:
            root = loader.get_single_node()
            if root is None:
                return None
            _check_expanded_size(root)
            return loader.construct_document(root)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise YamlRefused("", _yaml_problem(exc)) from None
