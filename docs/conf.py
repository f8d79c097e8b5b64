"""Sphinx configuration of riskeval's documentation site (``make docs``).

The tools, all well kept and used by the field's other libraries' sites:

- pydata-sphinx-theme: the theme of numpy, pandas, scikit-learn's neighbours (statsmodels
  uses its own); search, navigation and a readable API reference without custom CSS;
- numpydoc: riskeval's docstrings are numpydoc, so their sections (Parameters, Returns,
  Examples, References) render as written;
- autosummary: one page per public function and class, from ``docs/api/*.rst``
  (``tests/test_docs.py`` checks that no public name is missing);
- myst-nb: the notebooks in ``notebooks/`` and the three guides (MyST text notebooks) are
  executed during the build and rendered with their outputs and figures. It needs no
  pandoc (nbsphinx does) and caches executions with jupyter-cache.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

import riskeval  # noqa: E402

project = "riskeval"
author = "riskeval developers"
copyright = "riskeval developers, MIT licence"  # noqa: A001
version = release = riskeval.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_nb",
]

exclude_patterns = ["_build", "**.ipynb_checkpoints", "app/screenshots.py", "jupyter_execute"]
templates_path = ["_templates"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"

# API reference
autosummary_generate = True
autosummary_imported_members = False
autodoc_typehints = "none"          # the numpydoc Parameters section says the types
autodoc_member_order = "bysource"
autodoc_default_options = {"show-inheritance": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
add_module_names = False

# Notebooks and guides: executed during the build. `make docs` reuses the cache of
# unchanged notebooks; `make test` forces execution (-D nb_execution_mode=force), once.
nb_execution_mode = os.environ.get("RISKEVAL_DOCS_EXECUTE", "cache")
nb_execution_timeout = 900
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_execution_cache_path = str(HERE / "_build" / ".jupyter_cache")
nb_merge_streams = True
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# HTML
html_theme = "pydata_sphinx_theme"
html_title = f"riskeval {release}"
html_static_path: list[str] = []
html_show_sourcelink = False
html_copy_source = False
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_context = {"default_mode": "auto"}   # light or dark as the reader's system asks
html_sidebars = {"index": [], "guides/*": [], "reference/*": []}


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Leave out members a class gets from another library (scikit-learn's metadata-routing
    ``set_*_request`` methods are attached to every estimator subclass): they are that
    library's to document."""
    module = getattr(obj, "__module__", None)
    if what == "class" and isinstance(module, str) and not module.startswith("riskeval"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_members)
