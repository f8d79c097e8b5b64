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

import functools
import hashlib
import importlib
import os
import shutil
import sys
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

import riskeval  # noqa: E402

project = "riskeval"
author = "riskeval developers"
copyright = "riskeval developers, MIT licence"
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
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
add_module_names = False

# Notebooks and guides: executed during the build. `make docs` reuses the cache of
# unchanged notebooks; `make test` forces execution, once (RISKEVAL_DOCS_EXECUTE=force).
nb_execution_mode = os.environ.get("RISKEVAL_DOCS_EXECUTE", "cache")
nb_execution_timeout = 900
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_execution_cache_path = str(HERE / "_build" / ".jupyter_cache")


def _cache_follows_the_source(cache: Path) -> None:
    """The cache knows a notebook's text, not the library it runs: when riskeval's source
    has changed since the cached executions, they are dropped and the notebooks run again."""
    digest = hashlib.sha256()
    for path in sorted((HERE.parent / "src" / "riskeval").rglob("*.py")):
        digest.update(path.relative_to(HERE.parent).as_posix().encode())
        digest.update(path.read_bytes())
    stamp = cache.with_name(cache.name + ".source")
    if stamp.is_file() and stamp.read_text() != digest.hexdigest():
        shutil.rmtree(cache, ignore_errors=True)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest.hexdigest())


_cache_follows_the_source(Path(nb_execution_cache_path))
nb_merge_streams = True
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# HTML
html_theme = "pydata_sphinx_theme"
html_title = f"riskeval {release}"
html_static_path = ["_static"]
html_css_files = ["riskeval.css"]
html_show_sourcelink = False
# Search results without the page excerpts: fetching them fails on a site opened from disk
# (file://), which is how `make docs` is read.
html_show_search_summary = False
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


# Cross-references. A docstring names an object where it is defined or by a short name
# (``:func:`simulate``` in riskeval.world.engine, ``riskeval.Ratings``); the reference pages
# document each object once, where users import it from (``riskeval.world.simulate``). The
# handler below finds the object a reference means and links it to its page; nitpicky mode
# makes any riskeval reference still unresolved fail the build. Other libraries' objects are
# named in code font, unlinked (their sites are not reachable when the site is built).
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(pandas|pd|numpy|np|scipy|sklearn|matplotlib|statsmodels|dask|distributed"
               r"|patsy|joblib|tqdm|threadpoolctl|starlette|uvicorn|pyarrow|python_calamine"
               r"|datetime|collections|typing|pathlib|os|json|csv|concurrent)(\..*)?"),
]


def _import(dotted: str):
    """The object a dotted name refers to (module, then attributes), or None."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


@functools.cache
def _documented() -> dict[int, str]:
    """id(object) -> the dotted name of its reference page (and of public modules)."""
    pages = {}
    for stub in sorted((HERE / "api").glob("riskeval*.rst")):
        module = _import(stub.stem)
        if isinstance(module, types.ModuleType):
            pages[id(module)] = stub.stem
    for stub in sorted((HERE / "api" / "generated").glob("riskeval.*.rst")):
        obj = _import(stub.stem)
        if obj is None or isinstance(obj, (int, float, str)):
            continue    # small numbers and strings are shared objects: never matched by id
        if not str(getattr(obj, "__module__", "riskeval")).startswith("riskeval"):
            continue    # an alias of another library's object is not its page
        pages[id(obj)] = stub.stem
    return pages


def _canonical(target: str, module: str | None, klass: str | None) -> str | None:
    """The documented name a reference means, "" for a riskeval object without a page of its
    own (private helpers named in prose: shown unlinked), None for no riskeval object."""
    target = target.lstrip(".~")
    scopes = []
    if module:
        parts = module.split(".")
        if klass:
            scopes.append(f"{module}.{klass}")
        scopes += [".".join(parts[:i]) for i in range(len(parts), 0, -1)]
    scopes.append("riskeval")
    candidates = [target] + [f"{scope}.{target}" for scope in scopes]
    existing = [c for c in candidates if _import(c) is not None]
    for candidate in existing:
        parts = candidate.split(".")
        for cut in range(len(parts), 0, -1):   # the documented object, then its attributes
            obj = _import(".".join(parts[:cut]))
            members = parts[cut:]
            if obj is None or (members and not isinstance(obj, type)):
                continue    # a module's names have pages of their own, if they are public
            name = _documented().get(id(obj))
            if name is not None:
                return ".".join([name, *members])
    # a short name used in a summary table away from its module: the one page of that name
    same = [name for name in _documented().values() if name.endswith("." + target)]
    if len(same) == 1:
        return same[0]
    return "" if any(c.startswith("riskeval") for c in existing) else None


def _link_riskeval_objects(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    name = _canonical(node["reftarget"], node.get("py:module"), node.get("py:class"))
    if name is None:
        return None
    if name == "":
        return contnode
    domain = env.get_domain("py")
    for role in (node["reftype"], "obj"):
        found = domain.resolve_xref(env, node["refdoc"], app.builder, role, name, node,
                                    contnode)
        if found is not None:
            return found
    if node["reftype"] == "attr":
        return contnode     # a result's attributes are listed on its page, not linked one by one
    return None


def _drop_stale_stubs() -> None:
    """autosummary writes a stub per documented object but never removes one: a stub left by
    a renamed or removed object would fail the build ("not included in any toctree")."""
    for stub in (HERE / "api" / "generated").glob("riskeval.*.rst"):
        if _import(stub.stem) is None:
            stub.unlink()


def setup(app):
    _drop_stale_stubs()
    app.connect("autodoc-skip-member", _skip_foreign_members)
    app.connect("missing-reference", _link_riskeval_objects)
