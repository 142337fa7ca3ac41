"""Docstrings of overriding methods completed from the method they override."""

import inspect

__all__ = ["inherited_doc"]


def _sections(doc):
    """``doc`` cleaned, cut into its summary and its numpydoc sections (by title)."""
    lines = inspect.cleandoc(doc or "").splitlines()
    starts = [
        i for i in range(1, len(lines))
        if lines[i] and set(lines[i]) == {"-"} and lines[i - 1].strip()
    ]
    summary = "\n".join(lines[: starts[0] - 1] if starts else lines).strip()
    bounds = [i - 1 for i in starts] + [len(lines)]
    sections = {
        lines[a]: "\n".join(lines[a + 2 : b]).strip("\n") for a, b in zip(bounds, bounds[1:])
    }
    return summary, sections


def _parameter_entries(section):
    """The entries of a Parameters section, by parameter name (``**`` kept)."""
    entries, name = {}, None
    for line in section.splitlines():
        if line and not line[0].isspace():
            name = line.split(" : ")[0].strip()
            entries[name] = [line]
        elif name is not None:
            entries[name].append(line)
    return {key: "\n".join(value) for key, value in entries.items()}


def inherited_doc(override, base):
    """``override``'s docstring completed with ``base``'s sections it lacks.

    An override usually says in one line what it does; its parameters are
    the base method's (callback hooks). They are copied for the parameters its signature names,
    so that the API reference documents every argument without repeating the
    base class's text in every callback.
    """
    summary, sections = _sections(override.__doc__)
    if "Parameters" in sections:
        return override.__doc__
    base_summary, base_sections = _sections(base.__doc__)
    entries = _parameter_entries(base_sections.get("Parameters", ""))
    parameters = "\n".join(
        entries[name] for name in _parameter_names(override) if name in entries
    )
    if parameters:
        sections = {"Parameters": parameters, **sections}
    if "Returns" in base_sections:
        sections.setdefault("Returns", base_sections["Returns"])
    parts = [summary or base_summary]
    parts += [f"{title}\n{'-' * len(title)}\n{body}" for title, body in sections.items()]
    return "\n\n".join(parts) + "\n"  # closing quotes on their own line (numpydoc GL02)


def _parameter_names(function):
    """The names of ``function``'s parameters as numpydoc writes them (``**kwargs``)."""
    return [
        ("**" if p.kind is p.VAR_KEYWORD else "*" if p.kind is p.VAR_POSITIONAL else "") + name
        for name, p in inspect.signature(function).parameters.items() if name != "self"
    ]
