"""The house has one direction: every import points to the same layer or one below it.

    bot/                 the outer ring: channels, CLI, web listener, settings, rendering, NLP
      ↓
    handlers/            the conversation flows (routers, steps, labels, button payloads)
      ↓
    handlers/services/   the domain services (one write path for chat and the command line)
    handlers/types.py    and the vocabulary every layer shares
      ↓
    storage/             the store

Every import counts, including those inside a function (a late import is no way around a
layer). docs/architecture.md explains the layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "storage")

# Outer to inner; the longest matching prefix gives a module's layer.
LAYERS = {
    "bot": 3,
    "handlers": 2,
    "handlers.services": 1,
    "handlers.types": 1,
    "storage": 0,
}


def layer(module: str) -> int | None:
    matches = [p for p in LAYERS if module == p or module.startswith(p + ".")]
    return LAYERS[max(matches, key=len)] if matches else None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, module) for every import of our packages in the file of ``module``."""
    found: list[tuple[int, str]] = []
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                # "from handlers import payloads" imports the module handlers.payloads.
                candidate = f"{base}.{alias.name}"
                as_module = ROOT.joinpath(*candidate.split("."))
                is_module = as_module.with_suffix(".py").exists() or as_module.is_dir()
                found.append((node.lineno, candidate if is_module else base))
    return [(line, name) for line, name in found if name.split(".")[0] in PACKAGES]


def sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_every_import_points_down_or_across() -> None:
    upward = []
    for path in sources():
        here = module_name(path)
        own = layer(here)
        assert own is not None, here
        for line, target in imports(path, here):
            theirs = layer(target)
            if theirs is not None and theirs > own:
                upward.append(f"{path.relative_to(ROOT)}:{line}: {here} imports {target}")
    assert upward == []


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The parser finds plain, from-, relative and late imports, so the test above can fail."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from __future__ import annotations\n"
        "import bot.i18n\n"
        "from handlers import payloads\n"
        "from .. import router\n"
        "def late():\n"
        "    from bot.channels import telegram\n",
        encoding="utf-8",
    )
    found = {name for _, name in imports(probe, "handlers.services.probe")}
    assert found == {"bot.i18n", "handlers.payloads", "handlers.router", "bot.channels.telegram"}
    services = layer("handlers.services.probe")
    assert services is not None
    assert all((layer(name) or 0) > services for name in found)


def test_flows_and_services_need_no_late_import() -> None:
    """A late import is how a cycle hides (onboarding used one to reach voting); below the outer
    ring, our own modules are imported at the top. The package's build_router is the exception:
    it keeps ``import handlers.types`` from loading every flow."""
    late = []
    for path in sorted((ROOT / "handlers").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if path.name == "__init__.py" and function.name == "build_router":
                continue
            for node in ast.walk(function):
                names = (
                    [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else []
                )
                late += [
                    f"{path.relative_to(ROOT)}:{node.lineno}: {name}"
                    for name in names
                    if name.split(".")[0] in PACKAGES
                ]
    assert late == []


# The store's methods that change what a tambon's data says (not the delivery tables of the
# durable path, nor a conversation's step: those belong to the engine).
DOMAIN_WRITES = {
    "add_correction",
    "add_group_reporter",
    "add_paper_ballots",
    "add_submission",
    "cast_ballot",
    "create_group",
    "create_invite",
    "create_poll",
    "create_tambon",
    "forget_member",
    "mark_present",
    "set_poll_status",
    "set_presence_code",
    "update_member",
    "update_submission_tags",
    "upsert_member",
    "withdraw_submission",
}


def test_state_changes_only_through_the_services() -> None:
    """One write path: the flows and the outer ring (the CLI among them) change the tambon's
    data only by calling a service in handlers/services/, never the store's writes."""
    assert {
        name for name in dir(__import__("storage.base").base.Store) if not name.startswith("_")
    } >= DOMAIN_WRITES
    direct = []
    for path in sources():
        module = module_name(path)
        if layer(module) == 1 or module.startswith("storage"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in DOMAIN_WRITES
                and "store" in ast.unparse(node.func.value)
            ):
                direct.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node.func)}")
    assert direct == []
