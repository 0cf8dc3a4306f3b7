"""Which environment variables a module reads, found in its syntax tree."""

from __future__ import annotations

import ast


def _is_environ(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "environ"
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    )


def env_reads(tree: ast.AST) -> set[str]:
    """Variables read with os.environ.get / os.getenv / os.environ[...] / `in` / EnvVar.

    A name looked up in a loop over a module-level dict (``for var in TABLE.items()``)
    stands for that dict's keys.
    """
    tables = {
        t.id: [k.value for k in node.value.keys if isinstance(k, ast.Constant)]
        for node in getattr(tree, "body", [])
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    loop_vars: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.For):
            it = node.iter
            if isinstance(it, ast.Call) and isinstance(it.func, ast.Attribute):
                it = it.func.value
            if isinstance(it, ast.Name) and it.id in tables:
                for name in ast.walk(node.target):
                    if isinstance(name, ast.Name):
                        loop_vars[name.id] = tables[it.id]

    def names(arg: ast.AST) -> list[str]:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            return [arg.value]
        if isinstance(arg, ast.Name):
            return loop_vars.get(arg.id, [])
        return []

    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            f = node.func
            if (
                (isinstance(f, ast.Attribute) and f.attr == "get" and _is_environ(f.value))
                or (isinstance(f, ast.Attribute) and f.attr == "getenv")
                or (isinstance(f, ast.Name) and f.id == "EnvVar")
            ):
                found.update(names(node.args[0]))
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            if _is_environ(node.value):
                found.update(names(node.slice))
        elif isinstance(node, ast.Compare) and any(_is_environ(c) for c in node.comparators):
            found.update(names(node.left))
    return found
