"""The experiment grid and each job's slice of the configuration.

Every job gets exactly its own slice as Snakemake ``params``; Snakemake's
``params`` rerun trigger then reruns a job only when its slice changes.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import generators, limits, train_sizes
from .datasets import CENSUS_COLUMNS, resolve_source, source_identity
from .errors import ConfigError

Validator = Callable[[Any, str], None]


@dataclass(frozen=True)
class Cell:
    """One (dataset, generator, setting) of the grid."""

    dataset: str
    generator: str
    setting: str
    settings: Mapping[str, Any]
    # Repeats of one configured setting: ``<setting>`` is repeat 1, then
    # ``<setting>.r2``, ``<setting>.r3``, ... with the seed offset by repeat - 1.
    base_setting: str = ""
    repeat: int = 1

    def __post_init__(self) -> None:
        if not self.base_setting:
            object.__setattr__(self, "base_setting", self.setting)


class Grid:
    def __init__(self, config: Mapping[str, Any], validate: Validator | None = None) -> None:
        self.config = config
        self.cells: dict[tuple[str, str, str], Cell] = {}
        self.sources: dict[str, dict[str, Any]] = {}
        self.axes: dict[str, train_sizes.Axis | None] = {}
        self._columns: dict[str, int | None] = {}
        for ds, dcfg in config["datasets"].items():
            _check_length("datasets.", ds, "dataset")
            if ds in RESERVED_DATASETS:
                raise ConfigError(
                    f"datasets.{ds}: the name is reserved (results/{ds} is {RESERVED_DATASETS[ds]}); rename the dataset"
                )
            self.sources[ds] = resolve_source(ds, dcfg["source"])
            axis = self.axes[ds] = train_sizes.Axis.from_config(ds, dcfg)
            for gen, settings_by_name in dcfg.get("generators", {}).items():
                where = f"datasets.{ds}.generators.{gen}"
                generators.check_name(gen, where)
                # Looked up at the generator's first setting, once, not per setting.
                schema_path: Path | None = None
                cls: type[generators.Generator] | None = None
                if axis is not None:  # one setting at several training sizes (privsynth.train_sizes)
                    settings_by_name = axis.expand(gen, settings_by_name or {})
                for name, settings in (settings_by_name or {}).items():
                    _check_length(f"{where}.", name, "setting")
                    if name in RESERVED_SETTINGS:
                        raise ConfigError(
                            f"{where}.{name}: the name is reserved (results/{ds}/{gen}/{name} is "
                            f"{RESERVED_SETTINGS[name]}); rename the setting"
                        )
                    if REPEAT_SUFFIX.search(name):
                        raise ConfigError(
                            f"{where}.{name}: setting names ending in .r<N> are reserved for repeats "
                            f"(see datasets.{ds}.repeats); rename the setting"
                        )
                    settings = copy.deepcopy(dict(settings or {}))
                    if validate is not None:
                        schema_path = schema_path or _settings_schema(gen)
                        _validate_settings(validate, settings, schema_path, f"{where}.{name}")
                    if settings.get("sample_size") and (cols := self._n_columns(ds)):
                        limits.check_rows(settings["sample_size"], cols, f"{where}.{name}.sample_size", config)
                    if generators.is_builtin(gen):  # a plug-in's code is imported in its job only
                        cls = cls or generators.load(gen)
                        cls.check_settings(settings, f"{where}.{name}")
                    for r in range(1, self.repeats(ds) + 1):
                        cell_name = repeat_name(name, r)
                        self.cells[(ds, gen, cell_name)] = Cell(ds, gen, cell_name, settings, name, r)
        if not self.cells:
            # An empty grid would end in an empty summary and report that look like results.
            raise ConfigError(
                "datasets.*.generators: no generator settings in any dataset, so there is nothing to run; add one "
                "(e.g. datasets.<name>.generators.marginals: {default: {}})"
            )

    def _n_columns(self, dataset: str) -> int | None:
        """Columns of a dataset's table before it is read (None: not known yet), for memory estimates."""
        from .datachecks import source_columns

        if dataset not in self._columns:  # once per dataset: it may read a file's header
            self._columns[dataset] = source_columns(self.sources[dataset], len(CENSUS_COLUMNS))
        return self._columns[dataset]

    def repeats(self, dataset: str) -> int:
        """Runs per setting: ``datasets.<name>.repeats``, else the top-level ``repeats``."""
        d = self.config["datasets"][dataset].get("repeats")
        n = d if d is not None else self.config.get("repeats", 1)
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ConfigError(f"datasets.{dataset}.repeats (or top-level repeats) must be an integer >= 1, got {n!r}")
        return n

    @property
    def datasets(self) -> list[str]:
        return list(self.config["datasets"])

    def cell(self, dataset: str, generator: str, setting: str) -> Cell:
        try:
            return self.cells[(dataset, generator, setting)]
        except KeyError:
            raise ConfigError(f"no setting {dataset}/{generator}/{setting} in the config") from None

    def of(self, generator: str | None = None, dataset: str | None = None) -> list[Cell]:
        return [
            c
            for c in self.cells.values()
            if (generator is None or c.generator == generator) and (dataset is None or c.dataset == dataset)
        ]

    # --- per-job config slices (these become Snakemake params) -------------
    def fetch_slice(self, dataset: str) -> dict[str, Any]:
        # The data's identity (checksum), not its location: see fetch_source.
        return {"dataset": dataset, "source": source_identity(dataset, self.sources[dataset])}

    def fetch_source(self, dataset: str) -> dict[str, Any]:
        """Where fetch_data reads the data from (URL, path, $PRIVSYNTH_CENSUS resolved)."""
        return self.sources[dataset]

    def prepare_slice(self, dataset: str) -> dict[str, Any]:
        d = self.config["datasets"][dataset]
        return {
            "dataset": dataset,
            "split": dict(d["split"]),
            "max_rows": d.get("max_rows"),
            "schema": copy.deepcopy(d.get("schema", {})),
            # Checked here so a bad target stops the run before any synthesis.
            "target": d.get("target"),
        }

    def synth_slice(self, dataset: str, generator: str, setting: str) -> dict[str, Any]:
        c = self.cell(dataset, generator, setting)
        return {
            "dataset": dataset,
            "generator": generator,
            "setting": setting,
            "settings": copy.deepcopy(dict(c.settings)),
            "seed": self.config["seed"] + c.repeat - 1,
            "base_setting": c.base_setting,
            "repeat": c.repeat,
            # only on a train_sizes axis whose generator has no row cap of its own
            **(a.job_keys(generator, c.base_setting) if (a := self.axes.get(dataset)) else {}),
        }

    def gpu(self, dataset: str, generator: str, setting: str) -> int:
        return int(self.cell(dataset, generator, setting).settings.get("gpu", 0) or 0)

    def qa_slice(self) -> dict[str, Any]:
        return dict(self.config["qa"])

    def pairs_slice(self) -> dict[str, Any]:
        return dict(self.config["fidelity_pairs"])

    def utility_slice(self, dataset: str) -> dict[str, Any]:
        return {
            "dataset": dataset,
            "target": self.config["datasets"][dataset].get("target"),
            "interval": dict(self.config["utility"]),
        }


