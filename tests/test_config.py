"""Config loading: defaults, overrides, and errors that name the bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from sage.config import Config, load_config
from sage.errors import ConfigError


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "sage.toml"
    path.write_text(body)
    return path


def test_defaults_without_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("SAGE_CONFIG", raising=False)
    if Path("/etc/sage/sage.toml").exists():
        pytest.skip("/etc/sage/sage.toml exists on this host and would be read")
    assert load_config() == Config()


def test_overrides(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            """
[paths]
cache_dir = "~/models"
[segmenter]
hangover_ms = 500
max_utterance_s = 10
[llm]
max_tokens = 64
""",
        )
    )
    assert config.segmenter.hangover_ms == 500
    assert config.segmenter.max_utterance_s == 10.0
    assert config.llm.max_tokens == 64
    assert config.paths.cache_dir == Path("~/models").expanduser()


def test_env_var_is_found(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SAGE_CONFIG", str(write(tmp_path, "[llm]\nmax_tokens = 7\n")))
    assert load_config().llm.max_tokens == 7


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[segmenter]\nframe_ms = 25\n", "segmenter.frame_ms must be 10, 20 or 30"),
        ("[segmenter]\nhangover = 5\n", "unknown key segmenter.hangover"),
        ("[nonsense]\na = 1\n", "unknown key nonsense"),
        ("[llm]\nmax_tokens = 'many'\n", "llm.max_tokens must be int, got str"),
        ("[llm]\nmax_tokens = true\n", "llm.max_tokens must be int, got bool"),
        ("[asr]\nwhisper_beam_size = 0\n", "asr.whisper_beam_size must be >= 1"),
        ("llm = 3\n", r"\[llm\] must be a table"),
        ("[paths]\ncache_dir = 3\n", "paths.cache_dir must be a path string"),
        ("this is = not toml =\n", "not valid TOML"),
    ],
)
def test_errors_name_the_key(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, body))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


def test_the_readme_example_is_a_valid_config(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme[readme.index("## Configuration") :]
    example = section[
        section.index("```toml\n") + 8 : section.index("```", section.index("```toml") + 7)
    ]
    config = load_config(write(tmp_path, example))
    assert config.cascade.escalate_low_prob == 0.45
    assert config.remote.url == ""
