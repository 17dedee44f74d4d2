"""Run a notebook from a clean kernel of *this* Python, the way `make refresh` and the tests do.

Any kernel name in a notebook resolves to a kernel running this interpreter (the
project's .venv), whatever other kernels the user has installed, like nbval's
--nbval-current-env.
"""
from __future__ import annotations

from pathlib import Path

import ipykernel.kernelspec
import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient


class CurrentPythonKernels(KernelSpecManager):
    """Every kernel name resolves to a kernel running this very interpreter."""

    def get_kernel_spec(self, kernel_name):
        return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES,
                                      **ipykernel.kernelspec.get_kernel_dict())


def execute(notebook: nbformat.NotebookNode, cwd: Path, *, timeout: int = 120) -> nbformat.NotebookNode:
    """Execute `notebook` in place, top to bottom, in a fresh kernel started in `cwd`.

    Cells tagged `raises-exception` may fail; any other error raises CellExecutionError.
    Cells tagged `nbval-skip` (they need a person, like the real-browser sign-in) are left
    unrun, as nbval leaves them, so the committed outputs are exactly what the tests compare.
    """
    manager = KernelManager(kernel_spec_manager=CurrentPythonKernels(), kernel_name="python3")
    client = NotebookClient(notebook, km=manager, timeout=timeout, allow_errors=False,
                            skip_cells_with_tag="nbval-skip", resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return notebook