# Names the pipeline itself writes where a dataset's folder (results/<dataset>) or a
# setting's folder (results/<dataset>/<generator>/<setting>) would go: a dataset or
# setting of that name would make Snakemake fail with a ChildIOException.
RESERVED_DATASETS = {
    "report": "the report folder",
    "logs": "the job logs folder",
    "summary.csv": "the summary table",
    "partial": "the partial results of a failed run",
    "benchmarks": "the jobs' benchmark files",
}
RESERVED_SETTINGS = {
    "comparison.csv": "the mostlyai DP comparison table",
    "comparison.md": "the mostlyai DP comparison table",
}
REPEAT_SUFFIX = re.compile(r"\.r[0-9]+$")


# Longest dataset or setting name: each is a folder name under results/, and Snakemake
# (its wildcards, its log names) and the filesystem (255 bytes per name) fail on long ones.
MAX_NAME = 64


def _check_length(prefix: str, name: str, what: str) -> None:
    if len(name) > MAX_NAME:
        short = f"{prefix}{name[:24]}..."
        raise ConfigError(
            f"{short}: the {what} name is {len(name)} characters long; at most {MAX_NAME} (it names a folder under "
            "results/): shorten it"
        )


def repeat_name(setting: str, repeat: int) -> str:
    """Cell name of one repeat: repeat 1 keeps the plain name, so paths do not change."""
    return setting if repeat == 1 else f"{setting}.r{repeat}"


