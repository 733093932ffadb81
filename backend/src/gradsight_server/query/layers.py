"""Model order for per-layer families, so heatmaps read top to bottom like the model.

Parameter families (``grad_norm/<parameter>``) follow the parameter order the agent sends
(the run's ``layers``). Activation families are keyed by module name: a module sits where its
first parameter does, a module without parameters (an activation function) where its nearest
parent module's first parameter does; ties and names the model does not know go by name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def model_order(names: Iterable[str], layers: Sequence[str]) -> list[str]:
    position = {name: i for i, name in enumerate(layers)}
    module_position: dict[str, int] = {}
    for i, name in enumerate(layers):
        module = name.rpartition(".")[0]
        while module:
            module_position.setdefault(module, i)
            module = module.rpartition(".")[0]
    unknown = len(layers)

    def rank(name: str) -> tuple[int, str]:
        if name in position:
            return position[name], name
        module = name
        while module:
            if module in module_position:
                return module_position[module], name
            module = module.rpartition(".")[0]
        return unknown, name

    return sorted(names, key=rank)