def _settings_schema(gen: str) -> Path:
    """Generator ``gen``'s settings schema file, checked to be a readable schema."""
    generators.read_settings_schema(gen)  # a missing or invalid schema: one line naming the file
    return generators.settings_schema(gen)


def _validate_settings(validate: Validator, settings: dict[str, Any], schema_path: Path, where: str) -> None:
    try:
        validate(settings, str(schema_path))  # snakemake's validate also fills defaults
    except Exception:
        raise ConfigError(_first_error(settings, schema_path, where)) from None


def _first_error(instance: Any, schema_path: Path, where: str = "") -> str:
    """The most relevant schema violation as ``key.path: message`` (one line)."""
    return schema_error_line(instance, _load_schema(schema_path), where) or f"{where}: invalid settings"


def _load_schema(schema_path: str | Path) -> dict[str, Any]:
    import yaml

    return yaml.safe_load(Path(schema_path).read_text(encoding="utf-8"))


_MAX_MESSAGE = 300


def schema_error_line(instance: Any, schema: Mapping[str, Any], where: str = "") -> str:
    """The most relevant violation of ``schema`` as one line: the dotted key path, then the problem.

    For an unknown key the path ends in that key, for a missing one in the missing
    key, so the line always starts with the key to change.  An empty string when
    ``instance`` is valid.
    """
    import jsonschema

    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(instance))
    if error is None:
        return ""
    path = [*([where] if where else []), *(str(p) for p in error.absolute_path)]
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        known = set(error.schema.get("properties", {}))
        patterns = [re.compile(p) for p in error.schema.get("patternProperties", {})]
        extra = sorted(str(k) for k in error.instance if k not in known and not any(p.search(str(k)) for p in patterns))
        if extra:
            path.append(extra[0])
    elif error.validator == "required":
        m = re.match(r"'(.+?)' is a required property", error.message)
        if m:
            path.append(m.group(1))
    elif error.validator == "propertyNames" or (
        len(error.relative_schema_path) > 1 and "propertyNames" in error.relative_schema_path
    ):
        path.append(str(error.instance))
    message = " ".join(error.message.split())
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 3] + "..."
    return f"{'.'.join(path) or '(top level)'}: {message}"


def validate_config(config: dict[str, Any], validate: Validator, schema_path: str | Path) -> None:
    """Validate (and fill defaults) like Snakemake's ``validate``, but fail with a one-line ConfigError."""
    try:
        validate(config, str(schema_path))
    except Exception:
        line = schema_error_line(config, _load_schema(schema_path))
        raise ConfigError(line or "the config does not match config/schema.yaml") from None


# --- config files ---------------------------------------------------------------


def load_config_file(path: str | Path, value: bool = True) -> Any:
    """Read a YAML/JSON config file strictly: one-line ConfigErrors naming the file (and line).

    Rejects duplicate keys, which YAML loaders otherwise resolve silently (the
    last one wins, so a second ``copy:`` block would replace the first).
    ``value=False``: only check the file (returns None).
    """
    import yaml

    p = Path(path)
    name = str(path)
    if not p.is_file():
        raise ConfigError(f"config file {name} not found; pass an existing file to --configfile")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        byte = exc.object[exc.start : exc.start + 1].hex()
        raise ConfigError(
            f"config file {name} is not UTF-8 text (byte 0x{byte} at offset {exc.start}); save it as UTF-8"
        ) from None
    try:
        node = _parse(yaml.compose, text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark is not None else name
        problem = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        if exc.problem and exc.context and exc.context_mark is not None and exc.context_mark is not mark:
            problem += f" ({' '.join(exc.context.split())} on line {exc.context_mark.line + 1})"
        raise ConfigError(f"{where}: YAML syntax error: {problem}; fix the file there") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{name}: YAML syntax error: {' '.join(str(exc).split())}") from None
    if node is not None and not _check_nodes(node, name) and not value:
        return None  # every tag is one the safe loader builds: nothing else to check
    try:
        return _parse(yaml.load, text)
    except yaml.constructor.ConstructorError as exc:
        # e.g. !!python/object/apply:os.system: safe_load refuses to build it (nothing runs).
        mark = exc.problem_mark
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark is not None else name
        tag = re.search(r"tag '([^']*)'", str(exc.problem))
        raise ConfigError(
            f"{where}: YAML tag {tag.group(1) if tag else '(unknown)'} is not allowed: config files hold plain "
            "values (text, numbers, lists, mappings); remove the tag, or quote the value to keep it as text"
        ) from None


def _parse(parse: Callable[..., Any], text: str) -> Any:
    """``parse(text, Loader=...)`` with libyaml's safe loader (a large grid's config is parsed in a
    fraction of the time); on any error again with PyYAML's own, whose messages and marks are reported."""
    import yaml

    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return parse(text, Loader=fast)
        except yaml.YAMLError:
            pass
    return parse(text, Loader=yaml.SafeLoader)


def _check_nodes(node: Any, file: str, path: tuple[Any, str] | None = None) -> bool:
    """Duplicate keys and unquoted yes/no names are ConfigErrors; True if some node has a tag the safe
    loader cannot build.  ``path``: (parent's path, key), a linked list (a large grid has many nodes)."""
    import yaml

    unknown = node.tag not in yaml.SafeLoader.yaml_constructors
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            scalar = isinstance(key_node, yaml.ScalarNode)
            key = str(key_node.value) if scalar else "?"
            unknown |= key_node.tag not in yaml.SafeLoader.yaml_constructors
            if scalar and key_node.tag in _NOT_NAMES and not key_node.style:
                # YAML 1.1 reads an unquoted yes/no/on/off (null, ~) as true/false (None), not as a name.
                raise ConfigError(
                    f"{_dotted(path, key)}: YAML reads the unquoted name {key} ({file} line "
                    f"{key_node.start_mark.line + 1}) as {_NOT_NAMES[key_node.tag]}, not as text; quote it: '{key}':"
                )
            if scalar and key in seen:
                raise ConfigError(
                    f"{_dotted(path, key)}: duplicate key in {file} line {key_node.start_mark.line + 1} (first on "
                    f"line {seen[key]}); YAML would silently keep only the last one: merge the two or rename one"
                )
            seen.setdefault(key, key_node.start_mark.line + 1)
            unknown |= _check_nodes(value_node, file, (path, key))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            unknown |= _check_nodes(item, file, (path, str(i)))
    return unknown


def _dotted(path: tuple[Any, str] | None, key: str) -> str:
    parts = [key]
    while path is not None:
        path, part = path
        parts.append(part)
    return ".".join(reversed(parts))


_NOT_NAMES = {"tag:yaml.org,2002:bool": "true/false", "tag:yaml.org,2002:null": "null"}


def check_config_files(paths: list[str | Path]) -> None:
    """Re-read the config files Snakemake loaded, strictly (see ``load_config_file``)."""
    for p in paths:
        load_config_file(p, value=False)


def check_has_datasets(config: Mapping[str, Any], configfiles: list[str | Path]) -> None:
    """A --configfile replaces config/config.yaml, so it must list the datasets itself."""
    if configfiles and "datasets" not in config:
        names = ", ".join(str(p) for p in configfiles)
        raise ConfigError(
            f"datasets: missing in {names}; a --configfile replaces config/config.yaml instead of being "
            "merged into it, so it must list the datasets to run (copy them from config/config.yaml)"
        )
